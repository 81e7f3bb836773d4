/*
 * JSON strings (see json.h): '"' and '\' escaped, control characters and
 * bytes outside printable ASCII as \u00XX (a user name is bytes; this keeps
 * the output valid whatever they are).
 */
#include <stdint.h>
#include <stdio.h>

#include "server/json.h"

size_t json_quote(char *out, size_t cap, const void *s, size_t n)
{
	const uint8_t *p = s;
	size_t o = 0;

	if (cap < 3)
		return 0;
	out[o++] = '"';
	for (size_t i = 0; i < n; i++) {
		uint8_t c = p[i];

		if (o + 7 >= cap)
			return 0;
		if (c == '"' || c == '\\') {
			out[o++] = '\\';
			out[o++] = (char)c;
		} else if (c < 0x20 || c >= 0x7f) {
			o += (size_t)snprintf(out + o, cap - o, "\\u%04x", c);
		} else {
			out[o++] = (char)c;
		}
	}
	if (o + 2 > cap)
		return 0;
	out[o++] = '"';
	out[o] = '\0';
	return o;
}
