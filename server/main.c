/*
 * ternd: read the config, bind every listener, start the workers and the
 * stats endpoint, drop privileges, and run until SIGTERM or SIGINT. Exit
 * status: 0 after a clean stop, 1 when start-up fails, 2 for a bad config.
 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>

#include <linux/capability.h>

#include <event2/event.h>
#include <event2/thread.h>

#include "server/config.h"
#include "server/dtls.h"
#include "server/handover.h"
#include "server/log.h"
#include "server/notify.h"
#include "server/netaddr.h"
#include "server/plan.h"
#include "server/reload.h"
#include "relay/policy.h"
#include "server/srclimit.h"
#include "server/stats.h"
#include "server/tls.h"
#include "server/turn.h"
#include "server/wg.h"
#include "server/worker.h"
#include "server/xdp.h"
#include "store/store.h"

enum { EXIT_START = 1, EXIT_CONFIG = 2 };

static int check_only(const struct config *c)
{
	char err[CONFIG_ERR_LEN];
	int n = c->path ? config_check_file(c->path) : 0;

	if (n == 0 && config_validate(c, err, sizeof err) < 0) {
		fprintf(stderr, "%s\n", err);
		n = 1;
	}
	if (n == 0)
		printf("%s: ok\n", c->path ? c->path : "(built-in defaults)");
	return n ? EXIT_CONFIG : 0;
}

/*
 * Every capability goes once the listeners are bound and the TUN device is
 * made: nothing ternd does afterwards needs one (relay ports are above
 * 1024, wg-tun's addresses are set at start, a reload re-binds nothing).
 * That holds whether root drops to proc-user (setuid already clears the
 * sets then) or systemd started ternd as its user with an ambient
 * CAP_NET_BIND_SERVICE, which would otherwise stay effective in every
 * thread for the life of the process. Called before any thread starts:
 * capabilities are per thread, and the workers inherit these.
 */
static int drop_capabilities(char *err, size_t errlen)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3] = { { 0 } };

	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL) {
		snprintf(err, errlen, "cannot clear ambient capabilities: %s", strerror(errno));
		return -1;
	}
	if (syscall(SYS_capset, &h, d) < 0) {
		snprintf(err, errlen, "cannot drop capabilities: %s", strerror(errno));
		return -1;
	}
	return 0;
}

static int drop_privileges(const struct config *c, char *err, size_t errlen)
{
	if (c->proc_group) {
		struct group *g = getgrnam(c->proc_group);

		if (!g || setgroups(0, NULL) < 0 || setgid(g->gr_gid) < 0) {
			snprintf(err, errlen, "proc-group %s: %s", c->proc_group,
				 g ? strerror(errno) : "no such group");
			return -1;
		}
	}
	if (c->proc_user) {
		struct passwd *p = getpwnam(c->proc_user);

		if (!p || (!c->proc_group && setgid(p->pw_gid) < 0) ||
		    (!c->proc_group && initgroups(p->pw_name, p->pw_gid) < 0) ||
		    setuid(p->pw_uid) < 0) {
			snprintf(err, errlen, "proc-user %s: %s", c->proc_user,
				 p ? strerror(errno) : "no such user");
			return -1;
		}
	}
	/* root without proc-user stays root, with what root may do */
	if (getuid() != 0 && geteuid() != 0)
		return drop_capabilities(err, errlen);
	return 0;
}

static int write_pidfile(const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "w");

	if (!f || fprintf(f, "%ld\n", (long)getpid()) < 0 || fclose(f) != 0) {
		snprintf(err, errlen, "pidfile %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

static void main_on_stop(evutil_socket_t sig, short what, void *arg)
{
	log_info("signal %d: stopping", (int)sig);
	notify_stopping(sig == SIGINT ? "SIGINT" : "SIGTERM");
	event_base_loopbreak(arg);
}

/* Draining: stop once at most drain-min-allocations remain. */
static void main_on_drain_tick(evutil_socket_t fd, short what, void *arg)
{
	struct server *srv = arg;
	uint64_t left = store_allocations(srv);

	if (left > (uint64_t)srv->cfg->drain_min_allocations)
		return;
	log_info("drained: %llu allocations left, stopping", (unsigned long long)left);
	notify_stopping("drained");
	event_base_loopbreak(srv->base);
}

/* SIGUSR1 (coturn's drain): no new allocations, then stop. */
static void main_on_drain(evutil_socket_t sig, short what, void *arg)
{
	static const struct timeval second = { 1, 0 };
	struct server *srv = arg;

	if (atomic_exchange(&srv->draining, true))
		return;
	log_info("SIGUSR1: draining: new allocations go to other nodes or get 508; stopping "
		 "when at most %d of %llu remain", srv->cfg->drain_min_allocations,
		 (unsigned long long)store_allocations(srv));
	srv->drain_tick = event_new(srv->base, -1, EV_PERSIST, main_on_drain_tick, srv);
	if (srv->drain_tick)
		event_add(srv->drain_tick, &second);
	main_on_drain_tick(-1, 0, srv);
}

/* The certificate and key files read again (certbot renewed them): new TLS
 * and DTLS clients get the new ones, sessions under way keep theirs. A
 * file that does not load changes nothing. */
static void reload_certs(struct server *srv, const char *why)
{
	char err[CONFIG_ERR_LEN] = "";
	SSL_CTX *tls = NULL, *dtls = NULL;

	if (!srv->tls && !srv->dtls)
		return;
	if ((srv->tls && !(tls = tls_server_ctx(srv->cfg, err, sizeof err))) ||
	    (srv->dtls && !(dtls = tls_dtls_ctx(srv->cfg, err, sizeof err)))) {
		log_err("%s: certificate not reloaded, the old one stays: %s", why, err);
		SSL_CTX_free(tls);
		return;
	}
	if (dtls)
		dtls_prepare_ctx(dtls);
	/* the context before last is surely out of every worker's hands by now */
	SSL_CTX_free(srv->tls_old);
	SSL_CTX_free(srv->dtls_old);
	srv->tls_old = tls ? atomic_exchange(&srv->tls, tls) : NULL;
	srv->dtls_old = dtls ? atomic_exchange(&srv->dtls, dtls) : NULL;
	log_info("%s: certificate %s reloaded for new TLS and DTLS clients", why, srv->cfg->cert);
}

/* What SIGHUP reads the configuration again with. */
static struct {
	struct config *cfg; /* srv->cfg, which only this thread changes */
	int argc;
	char **argv;
} startup;

static void main_on_hup(evutil_socket_t sig, short what, void *arg)
{
	struct server *srv = arg;

	notify_reloading();
	log_reopen(); /* logrotate's, whatever the file says */
	if (reload_config(srv, startup.cfg, startup.argc, startup.argv) >= 0) {
		log_info("SIGHUP: log reopened, credentials read again");
		store_reload(srv->store);
		wg_reload(srv->wg);
		reload_certs(srv, "SIGHUP");
	}
	notify_reloaded();
}

/* SIGUSR2: coturn's certificate reload. */
static void main_on_usr2(evutil_socket_t sig, short what, void *arg)
{
	reload_certs(arg, "SIGUSR2");
}

static int worker_count(const struct config *c)
{
	long n = c->workers > 0 ? c->workers : sysconf(_SC_NPROCESSORS_ONLN);

	if (n < 1)
		n = 1;
	return n > WORKERS_MAX ? WORKERS_MAX : (int)n;
}

static void log_listeners(const struct server *srv)
{
	char a[NETADDR_STRLEN];

	for (int i = 0; i < srv->n_spec; i++) {
		const struct listener_spec *ls = &srv->spec[i];

		log_info("listening on %s %s%s", counters_transport_name(ls->tp),
			 netaddr_str((const struct sockaddr *)&ls->addr, a, sizeof a),
			 ls->binding.rfc5780 ? " (RFC 5780)" : "");
	}
}

/*
 * Every relay socket and stream connection is a file descriptor: take all
 * the kernel allows (the soft limit is often 1024), and give stream
 * connections their cap: max-stream-connections, or half of the limit.
 */
static int stream_caps(struct server *srv, char *err, size_t errlen)
{
	const struct config *c = srv->cfg;
	struct rlimit rl = { 1024, 1024 };
	rlim_t total = (rlim_t)c->stream_max;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			getrlimit(RLIMIT_NOFILE, &rl);
	}
	if (!total)
		total = rl.rlim_cur / 2;
	if (total < 1)
		total = 1;
	if (total > SRCLIMIT_MAX_TOTAL)
		total = SRCLIMIT_MAX_TOTAL;
	srv->streams = srclimit_new((uint32_t)c->stream_max_per_source, (uint32_t)total);
	if (!srv->streams) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	log_info("stream connections: at most %llu, %d per source; open-file limit %llu",
		 (unsigned long long)total, c->stream_max_per_source,
		 (unsigned long long)rl.rlim_cur);
	return 0;
}

/* Everything between config and the event loop; -1 with err on failure. */
static int start(struct server *srv, char *err, size_t errlen)
{
	const struct config *c = srv->cfg;

	if (c->cert && c->pkey && !c->no_tls) {
		srv->tls = tls_server_ctx(c, err, errlen);
		if (!srv->tls)
			return -1;
	} else if (!c->no_tls) {
		log_info("TLS off: no cert and pkey configured");
	}
	if (c->cert && c->pkey && !c->no_dtls) {
		srv->dtls = tls_dtls_ctx(c, err, errlen);
		if (!srv->dtls)
			return -1;
		dtls_prepare_ctx(srv->dtls);
	}
	/* TURN set-up divides bps-capacity among the workers: count them first */
	srv->n_workers = worker_count(c);
	if (plan_listeners(srv, err, errlen) < 0 || turn_setup(srv, err, errlen) < 0 ||
	    stream_caps(srv, err, errlen) < 0)
		return -1;
	/* the kernel fast path, before the workers' engines (and a restore) say
	 * their channels, and before privileges go */
	if (srv->turn)
		srv->xdp = xdp_open(c);
	else if (c->n_xdp_interface)
		log_warn("xdp-interface: TURN is off, so there is no ChannelData"
			 " to relay; the program is not attached");
	/* WireGuard through TURN or WebSocket: lanes between the workers and the
	 * responder */
	if (c->wg_config && (srv->turn || !c->no_websocket) &&
	    !(srv->handover = handover_new(srv->n_workers))) {
		snprintf(err, errlen, "wireguard: %s", strerror(errno));
		return -1;
	}
	for (int i = 0; i < srv->n_workers; i++) {
		srv->workers[i] = worker_new(srv, i, err, errlen);
		if (!srv->workers[i]) {
			srv->n_workers = i;
			return -1;
		}
	}
	/* the WireGuard responder: its TUN device and sockets before privileges go */
	srv->wg = wg_new(srv, err, errlen);
	if (!srv->wg)
		return *err ? -1 : 0;
	if (srv->handover && srv->turn) { /* allocations may reach it: its port on own addresses */
		policy_set_local_port(srv->policy, wg_port(srv->wg));
		log_info("wireguard: reachable through TURN allocations at port %u of this "
			 "node's addresses", (unsigned)wg_port(srv->wg));
	}
	return 0;
}

/* Free what start() made; the worker threads have been joined by now. */
static void release(struct server *srv)
{
	wg_free(srv->wg);
	for (int i = 0; i < srv->n_workers; i++)
		worker_free(srv->workers[i]);
	xdp_close(srv->xdp); /* detached: nothing relays for allocations now gone */
	handover_free(srv->handover);
	SSL_CTX_free(srv->tls);
	SSL_CTX_free(srv->dtls);
	SSL_CTX_free(srv->tls_old);
	SSL_CTX_free(srv->dtls_old);
	turn_teardown(srv);
	srclimit_free(srv->streams);
}

static int run(struct server *srv, struct event_base *base, char *err, size_t errlen)
{
	const struct config *c = srv->cfg;
	struct stats *st = NULL;
	int started = 0, rc = -1;

	srv->store = store_open(base, srv, err, errlen);
	if (!srv->store)
		goto out;
	if (store_records_start(srv->store, srv) < 0) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	if (c->stats_listen && *c->stats_listen && strcmp(c->stats_listen, "off") != 0) {
		st = stats_start(base, srv, c->stats_listen, err, errlen);
		if (!st)
			goto out;
		log_info("stats on http://%s/metrics", c->stats_listen);
	}
	if (c->pidfile && write_pidfile(c->pidfile, err, errlen) < 0)
		goto out;
	if (drop_privileges(c, err, errlen) < 0)
		goto out;
	for (; started < srv->n_workers; started++) {
		if (worker_start(srv->workers[started]) < 0) {
			snprintf(err, errlen, "cannot start worker thread");
			goto out;
		}
	}
	if (wg_start(srv->wg) < 0) {
		snprintf(err, errlen, "cannot start the WireGuard thread");
		goto out;
	}
	log_listeners(srv);
	log_info("ternd ready: %d workers", srv->n_workers);
	notify_ready(srv);
	event_base_dispatch(base);
	notify_free();
	if (store_lost(srv->store))
		snprintf(err, errlen, "stopped: node-id %s is held by another ternd",
			 store_node_id(srv->store));
	else
		rc = 0;
out:
	wg_stop(srv->wg);
	for (int i = 0; i < started; i++)
		worker_stop(srv->workers[i]);
	stats_free(st);
	store_close(srv->store);
	srv->store = NULL;
	if (c->pidfile)
		unlink(c->pidfile);
	return rc;
}

int main(int argc, char **argv)
{
	static struct server srv; /* big (listener table); lives for the process */
	char err[CONFIG_ERR_LEN] = "";
	struct event *sig[5] = { NULL };
	struct event_base *base = NULL;
	struct config cfg;
	bool check = false;
	int rc;

	config_defaults(&cfg);
	rc = config_from_argv(&cfg, argc, argv, &check, err, sizeof err);
	if (rc != 0) {
		if (rc < 0)
			fprintf(stderr, "%s\n", err);
		config_free(&cfg);
		return rc < 0 ? EXIT_CONFIG : 0;
	}
	if (check) {
		rc = check_only(&cfg);
		config_free(&cfg);
		return rc;
	}
	if (config_validate(&cfg, err, sizeof err) < 0) {
		fprintf(stderr, "%s\n", err);
		config_free(&cfg);
		return EXIT_CONFIG;
	}
	if (log_open(&cfg) < 0) {
		fprintf(stderr, "log-file %s: %s\n", cfg.log_file, strerror(errno));
		config_free(&cfg);
		return EXIT_START;
	}
	signal(SIGPIPE, SIG_IGN);
	evthread_use_pthreads();
	srv.cfg = &cfg;
	startup.cfg = &cfg;
	startup.argc = argc;
	startup.argv = argv;
	rc = EXIT_START;
	base = event_base_new();
	if (!base || start(&srv, err, sizeof err) < 0)
		goto out;
	sig[0] = evsignal_new(base, SIGTERM, main_on_stop, base);
	sig[1] = evsignal_new(base, SIGINT, main_on_stop, base);
	sig[2] = evsignal_new(base, SIGHUP, main_on_hup, &srv);
	sig[3] = evsignal_new(base, SIGUSR1, main_on_drain, &srv);
	sig[4] = evsignal_new(base, SIGUSR2, main_on_usr2, &srv);
	srv.base = base;
	for (int i = 0; i < 5; i++)
		if (sig[i])
			evsignal_add(sig[i], NULL);
	if (run(&srv, base, err, sizeof err) == 0)
		rc = 0;
out:
	if (rc)
		log_err("%s", *err ? err : "start-up failed");
	release(&srv);
	for (int i = 0; i < 5; i++)
		if (sig[i])
			event_free(sig[i]);
	if (srv.drain_tick)
		event_free(srv.drain_tick);
	if (base)
		event_base_free(base);
	log_info("ternd stopped");
	log_close();
	config_free(&cfg);
	return rc;
}
