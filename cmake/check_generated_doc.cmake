# Fails when a generated document differs from the command that generates it (run `make docs`).
# -DBIN=portcullis -DDOC=docs/x.md -DARGS="denials;--markdown"
execute_process(COMMAND ${BIN} ${ARGS} OUTPUT_VARIABLE generated RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "portcullis ${ARGS} failed (${rc})")
endif()
file(READ ${DOC} committed)
if(NOT generated STREQUAL committed)
  message(FATAL_ERROR "${DOC} is out of date: run `make docs` and commit it")
endif()
