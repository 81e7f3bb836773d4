/*
 * The service manager's notification protocol (sd_notify(3)), through
 * libsystemd when configure found it; without it, or when ternd was not
 * started by a service manager ($NOTIFY_SOCKET unset), every call is a
 * no-op. In the main thread.
 */
#ifndef TERN_SERVER_NOTIFY_H
#define TERN_SERVER_NOTIFY_H

#include "server/worker.h"

/* READY=1 and a first STATUS; then STATUS again every NOTIFY_STATUS_S. */
void notify_ready(struct server *srv);
/* RELOADING=1 (SIGHUP), then READY=1 once it is done. */
void notify_reloading(void);
void notify_reloaded(void);
/* STOPPING=1 and why. */
void notify_stopping(const char *why);
/* Free the status timer. */
void notify_free(void);

#endif
