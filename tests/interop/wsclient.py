#!/usr/bin/env python3
"""WebSocket clients for the interop tests (issue 12), on Debian's
python3-websockets for the well-behaved ones and raw sockets for the rest.
Each scenario prints key=value facts, one a line.

  turn URL --user U --password P      allocate, permission, channel, echo
  binding URL [--origin O] [--protocol P]
  http HOST PORT [--tls] [--head-hex H | --size N]   one raw request: status
  text URL | fragments URL | big URL --size N        how the server takes them
  noread URL --n N                    requests sent, replies never read
  silent HOST PORT --n N [--tls]      N upgrades that then say nothing
"""
import argparse
import asyncio
import base64
import os
import resource
import socket
import ssl
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from stuntool import MAGIC, build_binding, decode_addr, fmt_sockaddr, parse  # noqa: E402
from tcprelay import (ALLOCATE, CREATE_PERMISSION, XOR_RELAYED_ADDRESS, Turn,  # noqa: E402
                      mtype, peer_attr)

import websockets  # noqa: E402  (python3-websockets)

CHANNEL_BIND, SEND, DATA = 0x009, 0x006, 0x007
CHANNEL_NUMBER, DATA_ATTR, XOR_MAPPED = 0x000C, 0x0013, 0x0020
CHANNEL = 0x4000


def emit(facts):
    for k, v in facts.items():
        print("%s=%s" % (k, v))
    sys.stdout.flush()


def tls_ctx():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def connect(a, **kw):
    return websockets.connect(a.url, ssl=tls_ctx() if a.url.startswith("wss:") else None,
                              open_timeout=a.timeout, max_size=None, **kw)


class WsTurn(Turn):
    """tcprelay's TURN client, each message a binary WebSocket message."""

    class Pipe:
        def __init__(self, ws, loop):
            self.ws, self.loop = ws, loop

        def sendall(self, b):
            self.loop.run_until_complete(self.ws.send(b))

    def __init__(self, a, ws, loop):
        self.loop, self.ws = loop, ws
        super().__init__(a, sock=WsTurn.Pipe(ws, loop))

    def recv(self):
        return self.loop.run_until_complete(asyncio.wait_for(self.ws.recv(), self.a.timeout))

    def read(self):
        while True:
            raw = self.recv()
            if isinstance(raw, bytes) and len(raw) >= 20 and raw[0] < 2:
                m = parse(raw)
                if m is not None:
                    return m


def cmd_turn(a):
    facts = {}
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    peer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    peer.bind(("127.0.0.1", 0))
    peer.settimeout(a.timeout)
    pport = peer.getsockname()[1]
    async def opened():
        return await connect(a, subprotocols=["turn"])
    ws = loop.run_until_complete(opened())
    facts["subprotocol"] = ws.subprotocol
    t = WsTurn(a, ws, loop)
    cls, got, code, tid = t.request(ALLOCATE, [(0x0019, bytes([17, 0, 0, 0]))])
    facts["allocate"] = code or "ok"
    if cls != 2:
        emit(facts)
        return
    relayed = decode_addr(got[XOR_RELAYED_ADDRESS], struct.pack("!I", MAGIC) + tid)
    facts["relayed"] = fmt_sockaddr(relayed)
    _, _, code, _ = t.request(CREATE_PERMISSION, [peer_attr("127.0.0.1", pport)])
    facts["permission"] = code or "ok"
    # Send indication out, Data indication back
    msg, _ = t.build(SEND, [peer_attr("127.0.0.1", pport), (DATA_ATTR, b"by-send")], cls=1)
    t.s.sendall(msg)
    data, src = peer.recvfrom(2048)
    facts["peer_saw"] = "%s:%d" % src
    facts["peer_got"] = data.decode()
    peer.sendto(b"back-" + data, src)
    m = t.indication(DATA)
    facts["data_indication"] = dict((k, v) for k, v, _ in m["attrs"]).get(DATA_ATTR, b"").decode()
    _, _, code, _ = t.request(CHANNEL_BIND, [(CHANNEL_NUMBER, struct.pack("!HH", CHANNEL, 0)),
                                             peer_attr("127.0.0.1", pport)])
    facts["channel"] = code or "ok"
    echoed = 0
    for i in range(a.n):
        payload = os.urandom(16 + i % 1000)
        loop.run_until_complete(ws.send(struct.pack("!HH", CHANNEL, len(payload)) + payload))
        data, src = peer.recvfrom(4096)
        peer.sendto(data, src)
        while True:
            raw = t.recv()
            if raw[:2] == struct.pack("!H", CHANNEL):
                break
        n = struct.unpack("!H", raw[2:4])[0]
        echoed += raw[4:4 + n] == payload
    facts["echoed"] = "%d/%d" % (echoed, a.n)
    loop.run_until_complete(ws.close())
    emit(facts)


def cmd_binding(a):
    async def go():
        kw = {}
        if a.origin:
            kw["origin"] = a.origin
        if a.protocol:
            kw["subprotocols"] = [a.protocol]
        try:
            async with connect(a, **kw) as ws:
                req, tid = build_binding()
                await ws.send(req)
                raw = await asyncio.wait_for(ws.recv(), a.timeout)
                m = parse(raw)
                got = {t: v for t, v, _ in m["attrs"]}
                mapped = decode_addr(got[XOR_MAPPED], tid)
                local = ws.local_address
                emit({"upgrade": "ok", "subprotocol": ws.subprotocol,
                      "mapped": fmt_sockaddr(mapped),
                      "local": "%s:%d" % (local[0], local[1])})
        except websockets.exceptions.InvalidStatusCode as e:
            emit({"upgrade": e.status_code})
    asyncio.run(go())


def dial(host, port, tls, timeout, source=None):
    s = socket.create_connection((host, port), timeout=timeout,
                                 source_address=(source, 0) if source else None)
    return tls_ctx().wrap_socket(s) if tls else s


def upgrade_head(path, extra=""):
    key = base64.b64encode(os.urandom(16)).decode()
    return ("GET %s HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n%s\r\n" %
            (path, key, extra)).encode()


def read_head(s):
    buf = b""
    while b"\r\n\r\n" not in buf:
        b = s.recv(4096)
        if not b:
            break
        buf += b
    return buf


def cmd_http(a):
    """One raw request; the status line's code, and how soon the server closed."""
    if a.head_hex:
        head = bytes.fromhex(a.head_hex)
    elif a.size:
        head = upgrade_head("/turn", "X-Pad: " + "a" * a.size + "\r\n")
    else:
        head = sys.stdin.buffer.read()
    s = dial(a.host, a.port, a.tls, a.timeout)
    t0 = time.monotonic()
    try:
        s.sendall(head)
    except OSError:
        pass
    try:
        got = read_head(s)
        while s.recv(4096):
            pass
        closed = "yes"
    except OSError as e:
        got, closed = locals().get("got", b""), "no:" + e.__class__.__name__
    line = got.split(b"\r\n", 1)[0].decode(errors="replace")
    emit({"status": line.split(" ")[1] if line.startswith("HTTP/1.1 ") else "none",
          "closed": closed, "seconds": "%.1f" % (time.monotonic() - t0)})


def frame(opcode, payload, fin=True, zero_mask=False):
    """A masked client frame (RFC 6455 s5.2); zero_mask (for speed, in the
    benchmark): a mask of zeros, which leaves the payload as it is."""
    mask = b"\0\0\0\0" if zero_mask else os.urandom(4)
    n = len(payload)
    head = bytes([(0x80 if fin else 0) | opcode])
    if n < 126:
        head += bytes([0x80 | n])
    elif n < 65536:
        head += bytes([0x80 | 126]) + struct.pack("!H", n)
    else:
        head += bytes([0x80 | 127]) + struct.pack("!Q", n)
    if zero_mask:
        return head + mask + payload
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def read_frame(s):
    """An unmasked server frame: (opcode, payload), or None at EOF."""
    def exact(n):
        b = b""
        while len(b) < n:
            c = s.recv(n - len(b))
            if not c:
                raise EOFError
            b += c
        return b
    try:
        h = exact(2)
        n = h[1] & 0x7F
        if n == 126:
            n = struct.unpack("!H", exact(2))[0]
        elif n == 127:
            n = struct.unpack("!Q", exact(8))[0]
        return h[0] & 0x0F, exact(n)
    except (EOFError, OSError):
        return None


def raw_ws(a, path):
    host, port, tls = a.host, a.port, a.tls
    s = dial(host, port, tls, a.timeout)
    s.sendall(upgrade_head(path))
    head = read_head(s)
    if not head.startswith(b"HTTP/1.1 101"):
        raise SystemExit("status=%s" % head[:12].decode(errors="replace"))
    return s


def close_code(s):
    """Frames until a close: its status code, or 'eof'."""
    while True:
        f = read_frame(s)
        if f is None:
            return "eof"
        if f[0] == 8:
            return struct.unpack("!H", f[1][:2])[0] if len(f[1]) >= 2 else "none"


def binding_reply(s):
    while True:
        f = read_frame(s)
        if f is None:
            return "eof"
        if f[0] == 2:
            m = parse(f[1])
            return "success" if m and m["type"] == mtype(1, 2) else "other"


def cmd_frames(a):
    """Raw frames on /turn: a text message, a binding request in fragments,
    and a message over the limit; what the server answered each with."""
    s = raw_ws(a, a.path)
    req, _ = build_binding()
    if a.what == "fragments":
        third = len(req) // 3
        s.sendall(frame(2, req[:third], fin=False) + frame(0, req[third:2 * third], fin=False) +
                  frame(9, b"ping-between") + frame(0, req[2 * third:]))
        emit({"fragments": binding_reply(s)})
    elif a.what == "text":
        s.sendall(frame(1, b"hello"))
        emit({"text": close_code(s)})
    elif a.what == "big":
        s.sendall(frame(2, b"\0" * a.size))
        emit({"big": close_code(s)})
    elif a.what == "continuation":
        s.sendall(frame(0, req))
        emit({"continuation": close_code(s)})
    elif a.what == "fly-text":
        # flyctl: the magic, then a length and a datagram, each a text frame
        s.sendall(frame(1, struct.pack("!I", 0x2FACED77)) + frame(1, struct.pack("!I", a.size)))
        emit({"fly_text": close_code(s)})


def cmd_wg(a):
    """A WireGuard handshake over WebSocket on a.path: each datagram its own
    binary message, or (--fly text|binary) flyctl's stream, where the magic,
    each length and each datagram are separate frames of that type. Then a
    keepalive under the new session, which the responder takes silently."""
    from wgtool import Initiator, key
    s = raw_ws(a, a.path)
    ini = Initiator(key(a.private), key(a.server_key))
    init = ini.initiation(4242)
    op = 1 if a.fly == "text" else 2
    if a.fly:
        s.sendall(frame(op, struct.pack("!I", 0x2FACED77)) + frame(op, struct.pack("!I", len(init))) +
                  frame(op, init))
    else:
        s.sendall(frame(2, init))
    stream, ops, resp = b"", set(), None
    while resp is None:
        f = read_frame(s)
        if f is None or f[0] == 8:
            emit({"handshake": "closed"})
            return
        ops.add(f[0])
        if not a.fly:
            resp = f[1]
            continue
        stream += f[1]
        if len(stream) >= 4 and len(stream) >= 4 + struct.unpack("!I", stream[:4])[0]:
            resp = stream[4:4 + struct.unpack("!I", stream[:4])[0]]
    try:
        sess = ini.response(resp)
    except AssertionError as e:
        emit({"handshake": "bad:" + str(e)})
        return
    ka = sess.seal(b"")
    if a.fly:
        s.sendall(frame(op, struct.pack("!I", len(ka)) + ka[:7]) + frame(op, ka[7:]))
    else:
        s.sendall(frame(2, ka))
    emit({"handshake": "ok", "frames": "+".join({1: "text", 2: "binary"}.get(o, str(o))
                                                 for o in sorted(ops))})
    time.sleep(0.3)


def cmd_noread(a):
    """Binding requests sent as fast as the server takes them, replies never
    read: how many went in before the server closed the connection."""
    s = raw_ws(a, a.path)
    req, _ = build_binding()
    f = frame(2, req)
    s.settimeout(1)
    sent, t0 = 0, time.monotonic()
    while time.monotonic() - t0 < a.timeout:
        try:
            s.sendall(f * 64)
            sent += 64
        except socket.timeout:
            continue
        except OSError:
            break
    emit({"sent": sent, "closed_after": "%.0f" % (time.monotonic() - t0)})


def cmd_silent(a):
    """n upgrades that then say nothing: how many were upgraded, and how
    many the server had closed after --wait seconds."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, a.n + 64)), hard))
    socks, refused = [], 0
    binds = a.bind.split(",") if a.bind else []
    for _ in range(a.n):
        try:
            s = dial(a.host, a.port, a.tls, a.timeout,
                     binds[len(socks) % len(binds)] if binds else None)
            s.sendall(upgrade_head(a.path))
            socks.append(s)
        except OSError:
            refused += 1
    upgraded = []
    for s in socks:
        try:
            if read_head(s).startswith(b"HTTP/1.1 101"):
                upgraded.append(s)
        except OSError:
            pass
    emit({"upgraded": len(upgraded), "refused": refused + len(socks) - len(upgraded)})
    if a.hold_until:  # the benchmark: hold them until this file appears
        while not os.path.exists(a.hold_until):
            time.sleep(0.1)
    time.sleep(a.wait)
    closed = 0
    for s in upgraded:
        s.settimeout(0.2)
        try:
            while True:
                b = s.recv(4096)
                if not b:
                    closed += 1
                    break
        except socket.timeout:
            pass
        except OSError:
            closed += 1
    emit({"closed": closed})


class RawTurn(Turn):
    """tcprelay's TURN client on a raw socket: STUN framing on TCP, or one
    message a frame on an upgraded WebSocket (--ws)."""

    class Framed:
        def __init__(self, sock):
            self.sock = sock

        def sendall(self, m):
            self.sock.sendall(frame(2, m, zero_mask=True))

    def __init__(self, a):
        self.ws = a.ws
        self.sock = raw_ws(a, a.path) if a.ws else dial(a.host, a.port, a.tls, a.timeout)
        super().__init__(a, sock=RawTurn.Framed(self.sock) if a.ws else self.sock)
        self.buf = b""

    def next_message(self):
        if self.ws:
            while True:
                f = read_frame(self.sock)
                if f is None:
                    raise EOFError
                if f[0] == 2:
                    return f[1]
        while True:
            if len(self.buf) >= 4:
                if self.buf[0] < 0x40:
                    n = 20 + struct.unpack("!H", self.buf[2:4])[0]
                else:
                    n = 4 + ((struct.unpack("!H", self.buf[2:4])[0] + 3) & ~3)
                if len(self.buf) >= n:
                    m, self.buf = self.buf[:n], self.buf[n:]
                    return m
            b = self.sock.recv(65536)
            if not b:
                raise EOFError
            self.buf += b

    def read(self):
        while True:
            m = parse(self.next_message())
            if m is not None:
                return m


def cmd_rate(a):
    """ChannelData echoed by a UDP echo peer (--peer-port on 127.0.0.1)
    through an allocation, --window in flight, for --seconds: echoes a
    second, over TCP (STUN framing) or WebSocket (--ws)."""
    t = RawTurn(a)
    cls, got, code, tid = t.request(ALLOCATE, [(0x0019, bytes([17, 0, 0, 0]))])
    if cls != 2:
        emit({"allocate": code})
        return
    t.request(CREATE_PERMISSION, [peer_attr("127.0.0.1", a.peer_port)])
    _, _, code, _ = t.request(CHANNEL_BIND, [(CHANNEL_NUMBER, struct.pack("!HH", CHANNEL, 0)),
                                             peer_attr("127.0.0.1", a.peer_port)])
    if code:
        emit({"channel": code})
        return
    payload = os.urandom(100)
    msg = struct.pack("!HH", CHANNEL, len(payload)) + payload
    out = frame(2, msg, zero_mask=True) if a.ws else msg
    for _ in range(a.window):
        t.sock.sendall(out)
    echoes, t0 = 0, time.monotonic()
    t.sock.settimeout(2)
    try:
        while time.monotonic() - t0 < a.seconds:
            m = t.next_message()
            if m[:2] == struct.pack("!H", CHANNEL):
                echoes += 1
                t.sock.sendall(out)
    except (OSError, EOFError):
        pass
    emit({"echoes": echoes, "per_second": int(echoes / (time.monotonic() - t0))})


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    for name in ("turn", "binding"):
        q = sub.add_parser(name)
        q.add_argument("url")
        q.add_argument("--user", default="")
        q.add_argument("--password", default="")
        q.add_argument("--origin")
        q.add_argument("--protocol")
        q.add_argument("--n", type=int, default=100)
    for name in ("http", "frames", "noread", "silent", "wg", "rate"):
        q = sub.add_parser(name)
        q.add_argument("host")
        q.add_argument("port", type=int)
        q.add_argument("--tls", action="store_true")
        q.add_argument("--head-hex")
        q.add_argument("--size", type=int, default=0)
        q.add_argument("--what", default="text")
        q.add_argument("--path", default="/turn")
        q.add_argument("--n", type=int, default=100)
        q.add_argument("--wait", type=float, default=0)
        q.add_argument("--bind")
        q.add_argument("--private")
        q.add_argument("--server-key")
        q.add_argument("--fly")
        q.add_argument("--hold-until")
        q.add_argument("--ws", action="store_true")
        q.add_argument("--peer-port", type=int, default=0)
        q.add_argument("--window", type=int, default=32)
        q.add_argument("--seconds", type=float, default=5)
        q.add_argument("--user", default="bench")
        q.add_argument("--password", default="bench")
    p.add_argument("--timeout", type=float, default=5)
    a = p.parse_args()
    a.transport, a.peer, a.proto = "udp", "127.0.0.1", "ws"
    {"turn": cmd_turn, "binding": cmd_binding, "http": cmd_http, "frames": cmd_frames,
     "noread": cmd_noread, "silent": cmd_silent, "wg": cmd_wg, "rate": cmd_rate}[a.cmd](a)


if __name__ == "__main__":
    main()
