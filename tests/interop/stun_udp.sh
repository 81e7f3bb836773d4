#!/bin/bash
# STUN Binding over UDP, IPv4 and IPv6: coturn's turnutils_stunclient, then
# handcrafted requests checking XOR-MAPPED-ADDRESS to the exact ip:port, that
# FINGERPRINT is echoed only when the request had one (RFC 8489 s7.3), that
# a classic RFC 3489 request (no magic cookie) gets MAPPED-ADDRESS, and that
# without RFC 5780 a CHANGE-REQUEST is a 420 (RFC 5780 s7.2).
. "$(dirname "$0")/lib.sh"
need python3 ss

plan 22

P=$(port_pick 2) || bail "no free ports"
check "ternd starts on 127.0.0.1 and ::1 (UDP)" \
	tern_start --listening-ip=127.0.0.1 --listening-ip=::1 --listening-port="$P" \
	--no-tcp --no-tls --workers=2 || exit 0

# turnutils_stunclient prints "... UDP reflexive addr: IP:PORT" (IPv6 without
# brackets) for the first answer. It only sends more requests (RFC 5780, with
# RESPONSE-PORT) when the answer carries OTHER-ADDRESS, and it waits forever
# for an answer, hence the timeout and line-buffered output.
stunclient_mapped() { # SERVER
	timeout 10 stdbuf -oL turnutils_stunclient -p "$P" "$1" 2>&1 |
		sed -n 's/.*UDP reflexive addr:* *//p' | head -n 1
}
for ip in 127.0.0.1 ::1; do
	if ! have turnutils_stunclient stdbuf; then
		skip "turnutils_stunclient to $ip: reflexive address" "coturn's client not installed"
		skip "turnutils_stunclient to $ip: reflexive port" "coturn's client not installed"
		continue
	fi
	m=$(stunclient_mapped "$ip")
	is "turnutils_stunclient to $ip: reflexive address is $ip" "${m%:*}" "$ip"
	case ${m##*:} in
	[1-9]*) ok "turnutils_stunclient to $ip: reflexive port is a port (${m##*:})" ;;
	*) not_ok "turnutils_stunclient to $ip: reflexive port is a port" "got '$m'" ;;
	esac
done

for ip in 127.0.0.1 ::1; do
	out=$(stuntool binding --server "$ip" --port "$P")
	echo "$out" | diag
	is "$ip: Binding success response" "$(kv class "$out")" success
	is "$ip: transaction id echoed" "$(kv tid_match "$out")" yes
	is "$ip: no OTHER-ADDRESS with one address per family" "$(kv other_address "$out")" ""
	is "$ip: XOR-MAPPED-ADDRESS is the client's ip:port" \
		"$(kv xor_mapped "$out")" "$(kv local "$out")"
	is "$ip: no FINGERPRINT when the request had none" "$(kv fingerprint "$out")" absent

	out=$(stuntool binding --server "$ip" --port "$P" --fingerprint)
	is "$ip: valid FINGERPRINT when the request had one" "$(kv fingerprint "$out")" ok
done

out=$(stuntool binding --server 127.0.0.1 --port "$P" --classic)
echo "$out" | diag
is "RFC 3489 request: success with its 16-byte transaction id echoed" \
	"$(kv class "$out") $(kv tid_match "$out") $(kv cookie "$out")" "success yes no"
is "RFC 3489 request: MAPPED-ADDRESS is the client's ip:port" \
	"$(kv mapped "$out")" "$(kv local "$out")"

out=$(stuntool binding --server 127.0.0.1 --port "$P")
is "the answer comes from the address the request went to" "$(kv from "$out")" "127.0.0.1:$P"

# One address per family: no RFC 5780, so CHANGE-REQUEST cannot be honoured.
out=$(stuntool binding --server 127.0.0.1 --port "$P" --change ipport)
is "CHANGE-REQUEST without RFC 5780 gets 420 from the address asked" \
	"$(kv class "$out") $(kv error_code "$out") $(kv from "$out")" "error 420 127.0.0.1:$P"

check "ternd exits 0 on SIGTERM within 5 s" tern_stop
