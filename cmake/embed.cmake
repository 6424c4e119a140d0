# Turns the file IN into a C source OUT defining `const char slimc_rt_header[]`.
file(READ ${IN} content HEX)
string(LENGTH "${content}" n)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${content}")
file(WRITE ${OUT} "/* generated from runtime/slimc_rt.h */\n#include <stddef.h>\nextern const char slimc_rt_header[];\nextern const size_t slimc_rt_header_len;\nconst char slimc_rt_header[] = {${bytes} 0};\nconst size_t slimc_rt_header_len = sizeof slimc_rt_header - 1;\n")
