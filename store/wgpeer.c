/*
 * WireGuard peer records (see wgpeer.h): key names and the field codec.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "store/wgpeer.h"

enum { TAI64_BASE_HI = 0x40000000, TAI64_BASE_LO = 10 }; /* 2^62 + 10 */

void wgpeer_b64(const uint8_t key[32], char out[WGPEER_B64])
{
	sodium_bin2base64(out, WGPEER_B64, key, 32, sodium_base64_VARIANT_ORIGINAL);
}

void wgpeer_key(char out[WGPEER_KEY_LEN], const uint8_t r[32], const uint8_t peer[32])
{
	char rb[WGPEER_B64], pb[WGPEER_B64];

	wgpeer_b64(r, rb);
	wgpeer_b64(peer, pb);
	snprintf(out, WGPEER_KEY_LEN, "tern:wg:{%s}:peer:%s", rb, pb);
}

void wgpeer_set_key(char out[WGPEER_KEY_LEN], const uint8_t r[32])
{
	char rb[WGPEER_B64];

	wgpeer_b64(r, rb);
	snprintf(out, WGPEER_KEY_LEN, "tern:wg:{%s}:peers", rb);
}

void wgpeer_allowed_format(const struct wgpeer *p, char *out, size_t len)
{
	size_t at = 0;

	out[0] = '\0';
	for (int i = 0; i < p->n_allowed && at < len; i++) {
		char ip[INET6_ADDRSTRLEN];
		int n;

		inet_ntop(p->allowed[i].family == 4 ? AF_INET : AF_INET6, p->allowed[i].ip, ip,
			  sizeof ip);
		n = snprintf(out + at, len - at, "%s%s/%u", i ? "," : "", ip, p->allowed[i].plen);
		if (n < 0 || (size_t)n >= len - at) {
			out[at] = '\0'; /* whole prefixes only */
			return;
		}
		at += (size_t)n;
	}
}

bool wgpeer_allowed_parse(struct wgpeer *p, const char *s, char *err, size_t errlen)
{
	p->n_allowed = 0;
	while (*s) {
		char item[64];
		size_t n = strcspn(s, ",");
		const char *a = s, *e = s + n;

		while (a < e && *a == ' ')
			a++;
		while (e > a && e[-1] == ' ')
			e--;
		s += n + (s[n] == ',');
		if (a == e)
			continue;
		if ((size_t)(e - a) >= sizeof item) {
			snprintf(err, errlen, "'%.*s...' is not an address or prefix", 20, a);
			return false;
		}
		if (p->n_allowed == WGPEER_MAX_ALLOWED) {
			snprintf(err, errlen, "more than %d prefixes", WGPEER_MAX_ALLOWED);
			return false;
		}
		snprintf(item, sizeof item, "%.*s", (int)(e - a), a);
		if (!wgconf_prefix(item, &p->allowed[p->n_allowed])) {
			snprintf(err, errlen, "'%.*s' is not an address or prefix", (int)(e - a), a);
			return false;
		}
		p->n_allowed++;
	}
	return true;
}

static bool number(const char *s, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (*end || errno || v > max)
		return false;
	*out = v;
	return true;
}

static bool hex12(const char *s, uint8_t out[12])
{
	size_t n = 0;

	return strlen(s) == 24 && sodium_hex2bin(out, 12, s, 24, NULL, &n, NULL) == 0 && n == 12;
}

bool wgpeer_from_hash(struct wgpeer *p, const char *const *fields, const char *const *values,
		      int n)
{
	char err[128];

	for (int i = 0; i < n; i++) {
		const char *f = fields[i], *v = values[i];
		uint64_t x = 0;
		bool ok = true;

		if (!strcmp(f, "allowed"))
			ok = wgpeer_allowed_parse(p, v, err, sizeof err);
		else if (!strcmp(f, "psk"))
			ok = p->has_preshared_key = wgconf_key(v, p->preshared_key);
		else if (!strcmp(f, "keepalive") && (ok = number(v, 65535, &x)))
			p->keepalive = (uint16_t)x;
		else if (!strcmp(f, "tai64n"))
			ok = p->has_tai64n = hex12(v, p->tai64n);
		else if (!strcmp(f, "rx"))
			ok = number(v, UINT64_MAX, &p->rx_bytes);
		else if (!strcmp(f, "tx"))
			ok = number(v, UINT64_MAX, &p->tx_bytes);
		else if (!strcmp(f, "added") && (ok = number(v, INT64_MAX, &x)))
			p->added = (int64_t)x;
		if (!ok)
			return false;
	}
	return true;
}

void wgpeer_tai64n_hex(const uint8_t t[12], char out[WGPEER_TAI64N_HEX])
{
	sodium_bin2hex(out, WGPEER_TAI64N_HEX, t, 12);
}

int64_t wgpeer_tai64n_unix(const uint8_t t[12])
{
	uint64_t s = 0;

	for (int i = 0; i < 8; i++)
		s = s << 8 | t[i];
	if (s < ((uint64_t)TAI64_BASE_HI << 32 | TAI64_BASE_LO))
		return 0;
	return (int64_t)(s - ((uint64_t)TAI64_BASE_HI << 32 | TAI64_BASE_LO));
}
