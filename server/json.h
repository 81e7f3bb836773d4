/*
 * JSON text for /stats and the store's events: strings quoted and escaped
 * byte by byte, so a user name or a value read back from Redis can never
 * break out of its quotes.
 */
#ifndef TERN_SERVER_JSON_H
#define TERN_SERVER_JSON_H

#include <stddef.h>

/* s[0..n) as a JSON string, quotes included, NUL-terminated, into out:
 * its length, or 0 if it does not fit in cap. */
size_t json_quote(char *out, size_t cap, const void *s, size_t n);

#endif
