/* web.h — the live memory map page, compiled into the binary from
 * web/index.html at build time (cmake/embed.cmake), so the server needs no
 * files and the page no network beyond its own server. */
#ifndef SMM_WEB_H
#define SMM_WEB_H

#include <stddef.h>

extern const char smm_web_index[];   /* the page's bytes, static storage */
extern const size_t smm_web_index_len;

#endif
