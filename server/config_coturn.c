/*
 * coturn's options that ternd does not have. A coturn turnserver.conf must
 * still start, so each of these is accepted and ignored with a warning that
 * names the file and line; the table also tells the command line which of
 * them take a value. Any other unknown name is an error.
 */
#include "server/config.h"
#include "server/config_opt.h"

#include <stdio.h>
#include <string.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define V(n) { .name = n, .value = true }
#define F(n) { .name = n }
#define NOTE(n, why) { .name = n, .note = why }

static const struct config_coturn_opt coturn_only[] = {
	V("listening-device"), V("relay-device"), V("tcp-proxy-port"),
	V("psql-userdb"), V("sql-userdb"), V("mysql-userdb"),
	V("mongo-userdb"), V("redis-userdb"), V("redis-statsdb"),
	V("secret-key-file"), F("no-auth-pings"),
	F("no-dynamic-ip-list"), F("no-dynamic-realms"),
	V("server-name"), F("oauth"),
	F("fingerprint"), F("check-origin-consistency"),
	F("stateless-nonce"), V("stateless-nonce-secret"),
	V("max-allocate-timeout"),
	F("stun-only"), F("no-stun"), F("secure-stun"),
	F("raw-public-keys"), V("pkey-pwd"), V("CA-file"),
	V("dh-file"), V("ec-curve-name"), F("dh566"),
	F("dh1066"), F("dtls"), F("no-tlsv1_2"),
	NOTE("no-tlsv1", "ternd never offers TLS older than 1.2"),
	NOTE("no-tlsv1_1", "ternd never offers TLS older than 1.2"),
	NOTE("tlsv1", "ternd never offers TLS older than 1.2"),
	NOTE("tlsv1_1", "ternd never offers TLS older than 1.2"),
	NOTE("no-stdout-log", "ternd logs to one place: log-file, else syslog, else stderr"),
	NOTE("simple-log", "ternd always uses the log-file name as given"),
	F("new-log-timestamp"), V("new-log-timestamp-format"),
	V("syslog-facility"), F("log-binding"),
	NOTE("daemon", "ternd runs in the foreground; use a service manager"),
	V("aux-server"), F("udp-self-balance"), V("alternate-server"),
	V("tls-alternate-server"), V("udp-alternate-server"),
	V("tcp-alternate-server"), F("server-relay"), F("mobility"),
	NOTE("no-cli", "ternd has no telnet CLI"), F("cli"), V("cli-ip"),
	V("cli-port"), V("cli-password"), V("cli-max-output-sessions"),
	F("web-admin"), V("web-admin-ip"), V("web-admin-port"),
	F("web-admin-listen-on-workers"), V("ne"),
	F("keep-address-family"), V("allocation-default-address-family"),
	V("acme-redirect"), F("no-rfc5780"),
	F("no-stun-backward-compatibility"), F("stun-backward-compatibility"),
	F("rfc3489-compatibility"), F("response-origin-only-with-rfc5780"),
	F("respond-http-unsupported"),
	F("drop-invalid-packets"),
	F("udp-recvmmsg"), F("multiplex-peer"), F("udp-gso"),
	V("sock-buf-size"),
	NOTE("prometheus", "ternd always serves /metrics on stats-listen"),
	F("prometheus-username-labels"), V("prometheus-path"),
	F("prometheus-tls"),
};

const struct config_coturn_opt *config_coturn_find(const char *name)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(coturn_only); i++)
		if (strcmp(coturn_only[i].name, name) == 0)
			return &coturn_only[i];
	return NULL;
}

int config_coturn_unknown(const char *name, const char *where, bool warn, char *err,
			  size_t errlen)
{
	const struct config_coturn_opt *k = config_coturn_find(name);

	if (!k) {
		snprintf(err, errlen, "%s: unknown option '%s'", where, name);
		return -1;
	}
	if (!warn)
		return 0;
	if (k->note)
		fprintf(stderr, "%s: warning: coturn option '%s' is ignored: %s\n", where, name,
			k->note);
	else
		fprintf(stderr,
			"%s: warning: coturn option '%s' is not supported by ternd yet, ignored\n",
			where, name);
	return 0;
}
