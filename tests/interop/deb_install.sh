#!/bin/bash
# Run by deb.sh, as root, inside `unshare --mount`; not a test by itself.
# It lays a throwaway overlay over /etc, /usr and /var (and /lib where it
# is not a link to /usr/lib) and an empty /run, so neither dpkg nor the
# maintainer scripts change this machine or reach a running systemd, and
# nothing here outlives the namespace. There it does what an administrator
# does with the package: install it, write ternd.conf, run ternd as tern,
# reload, drain, upgrade, purge. Each step leaves its result in a file of
# OUT for deb.sh to judge.
#
# Usage: deb_install.sh DEB OUT PORT STATS_PORT
set -u
DEB=$1 OUT=$2 P=$3 S=$4
STUNTOOL=$(cd "$(dirname "$0")" && pwd)/stuntool.py
CONF=/etc/tern/ternd.conf

fact() { printf '%s\n' "$2" >"$OUT/$1"; }

layer() {
	local d dirs=(etc usr var)
	[ -L /lib ] || dirs+=(lib)
	mkdir -p "$OUT/ov" && mount -t tmpfs tern-deb "$OUT/ov" || return 1
	for d in "${dirs[@]}"; do
		mkdir -p "$OUT/ov/$d/up" "$OUT/ov/$d/work"
		mount -t overlay tern-deb -o \
			"lowerdir=/$d,upperdir=$OUT/ov/$d/up,workdir=$OUT/ov/$d/work" "/$d" || return 1
	done
	mount -t tmpfs tern-deb-run /run
}

# fresh: the machine as it is before the package was ever installed, in
# case this one has ternd or a user tern of its own (hidden by the overlay)
fresh() {
	if dpkg-query -W -f='${Status}' ternd 2>/dev/null | grep -q installed; then
		dpkg --purge ternd || return 1
	fi
	if getent passwd tern >/dev/null; then userdel tern || return 1; fi
	if getent group tern >/dev/null; then groupdel tern || return 1; fi
}

# as_tern CMD...: CMD as the service's user and group, as the unit runs it
as_tern() { setpriv --reuid=tern --regid=tern --init-groups "$@"; }

# wait_log SECONDS REGEX: until ternd's log has a line matching REGEX
wait_log() {
	local i
	for ((i = 0; i < $1 * 10; i++)); do
		grep -Eq "$2" "$OUT/ternd.log" && return 0
		sleep 0.1
	done
	return 1
}

install_facts() {
	DEBIAN_FRONTEND=noninteractive dpkg -i "$DEB" </dev/null >"$OUT/install.log" 2>&1
	fact install $?
	fact user "$(getent passwd tern | awk -F: '{ print $1, ($3 < 1000 ? "system" : "uid " $3), $6, $7 }')"
	fact group "$(id -gn tern 2>&1)"
	fact conf_mode "$(stat -c '%U:%G %a' "$CONF" 2>&1)"
	fact enabled "$(find /etc/systemd/system -name ternd.service 2>/dev/null | wc -l)"
	fact unit "$(test -f /lib/systemd/system/ternd.service && echo present)"
	# as the README has it
	fact check "$(runuser -u tern -- ternd --check -c "$CONF" 2>&1; echo "rc=$?")"
}

# run_facts: ternctl and the installed ternd, as user tern, on loopback
run_facts() {
	local pid
	printf '# deb.sh: on loopback, on ports of its own\nlistening-ip=127.0.0.1\nlistening-port=%s\nstats-listen=127.0.0.1:%s\n' \
		"$P" "$S" >>"$CONF"
	as_tern /usr/sbin/ternd -c "$CONF" >"$OUT/ternd.log" 2>&1 &
	pid=$!
	trap "kill -KILL $pid 2>/dev/null" EXIT
	wait_log 10 'ternd ready' || { fact ready "no: $(tail -n 5 "$OUT/ternd.log")"; return; }
	fact ready yes
	fact binding "$(timeout 10 python3 "$STUNTOOL" binding --server 127.0.0.1 --port "$P" |
		sed -n 's/^result=//p')"
	fact stats "$(/usr/bin/ternctl -c "$CONF" stats >/dev/null 2>&1; echo "rc=$?")"
	fact reload "$(/usr/bin/ternctl -c "$CONF" reload 2>&1; echo "rc=$?") $(wait_log 3 \
		'SIGHUP: log reopened' && echo reloaded)"
	fact drain "$(/usr/bin/ternctl -c "$CONF" drain 2>&1; echo "rc=$?")"
	wait_log 5 'ternd stopped' || kill -TERM "$pid"
	wait "$pid"
	fact stopped "rc=$? $(grep -c 'drained: 0 allocations left' "$OUT/ternd.log")"
}

upgrade_facts() {
	DEBIAN_FRONTEND=noninteractive dpkg -i "$DEB" </dev/null >"$OUT/upgrade.log" 2>&1
	fact upgrade $?
	fact kept "$(grep -c "^listening-port=$P\$" "$CONF") $(stat -c '%U:%G %a' "$CONF" 2>&1)"
}

purge_facts() {
	# what LogsDirectory=tern in the unit would have made
	mkdir -p /var/log/tern && echo log >/var/log/tern/ternd.log
	DEBIAN_FRONTEND=noninteractive dpkg --purge ternd </dev/null >"$OUT/purge.log" 2>&1
	fact purge $?
	fact left "$(ls -d /usr/sbin/ternd /usr/bin/ternctl /usr/bin/tern-wsproxy /etc/tern \
		/etc/logrotate.d/ternd /lib/systemd/system/ternd.service /var/log/tern 2>/dev/null |
		paste -sd ' ')"
	fact user_after "$(getent passwd tern | cut -d: -f1)"
}

layer 2>"$OUT/layer.log" || { fact layer "$(cat "$OUT/layer.log")"; exit 0; }
fact layer ok
fresh >"$OUT/fresh.log" 2>&1 || { fact fresh "$(cat "$OUT/fresh.log")"; exit 0; }
fact fresh ok
install_facts
[ "$(cat "$OUT/install")" = 0 ] || exit 0
run_facts
upgrade_facts
purge_facts
