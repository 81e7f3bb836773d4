#!/bin/bash
# The Debian package (issue 13, item 6). A copy of the source tree (the
# files git knows, as they are now; build directories left out) is built
# with `dpkg-buildpackage -us -uc -b`, without warnings; the .deb has the
# binaries, every man page in man/, the unit, the logrotate snippet and
# ternd.conf as a conffile, a postinst that makes the user tern, and
# lintian finds no error in it (its warnings are listed). Then, as root,
# deb_install.sh installs it in a private mount namespace over a throwaway
# overlay, so this machine is left as it was: the user, ternd.conf
# readable by tern alone, the unit not enabled, the installed ternd run as
# tern, reloaded and drained with ternctl, an upgrade that keeps an edited
# ternd.conf, and a purge.
. "$(dirname "$0")/lib.sh"
need dpkg-buildpackage dpkg-deb dh lintian tar

SRC=${TOP_SRCDIR:-$INTEROP_DIR/../..}
[ -f "$SRC/debian/control" ] || skip_all "no debian/ in $SRC"

plan 19

# ---- the build ----------------------------------------------------------------

# copy_tree: the source as git has it, uncommitted changes included, or
# (a tree without git, from a tarball) everything but the build directories
copy_tree() {
	mkdir -p "$T/src" || return 1
	if git -C "$SRC" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
		(cd "$SRC" && git ls-files -z -c -o --exclude-standard |
			tar --null -T - --ignore-failed-read -cf - 2>/dev/null) | tar -xf - -C "$T/src"
	else
		tar -C "$SRC" --exclude=./build --exclude='./build-*' --exclude=./_build -cf - . |
			tar -xf - -C "$T/src"
	fi
	chmod -R u+w "$T/src"
}

V=$(sed -n 's/^AC_INIT(\[tern\], \[\([^]]*\)\].*/\1/p' "$SRC/configure.ac")
is "debian/changelog's version is configure.ac's" \
	"$(dpkg-parsechangelog -l "$SRC/debian/changelog" -S Version)" "$V"
ARCH=$(dpkg --print-architecture)
DEB=$T/ternd_${V}_$ARCH.deb
# niced: other tests run beside this one and some of them time things
build() {
	copy_tree && cd "$T/src" &&
		DEB_BUILD_OPTIONS="nocheck parallel=$(nproc)" nice -n 10 dpkg-buildpackage -us -uc -b \
			>"$T/build.log" 2>&1
	local rc=$?
	cd - >/dev/null || return 1
	[ "$rc" -eq 0 ] && [ -f "$DEB" ] && return 0
	echo "dpkg-buildpackage: status $rc; the end of its log:"
	tail -n 30 "$T/build.log"
	return 1
}
check "dpkg-buildpackage -us -uc -b builds ternd_${V}_$ARCH.deb" build || exit 0
is "no compiler, linker or debhelper warning in the build" \
	"$(grep -E '^[^ ]+:[0-9]+:([0-9]+:)? warning:|ld: warning:|^(dh_[a-z_]+|dpkg-[a-z]+): warning:' \
		"$T/build.log" | head -n 20)" ""

# the files, the doc directory aside: man pages are named after man/
want="/etc/logrotate.d/ternd /etc/tern/ternd.conf /etc/tern/ternd.conf.sample \
/lib/systemd/system/ternd.service /usr/bin/tern-wsproxy /usr/bin/ternctl /usr/sbin/ternd"
for m in "$SRC"/man/*.[1-8]; do
	m=${m##*/}
	want="$want /usr/share/man/man${m##*.}/$m.gz"
done
is "the package: binaries, every man page in man/, the unit, logrotate, ternd.conf and its sample" \
	"$(dpkg-deb --fsys-tarfile "$DEB" | tar -t | grep -v '/$' | sed 's|^\.||' |
		grep -v '^/usr/share/doc/' | sort | paste -sd ' ')" \
	"$(printf '%s\n' $want | sort | paste -sd ' ')"
dpkg-deb -e "$DEB" "$T/control"
is "conffiles: logrotate, ternd.conf and its sample" "$(sort "$T/control/conffiles" | paste -sd ' ')" \
	"/etc/logrotate.d/ternd /etc/tern/ternd.conf /etc/tern/ternd.conf.sample"
like "Depends: adduser and the libraries ternd links" \
	"$(dpkg-deb -f "$DEB" Depends)" \
	"^adduser .*libevent-2.1.*libhiredis.*libsodium.*libssl3.*libsystemd0.*libwslay"
# the postinst's lines joined where they end in a backslash
postinst=$(sed -e ':a' -e '/\\$/{N;s/\\\n//;ba' -e '}' "$T/control/postinst")
is "postinst: adduser --system tern, then ternd.conf root:tern 0640" \
	"$(grep -Ec '^\s*adduser --system .*--home /nonexistent .* tern$' <<<"$postinst") \
$(grep -c 'chown root:tern "$conf"' <<<"$postinst") $(grep -c 'chmod 0640 "$conf"' <<<"$postinst")" \
	"1 1 1"
like "the unit: Type=notify, ExecStart=/usr/sbin/ternd -c /etc/tern/ternd.conf, User=tern" \
	"$(dpkg-deb --fsys-tarfile "$DEB" | tar -xO ./lib/systemd/system/ternd.service |
		grep -E '^(Type|ExecStart|User)=' | tr '\n' ' ')" \
	"^Type=notify ExecStart=/usr/sbin/ternd -c /etc/tern/ternd.conf User=tern $"

# lintian on the .changes (the .deb and its -dbgsym): status 2 is an
# error tag, 1 lintian's own failure; as root it says so on stderr
lintian --pedantic --display-info --fail-on error "$T/tern_${V}_$ARCH.changes" \
	>"$T/lintian.out" 2>"$T/lintian.err"
lrc=$?
is "lintian: no error ($(grep -c '^[WIP]: ' "$T/lintian.out") warnings and notes, listed below)" \
	"$(grep '^E: ' "$T/lintian.out" | head -n 20
	[ "$lrc" -eq 1 ] && echo "lintian failed:" && tail -n 5 "$T/lintian.err")" ""
grep '^[WIP]: ' "$T/lintian.out" | diag

# ---- installed, in a throwaway root -------------------------------------------

NS_TESTS=10
ns_skip() {
	local i
	for ((i = 0; i < NS_TESTS; i++)); do skip "installed: not run" "$1"; done
	exit 0
}
[ "$(id -u)" -eq 0 ] || ns_skip "needs root for a mount namespace"
have unshare setpriv python3 || ns_skip "unshare, setpriv or python3 missing"
P=$(port_pick 1) || bail "no free ports"
S=$(port_pick 1) || bail "no free ports"
mkdir -p "$T/in"
unshare --mount --propagation private bash "$INTEROP_DIR/deb_install.sh" "$DEB" "$T/in" "$P" "$S" \
	>"$T/in.log" 2>&1
# f NAME: a fact deb_install.sh left, its lines joined by spaces
f() { tr '\n' ' ' <"$T/in/$1" 2>/dev/null | sed 's/ $//'; }
[ "$(f layer)" = ok ] || ns_skip "no overlay in a mount namespace here: $(head -n 1 "$T/in/layer")"
[ "$(f fresh)" = ok ] || ns_skip "could not remove this machine's ternd or user tern: $(tail -n 1 "$T/in/fresh")"

is "dpkg -i, in a private mount namespace over an overlay" "$(f install)" 0
[ "$(f install)" = 0 ] || {
	diag <"$T/in/install.log"
	_tap_not_run="dpkg -i failed"
	exit 0
}
is "the user tern: a system user, home /nonexistent, no shell; group tern" "$(f user); $(f group)" \
	"tern system /nonexistent /usr/sbin/nologin; tern"
is "/etc/tern/ternd.conf: root:tern 0640 (it holds secrets)" "$(f conf_mode)" "root:tern 640"
is "the unit is in /lib/systemd/system and not enabled" "$(f unit) $(f enabled)" "present 0"
is "ternd --check as user tern accepts ternd.conf" "$(f check)" "/etc/tern/ternd.conf: ok rc=0"
is "the installed ternd runs as tern: ready, answers STUN, ternctl stats" \
	"$(f ready) $(f binding) $(f stats)" "yes ok rc=0"
[ "$(f ready)" = yes ] || diag <"$T/in/ternd.log"
is "ternctl reload: SIGHUP" "$(f reload)" "reloading rc=0 reloaded"
is "ternctl drain: ternd stops by itself, status 0" "$(f drain); $(f stopped)" "draining rc=0; rc=0 1"
is "dpkg -i again keeps the edited ternd.conf, root:tern 0640" "$(f upgrade) $(f kept)" \
	"0 1 root:tern 640"
is "dpkg --purge: nothing left but the user tern" "$(f purge) [$(f left)] $(f user_after)" "0 [] tern"
