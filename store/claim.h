/*
 * One node id, one live process (issue 9, defect 2). Every node writes its
 * registry entry, tern:node:{ID}, through one Lua script that writes only
 * if the entry is absent or carries this process's instance token, so two
 * processes started with the same node-id cannot both hold it: the second
 * finds the first's token and learns who holds the id.
 *
 * Whether the holder still runs decides what happens next. The entry names
 * the holder's host (boot id), PID namespace, PID and process start time:
 * on the same host and namespace, /proc answers at once (a SIGKILLed
 * previous life is gone; another ternd is there). Anywhere else, the holder
 * is alive if its heartbeat counter ("seq") moves within one beat and a
 * margin (CLAIM_WATCH_MS). A dead holder's entry is taken over, and with
 * it its allocation records: that is how a restarted node gets its own
 * allocations back. A live one makes this process refuse to start (or,
 * found later, stop), naming the id and the other's listeners.
 * doc/2026-12-07-node-id.md says why.
 *
 * Sans-Redis: this module formats and judges; store/redis.c sends.
 */
#ifndef TERN_STORE_CLAIM_H
#define TERN_STORE_CLAIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
	CLAIM_TOKEN_LEN = 32,    /* hex digits: 128 random bits */
	CLAIM_FIELD_MAX = 64,    /* boot id, namespace, host name */
	CLAIM_WATCH_MS = 7000,   /* one heartbeat (5 s) and a margin */
	CLAIM_POLL_MS = 500,     /* how often a watch looks at the entry */
};

/* Who holds (or would hold) an id: what the entry records. */
struct claim_who {
	char token[CLAIM_TOKEN_LEN + 1];
	char boot[CLAIM_FIELD_MAX];  /* /proc/sys/kernel/random/boot_id */
	char pidns[CLAIM_FIELD_MAX]; /* /proc/self/ns/pid's link, "pid:[N]" */
	char host[CLAIM_FIELD_MAX];
	long pid;
	unsigned long long start;    /* /proc/PID/stat field 22, clock ticks */
	unsigned long long seq;      /* heartbeats written */
	char listening[256];         /* its listeners, for the error message */
};

/* This process, with a fresh random token. -1 if no randomness. */
int claim_self(struct claim_who *me);

enum claim_verdict {
	CLAIM_DEAD,    /* the holder is gone: take the entry over */
	CLAIM_ALIVE,   /* another live process holds the id */
	CLAIM_UNKNOWN, /* another host or namespace: watch its seq */
};

/* What this host can tell of holder, seen from me. */
enum claim_verdict claim_judge(const struct claim_who *me, const struct claim_who *holder);

/*
 * The script: KEYS[1] the entry; ARGV[1] my token, ARGV[2] a dead
 * holder's token I may replace ("" for none), ARGV[3] the TTL in seconds,
 * then field/value pairs to write (the token among them). Writes them,
 * counts a heartbeat in "seq" and sets the TTL, and returns the status
 * "OK"; or writes nothing and returns the holder's fields (CLAIM_FIELDS
 * order) when another token holds the entry.
 */
extern const char claim_script[];
extern const char *const claim_fields[]; /* token boot pidns host pid start seq listening */
enum { CLAIM_N_FIELDS = 8 };

/* Fill holder from the script's array answer (values in claim_fields
 * order, any of them absent). false: not such an answer. */
struct redisReply;
bool claim_parse(const struct redisReply *r, struct claim_who *holder);

/* "node-id 'ID' is held by a live ternd (pid P on H, listening ...)" */
void claim_describe(const char *id, const struct claim_who *holder, char *out, size_t cap);

#endif
