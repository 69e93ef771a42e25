# portcullis_module(NAME SOURCES ... DEPS ...): one static library per src/ folder.
function(portcullis_module name)
  cmake_parse_arguments(M "" "" "SOURCES;DEPS" ${ARGN})
  add_library(portcullis_${name} STATIC ${M_SOURCES})
  target_include_directories(portcullis_${name} PUBLIC ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(portcullis_${name} PUBLIC ${M_DEPS})
endfunction()

# portcullis_unit_tests(MODULE): every tests/unit/<module>/*_test.cpp in one GoogleTest binary.
function(portcullis_unit_tests module)
  file(GLOB sources CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/tests/unit/${module}/*_test.cpp)
  if(NOT sources)
    return()
  endif()
  add_executable(unit_${module} ${sources})
  target_link_libraries(unit_${module} PRIVATE portcullis_${module} GTest::gtest GTest::gtest_main
                                                ${ARGN})
  target_compile_definitions(unit_${module} PRIVATE
    PORTCULLIS_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
  add_test(NAME unit_${module} COMMAND unit_${module})
endfunction()
