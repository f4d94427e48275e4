# tickstream_add_proto(NAME <target> FILES <a.proto>... [GRPC] [DEPS <proto targets>...])
#
# Generates C++ for one proto package (messages, and gRPC stubs with GRPC) into the build tree
# and wraps it in a static library target `tickstream_<NAME>` with alias `tickstream::<NAME>`.
# Imports resolve against proto/ so files import each other as "tickstream/<area>/v1/x.proto".
function(tickstream_add_proto)
  cmake_parse_arguments(P "GRPC" "NAME" "FILES;DEPS" ${ARGN})
  set(_root "${PROJECT_SOURCE_DIR}/proto")
  set(_out "${PROJECT_BINARY_DIR}/proto_gen")
  file(MAKE_DIRECTORY "${_out}")
  set(_srcs)
  foreach(_f ${P_FILES})
    get_filename_component(_abs "${_f}" ABSOLUTE)
    file(RELATIVE_PATH _rel "${_root}" "${_abs}")
    string(REGEX REPLACE "\\.proto$" "" _base "${_rel}")
    set(_gen "${_out}/${_base}.pb.cc" "${_out}/${_base}.pb.h")
    set(_args --cpp_out=${_out})
    if(P_GRPC)
      list(APPEND _gen "${_out}/${_base}.grpc.pb.cc" "${_out}/${_base}.grpc.pb.h")
      list(APPEND _args --grpc_out=${_out} --plugin=protoc-gen-grpc=${GRPC_CPP_PLUGIN})
    endif()
    add_custom_command(
      OUTPUT ${_gen}
      COMMAND protobuf::protoc ARGS ${_args} -I ${_root} ${_abs}
      DEPENDS ${_abs} protobuf::protoc
      COMMENT "protoc ${_rel}"
      VERBATIM)
    list(APPEND _srcs ${_gen})
  endforeach()
  add_library(tickstream_${P_NAME} STATIC ${_srcs})
  add_library(tickstream::${P_NAME} ALIAS tickstream_${P_NAME})
  target_include_directories(tickstream_${P_NAME} SYSTEM PUBLIC "${_out}")
  target_link_libraries(tickstream_${P_NAME} PUBLIC protobuf::libprotobuf ${P_DEPS})
  if(P_GRPC)
    target_link_libraries(tickstream_${P_NAME} PUBLIC gRPC::grpc++)
  endif()
  target_link_libraries(tickstream_${P_NAME} PRIVATE tickstream::options)
endfunction()
