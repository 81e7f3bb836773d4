/*
 * The admin side of the stats endpoint (see admin.h). An allocation belongs
 * to the worker whose engine made it and is touched by that thread only, so
 * /allocations asks each worker, through its event base, to list its own
 * into its own buffer; the last one to finish hands the whole back to the
 * main thread, which pages and answers. A worker keeps at most
 * offset + limit rows (the page can hold no more of its rows than that) and
 * counts the rest, so one request costs each worker a walk of its table and
 * no more memory than the page.
 */
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <openssl/crypto.h>

#include "relay/record.h"
#include "server/admin.h"
#include "server/json.h"
#include "store/store.h"

struct job;

/* One worker's share of a listing. */
struct part {
	struct job *job;
	struct worker *w;
	struct evbuffer *rows; /* one row a line */
	size_t kept, total;
};

struct job {
	struct evhttp_request *req; /* NULL once its connection is gone */
	struct event_base *base;
	const struct server *srv;
	char *user;                 /* NULL: everyone's */
	size_t offset, limit;
	bool text;
	_Atomic int pending;
	struct part part[WORKERS_MAX];
};

bool admin_authorized(const struct server *srv, struct evhttp_request *req)
{
	const char *token = srv->cfg->stats_token, *h;
	struct evbuffer *b;
	size_t n;

	if (!token || !*token)
		return true;
	h = evhttp_find_header(evhttp_request_get_input_headers(req), "Authorization");
	n = strlen(token);
	if (h && strncmp(h, "Bearer ", 7) == 0 && strlen(h + 7) == n &&
	    CRYPTO_memcmp(h + 7, token, n) == 0)
		return true;
	b = evbuffer_new();
	if (!b)
		return false;
	evbuffer_add_printf(b, "this needs the stats-token: Authorization: Bearer <token>\n");
	evhttp_add_header(evhttp_request_get_output_headers(req), "WWW-Authenticate", "Bearer");
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "text/plain");
	evhttp_send_reply(req, 401, "Unauthorized", b);
	evbuffer_free(b);
	return false;
}

static void job_free(struct job *j)
{
	for (int i = 0; i < j->srv->n_workers; i++)
		if (j->part[i].rows)
			evbuffer_free(j->part[i].rows);
	free(j->user);
	free(j);
}

/* A user name for a table: what is not printable shows as '?'. */
static void text_user(struct evbuffer *b, const uint8_t *u, size_t n)
{
	char s[RECORD_USER_MAX + 1];

	for (size_t i = 0; i < n; i++)
		s[i] = u[i] > 0x20 && u[i] < 0x7f ? (char)u[i] : '?';
	evbuffer_add_printf(b, "%-20.*s", (int)n, s);
}

static const char *relayed_str(const struct relay_record *rec, int f, char *out, size_t cap)
{
	if (!rec->has[f] || !record_addr_str(&rec->relayed[f], true, out, cap))
		snprintf(out, cap, "-");
	return out;
}

static void row(struct part *p, const struct relay_record *rec, const char *transport,
		bool tcp_relay, uint64_t now)
{
	char client[64], r4[64], r6[64], user[6 * RECORD_USER_MAX + 3];
	long long left = rec->expires > now ? (long long)((rec->expires - now) / 1000) : 0;

	record_addr_str(&rec->client, true, client, sizeof client);
	relayed_str(rec, 0, r4, sizeof r4);
	relayed_str(rec, 1, r6, sizeof r6);
	if (p->job->text) {
		evbuffer_add_printf(p->rows, "%-40s %-4s %-4s ", client, transport,
				    tcp_relay ? "tcp" : "udp");
		text_user(p->rows, rec->user, rec->user_len);
		evbuffer_add_printf(p->rows, " %6lld %3u %3u %12llu %12llu  %s%s%s\n", left,
				    rec->n_perms, rec->n_chans,
				    (unsigned long long)rec->bytes[0],
				    (unsigned long long)rec->bytes[1], rec->has[0] ? r4 : "",
				    rec->has[0] && rec->has[1] ? " " : "", rec->has[1] ? r6 : "");
		return;
	}
	if (!json_quote(user, sizeof user, rec->user, rec->user_len))
		snprintf(user, sizeof user, "\"\"");
	evbuffer_add_printf(p->rows,
			    "{\"client\":\"%s\",\"transport\":\"%s\",\"relay\":\"%s\",\"user\":%s,"
			    "\"relayed\":[%s%s%s%s%s%s%s],\"lifetime_left\":%lld,"
			    "\"permissions\":%u,\"channels\":%u,\"worker\":%d,"
			    "\"packets_to_peer\":%llu,\"bytes_to_peer\":%llu,"
			    "\"packets_to_client\":%llu,\"bytes_to_client\":%llu}\n",
			    client, transport, tcp_relay ? "tcp" : "udp", user,
			    rec->has[0] ? "\"" : "", rec->has[0] ? r4 : "", rec->has[0] ? "\"" : "",
			    rec->has[0] && rec->has[1] ? "," : "", rec->has[1] ? "\"" : "",
			    rec->has[1] ? r6 : "", rec->has[1] ? "\"" : "", left, rec->n_perms,
			    rec->n_chans, p->w->id, (unsigned long long)rec->packets[0],
			    (unsigned long long)rec->bytes[0], (unsigned long long)rec->packets[1],
			    (unsigned long long)rec->bytes[1]);
}

static bool list_one(void *ctx, const struct relay_record *rec, uint8_t transport,
		     bool tcp_relay)
{
	struct part *p = ctx;
	const struct job *j = p->job;
	const struct server *srv = j->srv;
	const char *tp = rec->listener < srv->n_spec
				 ? counters_transport_name(srv->spec[rec->listener].tp)
				 : transport == TURN_TRANSPORT_UDP ? "udp" : "tcp";

	if (j->user && (rec->user_len != strlen(j->user) ||
			memcmp(rec->user, j->user, rec->user_len) != 0))
		return true;
	p->total++;
	if (p->kept < j->offset + j->limit) {
		row(p, rec, tp, tcp_relay, worker_now_ms(p->w));
		p->kept++;
	}
	return true;
}

static void finish(evutil_socket_t fd, short what, void *arg);

/* In the worker's thread: its own allocations. */
static void list_in_worker(evutil_socket_t fd, short what, void *arg)
{
	struct part *p = arg;
	struct job *j = p->job;

	if (p->w->engine && p->rows)
		relay_each(p->w->engine, worker_now_ms(p->w), list_one, p);
	/* the last one hands the job back; should that fail (no memory), the
	 * job stays and evhttp's 10 s timeout answers the client */
	if (atomic_fetch_sub(&j->pending, 1) == 1)
		event_base_once(j->base, -1, EV_TIMEOUT, finish, j, NULL);
}

/* Back in the main thread: the page, from every worker's rows in turn. */
static void finish(evutil_socket_t fd, short what, void *arg)
{
	struct job *j = arg;
	struct evbuffer *out = evbuffer_new();
	size_t total = 0, skip = j->offset, shown = 0;
	const char *ctype = j->text ? "text/plain" : "application/json";

	if (!j->req || !out) {
		if (out)
			evbuffer_free(out);
		job_free(j);
		return;
	}
	evhttp_connection_set_closecb(evhttp_request_get_connection(j->req), NULL, NULL);
	for (int i = 0; i < j->srv->n_workers; i++)
		total += j->part[i].total;
	if (j->text)
		evbuffer_add_printf(out, "%-40s %-4s %-4s %-20s %6s %3s %3s %12s %12s  %s\n",
				    "client", "via", "rel", "user", "left", "prm", "chn",
				    "bytes>peer", "bytes>client", "relayed");
	else
		evbuffer_add_printf(out, "{\"node\":\"%s\",\"total\":%zu,\"offset\":%zu,"
				    "\"limit\":%zu,\"allocations\":[",
				    store_node_id(j->srv->store), total, j->offset, j->limit);
	for (int i = 0; i < j->srv->n_workers && shown < j->limit; i++) {
		struct evbuffer *rows = j->part[i].rows;
		char *line;
		size_t n;

		while (rows && shown < j->limit &&
		       (line = evbuffer_readln(rows, &n, EVBUFFER_EOL_LF))) {
			if (skip) {
				skip--;
			} else {
				if (!j->text && shown)
					evbuffer_add(out, ",", 1);
				evbuffer_add(out, line, n);
				if (j->text)
					evbuffer_add(out, "\n", 1);
				shown++;
			}
			free(line);
		}
	}
	if (j->text)
		evbuffer_add_printf(out, "%zu shown of %zu, from %zu\n", shown, total, j->offset);
	else
		evbuffer_add_printf(out, "]}\n");
	evhttp_add_header(evhttp_request_get_output_headers(j->req), "Content-Type", ctype);
	evhttp_send_reply(j->req, 200, "OK", out);
	evbuffer_free(out);
	job_free(j);
}

/* The client went away before its answer: answer no one. */
static void on_close(struct evhttp_connection *conn, void *arg)
{
	struct job *j = arg;

	j->req = NULL;
}

static bool number(const char *v, size_t max, size_t *out)
{
	char *end;
	unsigned long long n;

	if (!v)
		return true;
	n = strtoull(v, &end, 10);
	if (!*v || *end || n > max || *v == '-')
		return false;
	*out = (size_t)n;
	return true;
}

static void bad(struct evhttp_request *req, const char *why)
{
	struct evbuffer *b = evbuffer_new();

	if (!b)
		return;
	evbuffer_add_printf(b, "%s\n", why);
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "text/plain");
	evhttp_send_reply(req, 400, "Bad Request", b);
	evbuffer_free(b);
}

void admin_allocations(struct event_base *base, const struct server *srv,
		       struct evhttp_request *req)
{
	const char *query = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));
	struct evkeyvalq q;
	struct job *j = calloc(1, sizeof *j);
	const char *user, *format;

	if (!j || evhttp_parse_query_str(query ? query : "", &q) < 0) {
		bad(req, "a query of user=, offset=, limit= and format=text");
		free(j);
		return;
	}
	j->req = req;
	j->base = base;
	j->srv = srv;
	j->limit = ADMIN_PAGE_DEFAULT;
	user = evhttp_find_header(&q, "user");
	format = evhttp_find_header(&q, "format");
	j->text = format && strcmp(format, "text") == 0;
	if (!number(evhttp_find_header(&q, "offset"), (size_t)1 << 32, &j->offset) ||
	    !number(evhttp_find_header(&q, "limit"), ADMIN_PAGE_MAX, &j->limit) ||
	    (user && !(j->user = strdup(user)))) {
		evhttp_clear_headers(&q);
		bad(req, "offset= and limit= are numbers (limit at most 10000)");
		free(j->user);
		free(j);
		return;
	}
	evhttp_clear_headers(&q);
	j->pending = srv->n_workers;
	for (int i = 0; i < srv->n_workers; i++) {
		j->part[i] = (struct part){ .job = j, .w = srv->workers[i],
					    .rows = evbuffer_new() };
	}
	evhttp_connection_set_closecb(evhttp_request_get_connection(req), on_close, j);
	for (int i = 0; i < srv->n_workers; i++)
		if (event_base_once(srv->workers[i]->base, -1, EV_TIMEOUT, list_in_worker,
				    &j->part[i], NULL) < 0) { /* lists nothing, counts down */
			if (j->part[i].rows)
				evbuffer_free(j->part[i].rows);
			j->part[i].rows = NULL;
			list_in_worker(-1, 0, &j->part[i]);
		}
}

void admin_action(const char *path, struct evhttp_request *req)
{
	struct evbuffer *b = evbuffer_new();
	int sig = strcmp(path, "/drain") == 0 ? SIGUSR1 : strcmp(path, "/reload") == 0 ? SIGHUP : 0;

	if (!b)
		return;
	if (!sig) {
		evbuffer_add_printf(b, "not found: POST /drain or /reload\n");
		evhttp_send_reply(req, 404, "Not Found", b);
	} else {
		/* the main loop's own signal handling does the work, as for kill(1) */
		raise(sig);
		evbuffer_add_printf(b, "%s\n", sig == SIGUSR1 ? "draining" : "reloading");
		evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
				  "text/plain");
		evhttp_send_reply(req, 202, "Accepted", b);
	}
	evbuffer_free(b);
}
