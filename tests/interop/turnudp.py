#!/usr/bin/env python3
"""UDP sockets that live as long as a test, driven from the shell one
command at a time, for tests/interop/xdp_lapse.sh: TURN clients that keep
their 5-tuple (so their allocation) across minutes of waiting, and plain
UDP peers. Every datagram that arrives is kept, so the shell asks later
what reached whom, and how.

  turnudp.py PORT  run (in a network namespace) until killed, taking
                   commands on TCP 127.0.0.1:PORT there: one line a
                   connection (words split by spaces), answered with
                   key=value lines (stuntool.py's convention), error=...
                   when it failed; the shell's own /dev/tcp reaches it
                   (ip netns exec NS bash), so a command costs no Python
                   start

Commands ("ready" answers at= alone). NAME names a socket; TAG marks a batch of N datagrams, whose
payloads are "#TAG#i#" and 64 bytes more (so a payload that arrives can be
checked whole); "ipopt" sends them with an IPv4 option (four NOPs). Every
answer has at= (the server's time.time() when it was given).
  open NAME IP:PORT              a plain UDP socket (a peer)
  alloc NAME IP SERVER:PORT      a TURN client's socket, from IP; Allocate:
                                 relayed=, lifetime=
  perm NAME PEER-IP              CreatePermission: result=ok or the code
  bind NAME CHANNEL PEER         ChannelBind: result=
  refresh NAME [LIFETIME]        Refresh: result=, lifetime=
  binding NAME                   a Binding request: result=, mapped=
  chan NAME CHANNEL N TAG [ipopt]  N ChannelData
  send NAME PEER N TAG           N Send indications
  sendto NAME DEST N TAG [ipopt] N plain datagrams
  got NAME TAG [WANT [SECS]]     what of TAG has arrived, after waiting
                                 SECS (default 1) or until WANT have: n=,
                                 chan= (as ChannelData), data= (as Data
                                 indications), udp= (plain), via=
                                 (channels or peers it came through),
                                 from=, distinct= (payloads), bad=
                                 (payloads not as sent)
"""
import os
import queue
import re
import socket
import struct
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from stuntool import MAGIC, decode_addr, fmt_sockaddr, parse  # noqa: E402
from tcprelay import (ALLOCATE, CREATE_PERMISSION, LIFETIME, REFRESH,  # noqa: E402
                      REQUESTED_TRANSPORT, XOR_RELAYED_ADDRESS, Turn, class_of,
                      method_of, peer_attr)

CHANNEL_BIND, CHANNEL_NUMBER, SEND, DATA_IND = 0x009, 0x000C, 0x006, 0x007
BINDING, XOR_PEER_ADDRESS, DATA, XOR_MAPPED_ADDRESS = 0x001, 0x0012, 0x0013, 0x0020
FILL = bytes(range(64, 128))
NOPS = b"\x01\x01\x01\x01"  # IPv4 options: four NOPs, one word


def payload(tag, i):
    return b"#%s#%d#" % (tag.encode(), i) + FILL


def addr(s):
    ip, port = s.rsplit(":", 1)
    return ip, int(port)


class Args:
    """What tcprelay.Turn reads of its arguments."""
    user, password, timeout, proto = "alice", "secret", 3.0, "udp"


class Sock:
    """One UDP socket; a thread keeps what arrives. A TURN client's socket
    sorts it: STUN responses for request(), ChannelData and Data
    indications unwrapped into what arrived."""

    def __init__(self, s, turn):
        self.s = s
        self.lock = threading.Lock()
        self.arrived = []  # (kind, via, from, payload)
        self.responses = queue.Queue()
        self.turn = Client(self) if turn else None
        threading.Thread(target=self.receive, daemon=True).start()

    def receive(self):
        while True:
            try:
                data, src = self.s.recvfrom(65536)
            except OSError:  # an ICMP error, reported on a connected socket
                continue
            item = self.sort(data, fmt_sockaddr(src))
            if item:
                with self.lock:
                    self.arrived.append(item)

    def sort(self, data, src):
        if not self.turn:
            return "udp", src, src, data
        if len(data) >= 4 and 0x40 <= data[0] <= 0x7F:
            ch, n = struct.unpack("!HH", data[:4])
            return "chan", "0x%04x" % ch, src, data[4:4 + n]
        m = parse(data)
        if m is None:
            return "other", "-", src, data
        if class_of(m["type"]) != 1:
            self.responses.put(m)
            return None
        got = {t: v for t, v, _ in m["attrs"]}
        if method_of(m["type"]) != DATA_IND or XOR_PEER_ADDRESS not in got:
            return "other", "-", src, data
        peer = decode_addr(got[XOR_PEER_ADDRESS], m["tid"])
        return "data", fmt_sockaddr(peer) if peer else "?", src, got.get(DATA, b"")

    def count(self, tag):
        pat = re.compile(rb"^#" + re.escape(tag.encode()) + rb"#(\d+)#")
        with self.lock:
            mine = [(k, v, f, p) for k, v, f, p in self.arrived if pat.match(p)]
        kinds = {k: 0 for k in ("chan", "data", "udp")}
        distinct, bad = set(), 0
        for k, _, _, p in mine:
            kinds[k] = kinds.get(k, 0) + 1
            i = int(pat.match(p).group(1))
            if p == payload(tag, i):
                distinct.add(i)
            else:
                bad += 1
        facts = {"n": len(mine)}
        facts.update(kinds)
        facts["via"] = ",".join(sorted({v for _, v, _, _ in mine})) or "none"
        facts["from"] = ",".join(sorted({f for _, _, f, _ in mine})) or "none"
        facts["distinct"] = len(distinct)
        facts["bad"] = bad
        return facts

    def send_each(self, n, make, ipopt):
        if ipopt:
            self.s.setsockopt(socket.IPPROTO_IP, socket.IP_OPTIONS, NOPS)
        try:
            for i in range(n):
                msg, dest = make(i)
                self.s.sendto(msg, dest)
                time.sleep(0.002)  # paced: nothing lost to a queue's limit
        finally:
            if ipopt:
                self.s.setsockopt(socket.IPPROTO_IP, socket.IP_OPTIONS, b"")


class Client(Turn):
    """tcprelay's TURN client over the socket of a Sock: its responses come
    from the Sock's thread, which reads everything."""

    def __init__(self, sock):
        self.sock = sock
        super().__init__(Args, sock=sock.s)

    def read(self):
        try:
            return self.sock.responses.get(timeout=self.a.timeout)
        except queue.Empty:
            raise TimeoutError("no response in %.0f s" % self.a.timeout) from None

    def ask(self, method, attrs):
        cls, got, code, tid = self.request(method, attrs)
        return {"result": code or ("ok" if cls == 2 else "class-%d" % cls)}, got, tid


def cmd_open(socks, name, where):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(addr(where))
    socks[name] = Sock(s, False)
    return {"local": fmt_sockaddr(s.getsockname())}


def cmd_alloc(socks, name, ip, server):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((ip, 0))
    s.connect(addr(server))
    socks[name] = c = Sock(s, True)
    facts, got, tid = c.turn.ask(ALLOCATE, [(REQUESTED_TRANSPORT, b"\x11\0\0\0")])
    facts["local"] = fmt_sockaddr(s.getsockname())
    if XOR_RELAYED_ADDRESS in got:
        facts["relayed"] = fmt_sockaddr(decode_addr(got[XOR_RELAYED_ADDRESS],
                                                    struct.pack("!I", MAGIC) + tid))
    if LIFETIME in got:
        facts["lifetime"] = struct.unpack("!I", got[LIFETIME])[0]
    return facts


def cmd_perm(socks, name, ip):
    return socks[name].turn.ask(CREATE_PERMISSION, [peer_attr(ip, 0)])[0]


def cmd_bind(socks, name, channel, peer):
    return socks[name].turn.ask(CHANNEL_BIND, [
        (CHANNEL_NUMBER, struct.pack("!HH", int(channel, 0), 0)), peer_attr(*addr(peer))])[0]


def cmd_refresh(socks, name, lifetime=None):
    attrs = [] if lifetime is None else [(LIFETIME, struct.pack("!I", int(lifetime)))]
    facts, got, _ = socks[name].turn.ask(REFRESH, attrs)
    if LIFETIME in got:
        facts["lifetime"] = struct.unpack("!I", got[LIFETIME])[0]
    return facts


def cmd_binding(socks, name):
    facts, got, tid = socks[name].turn.ask(BINDING, [])
    if XOR_MAPPED_ADDRESS in got:
        facts["mapped"] = fmt_sockaddr(decode_addr(got[XOR_MAPPED_ADDRESS],
                                                   struct.pack("!I", MAGIC) + tid))
    return facts


def cmd_chan(socks, name, channel, n, tag, ipopt=None):
    c = socks[name]
    ch, dest = int(channel, 0), c.s.getpeername()
    c.send_each(int(n), lambda i: (struct.pack("!HH", ch, len(payload(tag, i))) +
                                   payload(tag, i), dest), ipopt == "ipopt")
    return {"sent": n}


def cmd_send(socks, name, peer, n, tag):
    c = socks[name]
    dest = c.s.getpeername()
    c.send_each(int(n), lambda i: (c.turn.build(SEND, [peer_attr(*addr(peer)),
                                                       (DATA, payload(tag, i))], cls=1)[0],
                                   dest), False)
    return {"sent": n}


def cmd_sendto(socks, name, dest, n, tag, ipopt=None):
    socks[name].send_each(int(n), lambda i: (payload(tag, i), addr(dest)), ipopt == "ipopt")
    return {"sent": n}


def cmd_got(socks, name, tag, want=None, secs="1"):
    deadline = time.monotonic() + float(secs)
    while True:
        facts = socks[name].count(tag)
        if (want is not None and facts["n"] >= int(want)) or time.monotonic() >= deadline:
            return facts
        time.sleep(0.05)


COMMANDS = {"ready": lambda socks: {}, "open": cmd_open, "alloc": cmd_alloc,
            "perm": cmd_perm, "bind": cmd_bind, "refresh": cmd_refresh,
            "binding": cmd_binding, "chan": cmd_chan, "send": cmd_send,
            "sendto": cmd_sendto, "got": cmd_got}


def serve(port):
    socks = {}
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", port))
    srv.listen(4)
    while True:
        c, _ = srv.accept()
        with c:
            try:
                argv = c.makefile("r").readline().split()
                try:
                    facts = COMMANDS[argv[0]](socks, *argv[1:])
                except Exception as e:  # the shell hears of it; the server goes on
                    facts = {"error": "%s: %s" % (type(e).__name__, e)}
                facts["at"] = "%.3f" % time.time()
                c.sendall("".join("%s=%s\n" % kv for kv in facts.items()).encode())
            except OSError:  # the shell went away
                pass


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    serve(int(sys.argv[1]))
