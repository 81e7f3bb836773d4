#!/bin/bash
# WireGuard peers in Redis managed with ternctl peer (issue 11), against a
# real redis-server: add (wg set's words), show and list in tables and JSON,
# change one field and keep the rest, del; the responder named by
# --wg-public-key or found from -c ternd.conf's wg-config; the records in
# the documented schema (redis-cli reads them); every change announced on
# tern:wg; clear refusals for bad input and for a Redis that is not there.
. "$(dirname "$0")/lib.sh"
need python3 redis-server redis-cli wg

plan 19

redis_pick
check "redis-server starts on 127.0.0.1:$RP" redis_start || exit 0
U=--redis-url=redis://127.0.0.1:$RP/2
(umask 077; wg genkey >"$T/resp.key"; wg genpsk >"$T/psk")
R=$(wg pubkey <"$T/resp.key")
K1=$(wg genkey | wg pubkey) K2=$(wg genkey | wg pubkey)
printf '[Interface]\nPrivateKey = %s\n' "$(cat "$T/resp.key")" >"$T/wg.conf"
printf 'wg-config=%s\nredis-url=redis://127.0.0.1:%s/2\n' "$T/wg.conf" "$RP" >"$T/ternd.conf"
tc() { "$TERNCTL" "$U" --wg-public-key="$R" "$@" 2>&1; }
rc() { "$TERNCTL" "$@" >"$T/out" 2>&1; echo "$? $(head -c 160 "$T/out" | tr '\n' ' ')"; }

redis-cli -p "$RP" -n 2 subscribe tern:wg >"$T/events" 2>&1 &
_bg_pids+=($!)
sleep 0.3
check "peer add with allowed-ips, preshared-key, persistent-keepalive" \
	tc peer add "$K1" allowed-ips "10.0.0.2/32, fd00::2" preshared-key "$T/psk" \
	persistent-keepalive 25
check "peer add with allowed-ips only" tc peer add "$K2" allowed-ips 10.0.0.3
is "the record, as redis-cli reads it" \
	"$(redis-cli -p "$RP" -n 2 hmget "tern:wg:{$R}:peer:$K1" allowed psk keepalive | tr '\n' ' ')" \
	"10.0.0.2/32,fd00::2/128 $(cat "$T/psk") 25 "
is "and the set of the responder's peers" \
	"$(redis-cli -p "$RP" -n 2 smembers "tern:wg:{$R}:peers" | sort | tr '\n' ' ')" \
	"$(printf '%s\n' "$K1" "$K2" | sort | tr '\n' ' ')"
is "peer show: the table" "$(tc peer show "$K1" | awk 'NR == 2 { print $1, $3, $4, $5, $7 }')" \
	"$K1 25 yes 0 10.0.0.2/32,fd00::2/128"
is "peer list --json: both, as JSON" \
	"$(tc peer list --json | "$PYTHON" -c 'import json,sys; print(sorted((p["public_key"], p["allowed_ips"], p["persistent_keepalive"], p["preshared_key"]) for p in json.load(sys.stdin)))')" \
	"$("$PYTHON" -c 'import sys; print(sorted([(sys.argv[1], "10.0.0.2/32,fd00::2/128", 25, True), (sys.argv[2], "10.0.0.3/32", 0, False)]))' "$K1" "$K2")"
check "peer add changes one field" tc peer add "$K1" persistent-keepalive off
is "and keeps the others" "$(tc peer show "$K1" --json | "$PYTHON" -c 'import json,sys; p=json.load(sys.stdin); print(p["persistent_keepalive"], p["allowed_ips"], p["preshared_key"])')" \
	"0 10.0.0.2/32,fd00::2/128 True"
is "-c ternd.conf: the responder from wg-config's PrivateKey" \
	"$("$TERNCTL" -c "$T/ternd.conf" peer list | awk 'NR > 1 { print $1 }' | sort | tr '\n' ' ')" \
	"$(printf '%s\n' "$K1" "$K2" | sort | tr '\n' ' ')"
check "peer del" tc peer del "$K2"
is "the record and its set entry are gone" \
	"$(redis-cli -p "$RP" -n 2 exists "tern:wg:{$R}:peer:$K2") $(redis-cli -p "$RP" -n 2 sismember "tern:wg:{$R}:peers" "$K2")" "0 0"
is "every change went out on tern:wg" \
	"$(grep -c "^set $R \|^del $R " "$T/events") $(grep -c "^del $R $K2\$" "$T/events")" "4 1"
is "peer del of a peer that is not there: exit 1, said" \
	"$(rc "$U" --wg-public-key="$R" peer del "$K2")" "1 ternctl: peer del: no peer $K2 "
is "a bad key: exit 2, said" "$(rc "$U" --wg-public-key="$R" peer show nope)" \
	"2 ternctl: peer show: 'nope' is not a WireGuard public key (44 characters of base64) "
is "a bad prefix: exit 2, said, nothing written" \
	"$(rc "$U" --wg-public-key="$R" peer add "$K2" allowed-ips 10.0.0.0/33) $(redis-cli -p "$RP" -n 2 exists "tern:wg:{$R}:peer:$K2")" \
	"2 ternctl: peer add: allowed-ips: '10.0.0.0/33' is not an address or prefix  0"
peers_resp "$R" 2500 | redis-cli -p "$RP" -n 2 --pipe >/dev/null 2>&1
is "peer list --json: 2,501 peers, each once (SSCAN in batches, HGETALLs pipelined)" \
	"$(tc peer list --json | "$PYTHON" -c 'import json,sys; l=[p["public_key"] for p in json.load(sys.stdin)]; print(len(l), len(set(l)))')" \
	"2501 2501"
is "no responder named: exit 2, said" "$(rc "$U" peer list)" \
	"2 ternctl: peer: which responder? Give -c ternd.conf (with wg-config) or --wg-public-key "
port=$(port_pick 1)
is "Redis not there: exit 3, said" \
	"$(rc --redis-url=redis://127.0.0.1:$port/0 --wg-public-key="$R" peer list)" \
	"3 ternctl: redis: Connection refused "
