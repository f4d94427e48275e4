# Test helpers. Unit tests are Catch2 executables whose cases ctest discovers one by one,
# prefixed with their module so `ctest -R kafka.` picks a module.
include(Catch)

# Where the CTest fixtures keep the state of the real services they start (see tests/).
set(TICKSTREAM_INFRA_DIR "${PROJECT_BINARY_DIR}/infra")

# One main() for every Catch2 executable, compiled once.
if(BUILD_TESTING)
  add_library(tickstream_catch_main STATIC "${PROJECT_SOURCE_DIR}/cmake/catch_main.cpp")
  target_link_libraries(tickstream_catch_main PUBLIC Catch2::Catch2 PRIVATE tickstream::options)
endif()

# tickstream_add_unit_test(NAME <exe> MODULE <prefix> SOURCES ... LIBS ... [LABELS ...]
#                          [FIXTURES ...])
# FIXTURES names the real services the cases need (kafka, postgres): the CTest fixtures
# defined in tests/CMakeLists.txt start them before and stop them after.
function(tickstream_add_unit_test)
  cmake_parse_arguments(T "" "NAME;MODULE" "SOURCES;LIBS;LABELS;FIXTURES" ${ARGN})
  if(NOT BUILD_TESTING)
    return()
  endif()
  add_executable(${T_NAME} ${T_SOURCES})
  target_link_libraries(${T_NAME} PRIVATE tickstream_catch_main ${T_LIBS}
                        tickstream::options tickstream::warnings)
  # Two single-valued properties: catch_discover_tests splits a ';'-list into separate words.
  set(_props ENVIRONMENT "TICKSTREAM_INFRA_DIR=${TICKSTREAM_INFRA_DIR}"
             ENVIRONMENT_MODIFICATION "TICKSTREAM_ROOT=set:${PROJECT_SOURCE_DIR}")
  if(T_LABELS)
    list(APPEND _props LABELS "${T_LABELS}")
  endif()
  if(T_FIXTURES)
    # A real-service test that hangs (a broker that never came back) fails in minutes, not hours.
    list(APPEND _props FIXTURES_REQUIRED "${T_FIXTURES}" RESOURCE_LOCK "${T_FIXTURES}" TIMEOUT 300)
  endif()
  # --warn NoTests: a ctest entry whose name matches no test case fails instead of passing with
  # "No tests ran" (a ';' in a TEST_CASE name once split it into two entries that ran nothing).
  catch_discover_tests(${T_NAME}
    TEST_PREFIX "${T_MODULE}."
    EXTRA_ARGS --warn NoTests
    PROPERTIES ${_props})
endfunction()
