/*
 * Logging: stderr (default), a file, or syslog; plain text or JSON lines.
 * Thread-safe: each call writes one whole line. Never called per packet.
 */
#ifndef TERN_SERVER_LOG_H
#define TERN_SERVER_LOG_H

#include "server/config.h"

/* Open the configured sink. Returns 0 or -errno (file could not be opened). */
int log_open(const struct config *c);
/* Reopen a log file (SIGHUP, for logrotate). */
void log_reopen(void);
void log_close(void);
/* A new level (SIGHUP), for every thread's next line. */
void log_set_level(enum log_level lvl);

void log_msg(enum log_level lvl, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define log_err(...) log_msg(LOG_LVL_ERR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_LVL_DEBUG, __VA_ARGS__)

#endif
