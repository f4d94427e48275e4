# One image with every Tickstream binary; the Helm chart and docker-compose.yml run it.
# Build: docker build -t tickstream .
FROM debian:12 AS build
WORKDIR /src
COPY deploy/local/install-deps.sh deploy/local/common.sh deploy/local/
RUN ./deploy/local/install-deps.sh
COPY . .
RUN cmake --preset release && cmake --build --preset release \
 && mkdir -p /out/bin /out/share/tickstream \
 && cp build/release/services/gateway/gateway build/release/services/normalizer/normalizer \
       build/release/services/ingestion/ingestion build/release/services/order/order-service \
       build/release/services/exchange-sim/exchange-sim build/release/tools/tsctl/tsctl /out/bin/ \
 && cp -r services/gateway/web /out/share/tickstream/web \
 && cp -r services/order/migrations /out/share/tickstream/order-migrations

FROM debian:12-slim
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends \
      libgrpc++1.51 libprotobuf32 librdkafka++1 libpqxx-6.4 libprometheus-cpp-core1.0 \
      libspdlog1.10 libfmt9 libssl3 zlib1g ca-certificates tzdata \
 && rm -rf /var/lib/apt/lists/* && useradd -u 10001 -M tickstream
COPY --from=build /out/bin/ /usr/local/bin/
# The gateway's watchlist page (--static-dir) and the order schema (--migrations-dir), where
# the Helm chart and docker-compose.yml point the services.
COPY --from=build /out/share/tickstream/ /usr/share/tickstream/
USER 10001
