#!/bin/bash
# No password, key or secret in a log line (issue 13, item 8). ternd runs
# with --verbose and every kind of secret it takes: user passwords (on the
# command line and added with ternctl into a password-protected Redis), a
# TURN REST secret, the nonce secret, the stats-token and the Redis
# password. Clients then do what makes ternd log: good and bad
# credentials (coturn's turnutils_uclient and REST-style users), a wrong
# and a right stats-token, SIGHUP. None of the secrets, nor a user's key
# (MD5 of name:realm:password, in hex), nor a REST password, appears in
# ternd's log or in ternctl's output.
. "$(dirname "$0")/lib.sh"
need python3 redis-server redis-cli turnutils_uclient turnutils_peer openssl

plan 8

PW1=alice-pw-$RANDOM$RANDOM PW2=carol-pw-$RANDOM$RANDOM REST=rest-secret-$RANDOM$RANDOM
TOKEN=stats-token-$RANDOM$RANDOM-x NONCE=$(openssl rand -hex 32)
REDIS_PW=redis-pw-$RANDOM$RANDOM
redis_pick
check "redis-server starts with a password" redis_start --requirepass "$REDIS_PW" || exit 0
P=$(port_pick 1) || bail "no free ports"
PP=$(port_pick 2) || bail "no free ports"
check "turnutils_peer echoes" peer_start "$PP" 127.0.0.1 || exit 0
URL=redis://:$REDIS_PW@127.0.0.1:$RP/3
check "ternd starts with --verbose and every kind of secret" \
	tern_start --verbose --listening-ip=127.0.0.1 --listening-port="$P" --realm=tern.test \
	--user=alice:"$PW1" --static-auth-secret="$REST" --nonce-secret="$NONCE" \
	--stats-token="$TOKEN" --redis-url="$URL" --allow-loopback-peers || exit 0
"$TERNCTL" --redis-url="$URL" --realm=tern.test user add carol "$PW2" >"$T/ternctl.out" 2>&1
sleep 1
# good and bad credentials, a REST user, the stats endpoint, SIGHUP
uclient "$T/uc1" -u alice -w "$PW1" -p "$P" -r "$PP" -n 5 -l 100 -m 1 -e 127.0.0.1 127.0.0.1
uclient "$T/uc2" -u alice -w "wrong-$PW1" -p "$P" -r "$PP" -n 5 -l 100 -m 1 -e 127.0.0.1 127.0.0.1
uclient "$T/uc3" -u carol -w "$PW2" -p "$P" -r "$PP" -n 5 -l 100 -m 1 -e 127.0.0.1 127.0.0.1
rest_user=$(($(date +%s) + 600)):dave
rest_pw=$(printf '%s' "$rest_user" | openssl dgst -sha1 -hmac "$REST" -binary | base64)
uclient "$T/uc4" -u "$rest_user" -w "$rest_pw" -p "$P" -r "$PP" -n 5 -l 100 -m 1 -e 127.0.0.1 127.0.0.1
"$TERNCTL" --stats-url="http://$STATS" --stats-token="wrong-$TOKEN" allocations >>"$T/ternctl.out" 2>&1
"$TERNCTL" --stats-url="http://$STATS" --stats-token="$TOKEN" allocations >>"$T/ternctl.out" 2>&1
kill -HUP "$TERN_PID"
sleep 0.5
is "alice, carol (from Redis) and a REST user relayed: their credentials were right" \
	"$(for f in uc1 uc3 uc4; do uclient_totals "$T/$f" | cut -d' ' -f1-2; done | tr '\n' ' ')" \
	"10 10 10 10 10 10 "
is "and a wrong password relayed nothing" "$(uclient_totals "$T/uc2" || echo none)" "none"
like "ternd logged the users it read and the reload meanwhile" \
	"$(grep -c 'credentials\|SIGHUP\|users' "$TERN_LOG")" "^[2-9]"
key1=$(printf 'alice:tern.test:%s' "$PW1" | openssl dgst -md5 -r | cut -d' ' -f1)
key2=$(printf 'carol:tern.test:%s' "$PW2" | openssl dgst -md5 -r | cut -d' ' -f1)
found=""
for s in "$PW1" "$PW2" "$REST" "$TOKEN" "$NONCE" "$REDIS_PW" "$key1" "$key2" "$rest_pw"; do
	grep -qiF -- "$s" "$TERN_LOG" && found+=" ${s:0:12}..."
done
is "no secret, user key or REST password in ternd's log" "${found:-none}" none
found=""
for s in "$PW2" "$TOKEN" "$REDIS_PW" "$key2"; do
	grep -qiF -- "$s" "$T/ternctl.out" && found+=" ${s:0:12}..."
done
is "nor in ternctl's output" "${found:-none}" none
