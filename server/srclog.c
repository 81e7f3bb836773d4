/*
 * Bad input logged by source, with counts: see srclog.h.
 */
#include "server/srclog.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "relay/ratelimit.h"
#include "server/netaddr.h"

enum { SRCLOG_LINE = 512 };

struct slot {
	uint64_t prefix;
	uint64_t since;   /* ms: when the last line for this key was logged */
	uint32_t count;   /* events since then, not logged */
	uint8_t family;   /* 0: free */
	uint8_t kind;
	char tp[6];       /* "udp", "tls", ... */
	struct stun_addr addr; /* the first event's, for the count's line */
};

struct srclog {
	uint64_t interval;
	srclog_out_fn *out;
	void *ctx;
	/* the line budget: tokens, refilled by the second */
	uint64_t budget_at;
	uint32_t tokens;
	uint64_t held;       /* lines the budget held back since it was last said */
	uint64_t held_since;
	uint8_t key[crypto_shorthash_KEYBYTES];
	struct slot s[SRCLOG_SLOTS];
};

static const char *const kind_text[SRCLOG_KINDS] = {
	[SRCLOG_AUTH] = "authentication failures",
	[SRCLOG_LIMITED] = "requests over the unauthenticated budget",
	[SRCLOG_MALFORMED] = "malformed messages",
	[SRCLOG_STREAM] = "connections refused or closed",
};

struct srclog *srclog_new(uint64_t interval_ms, srclog_out_fn *out, void *ctx)
{
	struct srclog *sl;

	if (sodium_init() < 0 || !(sl = calloc(1, sizeof *sl)))
		return NULL;
	sl->interval = interval_ms;
	sl->out = out;
	sl->ctx = ctx;
	sl->tokens = SRCLOG_LINES_PER_S;
	randombytes_buf(sl->key, sizeof sl->key);
	return sl;
}

void srclog_free(struct srclog *sl)
{
	free(sl);
}

void srclog_set_interval(struct srclog *sl, uint64_t interval_ms)
{
	sl->interval = interval_ms;
}

static struct slot *home(struct srclog *sl, uint8_t family, uint64_t prefix, uint8_t kind)
{
	uint8_t in[10], out[crypto_shorthash_BYTES];
	uint32_t h = 0;

	for (int i = 0; i < 8; i++)
		in[i] = (uint8_t)(prefix >> (8 * i));
	in[8] = family;
	in[9] = kind;
	crypto_shorthash(out, in, sizeof in, sl->key);
	for (int i = 0; i < 4; i++)
		h = h << 8 | out[i];
	return &sl->s[h % SRCLOG_SLOTS];
}

/* One line, if the budget has a token for it this second. */
static bool emit(struct srclog *sl, uint64_t now, const char *line)
{
	if (now >= sl->budget_at + 1000 || now < sl->budget_at) {
		sl->budget_at = now;
		sl->tokens = SRCLOG_LINES_PER_S;
	}
	if (!sl->tokens)
		return false;
	sl->tokens--;
	sl->out(sl->ctx, line);
	return true;
}

/* A line the budget held back, for the tick's line that counts them. */
static void held(struct srclog *sl, uint64_t now)
{
	if (!sl->held++)
		sl->held_since = now;
}

/* "192.0.2.7" or "2001:db8:1:2::/64": the source as the slot counts it. */
static void source_str(const struct stun_addr *a, char *buf, size_t len)
{
	struct stun_addr src = *a;
	struct sockaddr_storage ss;
	bool v6 = src.family == STUN_FAMILY_IPV6 &&
		  !(memcmp(src.ip, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12) == 0);
	char *colon;

	src.port = 0;
	if (v6)
		memset(src.ip + 8, 0, 8);
	netaddr_from_stun(&src, &ss);
	netaddr_str((const struct sockaddr *)&ss, buf, len);
	/* drop the ":0" and, for IPv6, the brackets */
	colon = strrchr(buf, ':');
	if (colon)
		*colon = '\0';
	if (buf[0] == '[') {
		size_t n = strlen(buf);

		memmove(buf, buf + 1, n);
		if (n >= 2 && buf[n - 2] == ']')
			buf[n - 2] = '\0';
	}
	if (v6)
		strncat(buf, "/64", len - strlen(buf) - 1);
}

/* The count's line for a slot with one; false if the budget had no room. */
static bool say_count(struct srclog *sl, struct slot *s, uint64_t now)
{
	char line[SRCLOG_LINE], src[NETADDR_STRLEN + 4];
	uint64_t secs = (now - s->since + 999) / 1000;

	source_str(&s->addr, src, sizeof src);
	snprintf(line, sizeof line, "%s %s: %" PRIu32 " more %s in the last %" PRIu64 " s",
		 s->tp, src, s->count, kind_text[s->kind], secs ? secs : 1);
	if (!emit(sl, now, line))
		return false;
	s->count = 0;
	s->since = now;
	return true;
}

void srclog_note(struct srclog *sl, enum srclog_kind kind, const char *tp,
		 const struct stun_addr *src, uint64_t now_ms, const char *fmt, ...)
{
	char line[SRCLOG_LINE], a[NETADDR_STRLEN];
	struct sockaddr_storage ss;
	struct slot *s;
	uint64_t prefix;
	uint8_t family;
	va_list ap;
	int n;

	if (!sl || (unsigned)kind >= SRCLOG_KINDS || !ratelimit_source(src, &family, &prefix))
		return;
	s = home(sl, family, prefix, (uint8_t)kind);
	if (s->family == family && s->prefix == prefix && s->kind == kind) {
		/* a clock stepped back counts as within the interval */
		if (sl->interval && (now_ms < s->since || now_ms - s->since < sl->interval)) {
			s->count++;
			return;
		}
		if (s->count && !say_count(sl, s, now_ms))
			held(sl, now_ms);
	} else if (s->family && s->count && !say_count(sl, s, now_ms)) {
		held(sl, now_ms); /* the slot's old source, said early if at all */
	}
	*s = (struct slot){ .prefix = prefix, .since = now_ms, .family = family,
			    .kind = (uint8_t)kind, .addr = *src };
	snprintf(s->tp, sizeof s->tp, "%s", tp);

	netaddr_from_stun(src, &ss);
	n = snprintf(line, sizeof line, "%s %s: ", tp,
		     netaddr_str((const struct sockaddr *)&ss, a, sizeof a));
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
	va_end(ap);
	if (!emit(sl, now_ms, line)) {
		held(sl, now_ms);
		s->family = 0; /* the next event from it may be logged */
	}
}

void srclog_tick(struct srclog *sl, uint64_t now_ms)
{
	char line[SRCLOG_LINE];

	if (!sl)
		return;
	if (sl->held) { /* first, and outside the budget: one line a tick */
		uint64_t secs = now_ms > sl->held_since ? (now_ms - sl->held_since + 999) / 1000 : 1;

		snprintf(line, sizeof line, "%" PRIu64 " more lines of bad input not logged in the "
			 "last %" PRIu64 " s (over %d a second)", sl->held, secs,
			 SRCLOG_LINES_PER_S);
		sl->held = 0;
		sl->out(sl->ctx, line);
	}
	for (size_t i = 0; i < SRCLOG_SLOTS; i++) {
		struct slot *s = &sl->s[i];

		if (!s->family || !s->count)
			continue;
		if (now_ms < s->since)
			s->since = now_ms; /* the clock stepped back: start the interval again */
		else if (now_ms - s->since >= sl->interval && !say_count(sl, s, now_ms))
			return; /* the budget is spent: the rest wait for the next tick */
	}
}
