#!/usr/bin/env python3
"""Write N synthetic allocation records for one node into Redis (bench/store).

    records.py --node big -n 100000 --listener 127.0.0.1:PORT | redis-cli -p P -n DB --pipe

Prints the Redis protocol (RESP) for SET ... PX, one per record, in the
format of relay/record.h: half with an IPv4 relayed address (127.0.0.1), half
with an IPv6 one (::1), ports from --min-port on, one client each (127.2.x.y),
user "bench", one permission and one channel, an hour to live.
"""
import argparse
import sys
import time


def resp(*args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        a = a.encode() if isinstance(a, str) else a
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--node", required=True)
    p.add_argument("-n", type=int, default=100000)
    p.add_argument("--listener", required=True, help="the node's UDP listener, IPv4:PORT")
    p.add_argument("--min-port", type=int, default=10000)
    a = p.parse_args()
    now = int(time.time() * 1000)
    expires = now + 3600 * 1000
    user = b"bench".hex()
    w = sys.stdout.buffer
    half = (a.n + 1) // 2
    for i in range(a.n):
        port = a.min_port + (i if i < half else i - half)
        relayed = "127.0.0.1:%d" % port if i < half else "[::1]:%d" % port
        peer_ip = "127.0.0.1" if i < half else "[::1]"
        client = "127.2.%d.%d:%d" % ((i >> 8) & 255, i & 255, 20000 + (i >> 16))
        line = ("tern1 n=%016x l=0 a=%s c=%s e=%d g=3600 df=0 r=%s u=%s p=%s@%d "
                "ch=16384,%s:9@%d" % (i + 1, a.listener, client, expires, relayed, user,
                                      peer_ip, expires, peer_ip, expires))
        w.write(resp("SET", "tern:alloc:{%s}:%s" % (a.node, relayed), line, "PX", "3600000"))


if __name__ == "__main__":
    main()
