# Shared target settings. Every target of ours calls rangepilot_configure_target() so that the
# warning set and the strict Qt defines are the same everywhere.

function(rangepilot_configure_target target)
    target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic)
    if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
        # GCC 12 reports -Wrestrict on ordinary std::string insert/append at -O2 (GCC bug
        # 105329, fixed in 13); the warning is a false positive there and would fail -Werror.
        target_compile_options(${target} PRIVATE -Wno-restrict)
    endif()
    if(RANGEPILOT_WERROR)
        target_compile_options(${target} PRIVATE -Werror)
    endif()
    # Harmless for targets without Qt; they keep Qt code honest about encodings and loops.
    target_compile_definitions(${target} PRIVATE
        QT_NO_CAST_FROM_ASCII QT_NO_CAST_TO_ASCII QT_NO_FOREACH QT_NO_KEYWORDS)
endfunction()
