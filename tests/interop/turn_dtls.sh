#!/bin/bash
# TURN over DTLS 1.2 (RFC 7350) on the TLS port's UDP side, with coturn's
# turnutils_uclient (-S over UDP is DTLS) relaying to turnutils_peer:
# channels and Send/Data indications, IPv4 and IPv6, no loss, and tern's
# /metrics agreeing with uclient's count. A stranger's ClientHello must get
# a HelloVerifyRequest, never a session: checked with a raw datagram.
. "$(dirname "$0")/lib.sh"
need python3 ss openssl turnutils_uclient turnutils_peer

plan 15

PP=$(port_pick 2) || bail "no free ports"
check "turnutils_peer echoes on 127.0.0.1 and ::1" peer_start "$PP" 127.0.0.1 ::1 || exit 0
check "self-signed certificate made" make_certs "$T/certs" || exit 0

P=$(port_pick 1) || bail "no free ports"
Q=$(port_pick 1) || bail "no free ports"
check "ternd starts with DTLS on 127.0.0.1 and ::1" \
	tern_start --listening-ip=127.0.0.1 --listening-ip=::1 --listening-port="$P" \
	--tls-listening-port="$Q" --cert="$T/certs/cert.pem" --pkey="$T/certs/key.pem" \
	--no-tcp --no-tls --user=alice:secret --realm=tern.test --allow-loopback-peers \
	--workers=2 || exit 0

DTLS=(-S -p "$Q" -u alice -w secret -r "$PP" -l 120)
relay_check "DTLS, IPv4, channels" 400 48000 6 \
	"${DTLS[@]}" -m 4 -n 100 -z 5 -X -e 127.0.0.1 127.0.0.1
relay_check "DTLS, IPv4, Send/Data indications" 400 48000 6 \
	"${DTLS[@]}" -m 4 -n 100 -z 5 -s -X -e 127.0.0.1 127.0.0.1
relay_check "DTLS, IPv6, channels" 400 48000 6 \
	"${DTLS[@]}" -m 4 -n 100 -z 5 -x -e ::1 ::1

# A ClientHello from a stranger (RFC 6347 s4.2.1): the answer is a small
# HelloVerifyRequest (handshake type 3), and no session is opened for it.
hello_verify() {
	"$PYTHON" - "$Q" <<'PY'
import os, socket, struct, sys
port = int(sys.argv[1])
body = (b"\xfe\xfd" + os.urandom(32) + b"\x00" + b"\x00" + b"\x00\x02\xc0\x2b"
        + b"\x01\x00")
hs = struct.pack("!B", 1) + len(body).to_bytes(3, "big") + b"\x00\x00" \
     + b"\x00\x00\x00" + len(body).to_bytes(3, "big") + body
rec = b"\x16\xfe\xff" + b"\x00\x00" + b"\x00" * 6 + struct.pack("!H", len(hs)) + hs
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(3)
s.sendto(rec, ("127.0.0.1", port))
d, _ = s.recvfrom(4096)
assert d[0] == 22 and d[13] == 3, d.hex()   # handshake record, HelloVerifyRequest
assert len(d) <= len(rec), (len(d), len(rec))  # never bigger than the hello
print("ok")
PY
}
before=$(tern_metric tern_connections_total transport=dtls)
check "a stranger's ClientHello gets a HelloVerifyRequest no bigger than itself" hello_verify
after=$(tern_metric tern_connections_total transport=dtls)
is "no session for a client that never echoed the cookie" "$after" "$before"

check "ternd exits 0 on SIGTERM within 5 s" tern_stop
