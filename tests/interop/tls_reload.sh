#!/bin/bash
# A renewed certificate without a restart (issue 13, item 2, its first
# part): the certificate and key files are replaced and ternd gets SIGHUP
# (or coturn's SIGUSR2). The next TLS and DTLS clients get the new
# certificate, while a TLS client already relaying (turnutils_uclient -S)
# goes on and loses nothing. Files that do not load change nothing: the
# error is logged and the certificate in use stays.
. "$(dirname "$0")/lib.sh"
need openssl turnutils_uclient turnutils_peer

plan 11

check "two certificates made" eval 'make_certs "$T/a" && make_certs "$T/b"' || exit 0
cp "$T/a/cert.pem" "$T/cert.pem" && cp "$T/a/key.pem" "$T/key.pem"
fp() { openssl x509 -noout -fingerprint -sha256 -in "$1" | cut -d= -f2; }
# served PROTO: the fingerprint of what a new client is shown
served() {
	local o=(-connect "127.0.0.1:$Q")
	[ "$1" = dtls ] && o+=(-dtls1_2)
	timeout 10 openssl s_client "${o[@]}" </dev/null 2>/dev/null |
		openssl x509 -noout -fingerprint -sha256 2>/dev/null | cut -d= -f2
}
P=$(port_pick 1) && Q=$(port_pick 1) && PP=$(port_pick 2) || bail "no free ports"
check "turnutils_peer echoes" peer_start "$PP" 127.0.0.1 || exit 0
check "ternd starts with TLS and DTLS" tern_start --listening-ip=127.0.0.1 \
	--listening-port="$P" --tls-listening-port="$Q" --cert="$T/cert.pem" --pkey="$T/key.pem" \
	--user=alice:secret --realm=tern.test --allow-loopback-peers || exit 0
is "a TLS client gets certificate A" "$(served tls)" "$(fp "$T/a/cert.pem")"

# a TLS client relaying across the reload: 100 messages each way, 40 ms apart (4 s)
uclient "$T/uc" -S -t -p "$Q" -u alice -w secret -r "$PP" -l 120 -m 4 -n 100 -z 40 -e 127.0.0.1 \
	127.0.0.1 &
uc=$!
sleep 1.5
cp "$T/b/cert.pem" "$T/cert.pem" && cp "$T/b/key.pem" "$T/key.pem"
kill -HUP "$TERN_PID"
like "SIGHUP: ternd says the certificate was reloaded" \
	"$(wait_for 3 1 grep -c 'SIGHUP: certificate .* reloaded' "$TERN_LOG")" "^1$"
is "the next TLS client gets certificate B" "$(served tls)" "$(fp "$T/b/cert.pem")"
is "and the next DTLS client too" "$(served dtls)" "$(fp "$T/b/cert.pem")"
wait "$uc"
is "the TLS client relaying meanwhile lost nothing" "$(uclient_totals "$T/uc")" "400 400 0"

echo "not a certificate" >"$T/cert.pem"
kill -USR2 "$TERN_PID"
like "SIGUSR2 with a broken file: said, nothing changed" \
	"$(wait_for 3 1 grep -c 'SIGUSR2: certificate not reloaded, the old one stays' "$TERN_LOG")" "^1$"
is "TLS clients still get certificate B" "$(served tls)" "$(fp "$T/b/cert.pem")"
check "ternd stops cleanly" tern_stop
