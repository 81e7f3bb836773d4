/*
 * The node id's instance token (see claim.h): who this process is, whether
 * the process an entry names still runs, and the script every registry
 * write goes through.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/random.h>

#include <hiredis/hiredis.h>

#include "store/claim.h"

const char claim_script[] =
	"local t = redis.call('HGET', KEYS[1], 'token') "
	"if t and t ~= ARGV[1] and t ~= ARGV[2] then "
	"return redis.call('HMGET', KEYS[1], 'token', 'boot', 'pidns', 'host', 'pid', "
	"'start', 'seq', 'listening') end "
	"redis.call('HSET', KEYS[1], unpack(ARGV, 4)) "
	"redis.call('HINCRBY', KEYS[1], 'seq', 1) "
	"redis.call('EXPIRE', KEYS[1], ARGV[3]) "
	"return redis.status_reply('OK')";

const char *const claim_fields[CLAIM_N_FIELDS] = { "token", "boot",  "pidns", "host",
						   "pid",   "start", "seq",   "listening" };

/* The first line of path, without its newline; "" if unreadable. */
static void read_line(const char *path, char *out, size_t cap)
{
	FILE *f = fopen(path, "r");

	out[0] = '\0';
	if (!f)
		return;
	if (fgets(out, (int)cap, f))
		out[strcspn(out, "\n")] = '\0';
	fclose(f);
}

/* Field 22 of /proc/PID/stat, the start time; 0 if there is no such
 * process. The command name (field 2) may hold spaces and parentheses:
 * the fields after it start at its last ')'. */
static unsigned long long start_time(long pid)
{
	char path[64], buf[1024], *p;
	unsigned long long v = 0;
	FILE *f;
	size_t n;

	snprintf(path, sizeof path, "/proc/%ld/stat", pid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	p = strrchr(buf, ')');
	/* ") S ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt
	 *  utime stime cutime cstime priority nice threads itreal starttime" */
	if (!p || sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d "
			 "%*d %*d %*d %*d %llu", &v) != 1)
		return 0;
	return v;
}

int claim_self(struct claim_who *me)
{
	uint8_t r[CLAIM_TOKEN_LEN / 2];
	ssize_t len;

	memset(me, 0, sizeof *me);
	if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r)
		return -1;
	for (size_t i = 0; i < sizeof r; i++)
		snprintf(me->token + 2 * i, 3, "%02x", r[i]);
	read_line("/proc/sys/kernel/random/boot_id", me->boot, sizeof me->boot);
	len = readlink("/proc/self/ns/pid", me->pidns, sizeof me->pidns - 1);
	me->pidns[len > 0 ? len : 0] = '\0';
	if (gethostname(me->host, sizeof me->host - 1) < 0)
		me->host[0] = '\0';
	me->pid = (long)getpid();
	me->start = start_time(me->pid);
	return 0;
}

enum claim_verdict claim_judge(const struct claim_who *me, const struct claim_who *holder)
{
	/* /proc speaks for this host and PID namespace only */
	if (!me->boot[0] || !me->pidns[0] || strcmp(me->boot, holder->boot) != 0 ||
	    strcmp(me->pidns, holder->pidns) != 0 || holder->pid <= 0 || !holder->start)
		return CLAIM_UNKNOWN;
	if (holder->pid == me->pid && holder->start != me->start)
		return CLAIM_DEAD; /* a previous life that had our PID */
	return start_time(holder->pid) == holder->start ? CLAIM_ALIVE : CLAIM_DEAD;
}

static void copy_field(const redisReply *v, char *out, size_t cap)
{
	snprintf(out, cap, "%s", v->type == REDIS_REPLY_STRING ? v->str : "");
}

bool claim_parse(const redisReply *r, struct claim_who *h)
{
	char num[32];

	if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != CLAIM_N_FIELDS)
		return false;
	memset(h, 0, sizeof *h);
	copy_field(r->element[0], h->token, sizeof h->token);
	copy_field(r->element[1], h->boot, sizeof h->boot);
	copy_field(r->element[2], h->pidns, sizeof h->pidns);
	copy_field(r->element[3], h->host, sizeof h->host);
	copy_field(r->element[4], num, sizeof num);
	h->pid = strtol(num, NULL, 10);
	copy_field(r->element[5], num, sizeof num);
	h->start = strtoull(num, NULL, 10);
	copy_field(r->element[6], num, sizeof num);
	h->seq = strtoull(num, NULL, 10);
	copy_field(r->element[7], h->listening, sizeof h->listening);
	return true;
}

void claim_describe(const char *id, const struct claim_who *h, char *out, size_t cap)
{
	snprintf(out, cap,
		 "node-id '%s' is held by another live ternd (pid %ld on %s, listening %s); "
		 "give each node its own node-id",
		 id, h->pid, h->host[0] ? h->host : "an unnamed host",
		 h->listening[0] ? h->listening : "on nothing yet");
}
