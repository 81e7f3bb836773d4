#!/bin/bash
# Run coturn's turnserver behind ternd's command line, to check the interop
# tests themselves against the reference implementation:
#
#   TERND=$PWD/tests/interop/coturn-ternd.sh tests/interop/stun_udp.sh
#
# It maps ternd's options onto turnserver's, holds coturn to ternd's contract
# where an option can (TLS 1.2 or newer; RFC 5780 only with two listening
# addresses of one family), prints "ternd ready" once the listeners are bound,
# and passes SIGTERM on. coturn has no tern stats endpoint, so --stats-listen
# is dropped and stats.sh cannot pass through this wrapper.
set -u
tmp=$(mktemp -d "${TMPDIR:-/tmp}/coturn-ternd.XXXXXX") || exit 1
args=(--no-cli --no-dtls --log-file=stdout --simple-log --no-tlsv1 --no-tlsv1_1
	--pidfile="$tmp/turnserver.pid" --userdb="$tmp/turndb")
ips=() port=3478 tls_port=5349 have_cert=0 no_udp=0 no_tls=0
while [ $# -gt 0 ]; do
	case $1 in
	-c) args+=(-c "$2"); shift ;;
	--stats-listen=* | --rfc5780 | --log-file=*) ;;
	--workers=*) args+=(--relay-threads="${1#*=}") ;;
	--listening-ip=*) ips+=("${1#*=}"); args+=("$1") ;;
	--listening-port=*) port=${1#*=}; args+=("$1") ;;
	--tls-listening-port=*) tls_port=${1#*=}; args+=("$1") ;;
	--cert=*) have_cert=1; args+=("$1") ;;
	--no-udp) no_udp=1; args+=("$1") ;;
	--no-tls) no_tls=1; args+=("$1") ;;
	*) args+=("$1") ;;
	esac
	shift
done
[ $have_cert = 1 ] || { args+=(--no-tls); no_tls=1; }
v4=0 v6=0
for ip in "${ips[@]}"; do case $ip in *:*) v6=$((v6 + 1)) ;; *) v4=$((v4 + 1)) ;; esac; done
[ $v4 -ge 2 ] || [ $v6 -ge 2 ] || args+=(--no-rfc5780)

turnserver "${args[@]}" &
pid=$!
termed=0
trap 'termed=1; kill -TERM $pid 2>/dev/null' TERM INT
trap 'rm -rf "$tmp"' EXIT

# Ready when every listening address has its sockets bound.
bound() { # proto ip port
	local a=$2
	case $a in *:*) a="[$a]" ;; esac
	ss -Hln"$1" "src $a:$3" | grep -q .
}
for _ in $(seq 100); do
	kill -0 $pid 2>/dev/null || break
	ready=1
	for ip in "${ips[@]}"; do
		[ $no_udp = 1 ] || bound u "$ip" "$port" || ready=0
		[ $no_tls = 1 ] || bound t "$ip" "$tls_port" || ready=0
	done
	if [ $ready = 1 ]; then
		sleep 0.3 # coturn opens one UDP socket per relay thread
		echo "ternd ready (coturn $pid)" >&2
		break
	fi
	sleep 0.1
done
# coturn has no SIGTERM handler and dies of the signal (status 143); after a
# SIGTERM we passed on, that counts as the clean exit ternd would make.
while :; do
	wait $pid
	rc=$?
	kill -0 $pid 2>/dev/null && continue
	[ $termed = 1 ] && [ $rc = 143 ] && exit 0
	exit $rc
done
