# embed.cmake — cmake -DIN=file -DOUT=file.c -DNAME=symbol -P embed.cmake
# writes file's bytes as a C array NAME and its length NAME_len, so a page
# is compiled into the binary (no new tool: CMake reads the file as hex).
file(READ "${IN}" hex HEX)
string(LENGTH "${hex}" n)
math(EXPR len "${n} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
file(WRITE "${OUT}" "/* Generated from ${IN} by cmake/embed.cmake; do not edit. */\n#include <stddef.h>\nconst char ${NAME}[] = {${bytes}0};\nconst size_t ${NAME}_len = ${len};\n")
