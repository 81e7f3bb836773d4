#!/bin/bash
# with_xdp.sh SUITE: the interop suite tests/interop/SUITE run with ternd's
# XDP program attached ("the same interop suites pass with XDP attached",
# issue 14). The suites talk over loopback, so the program goes on lo, in
# generic mode; one program per interface, so each run has a network
# namespace of its own, with its own lo, and wrapped suites still run side
# by side. Everything of the suite runs inside it, servers and clients.
# TERN_XDP=lo makes lib.sh's tern_start attach the program and insist it
# did, relay_check count what XDP relayed with what userspace did, and one
# test more at the end demand that the program saw the suite's ChannelData:
# a run in which it saw nothing would prove nothing.
#
# What lo cannot show: every UDP datagram a local socket sends over it
# carries a partial checksum (lo's tx checksum offload is fixed on), which
# the program hands up (tern_xdp_passed_total{reason="checksum"}): moving
# the headers would leave the stack finishing the checksum in the wrong
# place. So over lo the suites run with the program attached and seeing
# every datagram, and userspace relays them; the program's relaying is
# tested on veths with whole checksums, in xdp.sh, xdp_paths.sh and
# xdp_lapse.sh.
set -u
suite=${1:?usage: with_xdp.sh SUITE}
dir=$(cd "$(dirname "$0")" && pwd)
TERND=${TERND:-$PWD/ternd}

[ "$(id -u)" -eq 0 ] || { echo "1..0 # SKIP needs root for a network namespace"; exit 0; }
command -v ip >/dev/null || { echo "1..0 # SKIP ip not installed"; exit 0; }
grep -q 'define HAVE_XDP 1' "$(dirname "$TERND")/autoconf.h" 2>/dev/null ||
	{ echo "1..0 # SKIP ternd was built without XDP"; exit 0; }

ns=tern-xdp-$$
trap 'ip netns del "$ns" 2>/dev/null' EXIT
trap 'exit 1' INT TERM HUP
ip netns add "$ns" && ip -n "$ns" link set lo up ||
	{ echo "Bail out! cannot make network namespace $ns with lo up"; exit 1; }
TERND=$TERND TERN_XDP=lo ip netns exec "$ns" bash "$dir/$suite"
