#!/bin/bash
# with_xdp.sh SUITE: the interop suite tests/interop/SUITE run with ternd's
# XDP program attached ("the same interop suites pass with XDP attached",
# issue 14). The suites talk over loopback, so the program goes on lo, in
# generic mode; one program per interface, so each run has a network
# namespace of its own, with its own lo, and wrapped suites still run side
# by side. Everything of the suite runs inside it, servers and clients.
# TERN_XDP=lo makes lib.sh's tern_start attach the program and insist it
# did, relay_check count what XDP relayed with what userspace did, and one
# test more at the end demand that XDP relayed ChannelData both ways: a
# run in which it relayed nothing would prove nothing.
#
# What lo cannot show: every UDP datagram a local socket sends over it
# carries a partial checksum (lo's tx checksum offload is fixed on, and
# this kernel has no act_csum to complete it), so the checksums XDP writes
# are checked on veths with offload off, in xdp.sh, not here. The program
# takes a partial checksum for a whole one: a client's ChannelData it
# relays to a peer arrives with a wrong checksum, which the peer's kernel
# checks in datagrams of up to 76 bytes of UDP (68 of data), and drops.
# That, and what XDP relays being in no allocation's totals or tern:events
# yet, is why store_restart.sh (7-byte echoes, events with totals) fails
# this way and is not run so.
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
