#!/bin/bash
# STUN Binding over TCP, IPv4 and IPv6, with RFC 8489 s6.2.2 stream framing:
# a single request, two requests in one write, requests split across writes,
# and one written a byte at a time. turnutils_stunclient speaks UDP only
# (its options are -p, -L and -f), so the client here is stuntool.py.
. "$(dirname "$0")/lib.sh"
need python3 ss

plan 20

P=$(port_pick 2) || bail "no free ports"
check "ternd starts on 127.0.0.1 and ::1 (TCP)" \
	tern_start --listening-ip=127.0.0.1 --listening-ip=::1 --listening-port="$P" \
	--no-udp --no-tls --workers=2 || exit 0

tcp() { stuntool binding --proto tcp --port "$P" "$@"; }

for ip in 127.0.0.1 ::1; do
	out=$(tcp --server "$ip")
	echo "$out" | diag
	is "$ip: Binding success response" "$(kv class "$out")" success
	is "$ip: transaction id echoed" "$(kv tid_match "$out")" yes
	is "$ip: XOR-MAPPED-ADDRESS is the client's ip:port" \
		"$(kv xor_mapped "$out")" "$(kv local "$out")"
	is "$ip: no FINGERPRINT when the request had none" "$(kv fingerprint "$out")" absent

	out=$(tcp --server "$ip" --fingerprint)
	is "$ip: valid FINGERPRINT when the request had one" "$(kv fingerprint "$out")" ok

	out=$(tcp --server "$ip" --count 2 --write together)
	echo "$out" | diag
	is "$ip: two requests in one write get two answers" \
		"$(kv responses "$out") $(kv tids_match "$out")" "2 yes"
	is "$ip: both carry the client's address" "$(kv xor_mapped_all "$out")" "$(kv local "$out")"

	out=$(tcp --server "$ip" --count 2 --write split)
	is "$ip: requests split across writes get their answers" \
		"$(kv responses "$out") $(kv tids_match "$out")" "2 yes"
done

out=$(tcp --server 127.0.0.1 --write bytewise --fingerprint)
is "a request written one byte at a time is answered" \
	"$(kv class "$out") $(kv tid_match "$out") $(kv fingerprint "$out")" "success yes ok"

out=$(tcp --server 127.0.0.1 --count 3 --write bytewise)
is "three requests written one byte at a time get three answers" \
	"$(kv responses "$out") $(kv tids_match "$out")" "3 yes"

check "ternd exits 0 on SIGTERM within 5 s" tern_stop
