# Fails when docs/denials.md differs from `portcullis denials --markdown` (run `make docs`).
execute_process(COMMAND ${BIN} denials --markdown OUTPUT_VARIABLE generated RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "portcullis denials --markdown failed (${rc})")
endif()
file(READ ${DOC} committed)
if(NOT generated STREQUAL committed)
  message(FATAL_ERROR "docs/denials.md is out of date: run `make docs` and commit it")
endif()
