#!/bin/bash
# ternd under a service manager (issue 13, item 5), without one: a socket
# stands in for systemd's $NOTIFY_SOCKET and records what ternd says
# (READY=1 once it serves, STATUS with its counts, RELOADING=1 and READY=1
# around SIGHUP, STOPPING=1 at SIGTERM). Then `make install DESTDIR=...`:
# the binaries, every man page, the unit (which `systemd-analyze verify`
# accepts), the logrotate snippet, and a sample ternd.conf that `ternd
# --check` accepts and that becomes ternd.conf where there is none.
. "$(dirname "$0")/lib.sh"
need python3 make

BUILD=$(cd "$(dirname "$TERND")" && pwd)
grep -q '^#define HAVE_SYSTEMD 1' "$BUILD/autoconf.h" 2>/dev/null ||
	skip_all "ternd built without libsystemd (install libsystemd-dev)"

plan 12

"$PYTHON" - "$T/notify.sock" "$T/notify.log" <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "a") as f:
    while True:
        f.write(s.recv(4096).decode().replace("\n", "|") + "\n")
        f.flush()
PY
_bg_pids+=($!)
for _ in $(seq 50); do [ -S "$T/notify.sock" ] && break; sleep 0.1; done
P=$(port_pick 1) || bail "no free ports"
export NOTIFY_SOCKET=$T/notify.sock
check "ternd starts with NOTIFY_SOCKET set" tern_start --listening-ip=127.0.0.1 \
	--listening-port="$P" --user=alice:secret --realm=tern.test || exit 0
unset NOTIFY_SOCKET
said() { grep -c "$1" "$T/notify.log"; }
is "READY=1 once it serves" "$(wait_for 3 1 said '^READY=1$')" 1
like "and a STATUS with its counts" "$(grep '^STATUS=' "$T/notify.log" | head -n 1)" \
	"^STATUS=serving: 0 allocations, 0 WireGuard peers, 0 sessions, store memory$"
kill -HUP "$TERN_PID"
like "SIGHUP: RELOADING=1, then READY=1 again" \
	"$(wait_for 3 2 said '^READY=1$') $(grep -c '^RELOADING=1|MONOTONIC_USEC=[0-9]*$' "$T/notify.log")" "^2 1$"
check "SIGTERM: ternd stops cleanly" tern_stop
is "after STOPPING=1" "$(grep -c '^STOPPING=1|STATUS=stopping: SIGTERM$' "$T/notify.log")" 1

# make install
make -s -C "$BUILD" install DESTDIR="$T/root" prefix=/usr sysconfdir=/etc \
	systemdsystemunitdir=/lib/systemd/system >"$T/install.log" 2>&1
is "make install DESTDIR=...: done" "$?" 0
want="/etc/logrotate.d/ternd /etc/tern/ternd.conf /etc/tern/ternd.conf.sample \
/lib/systemd/system/ternd.service /usr/bin/tern-wsproxy /usr/bin/ternctl /usr/sbin/ternd \
/usr/share/man/man1/tern-wsproxy.1 /usr/share/man/man1/ternctl.1 \
/usr/share/man/man5/ternd.conf.5 /usr/share/man/man8/ternd.8"
is "the binaries, every man page, the unit, logrotate, the sample and ternd.conf" \
	"$(cd "$T/root" && find . -type f | sed 's/^\.//' | sort | tr '\n' ' ' | sed 's/ $//')" \
	"$(echo $want)"
like "the unit: Type=notify, ternd -c /etc/tern/ternd.conf, as user tern" \
	"$(grep -E '^(Type|ExecStart|User)=' "$T/root/lib/systemd/system/ternd.service" | tr '\n' ' ')" \
	"^Type=notify ExecStart=/usr/sbin/ternd -c /etc/tern/ternd.conf User=tern $"
is "ternd --check accepts the installed ternd.conf" \
	"$("$TERND" --check -c "$T/root/etc/tern/ternd.conf" 2>&1 | sed "s|$T/root||")" \
	"/etc/tern/ternd.conf: ok"
if command -v systemd-analyze >/dev/null; then
	sed "s|^ExecStart=/usr/sbin/ternd|ExecStart=$T/root/usr/sbin/ternd|" \
		"$T/root/lib/systemd/system/ternd.service" >"$T/ternd.service"
	is "systemd-analyze verify accepts the unit" \
		"$(systemd-analyze verify --man=no "$T/ternd.service" 2>&1; echo "rc=$?")" "rc=0"
else
	skip "systemd-analyze verify accepts the unit" "no systemd-analyze"
fi
echo "# an existing ternd.conf is kept" >"$T/root/etc/tern/ternd.conf"
make -s -C "$BUILD" install-data-local DESTDIR="$T/root" prefix=/usr sysconfdir=/etc >/dev/null 2>&1
is "make install again keeps an operator's ternd.conf" "$(cat "$T/root/etc/tern/ternd.conf")" \
	"# an existing ternd.conf is kept"
