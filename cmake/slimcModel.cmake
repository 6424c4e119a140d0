# slimc_add_model(TARGET name MODEL file.slim [NAME id] [PASSES p] [THREADS n] [CPU cpu]
#                 [DEPENDS files...] [TARGET_TRIPLE triple] [DEVICE cpu|cuda]
#                 [PRECISION fp32|fp16|bf16])
#
# Compiles the model during the project's build (`slimc build --lib`) into a static
# library target TARGET whose header, ID.h (ID: NAME, else TARGET), is on its include
# path. The model is compiled again when the .slim file, a weight file beside it
# (*.safetensors, *.npy, *.bin) or a file in DEPENDS changes. THREADS defines
# ID_THREADS (upper case) for the code that calls ID_run; CPU is passed as --cpu
# (default: the portable x86-64-v2); TARGET_TRIPLE as --target-triple (the library is
# then built by TRIPLE-gcc, for a project that cross-compiles to that target).
# DEVICE cuda builds the CUDA flavour (`slimc build --device cuda --lib`: PTX for
# compute_75/80/90 embedded, ID_init / ID_run / ID_run_device / ID_error / ID_free; the
# driver is loaded at run time, so the target links libdl, not CUDA; building needs NVRTC);
# PRECISION is passed as --precision (fp16 / bf16: tensor cores; with DEVICE cuda only).
function(slimc_add_model)
  cmake_parse_arguments(ARG "" "TARGET;MODEL;NAME;PASSES;THREADS;CPU;TARGET_TRIPLE;DEVICE;PRECISION" "DEPENDS" ${ARGN})
  if(NOT ARG_TARGET OR NOT ARG_MODEL)
    message(FATAL_ERROR "slimc_add_model: TARGET and MODEL are required")
  endif()
  set(id ${ARG_TARGET})
  if(ARG_NAME)
    set(id ${ARG_NAME})
  endif()
  get_filename_component(model "${ARG_MODEL}" ABSOLUTE BASE_DIR "${CMAKE_CURRENT_SOURCE_DIR}")
  get_filename_component(model_dir "${model}" DIRECTORY)
  file(GLOB weights "${model_dir}/*.safetensors" "${model_dir}/*.npy" "${model_dir}/*.bin")
  set(out "${CMAKE_CURRENT_BINARY_DIR}/slimc_${ARG_TARGET}")
  file(MAKE_DIRECTORY "${out}")
  set(opts --name ${id})
  if(ARG_PASSES)
    list(APPEND opts --passes ${ARG_PASSES})
  endif()
  if(ARG_CPU)
    list(APPEND opts --cpu ${ARG_CPU})
  endif()
  if(ARG_TARGET_TRIPLE)
    list(APPEND opts --target-triple ${ARG_TARGET_TRIPLE})
  endif()
  set(link_libs "Threads::Threads;m")
  if(ARG_DEVICE)
    if(NOT ARG_DEVICE MATCHES "^(cpu|cuda)$")
      message(FATAL_ERROR "slimc_add_model: DEVICE is cpu or cuda, not '${ARG_DEVICE}'")
    endif()
    list(APPEND opts --device ${ARG_DEVICE})
    if(ARG_DEVICE STREQUAL "cuda")
      set(link_libs "Threads::Threads;${CMAKE_DL_LIBS};m")
    endif()
  endif()
  if(ARG_PRECISION)
    list(APPEND opts --precision ${ARG_PRECISION})
  endif()
  if(TARGET slimc::compiler)
    set(slimc_exe slimc::compiler)
  else()
    set(slimc_exe slimc_cli) # inside slimc's own build
  endif()
  add_custom_command(
    OUTPUT "${out}/lib${id}.a" "${out}/${id}.h"
    COMMAND ${slimc_exe} build "${model}" --lib -o "${out}" ${opts}
    DEPENDS "${model}" ${weights} ${ARG_DEPENDS} ${slimc_exe}
    COMMENT "slimc: compiling ${ARG_MODEL} into lib${id}.a"
    VERBATIM)
  add_custom_target(${ARG_TARGET}_slimc_build DEPENDS "${out}/lib${id}.a" "${out}/${id}.h")
  find_package(Threads REQUIRED)
  add_library(${ARG_TARGET} STATIC IMPORTED GLOBAL)
  set_target_properties(${ARG_TARGET} PROPERTIES
    IMPORTED_LOCATION "${out}/lib${id}.a"
    INTERFACE_INCLUDE_DIRECTORIES "${out}"
    INTERFACE_LINK_LIBRARIES "${link_libs}")
  if(ARG_THREADS)
    string(TOUPPER "${id}" up)
    set_property(TARGET ${ARG_TARGET} APPEND PROPERTY INTERFACE_COMPILE_DEFINITIONS ${up}_THREADS=${ARG_THREADS})
  endif()
  add_dependencies(${ARG_TARGET} ${ARG_TARGET}_slimc_build)
endfunction()
