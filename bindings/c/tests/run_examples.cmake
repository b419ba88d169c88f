# Runs each example program given in EXAMPLES (a list of paths) in WORKDIR; fails on the first one
# that exits non-zero. Used by the ctest `c_examples`.
if(NOT EXAMPLES OR NOT WORKDIR)
    message(FATAL_ERROR "usage: cmake -DEXAMPLES=<prog;prog> -DWORKDIR=<dir> -P run_examples.cmake")
endif()
foreach(program IN LISTS EXAMPLES)
    message(STATUS "running ${program}")
    execute_process(COMMAND "${program}" WORKING_DIRECTORY "${WORKDIR}" RESULT_VARIABLE result)
    if(NOT result STREQUAL "0")
        message(FATAL_ERROR "${program} failed (exit status: ${result})")
    endif()
endforeach()
