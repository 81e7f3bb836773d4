#!/usr/bin/env python3
"""Create many idle TURN allocations over UDP and hold them (bench/relay/run.sh).

Each allocation has its own client socket, bound to --client-ip (a loopback
address other than the servers', so the client ports do not compete with the
relay ports) or, with --spread N, to one of the N addresses that follow it.
Each is made the usual way: an Allocate without credentials, the
401 with REALM and NONCE, then an Allocate with TURN REST API credentials
(user name "<expiry>:<user>", password base64(HMAC-SHA1(secret, user name)))
and MESSAGE-INTEGRITY. Up to --window allocations are in flight at once, and
a request is sent again after 1 s, three times at most.

    allocs.py --server 127.0.0.1:3478 --secret secret -n 10000 [--hold 120]

When all are done it prints one line, "allocated=N failed=N seconds=S
errors=... retransmits=N" (requests sent again for want of an answer), and
then holds the sockets (and so the allocations, which live
600 s) until SIGTERM or until --hold seconds pass. With --probe it
makes one allocation and prints "probe=ok", "probe=error:CODE" or
"probe=no-answer", then exits. With --peer IP:PORT (bench/store), each
allocation then also gets a CreatePermission and a ChannelBind (channel
0x4000) for that peer, signed with the same credentials, and counts as
done when the ChannelBind succeeds. With --bare it plays a stranger: each
socket sends one Allocate without credentials, never again, and the line
is "answered=N unanswered=N seconds=S" after a second of silence.
"""
import argparse
import base64
import hashlib
import hmac
import os
import selectors
import signal
import socket
import struct
import sys
import time

MAGIC = 0x2112A442
ALLOCATE, ALLOCATE_OK, ALLOCATE_ERR = 0x0003, 0x0103, 0x0113
CREATE_PERMISSION, CHANNEL_BIND = 0x0008, 0x0009
SUCCESS, ERROR = 0x0100, 0x0110  # class bits added to a request's type
USERNAME, MESSAGE_INTEGRITY, ERROR_CODE = 0x0006, 0x0008, 0x0009
CHANNEL_NUMBER, XOR_PEER_ADDRESS = 0x000C, 0x0012
REALM, NONCE, REQUESTED_TRANSPORT = 0x0014, 0x0015, 0x0019
UDP = 17


def attr(kind, value):
    pad = (4 - len(value) % 4) % 4
    return struct.pack("!HH", kind, len(value)) + value + b"\0" * pad


def message(kind, tid, attrs, key=None):
    body = b"".join(attrs)
    if key is None:
        return struct.pack("!HHI", kind, len(body), MAGIC) + tid + body
    # RFC 5389 s15.4: the length covers MESSAGE-INTEGRITY when it is computed.
    head = struct.pack("!HHI", kind, len(body) + 24, MAGIC) + tid
    mac = hmac.new(key, head + body, hashlib.sha1).digest()
    return head + body + attr(MESSAGE_INTEGRITY, mac)


def parse(data):
    """(type, tid, {attr: value}) of a STUN message, or None."""
    if len(data) < 20:
        return None
    kind, length, magic = struct.unpack("!HHI", data[:8])
    if magic != MAGIC or 20 + length > len(data):
        return None
    attrs, pos = {}, 20
    while pos + 4 <= 20 + length:
        t, n = struct.unpack("!HH", data[pos:pos + 4])
        attrs.setdefault(t, data[pos + 4:pos + 4 + n])
        pos += 4 + n + (4 - n % 4) % 4
    return kind, data[8:20], attrs


class Alloc:
    """One allocation in the making: state "bare", then "auth", then "done"/"failed"."""

    def __init__(self, sock):
        self.sock, self.state, self.tries, self.sent_at = sock, "bare", 0, 0.0
        self.tid, self.request, self.error, self.stale = b"", b"", "", 0
        self.kind, self.signed = ALLOCATE, []  # the request out, its credentials


def credentials(secret, user):
    name = "%d:%s" % (int(time.time()) + 86400, user)
    password = base64.b64encode(hmac.new(secret.encode(), name.encode(), hashlib.sha1).digest())
    return name, password.decode()


def send(a, request_attrs, key=None, kind=ALLOCATE):
    a.tid = os.urandom(12)
    a.kind = kind
    a.request = message(kind, a.tid, request_attrs, key)
    a.sock.send(a.request)
    a.sent_at, a.tries = time.monotonic(), 1


def xor_peer(peer, tid):
    ip, port = peer
    x = struct.unpack("!I", socket.inet_aton(ip))[0] ^ MAGIC
    return attr(XOR_PEER_ADDRESS, struct.pack("!BBHI", 0, 1, port ^ (MAGIC >> 16), x))


def next_step(a, peer):
    """After a success: the permission, then the channel, then done."""
    if peer is None or a.kind == CHANNEL_BIND:
        a.state = "done"
        return
    attrs, key = a.signed
    kind = CREATE_PERMISSION if a.kind == ALLOCATE else CHANNEL_BIND
    tid = os.urandom(12)
    extra = [xor_peer(peer, tid)]
    if kind == CHANNEL_BIND:
        extra.insert(0, attr(CHANNEL_NUMBER, struct.pack("!HH", 0x4000, 0)))
    a.tid, a.kind = tid, kind
    a.request = message(kind, tid, extra + attrs, key)
    a.sock.send(a.request)
    a.sent_at, a.tries = time.monotonic(), 1


def on_answer(a, data, name, password, peer=None):
    m = parse(data)
    if not m or m[1] != a.tid:
        return
    kind, _, attrs = m
    if kind == a.kind | SUCCESS:
        next_step(a, peer)
        return
    code = 0
    if kind == a.kind | ERROR and ERROR_CODE in attrs and len(attrs[ERROR_CODE]) >= 4:
        code = attrs[ERROR_CODE][2] * 100 + attrs[ERROR_CODE][3]
    retry = a.kind == ALLOCATE and ((code == 401 and a.state == "bare") or
                                    (code == 438 and a.stale < 3))
    if retry and REALM in attrs and NONCE in attrs:
        a.stale += code == 438
        realm, nonce = attrs[REALM], attrs[NONCE]
        key = hashlib.md5(b"%s:%s:%s" % (name.encode(), realm, password.encode())).digest()
        a.state = "auth"
        a.signed = ([attr(USERNAME, name.encode()), attr(REALM, realm), attr(NONCE, nonce)], key)
        send(a, a.signed[0] + [attr(REQUESTED_TRANSPORT, bytes([UDP, 0, 0, 0]))], key)
        return
    a.state, a.error = "failed", "error:%d" % code if code else "bad-answer"


def run(args):
    host, port = args.server.rsplit(":", 1)
    server = (host.strip("[]"), int(port))
    name, password = credentials(args.secret, args.user)
    base = struct.unpack("!I", socket.inet_aton(args.client_ip))[0]
    peer = None
    if args.peer:
        pip, pport = args.peer.rsplit(":", 1)
        peer = (pip, int(pport))
    sel = selectors.DefaultSelector()
    todo, live, done = args.n, [], []
    start = time.monotonic()
    while todo or live:
        while todo and len(live) < args.window:
            s = socket.socket(socket.AF_INET6 if ":" in server[0] else socket.AF_INET, socket.SOCK_DGRAM)
            ip = socket.inet_ntoa(struct.pack("!I", base + (args.n - todo) % args.spread))
            s.bind((ip, 0))
            s.connect(server)
            s.setblocking(False)
            a = Alloc(s)
            sel.register(s, selectors.EVENT_READ, a)
            send(a, [attr(REQUESTED_TRANSPORT, bytes([UDP, 0, 0, 0]))])
            live.append(a)
            todo -= 1
        for key, _ in sel.select(0.05):
            a = key.data
            try:
                data = a.sock.recv(2048)
            except OSError:
                continue
            if args.bare:
                a.state = "done" if data else a.state
            else:
                on_answer(a, data, name, password, peer)
        now = time.monotonic()
        for a in live:
            if a.state in ("bare", "auth") and now - a.sent_at > 1.0:
                if a.tries >= 3 or args.bare:
                    a.state, a.error = "failed", "no-answer"
                else:
                    a.sock.send(a.request)
                    a.sent_at, a.tries = now, a.tries + 1
                    run.retransmits += 1
        for a in [a for a in live if a.state in ("done", "failed")]:
            live.remove(a)
            sel.unregister(a.sock)
            done.append(a)
    return done, time.monotonic() - start


run.retransmits = 0


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--server", required=True)
    p.add_argument("--secret", default="secret")
    p.add_argument("--user", default="bench")
    p.add_argument("--client-ip", default="127.0.0.2")
    p.add_argument("--spread", type=int, default=1)
    p.add_argument("-n", type=int, default=10000)
    p.add_argument("--window", type=int, default=64)
    p.add_argument("--hold", type=float, default=300)
    p.add_argument("--probe", action="store_true")
    p.add_argument("--peer", help="IP:PORT: also CreatePermission and ChannelBind to it")
    p.add_argument("--bare", action="store_true", help="one Allocate without credentials each")
    args = p.parse_args()
    if args.probe:
        args.n, args.window = 1, 1
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))

    done, seconds = run(args)
    ok = [a for a in done if a.state == "done"]
    if args.probe:
        print("probe=%s" % ("ok" if ok else done[0].error), flush=True)
        return
    if args.bare:
        print("answered=%d unanswered=%d seconds=%.3f" % (
            len(ok), len(done) - len(ok), seconds), flush=True)
        return
    errors = {}
    for a in done:
        if a.state == "failed":
            errors[a.error] = errors.get(a.error, 0) + 1
    print("allocated=%d failed=%d seconds=%.3f errors=%s retransmits=%d" % (
        len(ok), len(done) - len(ok), seconds,
        ",".join("%s:%d" % kv for kv in sorted(errors.items())) or "none",
        run.retransmits), flush=True)
    # Hold the sockets, and with them the 5-tuples, until SIGTERM or --hold.
    time.sleep(args.hold)


if __name__ == "__main__":
    main()
