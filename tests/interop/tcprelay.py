#!/usr/bin/env python3
"""An RFC 6062 (TURN TCP allocations) client for the interop tests.

Each subcommand plays one scenario against a running ternd over TCP or TLS,
with its own TCP peer on loopback, and prints what it saw as key=value lines
(stuntool.py's convention), so the shell script compares values.

  connect   Allocate TCP, Connect to our peer, ConnectionBind a data
            connection, push bytes both ways through it
  accept    the peer connects to the relayed address; ConnectionAttempt,
            ConnectionBind, bytes both ways
  refused   Connect to a port nobody listens on
  nopermit  a peer without permission connects to the relayed address
  twice     Connect to the same peer twice
  stranger  another user binds our connection id
  unbound   Connect, then never bind: how long until the peer is let go
  release   Refresh(0) while joined: do both connections end?
  udpalloc  Allocate over UDP (TCP unless --transport udp)
  alloc     Allocate over --proto tcp or tls: the answer, and with a 300
            ALTERNATE-SERVER and ALTERNATE-DOMAIN
"""
import argparse
import hashlib
import hmac
import os
import select
import socket
import struct
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from stuntool import (MAGIC, ERROR_CODE, FINGERPRINT, attr, decode_addr,  # noqa: E402
                      fingerprint_of, fmt_sockaddr, parse, read_stun)
import ssl  # noqa: E402

ALLOCATE, REFRESH, CREATE_PERMISSION = 0x003, 0x004, 0x008
CONNECT, CONNECTION_BIND, CONNECTION_ATTEMPT = 0x00A, 0x00B, 0x00C
USERNAME, MESSAGE_INTEGRITY, REALM, NONCE = 0x0006, 0x0008, 0x0014, 0x0015
LIFETIME, XOR_PEER_ADDRESS, XOR_RELAYED_ADDRESS = 0x000D, 0x0012, 0x0016
REQUESTED_TRANSPORT, CONNECTION_ID = 0x0019, 0x002A
REQUESTED_ADDRESS_FAMILY = 0x0017


def mtype(method, cls):
    """cls: 0 request, 1 indication, 2 success, 3 error (RFC 8489 s5)."""
    m = method
    return ((m & 0xF80) << 2) | ((m & 0x070) << 1) | (m & 0xF) | \
        ((cls & 2) << 7) | ((cls & 1) << 4)


def method_of(t):
    return ((t >> 2) & 0xF80) | ((t >> 1) & 0x070) | (t & 0xF)


def class_of(t):
    return ((t >> 7) & 2) | ((t >> 4) & 1)


def peer_attr(ip, port):
    return (XOR_PEER_ADDRESS, lambda tid: xor_addr(ip, port, tid))


def xor_addr(ip, port, tid):
    fam = socket.AF_INET6 if ":" in ip else socket.AF_INET
    raw = socket.inet_pton(fam, ip)
    key = struct.pack("!I", MAGIC) + tid
    x = bytes(a ^ b for a, b in zip(raw, key))
    return struct.pack("!BBH", 0, 2 if fam == socket.AF_INET6 else 1,
                       port ^ (MAGIC >> 16)) + x


class Turn:
    """One TURN client connection (TCP or TLS) with long-term credentials."""

    def __init__(self, a, user=None, password=None, sock=None):
        self.a = a
        self.user = (user or a.user).encode()
        self.password = (password or a.password).encode()
        self.realm = self.nonce = None
        self.pending = []  # indications read while waiting for a response
        self.s = sock or self.dial()

    def dial(self):
        s = socket.create_connection((self.a.server, self.a.port), timeout=self.a.timeout)
        if self.a.proto == "tls":
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            s = ctx.wrap_socket(s)
        return s

    def build(self, method, attrs, cls=0, tid=None):
        tid = tid or os.urandom(12)
        # a value may depend on the transaction id (XOR-PEER-ADDRESS, IPv6)
        body = b"".join(attr(t, v(tid) if callable(v) else v) for t, v in attrs)
        if self.nonce is not None and cls == 0:
            body += attr(USERNAME, self.user) + attr(REALM, self.realm) + \
                attr(NONCE, self.nonce)
            key = hashlib.md5(self.user + b":" + self.realm + b":" + self.password).digest()
            hdr = struct.pack("!HHI", mtype(method, cls), len(body) + 24, MAGIC) + tid
            body += attr(MESSAGE_INTEGRITY, hmac.new(key, hdr + body, hashlib.sha1).digest())
        hdr = struct.pack("!HHI", mtype(method, cls), len(body) + 8, MAGIC) + tid
        body += attr(FINGERPRINT, struct.pack("!I", fingerprint_of(hdr + body)))
        return struct.pack("!HHI", mtype(method, cls), len(body), MAGIC) + tid + body, tid

    def read(self):
        m = parse(read_stun(self.s, time.monotonic() + self.a.timeout))
        if m is None:
            raise EOFError("unparsable message")
        return m

    def request(self, method, attrs):
        """Send, answer a 401/438 challenge once; (class, {attr: value}, code, tid)."""
        for _ in range(3):
            msg, tid = self.build(method, attrs)
            self.s.sendall(msg)
            while True:
                m = self.read()
                if class_of(m["type"]) == 1:
                    self.pending.append(m)
                    continue
                if m["tid"][4:] == tid:
                    break
            got = {t: v for t, v, _ in m["attrs"]}
            cls, code = class_of(m["type"]), 0
            if cls == 3:
                e = got[ERROR_CODE]
                code = (e[2] & 7) * 100 + e[3]
                if code in (401, 438) and NONCE in got:
                    self.realm, self.nonce = got[REALM], got[NONCE]
                    continue
            return cls, got, code, tid
        return cls, got, code, tid

    def indication(self, method):
        for i, m in enumerate(self.pending):
            if method_of(m["type"]) == method:
                return self.pending.pop(i)
        while True:
            m = self.read()
            if class_of(m["type"]) == 1 and method_of(m["type"]) == method:
                return m
            self.pending.append(m)


def allocate(t, facts):
    attrs = [(REQUESTED_TRANSPORT, bytes([17 if t.a.transport == "udp" else 6, 0, 0, 0]))]
    if ":" in t.a.peer:  # relay in the peer's family
        attrs.append((REQUESTED_ADDRESS_FAMILY, b"\x02\0\0\0"))
    cls, got, code, tid = t.request(ALLOCATE, attrs)
    facts["allocate"] = code or "ok"
    if code == 300 and 0x8023 in got:  # ALTERNATE-SERVER (not XORed), ALTERNATE-DOMAIN
        v = got[0x8023]
        fam = socket.AF_INET6 if v[1] == 2 else socket.AF_INET
        ip = socket.inet_ntop(fam, v[4:20] if v[1] == 2 else v[4:8])
        facts["alternate"] = fmt_sockaddr((ip, struct.unpack("!H", v[2:4])[0]))
        facts["domain"] = got[0x8003].decode() if 0x8003 in got else "none"
    if cls != 2:
        return None
    relayed = decode_addr(got[XOR_RELAYED_ADDRESS], struct.pack("!I", MAGIC) + tid)
    facts["relayed"] = fmt_sockaddr(relayed)
    return relayed


def data_connection(a, cid, facts, key="bind", user=None, password=None):
    """A new connection to the server; ConnectionBind cid on it."""
    d = Turn(a, user, password)
    cls, got, code, _ = d.request(CONNECTION_BIND, [(CONNECTION_ID, struct.pack("!I", cid))])
    facts[key] = code or "ok"
    return d if cls == 2 else None


class Peer:
    """A TCP echo peer on loopback: echoes everything back, remembers who
    connected, and when the connection ended."""

    def __init__(self, host):
        fam = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.l = socket.socket(fam, socket.SOCK_STREAM)
        self.l.bind((host, 0))
        self.l.listen(8)
        self.addr = self.l.getsockname()[:2]
        self.remote = None
        self.ended = threading.Event()
        self.ended_at = None
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        c, self.remote = self.l.accept()
        while True:
            try:
                b = c.recv(65536)
            except OSError:
                b = b""
            if not b:
                break
            c.sendall(b)
        self.ended_at = time.monotonic()
        self.ended.set()
        c.close()


def echo_through(s, n, facts):
    """Send n random bytes on s; the echo must come back byte for byte.

    One thread does both directions with select(): an ssl.SSLSocket must
    not be read and written from two threads at once (one OpenSSL SSL
    object, no lock), and a test client that did so failed now and then.
    A stall of 20 s (no byte either way) ends it."""
    payload = os.urandom(n)
    got = bytearray()
    sent = 0
    tls = isinstance(s, ssl.SSLSocket)
    timeout = s.gettimeout()
    s.setblocking(False)
    last = time.monotonic()
    try:
        while len(got) < n and time.monotonic() - last < 20:
            r, w, _ = select.select([s], [s] if sent < n else [], [], 0.5)
            moved = False
            if r or (tls and s.pending()):
                try:
                    while True:
                        b = s.recv(65536)
                        if not b:
                            raise EOFError
                        got.extend(b)
                        moved = True
                        if not (tls and s.pending()):
                            break
                except (ssl.SSLWantReadError, ssl.SSLWantWriteError, BlockingIOError):
                    pass
            if w and sent < n:
                try:
                    sent += s.send(payload[sent:sent + 16384])
                    moved = True
                except (ssl.SSLWantReadError, ssl.SSLWantWriteError, BlockingIOError):
                    pass
            if moved:
                last = time.monotonic()
    except (EOFError, OSError):
        pass
    finally:
        s.settimeout(timeout)
    facts["echoed"] = "same" if bytes(got) == payload else "differ:%d/%d/%d" % (sent, len(got), n)


def closed_within(s, seconds):
    """Does the server close s within seconds? Returns the wait, or None."""
    start = time.monotonic()
    s.settimeout(seconds)
    try:
        while True:
            if not s.recv(65536):
                return time.monotonic() - start
    except socket.timeout:
        return None
    except OSError:
        return time.monotonic() - start


def connect_scenario(a, facts, bind=True):
    peer = Peer(a.peer)
    t = Turn(a)
    if not allocate(t, facts):
        return None, None, None
    cls, got, code, _ = t.request(CONNECT, [peer_attr(peer.addr[0], peer.addr[1])])
    return t, peer, (cls, got, code)


def cmd_connect(a):
    facts = {}
    t, peer, res = connect_scenario(a, facts)
    if t:
        cls, got, code = res
        facts["connect"] = code or "ok"
        if cls == 2:
            cid = struct.unpack("!I", got[CONNECTION_ID])[0]
            d = data_connection(a, cid, facts)
            facts["peer_saw"] = fmt_sockaddr(peer.remote) if peer.remote else "nobody"
            if d:
                echo_through(d.s, a.bytes, facts)
    emit(facts)


def cmd_accept(a):
    facts = {}
    t = Turn(a)
    relayed = allocate(t, facts)
    if relayed:
        fam = socket.AF_INET6 if ":" in a.peer else socket.AF_INET
        p = socket.socket(fam, socket.SOCK_STREAM)
        p.bind((a.peer, 0))
        if not a.no_permission:
            cls, _, code, _ = t.request(CREATE_PERMISSION, [peer_attr(a.peer, 1)])
            facts["permission"] = code or "ok"
        p.settimeout(a.timeout)
        p.connect(relayed)
        if a.no_permission:
            w = closed_within(p, a.timeout)
            facts["peer_closed"] = "yes" if w is not None else "no"
            t.s.settimeout(0.5)
            try:
                m = t.read()
                facts["control_heard"] = "method 0x%03x" % method_of(m["type"])
            except (socket.timeout, EOFError, OSError):
                facts["control_heard"] = "nothing"
            emit(facts)
            return
        m = t.indication(CONNECTION_ATTEMPT)
        got = {k: v for k, v, _ in m["attrs"]}
        cid = struct.unpack("!I", got[CONNECTION_ID])[0]
        facts["attempt_peer"] = fmt_sockaddr(decode_addr(got[XOR_PEER_ADDRESS], m["tid"]))
        facts["peer_local"] = fmt_sockaddr(p.getsockname())
        d = data_connection(a, cid, facts)
        if d:
            # the peer speaks first, then echoes what the client sends
            p.sendall(b"hello-from-the-peer")
            d.s.settimeout(a.timeout)
            hello = b""
            while len(hello) < 19:
                hello += d.s.recv(19 - len(hello))
            facts["client_got"] = hello.decode()

            def echo():
                while True:
                    b = p.recv(65536)
                    if not b:
                        return
                    p.sendall(b)
            threading.Thread(target=echo, daemon=True).start()
            echo_through(d.s, a.bytes, facts)
    emit(facts)


def cmd_refused(a):
    facts = {}
    s = socket.socket(socket.AF_INET6 if ":" in a.peer else socket.AF_INET)
    s.bind((a.peer, 0))
    port = s.getsockname()[1]
    s.close()  # nobody listens there now
    t = Turn(a)
    if allocate(t, facts):
        _, _, code, _ = t.request(CONNECT, [peer_attr(a.peer, port)])
        facts["connect"] = code or "ok"
    emit(facts)


def cmd_twice(a):
    facts = {}
    t, peer, res = connect_scenario(a, facts)
    if t:
        facts["connect"] = res[2] or "ok"
        _, _, code, _ = t.request(CONNECT, [peer_attr(peer.addr[0], peer.addr[1])])
        facts["again"] = code or "ok"
    emit(facts)


def cmd_stranger(a):
    facts = {}
    t, peer, res = connect_scenario(a, facts)
    if t and res[0] == 2:
        cid = struct.unpack("!I", res[1][CONNECTION_ID])[0]
        data_connection(a, cid, facts, "stranger_bind", a.other_user, a.other_password)
        data_connection(a, cid ^ 0x5a5a, facts, "wrong_id_bind")
        data_connection(a, cid, facts, "owner_bind")
    emit(facts)


def cmd_unbound(a):
    facts = {}
    t, peer, res = connect_scenario(a, facts)
    if t and res[0] == 2:
        facts["connect"] = "ok"
        start = time.monotonic()
        peer.ended.wait(a.wait)
        facts["peer_closed_after"] = "%d" % round(peer.ended_at - start) if peer.ended_at else "never"
    emit(facts)


def cmd_release(a):
    facts = {}
    t, peer, res = connect_scenario(a, facts)
    if t and res[0] == 2:
        cid = struct.unpack("!I", res[1][CONNECTION_ID])[0]
        d = data_connection(a, cid, facts)
        if d:
            echo_through(d.s, 1000, facts)
            _, _, code, _ = t.request(REFRESH, [(LIFETIME, b"\0\0\0\0")])
            facts["refresh0"] = code or "ok"
            w = closed_within(d.s, a.timeout)
            facts["data_closed"] = "yes" if w is not None else "no"
            facts["peer_closed"] = "yes" if peer.ended.wait(a.timeout) else "no"
    emit(facts)


def cmd_udpalloc(a):
    facts = {}
    s = socket.socket(socket.AF_INET6 if ":" in a.server else socket.AF_INET, socket.SOCK_DGRAM)
    s.connect((a.server, a.port))
    s.settimeout(a.timeout)
    t = Turn(a, sock=s)

    def read():
        return parse(s.recv(2048))
    t.read = read
    allocate(t, facts)
    emit(facts)


def cmd_alloc(a):
    """One Allocate over a stream (--proto), what it answered."""
    facts = {}
    allocate(Turn(a), facts)
    emit(facts)


def emit(facts):
    for k, v in facts.items():
        print("%s=%s" % (k, v))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("cmd", choices=("connect", "accept", "refused", "nopermit", "twice",
                                   "stranger", "unbound", "release", "udpalloc", "alloc"))
    p.add_argument("--server", required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--proto", choices=("tcp", "tls"), default="tcp")
    p.add_argument("--user", default="alice")
    p.add_argument("--password", default="secret")
    p.add_argument("--other-user", default="bob")
    p.add_argument("--other-password", default="hunter2")
    p.add_argument("--peer", default="127.0.0.1", help="the peer's address")
    p.add_argument("--bytes", type=int, default=1 << 20)
    p.add_argument("--transport", choices=("tcp", "udp"), default="tcp",
                   help="REQUESTED-TRANSPORT of the Allocate")
    p.add_argument("--timeout", type=float, default=5.0)
    p.add_argument("--wait", type=float, default=40.0)
    a = p.parse_args()
    a.no_permission = a.cmd == "nopermit"
    {"connect": cmd_connect, "accept": cmd_accept, "nopermit": cmd_accept,
     "refused": cmd_refused, "twice": cmd_twice, "stranger": cmd_stranger,
     "unbound": cmd_unbound, "release": cmd_release, "udpalloc": cmd_udpalloc,
     "alloc": cmd_alloc}[a.cmd](a)


if __name__ == "__main__":
    main()
