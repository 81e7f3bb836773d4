#!/usr/bin/env python3
"""UDP TURN clients that outlive a ternd restart, for tests/interop/store_restart.sh.

  echo    a UDP echo peer: answers each datagram with its data, "|", and the
          address it came from (so a client learns which relayed address
          carried it)
  setup   N clients, each on its own UDP port: Allocate, ChannelBind 0x4000
          to the echo peer, one echo through the channel; their ports and
          relayed addresses go to --state; with --kill PID, PID gets
          SIGKILL the moment each Allocate is answered
  resume  the same clients from --state, each on the same local port (so
          the same 5-tuple): ChannelData through the channel, checking that
          the echo came back through the same relayed address, and with
          --refresh a Refresh, all without a new Allocate
          (--bind: a ChannelBind first, for allocations made --no-channel)
  release Refresh with LIFETIME 0 for client --index
  alloc   one Allocate (UDP): its result, and ALTERNATE-SERVER if 300
  nonce   the nonce one node gave, used on another (--port-b): Allocate
          unsigned at --port, then signed with that nonce at --port-b

Prints key=value lines, as stuntool.py does.
"""
import argparse
import json
import os
import signal
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from stuntool import fmt_sockaddr, parse  # noqa: E402
from tcprelay import (ALLOCATE, REFRESH, LIFETIME, Turn, allocate, emit,  # noqa: E402
                      peer_attr)

CHANNEL_BIND, CHANNEL_NUMBER = 0x009, 0x000C
CHANNEL = 0x4000


def cmd_echo(a):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", a.peer_port))
    while True:
        data, src = s.recvfrom(4096)
        s.sendto(data + b"|" + ("%s:%d" % src).encode(), src)


class Client(Turn):
    """A UDP TURN client on one socket, bound to port (0: any)."""

    def __init__(self, a, port=0):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", port))
        s.connect((a.server, a.port))
        s.settimeout(a.timeout)
        super().__init__(a, sock=s)

    def read(self):
        while True:
            raw = self.s.recv(4096)
            if raw[0] < 2:  # STUN; ChannelData read here is stale, skip it
                m = parse(raw)
                if m is not None:
                    return m

    def through_channel(self, payload):
        """ChannelData out, the echo back; returns the relayed address it names."""
        self.s.send(struct.pack("!HH", CHANNEL, len(payload)) + payload)
        deadline = time.monotonic() + self.a.timeout
        while time.monotonic() < deadline:
            try:
                raw = self.s.recv(4096)
            except socket.timeout:
                break
            if len(raw) < 4 or raw[0] < 0x40:
                continue
            ch, n = struct.unpack("!HH", raw[:4])
            body = raw[4:4 + n]
            if ch == CHANNEL and body.startswith(payload + b"|"):
                return body[len(payload) + 1:].decode()
        return None


def cmd_setup(a):
    facts, state = {}, []
    for i in range(a.clients):
        c = Client(a)
        f = {}
        relayed = allocate(c, f)
        if a.kill:  # the crash window: SIGKILL ternd as soon as the answer is in
            t0 = time.monotonic()
            os.kill(a.kill, signal.SIGKILL)
            facts["kill_ms"] = "%.1f" % ((time.monotonic() - t0) * 1000)
        if relayed is None:
            facts["setup"] = "allocate %d: %s" % (i, f.get("allocate"))
            break
        if a.no_channel:
            state.append({"port": c.s.getsockname()[1], "relayed": f["relayed"]})
            c.s.close()
            continue
        cls, _, code, _ = c.request(CHANNEL_BIND, [
            (CHANNEL_NUMBER, struct.pack("!HH", CHANNEL, 0)),
            peer_attr("127.0.0.1", a.peer_port)])
        if cls != 2:
            facts["setup"] = "channel bind %d: %s" % (i, code)
            break
        via = c.through_channel(b"hello %d" % i)
        if via != f["relayed"]:
            facts["setup"] = "echo %d: via %s, relayed %s" % (i, via, f["relayed"])
            break
        state.append({"port": c.s.getsockname()[1], "relayed": f["relayed"]})
        c.s.close()
    else:
        facts["setup"] = "ok"
    with open(a.state, "w") as fp:
        json.dump(state, fp)
    facts["clients"] = len(state)
    emit(facts)


def cmd_resume(a):
    with open(a.state) as fp:
        state = json.load(fp)
    echoed = same = refreshed = 0
    wrong = []
    for i, st in enumerate(state):
        c = Client(a, st["port"])
        if a.bind:  # the allocation had no channel yet: bind one now
            cls, _, code, _ = c.request(CHANNEL_BIND, [
                (CHANNEL_NUMBER, struct.pack("!HH", CHANNEL, 0)),
                peer_attr("127.0.0.1", a.peer_port)])
            if cls != 2:
                wrong.append("%d:bind %s" % (i, code))
                c.s.close()
                continue
        via = c.through_channel(b"again %d" % i)
        if via is not None:
            echoed += 1
            if via == st["relayed"]:
                same += 1
            else:
                wrong.append("%d:%s!=%s" % (i, via, st["relayed"]))
        if a.refresh:
            cls, _, code, _ = c.request(REFRESH, [])
            refreshed += cls == 2
        c.s.close()
    emit({"clients": len(state), "echoed": echoed, "same_relayed": same,
          "refreshed": refreshed, "wrong": " ".join(wrong) or "none"})


def cmd_release(a):
    with open(a.state) as fp:
        st = json.load(fp)[a.index]
    c = Client(a, st["port"])
    cls, _, code, _ = c.request(REFRESH, [(LIFETIME, b"\0\0\0\0")])
    emit({"release": "ok" if cls == 2 else code})


def cmd_alloc(a):
    c = Client(a)
    cls, got, code, tid = c.request(ALLOCATE, [(0x0019, b"\x11\0\0\0")])
    facts = {"allocate": code or "ok"}
    if 0x8023 in got:  # ALTERNATE-SERVER, not XORed
        v = got[0x8023]
        fam = socket.AF_INET6 if v[1] == 2 else socket.AF_INET
        ip = socket.inet_ntop(fam, v[4:20] if v[1] == 2 else v[4:8])
        facts["alternate"] = fmt_sockaddr((ip, struct.unpack("!H", v[2:4])[0]))
    emit(facts)


def cmd_nonce(a):
    c = Client(a)
    attrs = [(0x0019, b"\x11\0\0\0")]  # REQUESTED-TRANSPORT UDP
    facts = {}
    for step, port in (("first", a.port), ("second", a.port_b)):
        c.s.connect((a.server, port))
        msg, tid = c.build(ALLOCATE, attrs)
        c.s.send(msg)
        m = c.read()
        got = {t: v for t, v, _ in m["attrs"]}
        code = 0
        if 0x0009 in got:  # ERROR-CODE
            e = got[0x0009]
            code = (e[2] & 7) * 100 + e[3]
        facts[step] = code or "ok"
        if step == "first" and code == 401:
            c.realm, c.nonce = got[0x0014], got[0x0015]
    emit(facts)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("cmd", choices=("echo", "setup", "resume", "release", "nonce", "alloc"))
    p.add_argument("--server", default="127.0.0.1")
    p.add_argument("--port", type=int, default=3478)
    p.add_argument("--port-b", type=int)
    p.add_argument("--peer-port", type=int, default=9)
    p.add_argument("--user", default="alice")
    p.add_argument("--password", default="secret")
    p.add_argument("--clients", type=int, default=8)
    p.add_argument("--state")
    p.add_argument("--index", type=int, default=0)
    p.add_argument("--refresh", action="store_true")
    p.add_argument("--kill", type=int, default=0,
                   help="setup: SIGKILL this pid as soon as each Allocate is answered")
    p.add_argument("--bind", action="store_true",
                   help="resume: ChannelBind first (the allocation had none)")
    p.add_argument("--no-channel", action="store_true",
                   help="setup: allocate only, no ChannelBind and no echo")
    p.add_argument("--timeout", type=float, default=2.0)
    a = p.parse_args()
    a.transport, a.peer, a.proto = "udp", "127.0.0.1", "udp"
    {"echo": cmd_echo, "setup": cmd_setup, "resume": cmd_resume,
     "release": cmd_release, "nonce": cmd_nonce, "alloc": cmd_alloc}[a.cmd](a)


if __name__ == "__main__":
    main()
