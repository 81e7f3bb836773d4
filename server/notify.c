/*
 * sd_notify(3) for Type=notify units (see notify.h). STATUS is what
 * `systemctl status ternd` shows under the unit: the node's allocations,
 * WireGuard peers and sessions, and whether it drains.
 */
#include <stdio.h>
#include <time.h>

#include <event2/event.h>

#ifdef HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include "server/notify.h"
#include "server/wg.h"
#include "store/store.h"

enum { NOTIFY_STATUS_S = 10 };

static struct event *status_ev;

#ifdef HAVE_SYSTEMD
static void status(struct server *srv)
{
	char peers[24], sessions[24];

	wg_counts(srv->wg, peers, sessions);
	sd_notifyf(0, "STATUS=%s: %llu allocations, %s WireGuard peers, %s sessions, "
		      "store %s",
		   atomic_load(&srv->draining) ? "draining" : "serving",
		   (unsigned long long)store_allocations(srv), peers, sessions,
		   store_state_name(store_state(srv->store)));
}

static void on_status(evutil_socket_t fd, short what, void *arg)
{
	status(arg);
}

void notify_ready(struct server *srv)
{
	static const struct timeval every = { NOTIFY_STATUS_S, 0 };

	sd_notify(0, "READY=1");
	status(srv);
	status_ev = event_new(srv->base, -1, EV_PERSIST, on_status, srv);
	if (status_ev)
		event_add(status_ev, &every);
}

void notify_reloading(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	/* MONOTONIC_USEC lets Type=notify-reload units match it to the reload */
	sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%llu",
		   (unsigned long long)ts.tv_sec * 1000000 + (unsigned long long)ts.tv_nsec / 1000);
}

void notify_reloaded(void)
{
	sd_notify(0, "READY=1");
}

void notify_stopping(const char *why)
{
	sd_notifyf(0, "STOPPING=1\nSTATUS=stopping: %s", why);
}
#else
void notify_ready(struct server *srv)
{
}

void notify_reloading(void)
{
}

void notify_reloaded(void)
{
}

void notify_stopping(const char *why)
{
}
#endif

void notify_free(void)
{
	if (status_ev)
		event_free(status_ev);
	status_ev = NULL;
}
