#!/bin/bash
# A browser's TURN client through tern: headless Chromium (Debian's, driven
# by playwright-core from tests/interop/webrtc) opens two RTCPeerConnections
# with iceTransportPolicy 'relay' and tern as the only ICE server, once each
# over turn:?transport=udp, turn:?transport=tcp and turns: (tern's
# self-signed certificate; Chromium runs with --ignore-certificate-errors).
# For each: the DataChannel opens, "ping" gets "pong" back, both sides'
# selected candidate pairs are relay to relay on tern's relay address with
# the local candidate's relayProtocol udp/tcp/tls, and tern's /metrics
# counted the relayed packets both ways and at least two allocations.
#
# Chromium gathers no candidates at all where loopback is the only network,
# so as root the test makes two network namespaces joined by a veth pair:
# tern on 10.47.0.1, the browser on 10.47.0.2 (private addresses that exist
# only inside them). Both peers' relay candidates are tern's own relay
# address, which tern refuses as a peer unless allowed, hence
# --allowed-peer-ip. Not as root (or with WEBRTC_NETNS=no), tern and Chromium
# share the host's loopback instead (--allow-loopback-peers), which works only
# when the host has some other interface up for Chromium to gather on.
#
# Needs chromium (CHROMIUM, default /usr/bin/chromium), node and
# tests/interop/webrtc/node_modules (scripts/deps runs npm ci there).
# Through coturn-ternd.sh the counter checks fail: coturn has no /metrics.
. "$(dirname "$0")/lib.sh"
need python3 openssl
need_browser
CASE_SECONDS=20
USER_NAME=webrtc PASSWORD=relay-only-$$

plan 23

ok "playwright-core is installed in tests/interop/webrtc"
echo "$("$CHROMIUM" --version 2>/dev/null), node $(node --version)," \
	"playwright-core $(sed -n 's/^  "version": "\(.*\)",$/\1/p' \
		"$WEBRTC/node_modules/playwright-core/package.json")" | diag

check "self-signed certificate made" make_certs "$T/certs" || exit 0

# ---- where tern and the browser run -----------------------------------------

TERN_IP=10.47.0.1 BROWSER_IP=10.47.0.2
NS_T='' NS_B=''
netns_down() {
	[ -n "$NS_B" ] && ip netns del "$NS_B" 2>/dev/null
	[ -n "$NS_T" ] && ip netns del "$NS_T" 2>/dev/null
	NS_T='' NS_B=''
}
_webrtc_exit() {
	netns_down
	_interop_exit
}
trap _webrtc_exit EXIT

netns_up() {
	NS_T=tern-webrtc-t$$
	ip netns add "$NS_T" || { NS_T=; return 1; }
	NS_B=tern-webrtc-b$$
	ip netns add "$NS_B" || { NS_B=; return 1; }
	ip -n "$NS_T" link set lo up &&
		ip -n "$NS_B" link set lo up &&
		ip -n "$NS_T" link add wt0 type veth peer name wb0 netns "$NS_B" &&
		ip -n "$NS_T" addr add "$TERN_IP/24" dev wt0 &&
		ip -n "$NS_B" addr add "$BROWSER_IP/24" dev wb0 &&
		ip -n "$NS_T" link set wt0 up &&
		ip -n "$NS_B" link set wb0 up
}

# in_tern / in_browser CMD...: run CMD where tern / the browser lives.
in_tern() { if [ -n "$NS_T" ]; then ip netns exec "$NS_T" "$@"; else "$@"; fi; }
in_browser() { if [ -n "$NS_B" ]; then ip netns exec "$NS_B" "$@"; else "$@"; fi; }

why=
if [ "${WEBRTC_NETNS:-auto}" = no ]; then
	why="WEBRTC_NETNS=no"
elif [ "$(id -u)" != 0 ]; then
	why="not root"
elif ! have ip; then
	why="no ip(8)"
elif ! netns_up >"$T/netns.err" 2>&1; then
	why="cannot make them: $(head -n 1 "$T/netns.err")"
	netns_down
fi
if [ -z "$why" ]; then
	ok "network namespaces: browser $BROWSER_IP, tern $TERN_IP, joined by a veth"
	PEER_OPTS=(--allowed-peer-ip="$TERN_IP")
	# tern_start runs $TERND: put it in tern's namespace.
	REAL_TERND=$TERND
	TERND=$T/ternd-in-netns
	printf '#!/bin/bash\nexec ip netns exec %q %q "$@"\n' "$NS_T" "$REAL_TERND" >"$TERND"
	chmod +x "$TERND"
else
	TERN_IP=127.0.0.1
	skip "network namespaces" "$why: tern and Chromium on the host's loopback"
	PEER_OPTS=(--allow-loopback-peers)
fi

P=$(port_pick 1) || bail "no free ports"
Q=$(port_pick 1) || bail "no free ports"
check "ternd starts on $TERN_IP: UDP and TCP on $P, TLS on $Q, one user" \
	tern_start --listening-ip="$TERN_IP" --listening-port="$P" \
	--tls-listening-port="$Q" --cert="$T/certs/cert.pem" --pkey="$T/certs/key.pem" \
	--user="$USER_NAME:$PASSWORD" "${PEER_OPTS[@]}" --workers=2 --verbose || exit 0

# ---- tern's counters ----------------------------------------------------------

# counters: "TO_PEER TO_CLIENT ALLOCATIONS" from one read of tern's /metrics
# (tern_relayed_packets_total by direction, tern_allocations_total).
counters() {
	local name label v out=() opt
	in_tern timeout 10 "$PYTHON" "$INTEROP_DIR/stuntool.py" http "http://$STATS/metrics" \
		--body "$T/metrics" >/dev/null || : >"$T/metrics"
	for name in tern_relayed_packets_total:direction=to_peer \
		tern_relayed_packets_total:direction=to_client tern_allocations_total; do
		label=${name#*:} opt=()
		[ "$label" = "$name" ] || opt=(--label="$label")
		v=$(stuntool metric --file "$T/metrics" --name "${name%%:*}" "${opt[@]}")
		case $v in '' | absent) v=0 ;; esac
		out+=("$v")
	done
	echo "${out[*]}"
}

# ---- the cases ----------------------------------------------------------------

n=0
run_case() { # NAME URL RELAY_PROTOCOL
	local name=$1 url=$2 proto=$3 out d_peer d_client d_alloc
	local p0 c0 a0 p1 c1 a1 want_pair got_pair s err deadline
	host_of() { kv "$1" "$out" | sed 's/:[0-9]*$//'; }
	n=$((n + 1))
	read -r p0 c0 a0 <<<"$(counters)"
	out=$(in_browser timeout $((CASE_SECONDS + 25)) env TMPDIR="$T" \
		node "$WEBRTC/driver.js" --url "$url" --user "$USER_NAME" --pass "$PASSWORD" \
		--timeout $((CASE_SECONDS * 1000)) --chromium "$CHROMIUM" --profile "$T/profile.$n" 2>&1)
	err=$(kv error "$out")
	echo "$name: $url: $(kv seconds "$out") s${err:+, error: $err}" | diag

	if [ "$(kv open "$out")" = yes ]; then
		ok "$name: the DataChannel opens"
	else
		not_ok "$name: the DataChannel opens" "$out"
	fi
	is "$name: \"ping\" gets \"pong\" back" "$(kv reply "$out")" pong

	got_pair=$(for s in a b; do
		printf '%s: %s %s -> %s %s; ' $s "$(kv ${s}_local_type "$out")" "$(host_of ${s}_local)" \
			"$(kv ${s}_remote_type "$out")" "$(host_of ${s}_remote)"
	done)
	got_pair=${got_pair%; }
	want_pair="a: relay $TERN_IP -> relay $TERN_IP; b: relay $TERN_IP -> relay $TERN_IP"
	is "$name: both selected pairs are relay to relay on tern's address" "$got_pair" "$want_pair"
	is "$name: both local relay candidates say relayProtocol $proto" \
		"$(kv a_relay_protocol "$out") $(kv b_relay_protocol "$out")" "$proto $proto"

	# counters may lag the answers a little: poll them for up to 3 s
	deadline=$((${EPOCHREALTIME/./} + 3000000))
	while :; do
		read -r p1 c1 a1 <<<"$(counters)"
		[ "$p1" -gt "$p0" ] && [ "$c1" -gt "$c0" ] && [ "$((a1 - a0))" -ge 2 ] && break
		[ "${EPOCHREALTIME/./}" -lt "$deadline" ] || break
		sleep 0.2
	done
	d_peer=$((p1 - p0)) d_client=$((c1 - c0)) d_alloc=$((a1 - a0))
	if [ "$d_peer" -gt 0 ] && [ "$d_client" -gt 0 ]; then
		ok "$name: tern relayed $d_peer packets to peers and $d_client to clients"
	else
		not_ok "$name: tern relayed packets both ways" \
			"tern_relayed_packets_total grew by to_peer=$d_peer to_client=$d_client"
	fi
	if [ "$d_alloc" -ge 2 ]; then
		ok "$name: tern_allocations_total grew by $d_alloc (>= 2)"
	else
		not_ok "$name: tern_allocations_total grew by at least 2" "it grew by $d_alloc"
	fi
}

run_case "turn: over UDP" "turn:$TERN_IP:$P?transport=udp" udp
run_case "turn: over TCP" "turn:$TERN_IP:$P?transport=tcp" tcp
run_case "turns: (TLS)" "turns:$TERN_IP:$Q?transport=tcp" tls

check "ternd exits 0 on SIGTERM within 5 s" tern_stop
