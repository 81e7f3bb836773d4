#!/bin/sh
# Configuration handling through the real binary: `ternd --check` on good,
# coturn-flavoured and broken files, the "file:line: problem" messages and
# exit status 2 that operators and service managers rely on, --version and
# --help. Speaks TAP. Needs TERND (the ternd binary); TOP_SRCDIR is used to
# read the expected version from configure.ac.
set -u

if [ -z "${TERND:-}" ] || [ ! -x "$TERND" ]; then
	echo "Bail out! TERND does not name an executable ternd: '${TERND:-}'"
	exit 1
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/tern-config.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' HUP INT TERM
cd "$tmp" || exit 1

n=0
failed=0

# ok CONDITION-STATUS DESCRIPTION: one TAP line; on failure, ternd's output as comments.
ok() {
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $n - $2"
		return
	fi
	echo "not ok $n - $2"
	echo "# exit status $rc; stdout and stderr were:"
	sed 's/^/#   /' out err
	failed=1
}

# run ARGS...: ternd with a time limit (a bad config must never start it).
run() {
	timeout 20 "$TERND" "$@" >out 2>err
	rc=$?
}

# has FILE TEXT: FILE contains TEXT literally.
has() {
	grep -qF -- "$2" "$1"
}

printf 'dummy key, only read for access\n' >key.pem

cat >good.conf <<'EOF'
# A plain tern configuration in coturn's syntax.
listening-port=3478
tls-listening-port = 5349
listening-ip 127.0.0.1
listening-ip=::1   # trailing comment
min-port=49152
max-port=65535
realm="example.org"
no-dtls
verbose=false
workers = 2
stats-listen=127.0.0.1:9641
EOF

cat >coturn.conf <<'EOF'
listening-port=3478
fingerprint
lt-cred-mech
user=alice:wonderland
relay-threads=4
no-cli
EOF

cat >turn.conf <<EOF
# TURN with every kind of credential and a peer policy.
realm=example.org
lt-cred-mech
user=alice:wonderland
user=bob:0x0123456789abcdef0123456789abcdef
userdb=$tmp/users.txt
static-auth-secret=north
static-auth-secret=south
allowed-peer-ip=10.0.0.0/8
denied-peer-ip=203.0.113.1-203.0.113.9
no-multicast-peers
stale-nonce
max-allocate-lifetime=1800
user-quota=10
max-bps=1250000
EOF

printf '# name:password\ncarol:pw\ndave:0x%s\n' 0123456789abcdef0123456789ABCDEF >users.txt
printf 'SQLite format 3\000\020\000' >turndb

cat >no-auth.conf <<'EOF'
realm=example.org
no-auth
EOF

cat >bad-key.conf <<'EOF'
realm=example.org
user=bob:0x0123456789abcdef
EOF

cat >sqlite.conf <<EOF
userdb=$tmp/turndb
EOF

cat >bad-option.conf <<'EOF'
listening-port=3478
# the next line has a typo
listening-prot=3479
EOF

cat >bad-value.conf <<'EOF'
realm=example.org
listening-port=99999
EOF

cat >missing-cert.conf <<EOF
listening-port=3478
pkey=$tmp/key.pem

cert=/nonexistent/tern-cert.pem
EOF

cat >many.conf <<'EOF'
bogus-option=1
min-port=60000
max-port=50000
no-udp=perhaps
EOF

echo "1..21"

run --check -c good.conf
ok "$rc" "--check accepts a good file (exit 0)"
! has err "good.conf:"
ok $? "--check reports no problem in a good file"

run --check -c coturn.conf
ok "$rc" "--check accepts a coturn file with options ternd lacks (exit 0)"
has err "coturn.conf:2: warning: coturn option 'fingerprint' is not supported by ternd yet, ignored" &&
	! has err "lt-cred-mech"
ok $? "an unsupported coturn option warns with file:line"

run --check -c turn.conf
[ "$rc" -eq 0 ] && ! has err "turn.conf:"
ok $? "--check accepts users, a userdb, secrets and peer ranges"

run --check -c no-auth.conf
[ "$rc" -eq 2 ] && has err "no-auth.conf:2: no-auth: tern never relays without authentication"
ok $? "no-auth exits 2 with file:line"

run --check -c bad-key.conf
[ "$rc" -eq 2 ] && has err "bad-key.conf:2: user: 'bob': a 0x key must be 32 hex digits" &&
	! has err "0123456789abcdef"
ok $? "a user with a bad hex key exits 2 with file:line, without the key"

run -c sqlite.conf
[ "$rc" -eq 2 ] && has err "sqlite.conf:1: userdb: '$tmp/turndb' is not a text file of user lines"
ok $? "coturn's SQLite userdb exits 2 naming the userdb line"

run --check -c bad-option.conf
[ "$rc" -eq 2 ]
ok $? "an unknown option exits 2"
has err "bad-option.conf:3: unknown option 'listening-prot'"
ok $? "an unknown option is reported as file:line"

run --check -c bad-value.conf
[ "$rc" -eq 2 ]
ok $? "a bad value exits 2"
has err "bad-value.conf:2: listening-port: '99999' is not a port (1-65535)"
ok $? "a bad value is reported as file:line with the range"

run --check -c missing-cert.conf
[ "$rc" -eq 2 ]
ok $? "a missing certificate exits 2"
has err "missing-cert.conf:4: cert: cannot read '/nonexistent/tern-cert.pem'"
ok $? "a missing certificate names the cert line"

run --check -c many.conf
[ "$rc" -eq 2 ] && has err "many.conf:1:" && has err "many.conf:2: min-port 60000" &&
	has err "many.conf:4: no-udp:"
ok $? "--check prints every problem, not just the first"

run -c bad-value.conf
[ "$rc" -eq 2 ] && has err "bad-value.conf:2: listening-port:"
ok $? "without --check a bad file still exits 2 with file:line"

run --check -c "$tmp/absent.conf"
[ "$rc" -eq 2 ] && has err "absent.conf"
ok $? "a missing config file exits 2 and is named"

run -n --listening-port=0 --check
[ "$rc" -eq 2 ] && has err "command line: listening-port:"
ok $? "a bad command-line value exits 2"

run --no-such-option
[ "$rc" -eq 2 ] && has err "unknown option '--no-such-option'"
ok $? "an unknown command-line option exits 2"

version=
if [ -n "${TOP_SRCDIR:-}" ] && [ -f "$TOP_SRCDIR/configure.ac" ]; then
	version=$(sed -n 's/^AC_INIT(\[[^]]*\], *\[\([^]]*\)\].*/\1/p' "$TOP_SRCDIR/configure.ac")
fi
run --version
if [ -n "$version" ]; then
	[ "$rc" -eq 0 ] && [ "$(cat out)" = "ternd $version" ]
else
	[ "$rc" -eq 0 ] && grep -q '^ternd [0-9]' out
fi
ok $? "--version prints 'ternd ${version:-<version>}'"

run --help
[ "$rc" -eq 0 ] && has out "listening-port"
ok $? "--help exits 0 and mentions listening-port"

exit "$failed"
