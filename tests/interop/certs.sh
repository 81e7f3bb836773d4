#!/bin/bash
# Make a throwaway self-signed certificate for the TLS interop tests.
#   certs.sh DIR   writes DIR/cert.pem and DIR/key.pem (ECDSA P-256, 2 days,
#                  CN=localhost, SAN localhost, 127.0.0.1 and ::1, and
#                  CERT_SANS if set, such as IP:192.168.1.1)
# The certificate is its own CA, so a client verifies it with cafile=cert.pem.
set -u
dir=${1:?usage: certs.sh DIR}
mkdir -p "$dir" || exit 1
timeout 30 openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
	-nodes -days 2 -subj /CN=localhost \
	-addext "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1${CERT_SANS:+,$CERT_SANS}" \
	-addext "basicConstraints=critical,CA:TRUE" \
	-keyout "$dir/key.pem" -out "$dir/cert.pem" >"$dir/openssl.log" 2>&1 || {
	cat "$dir/openssl.log" >&2
	exit 1
}
