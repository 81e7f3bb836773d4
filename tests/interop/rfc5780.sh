#!/bin/bash
# RFC 5780 NAT behaviour discovery with two listening addresses, 127.0.0.1
# and 127.0.0.2 (both on lo): raw checks of OTHER-ADDRESS, RESPONSE-ORIGIN,
# CHANGE-REQUEST (which address the answer really leaves from) and
# RESPONSE-PORT, then coturn's own discovery clients, turnutils_natdiscovery
# and turnutils_stunclient.
. "$(dirname "$0")/lib.sh"
need python3 ss

plan 22

P=$(port_pick 2) || bail "no free ports"
A=$((P + 1))
check "ternd starts on 127.0.0.1 and 127.0.0.2, ports $P and $A" \
	tern_start --listening-ip=127.0.0.1 --listening-ip=127.0.0.2 --listening-port="$P" \
	--alt-listening-port="$A" --rfc5780 --no-tcp --no-tls --workers=2 || exit 0

udp() { stuntool binding --server 127.0.0.1 --port "$P" "$@"; }

out=$(udp)
echo "$out" | diag
is "OTHER-ADDRESS is the second address and the alternate port" \
	"$(kv other_address "$out")" "127.0.0.2:$A"
is "XOR-MAPPED-ADDRESS is the client's ip:port" "$(kv xor_mapped "$out")" "$(kv local "$out")"

# s7.3: RESPONSE-ORIGIN is where the answer was sent from; check it against
# where it actually came from, on each of the four address/port pairs.
for to in "127.0.0.1 $P" "127.0.0.1 $A" "127.0.0.2 $P" "127.0.0.2 $A"; do
	read -r ip port <<<"$to"
	out=$(stuntool binding --server "$ip" --port "$port")
	is "a request to $ip:$port is answered from there, RESPONSE-ORIGIN says so" \
		"$(kv from "$out") $(kv response_origin "$out")" "$ip:$port $ip:$port"
done

# s7.2: CHANGE-REQUEST moves the source of the answer.
for c in "ipport 127.0.0.2:$A" "port 127.0.0.1:$A" "ip 127.0.0.2:$P"; do
	read -r change from <<<"$c"
	out=$(udp --change "$change")
	echo "$out" | diag
	is "CHANGE-REQUEST $change: the answer comes from $from" "$(kv from "$out")" "$from"
	is "CHANGE-REQUEST $change: RESPONSE-ORIGIN is $from, XOR-MAPPED-ADDRESS unchanged" \
		"$(kv response_origin "$out") $(kv xor_mapped "$out")" "$from $(kv local "$out")"
done

# s7.3: OTHER-ADDRESS differs from the receiving address in both ip and port.
out=$(stuntool binding --server 127.0.0.2 --port "$A")
is "a request to 127.0.0.2:$A gets OTHER-ADDRESS 127.0.0.1:$P" \
	"$(kv other_address "$out")" "127.0.0.1:$P"
out=$(stuntool binding --server 127.0.0.2 --port "$A" --change ipport)
is "CHANGE-REQUEST ip+port sent to 127.0.0.2:$A is answered from 127.0.0.1:$P" \
	"$(kv from "$out")" "127.0.0.1:$P"

# s7.5: RESPONSE-PORT sends the answer to another port of the client.
out=$(udp --response-port --change ipport)
echo "$out" | diag
is "RESPONSE-PORT: the answer goes to the port asked for, from 127.0.0.2:$A" \
	"$(kv arrived "$out") $(kv from "$out")" "response-port 127.0.0.2:$A"

# turnutils_natdiscovery: -m asks the other ip, then the other ip and port;
# -f asks for changed ip+port, then changed port. Loopback is no NAT.
if have turnutils_natdiscovery; then
	nd=$(timeout 30 turnutils_natdiscovery -m -f -p "$P" 127.0.0.1 2>&1)
	echo "$nd" | grep -v '^$' | diag
	check "turnutils_natdiscovery -m: endpoint independent mapping" \
		grep -q "NAT with Endpoint Independent Mapping" <<<"$nd"
	check "turnutils_natdiscovery -f: endpoint independent filtering" \
		grep -q "NAT with Endpoint Independent Filtering" <<<"$nd"
else
	skip "turnutils_natdiscovery -m" "coturn's client not installed"
	skip "turnutils_natdiscovery -f" "coturn's client not installed"
fi

# turnutils_stunclient (-f forces its RFC 5780 pass): request 1 plain, then
# CHANGE-REQUEST ip+port with RESPONSE-PORT (s7.5: answer to local port + 1),
# then CHANGE-REQUEST ip+port with PADDING. It prints "Other addr: : ip:port"
# and "Response origin: : ip:port" per answer and never times out itself.
if have turnutils_stunclient stdbuf; then
	sc=$(timeout 10 stdbuf -oL turnutils_stunclient -f -p "$P" 127.0.0.1 2>&1)
	echo "$sc" | grep -v '^$' | diag
	is "turnutils_stunclient: first answer names Other addr 127.0.0.2:$A" \
		"$(sed -n 's/.*Other addr: *:* *//p' <<<"$sc" | head -n 1)" "127.0.0.2:$A"
	is "turnutils_stunclient: all three RFC 5780 answers arrive (RESPONSE-PORT, PADDING)" \
		"$(grep -c '^RFC 5780 response' <<<"$sc")" 3
	is "turnutils_stunclient: the changed answers come from 127.0.0.2:$A" \
		"$(sed -n 's/.*Response origin: *:* *//p' <<<"$sc" | sort -u | tr '\n' ' ')" \
		"127.0.0.1:$P 127.0.0.2:$A "
else
	for d in "first answer" "three answers" "changed answers"; do
		skip "turnutils_stunclient: $d" "coturn's client not installed"
	done
fi

check "ternd exits 0 on SIGTERM within 5 s" tern_stop
