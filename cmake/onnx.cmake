# The ONNX reader: C code generated at build time by protoc-c from the proto2 onnx.proto
# that Debian's libonnx-dev installs (the schema is not copied into this repository), built
# into a static library linked by libslimc. Without protoc-c, libprotobuf-c or the proto,
# slimc builds without ONNX import (frontend/onnx.c then reports that clearly at load time).
# Needs: apt-get install protobuf-c-compiler libprotobuf-c-dev libonnx-dev
find_program(SLIMC_PROTOC_C protoc-c)
find_path(SLIMC_ONNX_PROTO_DIR onnx.proto PATHS /usr/include/onnx /usr/local/include/onnx)
find_path(SLIMC_PROTOBUF_C_INCLUDE protobuf-c/protobuf-c.h)
find_library(SLIMC_PROTOBUF_C_LIB protobuf-c)
if(SLIMC_PROTOC_C AND SLIMC_ONNX_PROTO_DIR AND SLIMC_PROTOBUF_C_INCLUDE AND SLIMC_PROTOBUF_C_LIB)
  set(SLIMC_WITH_ONNX ON)
else()
  set(SLIMC_WITH_ONNX OFF)
endif()
message(STATUS "slimc: ONNX import (protoc-c, libprotobuf-c, onnx.proto): ${SLIMC_WITH_ONNX}")

if(SLIMC_WITH_ONNX)
  set(onnx_gen ${CMAKE_CURRENT_BINARY_DIR}/onnx_proto)
  file(MAKE_DIRECTORY ${onnx_gen})
  add_custom_command(
    OUTPUT ${onnx_gen}/onnx.pb-c.c ${onnx_gen}/onnx.pb-c.h
    COMMAND ${SLIMC_PROTOC_C} --proto_path=${SLIMC_ONNX_PROTO_DIR} --c_out=${onnx_gen}
            ${SLIMC_ONNX_PROTO_DIR}/onnx.proto
    DEPENDS ${SLIMC_ONNX_PROTO_DIR}/onnx.proto
    COMMENT "protoc-c: generating the ONNX reader from ${SLIMC_ONNX_PROTO_DIR}/onnx.proto")
  add_library(slimc_onnx_proto STATIC ${onnx_gen}/onnx.pb-c.c)
  target_include_directories(slimc_onnx_proto PUBLIC ${onnx_gen} ${SLIMC_PROTOBUF_C_INCLUDE})
  target_link_libraries(slimc_onnx_proto PUBLIC ${SLIMC_PROTOBUF_C_LIB})
  target_link_libraries(slimc PUBLIC slimc_onnx_proto)
  target_compile_definitions(slimc PUBLIC SLIMC_WITH_ONNX=1)
  install(TARGETS slimc_onnx_proto)
endif()
