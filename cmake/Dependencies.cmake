# Third-party dependencies, all from Debian 12 packages.
set(THREADS_PREFER_PTHREAD_FLAG ON)
find_package(Threads REQUIRED)
find_package(ZLIB REQUIRED)  # gzip ITCH captures (services/ingestion)
find_package(Protobuf 3.21 REQUIRED)
find_package(gRPC 1.51 CONFIG REQUIRED)
find_package(prometheus-cpp CONFIG REQUIRED COMPONENTS core) # Debian ships no version file
find_package(Boost 1.74 REQUIRED COMPONENTS system)
find_package(nlohmann_json 3 CONFIG REQUIRED)
find_package(OpenSSL 3 REQUIRED COMPONENTS Crypto)  # JWT signatures (libs/auth), WebSocket accept keys (libs/ws)
find_package(fmt CONFIG REQUIRED)
find_package(spdlog CONFIG REQUIRED)
find_package(CLI11 CONFIG REQUIRED)
find_package(Catch2 2.13 CONFIG REQUIRED)
find_package(PkgConfig REQUIRED)
pkg_check_modules(RDKAFKA REQUIRED IMPORTED_TARGET rdkafka++>=2.0 rdkafka>=2.0)  # C++ API + C admin API
pkg_check_modules(PQXX REQUIRED IMPORTED_TARGET libpqxx>=6.4)

find_program(GRPC_CPP_PLUGIN grpc_cpp_plugin REQUIRED)

# Headers of third-party libraries are SYSTEM so their warnings do not drown ours.
foreach(_t PkgConfig::RDKAFKA PkgConfig::PQXX)
  get_target_property(_inc ${_t} INTERFACE_INCLUDE_DIRECTORIES)
  if(_inc)
    set_target_properties(${_t} PROPERTIES INTERFACE_SYSTEM_INCLUDE_DIRECTORIES "${_inc}")
  endif()
endforeach()
