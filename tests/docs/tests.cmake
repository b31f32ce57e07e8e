# The README's code examples are the compiled examples' code.
add_test(NAME ReadmeSnippets.MatchTheirSources
  COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/docs/readme_snippets_test.sh ${PROJECT_SOURCE_DIR})
set_tests_properties(ReadmeSnippets.MatchTheirSources PROPERTIES LABELS unit)
