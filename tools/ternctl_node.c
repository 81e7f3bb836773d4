/*
 * ternctl's commands on one node's stats endpoint (issue 13), so a single
 * node without Redis has a command-line view too:
 *
 *   ternctl [--stats-url URL] [--stats-token TOKEN] stats [--json]
 *   ternctl ... allocations [--user NAME] [--offset N] [--limit N] [--json]
 *   ternctl ... drain | reload
 *
 * The endpoint is --stats-url, else -c ternd.conf's stats-listen, else
 * http://127.0.0.1:9641; the token --stats-token, else the file's
 * stats-token, else $TERN_STATS_TOKEN. Tables come from the node itself
 * (?format=text), so ternctl parses no JSON.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "server/config.h"
#include "tools/ternctl.h"

struct answer {
	int code;                 /* 0: no answer */
	enum evhttp_request_error error;
	bool failed;
	struct evbuffer *body;
};

static void on_done(struct evhttp_request *req, void *arg)
{
	struct answer *a = arg;

	if (req && evhttp_request_get_response_code(req)) {
		a->code = evhttp_request_get_response_code(req);
		evbuffer_add_buffer(a->body, evhttp_request_get_input_buffer(req));
	}
}

static void on_error(enum evhttp_request_error e, void *arg)
{
	struct answer *a = arg;

	a->failed = true;
	a->error = e;
}

static const char *why(const struct answer *a)
{
	switch (a->error) {
	case EVREQ_HTTP_TIMEOUT: return "no answer within 10 s";
	case EVREQ_HTTP_EOF: return "the connection closed";
	case EVREQ_HTTP_INVALID_HEADER: return "not an HTTP answer";
	default: return "connection refused or unreachable";
	}
}

/* "http://host:port" into host and port. */
static bool parse_url(const char *url, char *host, size_t cap, uint16_t *port)
{
	char hp[300];
	size_t n;

	if (strncmp(url, "http://", 7) != 0)
		return false;
	url += 7;
	n = strcspn(url, "/");
	if (n == 0 || n >= sizeof hp)
		return false;
	memcpy(hp, url, n);
	hp[n] = '\0';
	return config_split_hostport(hp, host, cap, port);
}

/* One request; 0 with the body printed, or the exit status (said). */
static int call(const char *url, const char *token, enum evhttp_cmd_type method,
		const char *path)
{
	char host[256];
	uint16_t port;
	struct event_base *base = event_base_new();
	struct evhttp_connection *conn = NULL;
	struct evhttp_request *req;
	struct answer a = { .body = evbuffer_new() };
	char auth[300];
	int rc = 0;

	if (!parse_url(url, host, sizeof host, &port)) {
		fprintf(stderr, "ternctl: --stats-url: '%s' is not http://HOST:PORT\n", url);
		rc = EXIT_USAGE;
		goto out;
	}
	if (!base || !a.body || !(conn = evhttp_connection_base_new(base, NULL, host, port)) ||
	    !(req = evhttp_request_new(on_done, &a))) {
		fprintf(stderr, "ternctl: out of memory\n");
		rc = EXIT_NODE;
		goto out;
	}
	evhttp_connection_set_timeout(conn, 10);
	evhttp_request_set_error_cb(req, on_error);
	evhttp_add_header(evhttp_request_get_output_headers(req), "Host", host);
	evhttp_add_header(evhttp_request_get_output_headers(req), "Connection", "close");
	if (token && *token) {
		snprintf(auth, sizeof auth, "Bearer %s", token);
		evhttp_add_header(evhttp_request_get_output_headers(req), "Authorization", auth);
	}
	if (evhttp_make_request(conn, req, method, path) < 0) {
		fprintf(stderr, "ternctl: %s: cannot send the request\n", url);
		rc = EXIT_NODE;
		goto out;
	}
	event_base_dispatch(base);
	if (!a.code) {
		fprintf(stderr, "ternctl: the node at %s: %s\n", url,
			a.failed ? why(&a) : "cannot connect (refused or unreachable)");
		rc = EXIT_NODE;
	} else if (a.code == 401) {
		fprintf(stderr, "ternctl: the node at %s wants its stats-token (--stats-token, "
				"or -c with the node's ternd.conf)\n", url);
		rc = 1;
	} else if (a.code / 100 != 2) {
		fprintf(stderr, "ternctl: the node at %s answered %d: ", url, a.code);
		evbuffer_write(a.body, 2);
		rc = 1;
	} else {
		fflush(stdout);
		while (evbuffer_get_length(a.body) && evbuffer_write(a.body, 1) > 0)
			;
	}
out:
	if (conn)
		evhttp_connection_free(conn);
	if (a.body)
		evbuffer_free(a.body);
	if (base)
		event_base_free(base);
	return rc;
}

/* Append "&name=value" (value encoded) to q. */
static void add(char *q, size_t cap, const char *name, const char *value)
{
	char *enc = evhttp_encode_uri(value);
	size_t n = strlen(q);

	if (enc)
		snprintf(q + n, cap - n, "%s%s=%s", n ? "&" : "", name, enc);
	free(enc);
}

int ternctl_node(const char *url, const char *token, int argc, char **argv)
{
	const char *cmd = argv[0];
	char path[1500], q[1400] = "";
	bool json = false;

	for (int i = 1; i < argc; i++) {
		bool more = i + 1 < argc;

		if (strcmp(argv[i], "--json") == 0)
			json = true;
		else if (strcmp(cmd, "allocations") == 0 && more && strcmp(argv[i], "--user") == 0)
			add(q, sizeof q, "user", argv[++i]);
		else if (strcmp(cmd, "allocations") == 0 && more && strcmp(argv[i], "--offset") == 0)
			add(q, sizeof q, "offset", argv[++i]);
		else if (strcmp(cmd, "allocations") == 0 && more && strcmp(argv[i], "--limit") == 0)
			add(q, sizeof q, "limit", argv[++i]);
		else
			return ternctl_usage();
	}
	if (!json && (strcmp(cmd, "stats") == 0 || strcmp(cmd, "allocations") == 0))
		add(q, sizeof q, "format", "text");
	if (strcmp(cmd, "drain") == 0 || strcmp(cmd, "reload") == 0) {
		if (argc != 1)
			return ternctl_usage();
		snprintf(path, sizeof path, "/%s", cmd);
		return call(url, token, EVHTTP_REQ_POST, path);
	}
	snprintf(path, sizeof path, "/%s%s%s", cmd, *q ? "?" : "", q);
	return call(url, token, EVHTTP_REQ_GET, path);
}

/* The endpoint: --stats-url, else the file's stats-listen, else the default. */
bool ternctl_stats_url(const char *given, const struct config *c, char *out, size_t cap)
{
	char host[256];
	uint16_t port;

	if (given) {
		snprintf(out, cap, "%s", given);
		return true;
	}
	if (config_stats_off(c->stats_listen)) {
		fprintf(stderr, "ternctl: the node's stats endpoint is off (stats-listen); "
				"give --stats-url\n");
		return false;
	}
	if (!config_split_hostport(c->stats_listen, host, sizeof host, &port))
		return false;
	/* a wildcard listener is reached on loopback */
	if (!strcmp(host, "0.0.0.0") || !strcmp(host, "::"))
		snprintf(host, sizeof host, "%s", strcmp(host, "::") ? "127.0.0.1" : "::1");
	snprintf(out, cap, strchr(host, ':') ? "http://[%s]:%u" : "http://%s:%u", host,
		 (unsigned)port);
	return true;
}
