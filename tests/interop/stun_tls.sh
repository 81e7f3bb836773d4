#!/bin/bash
# STUN Binding over TLS (RFC 8489 s6.2.3), IPv4 and IPv6, from Python's ssl
# module (OpenSSL) verifying a self-signed certificate: the handshake is TLS
# 1.2 or newer, TLS 1.2 and 1.3 each work, TLS 1.1 is refused (when this
# machine's OpenSSL can still offer it), and XOR-MAPPED-ADDRESS is exact.
. "$(dirname "$0")/lib.sh"
need python3 ss openssl

plan 19

check "self-signed certificate made" make_certs "$T/certs" || exit 0
CA=$T/certs/cert.pem
P=$(port_pick 2) || bail "no free ports"
Q=$(port_pick 2) || bail "no free ports"
check "ternd starts with TLS on 127.0.0.1 and ::1" \
	tern_start --listening-ip=127.0.0.1 --listening-ip=::1 --listening-port="$P" \
	--tls-listening-port="$Q" --cert="$CA" --pkey="$T/certs/key.pem" \
	--no-udp --no-tcp --workers=2 || exit 0

tls() { stuntool binding --proto tls --port "$Q" --cafile "$CA" "$@"; }

for ip in 127.0.0.1 ::1; do
	out=$(tls --server "$ip" --fingerprint)
	echo "$out" | diag
	case $(kv tls_version "$out") in
	TLSv1.2 | TLSv1.3) ok "$ip: verified handshake, $(kv tls_version "$out") $(kv tls_cipher "$out")" ;;
	*) not_ok "$ip: verified handshake at TLS 1.2 or newer" "$out" ;;
	esac
	is "$ip: Binding success response" "$(kv class "$out") $(kv tid_match "$out")" "success yes"
	is "$ip: XOR-MAPPED-ADDRESS is the client's ip:port" \
		"$(kv xor_mapped "$out")" "$(kv local "$out")"
	is "$ip: valid FINGERPRINT echoed" "$(kv fingerprint "$out")" ok

	out=$(tls --server "$ip" --count 2 --write together)
	is "$ip: two requests in one write get two answers" \
		"$(kv responses "$out") $(kv tids_match "$out") $(kv xor_mapped_all "$out")" \
		"2 yes $(kv local "$out")"

	out=$(tls --server "$ip" --count 2 --write split)
	is "$ip: requests split across TLS records get their answers" \
		"$(kv responses "$out") $(kv tids_match "$out")" "2 yes"
done

for v in 1.2 1.3; do
	out=$(tls --server 127.0.0.1 --tls-min "$v" --tls-max "$v")
	is "a TLS $v-only client gets its Binding answered" \
		"$(kv tls_version "$out") $(kv class "$out")" "TLSv$v success"
done

cap=$(stuntool tls11 --cert "$CA" --key "$T/certs/key.pem")
if [ "$(kv capable "$cap")" = yes ]; then
	out=$(tls --server 127.0.0.1 --tls-min 1.1 --tls-max 1.1)
	echo "$out" | diag
	is "TLS 1.1 is refused" "$(kv result "$out")" connect-failed
	out=$(tls --server 127.0.0.1 --tls-min 1.0 --tls-max 1.0)
	is "TLS 1.0 is refused" "$(kv result "$out")" connect-failed
else
	echo "$cap" | diag
	skip "TLS 1.1 is refused" "local OpenSSL cannot offer TLS 1.1"
	skip "TLS 1.0 is refused" "local OpenSSL cannot offer TLS 1.1"
fi

check "ternd exits 0 on SIGTERM within 5 s" tern_stop
