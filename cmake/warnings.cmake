# Warning and sanitizer flags live on one interface target that every seesaw
# target links PRIVATE (through $<BUILD_INTERFACE:...>), never in global flags.
add_library(seesaw_build_flags INTERFACE)
target_compile_options(seesaw_build_flags INTERFACE -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor)
if(SEESAW_WERROR)
  target_compile_options(seesaw_build_flags INTERFACE -Werror)
endif()
if(SEESAW_ASAN)
  target_compile_options(seesaw_build_flags INTERFACE -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  target_link_options(seesaw_build_flags INTERFACE -fsanitize=address,undefined)
endif()
if(SEESAW_TSAN)
  target_compile_options(seesaw_build_flags INTERFACE -fsanitize=thread -fno-omit-frame-pointer)
  # GCC warns that TSan does not model atomic_thread_fence, which
  # concurrentqueue uses; without this -Werror stops the TSan build.
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    target_compile_options(seesaw_build_flags INTERFACE -Wno-tsan)
  endif()
  target_link_options(seesaw_build_flags INTERFACE -fsanitize=thread)
endif()

# seesaw_add_library(name folder SOURCES ...): one library per source folder,
# seesaw::<name> alias, public headers under <folder>/include.
function(seesaw_add_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES" ${ARGN})
  add_library(seesaw_${name} ${ARG_SOURCES})
  add_library(seesaw::${name} ALIAS seesaw_${name})
  set_target_properties(seesaw_${name} PROPERTIES EXPORT_NAME ${name} OUTPUT_NAME seesaw_${name})
  target_include_directories(seesaw_${name} PUBLIC
    $<BUILD_INTERFACE:${CMAKE_CURRENT_SOURCE_DIR}/include>
    $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
  target_compile_features(seesaw_${name} PUBLIC cxx_std_20)
  target_link_libraries(seesaw_${name} PRIVATE $<BUILD_INTERFACE:seesaw_build_flags>)
endfunction()
