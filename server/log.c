/*
 * ternd's log: one line per message, to stderr (the default), a file,
 * stdout, or syslog, as plain text or as JSON objects. A line is built in
 * one buffer and written with one write(), so threads never interleave
 * inside a line. The sink is set once by log_open() before the workers
 * start and is read-only afterwards; log_reopen() swaps the file under the
 * same descriptor number with dup2(), so a writer on another thread sees
 * either the old file or the new one, never a closed descriptor. Control
 * characters in messages are escaped, so nothing logged can forge a line.
 */
#include "server/log.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

enum {
	LOG_MSG_MAX = 2048,  /* a formatted message, before escaping */
	LOG_LINE_MAX = 4096, /* a whole line, escaped; longer ones are cut */
	LOG_FILE_MODE = 0640,
	LOG_FILE_FLAGS = O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY,
};

static struct {
	int fd;       /* -1: no file or stream, only syslog */
	bool own_fd;  /* opened from a path: reopen and close it */
	bool syslog;
	bool json;
	_Atomic int level; /* enum log_level; SIGHUP may change it */
	char path[PATH_MAX];
} sink = { .fd = STDERR_FILENO, .level = LOG_LVL_INFO };

static const char *const level_names[] = {
	[LOG_LVL_ERR] = "error",
	[LOG_LVL_WARN] = "warn",
	[LOG_LVL_INFO] = "info",
	[LOG_LVL_DEBUG] = "debug",
};

static const int syslog_prio[] = {
	[LOG_LVL_ERR] = LOG_ERR,
	[LOG_LVL_WARN] = LOG_WARNING,
	[LOG_LVL_INFO] = LOG_INFO,
	[LOG_LVL_DEBUG] = LOG_DEBUG,
};

/* A bounded line under construction; appends that do not fit are dropped whole. */
struct line {
	char buf[LOG_LINE_MAX];
	size_t len;
	size_t cap; /* room kept back for the closing text */
};

static bool put(struct line *l, const char *s, size_t n)
{
	if (n > l->cap - l->len)
		return false;
	memcpy(l->buf + l->len, s, n);
	l->len += n;
	return true;
}

static bool put_str(struct line *l, const char *s)
{
	return put(l, s, strlen(s));
}

static bool is_cont(unsigned char c)
{
	return (c & 0xc0) == 0x80;
}

/*
 * The length of the valid UTF-8 sequence at s (1-4), or 0. Rejects
 * overlong forms, surrogates and code points above U+10FFFF. Stops at the
 * terminating NUL, which is never a continuation byte.
 */
static size_t utf8_len(const unsigned char *s)
{
	unsigned char c = s[0], lo = 0x80, hi = 0xbf;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		return is_cont(s[1]) ? 2 : 0;
	if (c >= 0xe0 && c <= 0xef) {
		lo = c == 0xe0 ? 0xa0 : 0x80;
		hi = c == 0xed ? 0x9f : 0xbf;
		return s[1] >= lo && s[1] <= hi && is_cont(s[2]) ? 3 : 0;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		lo = c == 0xf0 ? 0x90 : 0x80;
		hi = c == 0xf4 ? 0x8f : 0xbf;
		return s[1] >= lo && s[1] <= hi && is_cont(s[2]) && is_cont(s[3]) ? 4 : 0;
	}
	return 0;
}

/* One byte (or, for JSON, one UTF-8 sequence) of s, escaped; returns bytes used. */
static size_t escape_one(struct line *l, const unsigned char *s, bool json, bool *ok)
{
	char esc[8];
	size_t n = json ? utf8_len(s) : 1;

	if (json && n == 0) {
		*ok = put_str(l, "\\ufffd"); /* not UTF-8: JSON must be */
		return 1;
	}
	if (*s == '\n' || *s == '\t' || *s == '\r') {
		snprintf(esc, sizeof(esc), "\\%c", *s == '\n' ? 'n' : *s == '\t' ? 't' : 'r');
		*ok = put_str(l, esc);
	} else if (*s < 0x20 || *s == 0x7f) {
		snprintf(esc, sizeof(esc), json ? "\\u%04x" : "\\x%02x", *s);
		*ok = put_str(l, esc);
	} else if (json && (*s == '"' || *s == '\\')) {
		snprintf(esc, sizeof(esc), "\\%c", *s);
		*ok = put_str(l, esc);
	} else {
		*ok = put(l, (const char *)s, n);
	}
	return n;
}

static void put_escaped(struct line *l, const char *msg, bool json)
{
	const unsigned char *s = (const unsigned char *)msg;
	bool ok = true;

	while (*s && ok)
		s += escape_one(l, s, json, &ok);
}

/* 2026-11-25T17:00:00.123Z, in UTC */
static void put_time(struct line *l)
{
	struct timespec ts;
	struct tm tm;
	char buf[40];
	size_t n;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, sizeof(buf) - n, ".%03dZ", (int)(ts.tv_nsec / 1000000));
	put_str(l, buf);
}

static void format_line(struct line *l, enum log_level lvl, const char *msg)
{
	l->len = 0;
	l->cap = sizeof(l->buf) - 4; /* room for "\"}\n" */
	if (sink.json) {
		put_str(l, "{\"ts\":\"");
		put_time(l);
		put_str(l, "\",\"level\":\"");
		put_str(l, level_names[lvl]);
		put_str(l, "\",\"msg\":\"");
		put_escaped(l, msg, true);
		l->cap = sizeof(l->buf);
		put_str(l, "\"}\n");
		return;
	}
	put_time(l);
	put_str(l, " ");
	put_str(l, level_names[lvl]);
	put_str(l, ": ");
	put_escaped(l, msg, false);
	l->cap = sizeof(l->buf);
	put_str(l, "\n");
}

/* One write() per line; the loop only finishes a write the kernel cut short. */
static void write_line(int fd, const char *buf, size_t len)
{
	ssize_t n;

	while (len > 0) {
		n = write(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return; /* nowhere left to report it */
		buf += n;
		len -= (size_t)n;
	}
}

/* syslog stamps the time and level itself: send the JSON object, or the text. */
static void to_syslog(struct line *l, enum log_level lvl, const char *msg)
{
	if (sink.json) {
		l->buf[l->len - 1] = '\0'; /* the newline format_line() ended with */
	} else {
		l->len = 0;
		l->cap = sizeof(l->buf) - 1;
		put_escaped(l, msg, false);
		l->buf[l->len] = '\0';
	}
	syslog(syslog_prio[lvl], "%s", l->buf);
}

void log_msg(enum log_level lvl, const char *fmt, ...)
{
	char msg[LOG_MSG_MAX];
	struct line l;
	int saved = errno;
	va_list ap;

	if ((unsigned int)lvl > (unsigned int)atomic_load_explicit(&sink.level, memory_order_relaxed))
		return; /* also drops values outside the enum */
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	format_line(&l, lvl, msg);
	if (sink.fd >= 0)
		write_line(sink.fd, l.buf, l.len);
	if (sink.syslog)
		to_syslog(&l, lvl, msg);
	errno = saved;
}

static int open_file(const char *path)
{
	int fd = open(path, LOG_FILE_FLAGS, LOG_FILE_MODE);

	return fd < 0 ? -errno : fd;
}

int log_open(const struct config *c)
{
	const char *f = c->log_file;
	int fd;

	log_close();
	sink.level = LOG_LVL_INFO;
	log_set_level((enum log_level)c->verbose);
	sink.json = c->log_json;
	if (c->syslog) {
		openlog("ternd", LOG_PID | LOG_NDELAY, LOG_DAEMON);
		sink.syslog = true;
	}
	if (!f || strcmp(f, "stderr") == 0) {
		sink.fd = c->syslog && !f ? -1 : STDERR_FILENO;
		return 0;
	}
	if (strcmp(f, "stdout") == 0) {
		sink.fd = STDOUT_FILENO;
		return 0;
	}
	fd = strlen(f) < sizeof(sink.path) ? open_file(f) : -ENAMETOOLONG;
	if (fd < 0) {
		errno = -fd; /* for callers that print strerror(errno) */
		return fd;
	}
	snprintf(sink.path, sizeof(sink.path), "%s", f);
	sink.fd = fd;
	sink.own_fd = true;
	return 0;
}

void log_set_level(enum log_level lvl)
{
	if (lvl >= LOG_LVL_ERR && lvl <= LOG_LVL_DEBUG)
		atomic_store_explicit(&sink.level, (int)lvl, memory_order_relaxed);
}

void log_reopen(void)
{
	int fd;

	if (!sink.own_fd)
		return;
	fd = open_file(sink.path);
	if (fd < 0) {
		log_err("cannot reopen log file %s: %s; still writing to the old one", sink.path,
			strerror(-fd));
		return;
	}
	if (dup2(fd, sink.fd) < 0)
		log_err("cannot reopen log file %s: %s", sink.path, strerror(errno));
	close(fd);
}

void log_close(void)
{
	if (sink.own_fd)
		close(sink.fd);
	if (sink.syslog)
		closelog();
	sink.fd = STDERR_FILENO;
	sink.own_fd = false;
	sink.syslog = false;
	sink.json = false;
	sink.level = LOG_LVL_INFO;
	sink.path[0] = '\0';
}
