# Turns the file IN into a C source OUT defining `const char VAR[]` and `VAR_len`.
file(READ ${IN} content HEX)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "(char)0x\\1," bytes "${content}")
file(WRITE ${OUT} "/* generated from ${NAME} */\n#include <stddef.h>\nextern const char ${VAR}[];\nextern const size_t ${VAR}_len;\nconst char ${VAR}[] = {${bytes} 0};\nconst size_t ${VAR}_len = sizeof ${VAR} - 1;\n")
