#!/bin/bash
# ALTERNATE-DOMAIN (issue 13, item 4; RFC 8489 s14.16). Two nodes share
# Redis, each with TCP, TLS and UDP; node a holds one allocation at most
# (total-quota=1) and names the fleet's certificate with alternate-domain.
# Once it is full, a TLS client's Allocate gets 300 with node b's TLS
# address in ALTERNATE-SERVER and the domain in ALTERNATE-DOMAIN, so it can
# check node b's certificate; a TCP client's 300 names node b's TCP port
# and no domain.
. "$(dirname "$0")/lib.sh"
need python3 redis-server redis-cli openssl

plan 9

redis_pick
check "redis-server starts" redis_start || exit 0
check "self-signed certificate made" make_certs "$T/certs" || exit 0
PA=$(port_pick 1) && QA=$(port_pick 1) && PB=$(port_pick 1) && QB=$(port_pick 1) ||
	bail "no free ports"
node() { # ID PORT TLS-PORT ARGS...
	local id=$1 port=$2 tls=$3
	shift 3
	tern_start --listening-ip=127.0.0.1 --listening-port="$port" --tls-listening-port="$tls" \
		--cert="$T/certs/cert.pem" --pkey="$T/certs/key.pem" --no-dtls --relay-ip=127.0.0.1 \
		--user=alice:secret --realm=tern.test --redis-url="redis://127.0.0.1:$RP/3" \
		--node-id="$id" "$@"
}
tcp() { timeout 30 "$PYTHON" "$INTEROP_DIR/tcprelay.py" alloc --server 127.0.0.1 --transport udp "$@" 2>&1 | tr '\n' ' ' | sed 's/ $//'; }

check "node b starts" node b "$PB" "$QB" || exit 0
check "node a starts with total-quota=1 and alternate-domain=relay.example.org" \
	node a "$PA" "$QA" --total-quota=1 --alternate-domain=relay.example.org || exit 0
is "node a takes one allocation" \
	"$(kv allocate "$("$PYTHON" "$INTEROP_DIR/restore.py" alloc --port "$PA")")" ok
sleep 2 # node a reads the registry when its subscription comes up
is "then, over TLS: 300, node b's TLS address, and the domain" \
	"$(tcp --port "$QA" --proto tls)" \
	"allocate=300 alternate=127.0.0.1:$QB domain=relay.example.org"
is "over TCP: 300, node b's TCP address, no domain" \
	"$(tcp --port "$PA" --proto tcp)" "allocate=300 alternate=127.0.0.1:$PB domain=none"
is "both counted as redirected" "$(tern_metric tern_allocations_redirected_total)" 2
is "a bad alternate-domain: refused at start" \
	"$("$TERND" -n --alternate-domain='not a name' 2>&1 | tail -n 1)" \
	"command line: alternate-domain: 'not a name' is not a DNS name"
