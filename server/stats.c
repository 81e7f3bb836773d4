/*
 * The stats endpoint. Counters are read without stopping the workers: each
 * is a relaxed atomic that only its worker writes, so a scrape sees every
 * counter at some recent value, never a torn one. The endpoint binds to
 * loopback by default (DESIGN.md s7); it serves nothing that changes state.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sys/resource.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "server/admin.h"
#include "server/json.h"
#include "server/netaddr.h"
#include "server/stats.h"
#include "server/wg.h"
#include "server/xdp.h"
#include "store/store.h"

/* The TURN engines' counters, summed; each field a plain total. */
struct turn_sum {
	uint64_t allocations[2], allocations_total;
	uint64_t to_peer_packets, to_peer_bytes, to_client_packets, to_client_bytes;
	uint64_t auth_failures[AUTH_FAIL_COUNT];
	uint64_t policy_denied[POLICY_VERDICT_COUNT];
	uint64_t quota_rejected, capacity_rejected, challenges, rate_limited;
	uint64_t dropped[RD_COUNT];
	uint64_t tcp_connected, tcp_accepted, tcp_failed, tcp_refused;
	uint64_t restored, deletes_lost, redirected;
};

struct stats {
	const struct server *srv;
	struct event_base *base;
	struct evhttp *http;
	time_t started;
};

static void help(struct evbuffer *b, const char *name, const char *type,
		 const char *text)
{
	evbuffer_add_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, text, name, type);
}

static void per_transport(struct evbuffer *b, const char *name, const char *type,
			  const char *text, const counter_t *v)
{
	help(b, name, type, text);
	for (int t = 0; t < TP_COUNT; t++)
		evbuffer_add_printf(b, "%s{transport=\"%s\"} %llu\n", name,
				    counters_transport_name(t),
				    (unsigned long long)counter_get(&v[t]));
}

/* A counter by reason, named by name_of. */
static void by_reason(struct evbuffer *b, const char *name, const char *text, const counter_t *v,
		      int n, const char *(*name_of)(int))
{
	help(b, name, "counter", text);
	for (int r = 0; r < n; r++)
		evbuffer_add_printf(b, "%s{reason=\"%s\"} %llu\n", name, name_of(r),
				    (unsigned long long)counter_get(&v[r]));
}

static const char *ws_refusal(int r)
{
	return counters_ws_refusal_name((enum ws_refusal)r);
}

static const char *ws_close(int r)
{
	return counters_ws_close_name((enum ws_close)r);
}

/* A WebSocket counter by path and direction ([0] in, [1] out). */
static void per_path(struct evbuffer *b, const char *name, const char *text,
		     const counter_t v[WSP_COUNT][2])
{
	help(b, name, "counter", text);
	for (int p = 0; p < WSP_COUNT; p++)
		for (int d = 0; d < 2; d++)
			evbuffer_add_printf(b, "%s{path=\"%s\",direction=\"%s\"} %llu\n", name,
					    counters_ws_path_name(p), d ? "out" : "in",
					    (unsigned long long)counter_get(&v[p][d]));
}

/* WebSocket on the stream ports: by path, and the refusals and closes. */
static void ws_metrics(struct evbuffer *b, const struct counters *c)
{
	help(b, "tern_websocket_connections", "gauge", "Upgraded WebSocket connections open now.");
	for (int p = 0; p < WSP_COUNT; p++)
		evbuffer_add_printf(b, "tern_websocket_connections{path=\"%s\"} %llu\n",
				    counters_ws_path_name(p),
				    (unsigned long long)counter_get(&c->ws_open[p]));
	per_path(b, "tern_websocket_messages_total", "WebSocket data messages.", c->ws_messages);
	per_path(b, "tern_websocket_bytes_total", "WebSocket data message payload bytes.",
		 c->ws_bytes);
	by_reason(b, "tern_websocket_refused_total",
		  "HTTP requests on a stream port answered without an upgrade, by reason.",
		  c->ws_refused, WSR_COUNT, ws_refusal);
	by_reason(b, "tern_websocket_closed_total",
		  "WebSocket connections closed by the server, by the limit that closed them.",
		  c->ws_closed, WSC_COUNT, ws_close);
}

/* The fleet as last read: live nodes and their allocations. */
static void fleet_metrics(struct evbuffer *b, const struct fleet_view *v)
{
	uint64_t total = 0, peers = 0, sessions = 0;

	for (int i = 0; v && i < v->n; i++) {
		total += v->node[i].allocations;
		peers += v->node[i].wg_peers;
		sessions += v->node[i].wg_sessions;
	}
	help(b, "tern_fleet_nodes", "gauge", "Live nodes in the registry, as last read.");
	evbuffer_add_printf(b, "tern_fleet_nodes %d\n", v ? v->n : 0);
	help(b, "tern_fleet_allocations", "gauge", "Allocations the live nodes reported.");
	evbuffer_add_printf(b, "tern_fleet_allocations %llu\n", (unsigned long long)total);
	help(b, "tern_fleet_wg_peers", "gauge", "WireGuard peers in the live nodes' memory.");
	evbuffer_add_printf(b, "tern_fleet_wg_peers %llu\n", (unsigned long long)peers);
	help(b, "tern_fleet_wg_sessions", "gauge", "WireGuard sessions the live nodes reported.");
	evbuffer_add_printf(b, "tern_fleet_wg_sessions %llu\n", (unsigned long long)sessions);
}

/* The standard process metrics (Prometheus client libraries' names). */
static void process_metrics(struct evbuffer *b, const struct stats *s)
{
	struct rusage ru;
	struct rlimit rl;
	unsigned long long vsz = 0, rss = 0;
	long page = sysconf(_SC_PAGESIZE);
	int fds = 0;
	FILE *f = fopen("/proc/self/statm", "r");
	DIR *d = opendir("/proc/self/fd");

	if (f) {
		if (fscanf(f, "%llu %llu", &vsz, &rss) != 2)
			vsz = rss = 0;
		fclose(f);
	}
	for (struct dirent *e; d && (e = readdir(d));)
		fds += e->d_name[0] != '.';
	if (d)
		closedir(d);
	getrusage(RUSAGE_SELF, &ru);
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		rl.rlim_cur = 0;
	help(b, "process_cpu_seconds_total", "counter", "User and system CPU time spent.");
	evbuffer_add_printf(b, "process_cpu_seconds_total %.3f\n",
			    (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
				    (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6);
	help(b, "process_resident_memory_bytes", "gauge", "Resident memory size.");
	evbuffer_add_printf(b, "process_resident_memory_bytes %llu\n", rss * (unsigned long long)page);
	help(b, "process_virtual_memory_bytes", "gauge", "Virtual memory size.");
	evbuffer_add_printf(b, "process_virtual_memory_bytes %llu\n", vsz * (unsigned long long)page);
	help(b, "process_open_fds", "gauge", "Open file descriptors.");
	evbuffer_add_printf(b, "process_open_fds %d\n", fds - (d ? 1 : 0)); /* not the listing's */
	help(b, "process_max_fds", "gauge", "The open-file limit.");
	evbuffer_add_printf(b, "process_max_fds %llu\n", (unsigned long long)rl.rlim_cur);
	help(b, "process_start_time_seconds", "gauge", "Start time, seconds since the epoch.");
	evbuffer_add_printf(b, "process_start_time_seconds %lld\n", (long long)s->started);
}

static void write_metrics(struct evbuffer *b, const struct stats *s,
			  const struct counters *c)
{
	static const char *const classes[AC_COUNT] = { "success", "error" };

	help(b, "tern_stun_requests_total", "counter", "STUN/TURN requests received.");
	for (int t = 0; t < TP_COUNT; t++)
		for (int m = 0; m < MI_COUNT; m++)
			evbuffer_add_printf(b,
				"tern_stun_requests_total{transport=\"%s\",method=\"%s\"} %llu\n",
				counters_transport_name(t), counters_method_name(m),
				(unsigned long long)counter_get(&c->requests[t][m]));
	help(b, "tern_stun_responses_total", "counter", "STUN/TURN responses sent.");
	for (int t = 0; t < TP_COUNT; t++)
		for (int k = 0; k < AC_COUNT; k++)
			evbuffer_add_printf(b,
				"tern_stun_responses_total{transport=\"%s\",class=\"%s\"} %llu\n",
				counters_transport_name(t), classes[k],
				(unsigned long long)counter_get(&c->responses[t][k]));
	help(b, "tern_dropped_total", "counter", "Messages dropped, by reason.");
	for (int t = 0; t < TP_COUNT; t++)
		for (int r = 1; r < DROP_COUNT; r++)
			evbuffer_add_printf(b,
				"tern_dropped_total{transport=\"%s\",reason=\"%s\"} %llu\n",
				counters_transport_name(t), counters_drop_name(r),
				(unsigned long long)counter_get(&c->dropped[t][r]));
	per_transport(b, "tern_connections_total", "counter",
		      "Stream connections accepted.", c->connections);
	per_transport(b, "tern_open_connections", "gauge",
		      "Stream connections open now.", c->open_connections);
	help(b, "tern_stream_closed_total", "counter",
	     "Stream connections refused at once or closed by the server, by reason.");
	for (int t = TP_TCP; t <= TP_TLS; t++)
		for (int r = 0; r < SC_COUNT; r++)
			evbuffer_add_printf(b,
				"tern_stream_closed_total{transport=\"%s\",reason=\"%s\"} %llu\n",
				counters_transport_name(t), counters_close_name(r),
				(unsigned long long)counter_get(&c->stream_closed[t][r]));
	ws_metrics(b, c);
	per_transport(b, "tern_received_bytes_total", "counter",
		      "Bytes received from clients.", c->rx_bytes);
	per_transport(b, "tern_sent_bytes_total", "counter", "Bytes sent to clients.",
		      c->tx_bytes);
	help(b, "tern_workers", "gauge", "Worker threads.");
	evbuffer_add_printf(b, "tern_workers %d\n", s->srv->n_workers);
	help(b, "tern_uptime_seconds", "gauge", "Seconds since start.");
	evbuffer_add_printf(b, "tern_uptime_seconds %lld\n",
			    (long long)(time(NULL) - s->started));
	if (store_state(s->srv->store) != STORE_MEMORY) {
		help(b, "tern_store_up", "gauge", "1 while the Redis store answers, else 0.");
		evbuffer_add_printf(b, "tern_store_up %d\n", store_state(s->srv->store) == STORE_UP);
		help(b, "tern_store_reconnects_total", "counter", "Attempts to reconnect to Redis.");
		evbuffer_add_printf(b, "tern_store_reconnects_total %llu\n",
				    (unsigned long long)store_reconnects(s->srv->store));
		if (s->srv->cfg->redis_sentinel) {
			help(b, "tern_store_failovers_total", "counter",
			     "Times the sentinels named a new Redis master.");
			evbuffer_add_printf(b, "tern_store_failovers_total %llu\n",
					    (unsigned long long)store_failovers(s->srv->store));
		}
		fleet_metrics(b, store_fleet(s->srv->store));
	}
	help(b, "tern_draining", "gauge", "1 after SIGUSR1: no new allocations, stopping soon.");
	evbuffer_add_printf(b, "tern_draining %d\n", atomic_load(&s->srv->draining) ? 1 : 0);
	help(b, "tern_build_info", "gauge", "Build information.");
	evbuffer_add_printf(b, "tern_build_info{version=\"%s\"} 1\n", PACKAGE_VERSION);
	help(b, "tern_worker_loop_lag_seconds", "gauge",
	     "How late each worker's event loop last ran a one-second timer.");
	for (int i = 0; i < s->srv->n_workers; i++)
		evbuffer_add_printf(b, "tern_worker_loop_lag_seconds{worker=\"%d\"} %.6f\n", i,
				    (double)atomic_load_explicit(&s->srv->workers[i]->loop_lag_us,
								 memory_order_relaxed) / 1e6);
	process_metrics(b, s);
}

#define LOAD(x) atomic_load_explicit(&(x), memory_order_relaxed)

static void sum_turn(const struct server *srv, struct turn_sum *t)
{
	memset(t, 0, sizeof *t);
	for (int i = 0; i < srv->n_workers; i++) {
		const struct relay_stats *s;

		if (!srv->workers[i]->engine)
			continue;
		s = relay_stats(srv->workers[i]->engine);
		for (int f = 0; f < 2; f++)
			t->allocations[f] += LOAD(s->allocations[f]);
		t->allocations_total += LOAD(s->allocations_total);
		t->restored += LOAD(s->restored);
		t->deletes_lost += LOAD(s->deletes_lost);
		t->redirected += LOAD(s->redirected);
		t->to_peer_packets += LOAD(s->to_peer_packets);
		t->to_peer_bytes += LOAD(s->to_peer_bytes);
		t->to_client_packets += LOAD(s->to_client_packets);
		t->to_client_bytes += LOAD(s->to_client_bytes);
		for (int k = 0; k < AUTH_FAIL_COUNT; k++)
			t->auth_failures[k] += LOAD(s->auth_failures[k]);
		for (int k = 0; k < POLICY_VERDICT_COUNT; k++)
			t->policy_denied[k] += LOAD(s->policy_denied[k]);
		t->quota_rejected += LOAD(s->quota_rejected);
		t->challenges += LOAD(s->challenges);
		t->rate_limited += LOAD(s->rate_limited);
		t->capacity_rejected += LOAD(s->capacity_rejected);
		for (int k = 0; k < RD_COUNT; k++)
			t->dropped[k] += LOAD(s->dropped[k]);
		t->tcp_connected += LOAD(s->tcp_connected);
		t->tcp_accepted += LOAD(s->tcp_accepted);
		t->tcp_failed += LOAD(s->tcp_failed);
		t->tcp_refused += LOAD(s->tcp_refused);
	}
}

static const char *relay_drop_name(int r)
{
	static const char *const names[RD_COUNT] = {
		"no_allocation", "no_channel", "no_permission", "bandwidth", "bad_indication",
	};

	return names[r];
}

/* RFC 6062: peer connections by outcome, joined pairs, their bytes. */
static void write_tcp_relay(struct evbuffer *b, const struct turn_sum *t,
			    const struct counters *sum)
{
	help(b, "tern_tcp_peer_connections_total", "counter",
	     "TCP relay (RFC 6062) peer connections, by outcome.");
	evbuffer_add_printf(b,
			    "tern_tcp_peer_connections_total{result=\"connected\"} %llu\n"
			    "tern_tcp_peer_connections_total{result=\"accepted\"} %llu\n"
			    "tern_tcp_peer_connections_total{result=\"failed\"} %llu\n"
			    "tern_tcp_peer_connections_total{result=\"refused\"} %llu\n",
			    (unsigned long long)t->tcp_connected,
			    (unsigned long long)t->tcp_accepted,
			    (unsigned long long)t->tcp_failed,
			    (unsigned long long)t->tcp_refused);
	help(b, "tern_tcp_relay_connections", "gauge",
	     "TCP relay client data connections joined to a peer now.");
	evbuffer_add_printf(b, "tern_tcp_relay_connections %llu\n",
			    (unsigned long long)counter_get(&sum->tcp_relay_open));
	help(b, "tern_tcp_relay_bytes_total", "counter",
	     "Bytes relayed between joined TCP connections, by direction.");
	evbuffer_add_printf(b, "tern_tcp_relay_bytes_total{direction=\"to_peer\"} %llu\n"
			       "tern_tcp_relay_bytes_total{direction=\"to_client\"} %llu\n",
			    (unsigned long long)counter_get(&sum->tcp_relay_bytes[0]),
			    (unsigned long long)counter_get(&sum->tcp_relay_bytes[1]));
}

static void write_turn(struct evbuffer *b, const struct server *srv,
		       const struct counters *sum)
{
	struct turn_sum t;

	if (!srv->turn)
		return;
	sum_turn(srv, &t);
	help(b, "tern_allocations", "gauge", "TURN allocations now, by relayed family.");
	evbuffer_add_printf(b, "tern_allocations{family=\"ipv4\"} %llu\n"
			       "tern_allocations{family=\"ipv6\"} %llu\n",
			    (unsigned long long)t.allocations[0],
			    (unsigned long long)t.allocations[1]);
	help(b, "tern_allocations_total", "counter", "TURN allocations made.");
	evbuffer_add_printf(b, "tern_allocations_total %llu\n",
			    (unsigned long long)t.allocations_total);
	if (srv->relay.persist) {
		help(b, "tern_allocations_restored_total", "counter",
		     "Allocations taken back from Redis at start.");
		evbuffer_add_printf(b, "tern_allocations_restored_total %llu\n",
				    (unsigned long long)t.restored);
		help(b, "tern_store_deletes_lost_total", "counter",
		     "Record deletions dropped while Redis was away (the records expire).");
		evbuffer_add_printf(b, "tern_store_deletes_lost_total %llu\n",
				    (unsigned long long)t.deletes_lost);
		help(b, "tern_allocations_redirected_total", "counter",
		     "Allocates sent to another node (300 Try Alternate).");
		evbuffer_add_printf(b, "tern_allocations_redirected_total %llu\n",
				    (unsigned long long)t.redirected);
	}
	if (srv->relay.hold_new) {
		help(b, "tern_allocations_unacknowledged_total", "counter",
		     "redis-required: new allocations released and answered 508 because Redis "
		     "did not acknowledge their record in time.");
		evbuffer_add_printf(b, "tern_allocations_unacknowledged_total %llu\n",
				    (unsigned long long)counter_get(&sum->held_failed));
	}
	help(b, "tern_relayed_packets_total", "counter", "Packets relayed, by direction.");
	evbuffer_add_printf(b, "tern_relayed_packets_total{direction=\"to_peer\"} %llu\n"
			       "tern_relayed_packets_total{direction=\"to_client\"} %llu\n",
			    (unsigned long long)t.to_peer_packets,
			    (unsigned long long)t.to_client_packets);
	help(b, "tern_relayed_bytes_total", "counter", "Payload bytes relayed, by direction.");
	evbuffer_add_printf(b, "tern_relayed_bytes_total{direction=\"to_peer\"} %llu\n"
			       "tern_relayed_bytes_total{direction=\"to_client\"} %llu\n",
			    (unsigned long long)t.to_peer_bytes,
			    (unsigned long long)t.to_client_bytes);
	help(b, "tern_auth_challenges_total", "counter",
	     "401 challenges to requests that carried no credentials.");
	evbuffer_add_printf(b, "tern_auth_challenges_total %llu\n",
			    (unsigned long long)t.challenges);
	help(b, "tern_rate_limited_total", "counter",
	     "Requests that failed authentication, dropped unanswered (unauthorized-ratelimit-rps).");
	evbuffer_add_printf(b, "tern_rate_limited_total %llu\n",
			    (unsigned long long)t.rate_limited);
	help(b, "tern_auth_failures_total", "counter", "Requests refused by authentication.");
	for (int k = AUTH_NO_INTEGRITY + 1; k < AUTH_FAIL_COUNT; k++)
		evbuffer_add_printf(b, "tern_auth_failures_total{reason=\"%s\"} %llu\n",
				    auth_fail_name(k), (unsigned long long)t.auth_failures[k]);
	help(b, "tern_peer_denied_total", "counter", "Peers refused by the address policy.");
	for (int k = 1; k < POLICY_VERDICT_COUNT; k++)
		evbuffer_add_printf(b, "tern_peer_denied_total{reason=\"%s\"} %llu\n",
				    policy_verdict_name(k), (unsigned long long)t.policy_denied[k]);
	help(b, "tern_allocation_rejected_total", "counter", "Allocate refused, by reason.");
	evbuffer_add_printf(b, "tern_allocation_rejected_total{reason=\"quota\"} %llu\n"
			       "tern_allocation_rejected_total{reason=\"capacity\"} %llu\n",
			    (unsigned long long)t.quota_rejected,
			    (unsigned long long)t.capacity_rejected);
	help(b, "tern_relay_dropped_total", "counter", "Relayed data dropped, by reason.");
	for (int k = 0; k < RD_COUNT; k++)
		evbuffer_add_printf(b, "tern_relay_dropped_total{reason=\"%s\"} %llu\n",
				    relay_drop_name(k), (unsigned long long)t.dropped[k]);
	write_tcp_relay(b, &t, sum);
}

static void reply(struct evhttp_request *req, int code, const char *reason,
		  const char *ctype, struct evbuffer *body)
{
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", ctype);
	evhttp_send_reply(req, code, reason, body);
}

/* A JSON string: what a node wrote into Redis is escaped, not trusted. */
static void json_str(struct evbuffer *b, const char *v)
{
	char q[6 * 256 + 3];
	size_t n = json_quote(q, sizeof q, v, strnlen(v, 256));

	evbuffer_add(b, n ? q : "\"\"", n ? n : 2);
}

static void json_member(struct evbuffer *b, const struct fleet_node *n)
{
	evbuffer_add_printf(b, "{\"id\":");
	json_str(b, n->id);
	evbuffer_add_printf(b, ",\"allocations\":%llu,\"wg_peers\":%llu,\"wg_sessions\":%llu,"
			       "\"heartbeat\":%lld,\"listening\":",
			    (unsigned long long)n->allocations, (unsigned long long)n->wg_peers,
			    (unsigned long long)n->wg_sessions, (long long)n->heartbeat);
	json_str(b, n->listening);
	evbuffer_add(b, "}", 1);
}

/* /stats: this node, and the fleet as last read from the registry (just this
 * node without Redis). */
static void write_json(struct evbuffer *b, const struct stats *s)
{
	const struct fleet_view *v = store_fleet(s->srv->store);
	const char *id = store_node_id(s->srv->store);
	uint64_t mine = 0, total = 0, wg_peers = 0, wg_sessions = 0;
	struct fleet_node self = { .heartbeat = (int64_t)time(NULL) };
	char peers[24], sessions[24];
	struct turn_sum t;

	if (s->srv->turn) {
		sum_turn(s->srv, &t);
		mine = t.allocations[0] + t.allocations[1];
	}
	evbuffer_add_printf(b, "{\"node\":{\"id\":");
	json_str(b, id);
	evbuffer_add_printf(b, ",\"version\":\"%s\",\"uptime_seconds\":%lld,\"store\":\"%s\","
			    "\"workers\":%d,\"allocations\":%llu},\"fleet\":{\"members\":[",
			    PACKAGE_VERSION, (long long)(time(NULL) - s->started),
			    store_state_name(store_state(s->srv->store)), s->srv->n_workers,
			    (unsigned long long)mine);
	if (!v) { /* no fleet: this node alone */
		snprintf(self.id, sizeof self.id, "%s", id);
		self.allocations = mine;
		wg_counts(s->srv->wg, peers, sessions);
		self.wg_peers = strtoull(peers, NULL, 10);
		self.wg_sessions = strtoull(sessions, NULL, 10);
		json_member(b, &self);
		total = mine, wg_peers = self.wg_peers, wg_sessions = self.wg_sessions;
	}
	for (int i = 0; v && i < v->n; i++) {
		json_member(b, &v->node[i]);
		total += v->node[i].allocations;
		wg_peers += v->node[i].wg_peers;
		wg_sessions += v->node[i].wg_sessions;
		if (i + 1 < v->n)
			evbuffer_add(b, ",", 1);
	}
	evbuffer_add_printf(b, "],\"nodes\":%d,\"allocations\":%llu,\"wg_peers\":%llu,"
			       "\"wg_sessions\":%llu,\"read_at\":%lld}",
			    v ? v->n : 1, (unsigned long long)total, (unsigned long long)wg_peers,
			    (unsigned long long)wg_sessions,
			    (long long)(v ? v->at : (int64_t)time(NULL)));
	wg_json(s->srv->wg, b);
	evbuffer_add_printf(b, "}\n");
}

/* ?format=text */
static bool text_wanted(struct evhttp_request *req)
{
	const char *q = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));

	return q && (strcmp(q, "format=text") == 0 || strstr(q, "&format=text") ||
		     strncmp(q, "format=text&", 12) == 0);
}

/* /stats?format=text: what write_json says, as ternctl stats shows it. */
static void write_text(struct evbuffer *b, const struct stats *s)
{
	const struct fleet_view *v = store_fleet(s->srv->store);
	long long up = (long long)(time(NULL) - s->started);
	char peers[24] = "-", sessions[24] = "-";
	uint64_t mine = 0;
	struct turn_sum t;

	if (s->srv->turn) {
		sum_turn(s->srv, &t);
		mine = t.allocations[0] + t.allocations[1];
	}
	wg_counts(s->srv->wg, peers, sessions);
	evbuffer_add_printf(b, "node         %s (ternd %s)\nuptime       %lldd %02lld:%02lld:%02lld\n"
			       "store        %s\nworkers      %d\nstate        %s\n"
			       "allocations  %llu\nwg peers     %s\nwg sessions  %s\n",
			    store_node_id(s->srv->store), PACKAGE_VERSION, up / 86400,
			    up / 3600 % 24, up / 60 % 60, up % 60,
			    store_state_name(store_state(s->srv->store)), s->srv->n_workers,
			    atomic_load(&s->srv->draining) ? "draining" : "serving",
			    (unsigned long long)mine, peers, sessions);
	if (!v)
		return;
	evbuffer_add_printf(b, "\nfleet: %d nodes, read %llds ago\n%-24s %12s %9s %11s %10s  %s\n",
			    v->n, (long long)(time(NULL) - v->at), "node", "allocations",
			    "wg peers", "wg sessions", "heartbeat", "listening");
	for (int i = 0; i < v->n; i++)
		evbuffer_add_printf(b, "%-24.64s %12llu %9llu %11llu %9llds  %.200s\n",
				    v->node[i].id, (unsigned long long)v->node[i].allocations,
				    (unsigned long long)v->node[i].wg_peers,
				    (unsigned long long)v->node[i].wg_sessions,
				    (long long)(time(NULL) - v->node[i].heartbeat),
				    v->node[i].listening);
}

static void stats_on_request(struct evhttp_request *req, void *arg)
{
	const struct stats *s = arg;
	const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
	struct evbuffer *b = evbuffer_new();
	struct counters *sum;

	if (!b)
		return;
	if (!path)
		path = "";
	if (evhttp_request_get_command(req) == EVHTTP_REQ_POST) {
		if (admin_authorized(s->srv, req))
			admin_action(path, req);
	} else if (strcmp(path, "/allocations") == 0) {
		if (admin_authorized(s->srv, req))
			admin_allocations(s->base, s->srv, req);
	} else if (strcmp(path, "/healthz") == 0) {
		evbuffer_add_printf(b, "ok\n");
		reply(req, 200, "OK", "text/plain", b);
	} else if (strcmp(path, "/readyz") == 0 && atomic_load(&s->srv->draining)) {
		/* out of rotation: a load balancer sends new clients elsewhere */
		evbuffer_add_printf(b, "draining\n");
		reply(req, 503, "Service Unavailable", "text/plain", b);
	} else if (strcmp(path, "/readyz") == 0) {
		/* still serving on its own state: ready, but say what is missing */
		evbuffer_add_printf(b, store_state(s->srv->store) != STORE_DOWN ? "ok\n"
				       : store_master_known(s->srv->store)
					       ? "degraded: redis unreachable\n"
					       : "degraded: no redis master known\n");
		reply(req, 200, "OK", "text/plain", b);
	} else if (strcmp(path, "/stats") == 0 && text_wanted(req)) {
		write_text(b, s);
		reply(req, 200, "OK", "text/plain", b);
	} else if (strcmp(path, "/stats") == 0) {
		write_json(b, s);
		reply(req, 200, "OK", "application/json", b);
	} else if (strcmp(path, "/metrics") == 0 && (sum = calloc(1, sizeof *sum))) {
		for (int i = 0; i < s->srv->n_workers; i++)
			counters_sum(sum, &s->srv->workers[i]->counters);
		write_metrics(b, s, sum);
		write_turn(b, s->srv, sum);
		xdp_metrics(s->srv->xdp, b);
		wg_metrics(s->srv->wg, b);
		free(sum);
		reply(req, 200, "OK", "text/plain; version=0.0.4", b);
	} else {
		evbuffer_add_printf(b, "not found\n");
		reply(req, 404, "Not Found", "text/plain", b);
	}
	evbuffer_free(b);
}

struct stats *stats_start(struct event_base *base, const struct server *srv,
			  const char *addr, char *err, size_t errlen)
{
	struct stats *s = calloc(1, sizeof *s);
	struct sockaddr_storage ss;
	socklen_t len;
	int fd = -1;

	if (!s || !netaddr_parse_hostport(addr, &ss, &len)) {
		snprintf(err, errlen, "stats-listen: '%s' is not host:port", addr);
		goto fail;
	}
	s->srv = srv;
	s->base = base;
	s->started = time(NULL);
	s->http = evhttp_new(base);
	fd = netaddr_bind((struct sockaddr *)&ss, len, SOCK_STREAM, false, err, errlen);
	if (!s->http || fd < 0)
		goto fail;
	if (listen(fd, 128) < 0 || !evhttp_accept_socket_with_handle(s->http, fd)) {
		snprintf(err, errlen, "stats-listen %s: cannot listen", addr);
		close(fd);
		goto fail;
	}
	evhttp_set_allowed_methods(s->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD | EVHTTP_REQ_POST);
	evhttp_set_max_headers_size(s->http, 8192);
	evhttp_set_max_body_size(s->http, 0);
	evhttp_set_timeout(s->http, 10);
	evhttp_set_gencb(s->http, stats_on_request, s);
	return s;
fail:
	stats_free(s);
	return NULL;
}

void stats_free(struct stats *s)
{
	if (!s)
		return;
	if (s->http)
		evhttp_free(s->http);
	free(s);
}
