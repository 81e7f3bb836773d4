#!/bin/bash
# The stats endpoint (DESIGN.md s8): /healthz, Prometheus text on /metrics,
# 404 elsewhere; tern_stun_requests_total counts exactly the Binding requests
# sent, per transport, and a datagram that is not STUN is counted in
# tern_dropped_total and nowhere else.
. "$(dirname "$0")/lib.sh"
need python3 ss

plan 15

P=$(port_pick 2) || bail "no free ports"
check "ternd starts on 127.0.0.1 with a stats endpoint" \
	tern_start --listening-ip=127.0.0.1 --listening-port="$P" --no-tls --workers=2 || exit 0
URL=http://$STATS

get() { stuntool http "$URL$1" --body "$T/body"; }

out=$(get /healthz)
is "/healthz: 200 ok" "$(kv status "$out") $(kv body "$out")" "200 ok"

out=$(get /metrics)
is "/metrics: 200" "$(kv status "$out")" 200
case $(kv content_type "$out") in
text/plain*) ok "/metrics: Content-Type text/plain ($(kv content_type "$out"))" ;;
*) not_ok "/metrics: Content-Type text/plain" "got '$(kv content_type "$out")'" ;;
esac
check "/metrics declares tern_stun_requests_total a counter" \
	grep -q '^# TYPE tern_stun_requests_total counter' "$T/body"

# metric NAME LABEL=VALUE...: the sum of the matching samples, 0 if absent.
metric() {
	local name=$1 v
	shift
	get /metrics >/dev/null
	v=$(stuntool metric --file "$T/body" --name "$name" "${@/#/--label=}")
	[ "$v" = absent ] && v=0
	echo "$v"
}
# settles EXPECTED NAME LABEL=VALUE...: poll until the metric reaches
# EXPECTED (counters may lag the answers a little), for up to 3 s; print it.
settles() {
	local want=$1 v i
	shift
	for ((i = 0; i < 30; i++)); do
		v=$(metric "$@")
		[ "$v" = "$want" ] && break
		sleep 0.1
	done
	echo "$v"
}
UDP_BINDING=(tern_stun_requests_total transport=udp method=binding)
TCP_BINDING=(tern_stun_requests_total transport=tcp method=binding)
DROPPED=(tern_dropped_total transport=udp)

N=50
before=$(metric "${UDP_BINDING[@]}")
out=$(stuntool load --server 127.0.0.1 --port "$P" -n $N)
is "$N Binding requests over UDP, $N answers" "$(kv received "$out")" $N
is "tern_stun_requests_total{transport=udp,method=binding} grew by exactly $N" \
	"$(settles $((before + N)) "${UDP_BINDING[@]}")" $((before + N))
udp_after=$((before + N))

before=$(metric "${TCP_BINDING[@]}")
for i in 1 2 3; do stuntool binding --proto tcp --server 127.0.0.1 --port "$P" >/dev/null; done
is "tern_stun_requests_total{transport=tcp,method=binding} grew by exactly 3" \
	"$(settles $((before + 3)) "${TCP_BINDING[@]}")" $((before + 3))

dropped=$(metric "${DROPPED[@]}")
# 0xFF is none of STUN, ChannelData or DTLS by its first byte (RFC 7983).
out=$(stuntool garbage --server 127.0.0.1 --port "$P" --timeout 0.5 \
	--hex ffffffff00000000deadbeefdeadbeefdeadbeefdeadbeef)
is "a garbage datagram gets no answer" "$(kv reply "$out")" none
is "tern_dropped_total{transport=udp} grew by exactly 1" \
	"$(settles $((dropped + 1)) "${DROPPED[@]}")" $((dropped + 1))
get /metrics >/dev/null
echo "tern_dropped_total samples after the garbage datagram:" | diag
grep '^tern_dropped_total' "$T/body" | diag
check "the drop is counted with a reason label" \
	grep -q '^tern_dropped_total{.*reason="[^"]' "$T/body"
is "the garbage was not counted as a Binding request" "$(metric "${UDP_BINDING[@]}")" $udp_after

out=$(get /nope)
is "/nope: 404" "$(kv status "$out")" 404

out=$(stuntool http "$URL/healthz")
is "the endpoint still answers after a 404" "$(kv status "$out")" 200

check "ternd exits 0 on SIGTERM within 5 s" tern_stop
