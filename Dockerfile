# One image with every Tickstream binary; the Helm chart and docker-compose.yml run it.
# Build: docker build -t tickstream .
FROM debian:12 AS build
WORKDIR /src
COPY deploy/local/install-deps.sh deploy/local/common.sh deploy/local/
RUN ./deploy/local/install-deps.sh
COPY . .
RUN cmake --preset release && cmake --build --preset release \
 && mkdir -p /out/bin && cp build/release/tools/tsctl/tsctl /out/bin/

FROM debian:12-slim
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends \
      libgrpc++1.51 libprotobuf32 librdkafka++1 libpqxx-6.4 libprometheus-cpp-core1.0 \
      libspdlog1.10 libfmt9 ca-certificates \
 && rm -rf /var/lib/apt/lists/* && useradd -u 10001 -M tickstream
COPY --from=build /out/bin/ /usr/local/bin/
USER 10001
