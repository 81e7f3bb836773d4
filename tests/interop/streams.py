#!/usr/bin/env python3
"""Stream connections that misbehave, or only sit there, for
tests/interop/stream_limits.sh.

  flood   open --count TCP connections from --bind and send nothing; report
          how many the server closed within --fast seconds (refused at
          once), then how many it closed by --wait seconds, and when the
          last of those went
  stall   a TLS connection that sends the first bytes of a ClientHello and
          no more: how long until the server closes it
  idle    a TCP connection that sends one Binding request, reads the
          answer and goes quiet: how long until the server closes it
  quiet   a TCP connection that allocates (long-term credentials), goes
          quiet for --quiet seconds, then refreshes the allocation: is it
          still open, and is the Refresh answered

Prints key=value lines, as stuntool.py does.
"""
import argparse
import os
import resource
import selectors
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from stuntool import build_binding, parse, read_stun  # noqa: E402
from tcprelay import REFRESH, LIFETIME, Turn, allocate, closed_within, emit  # noqa: E402


def cmd_flood(a):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    sel = selectors.DefaultSelector()
    opened = 0
    start = time.monotonic()
    for _ in range(a.count):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.bind((a.bind, 0))
        s.setblocking(False)
        try:
            s.connect((a.server, a.port))
        except BlockingIOError:
            pass
        except OSError:
            s.close()
            continue
        sel.register(s, selectors.EVENT_READ)
        opened += 1
    closed, fast, last = 0, None, None
    while closed < opened and time.monotonic() - start < a.wait:
        if fast is None and time.monotonic() - start >= a.fast:
            fast = closed
        for key, _ in sel.select(0.1):
            s = key.fileobj
            try:
                data = s.recv(1)
            except BlockingIOError:
                continue
            except OSError:
                data = b""
            if not data:
                sel.unregister(s)
                s.close()
                closed += 1
                last = time.monotonic() - start
    emit({"opened": opened, "closed_fast": closed if fast is None else fast,
          "closed": closed, "still_open": opened - closed,
          "last_closed_at": "%.1f" % last if last is not None else "none"})


def closed_after(s, wait):
    t = closed_within(s, wait)
    return "none" if t is None else "%.1f" % t


def cmd_stall(a):
    s = socket.create_connection((a.server, a.port), timeout=a.timeout)
    # a TLS record header and the start of a ClientHello, then nothing
    s.sendall(bytes.fromhex("160301020001000200030358"))
    emit({"closed_after": closed_after(s, a.wait)})


def cmd_idle(a):
    s = socket.create_connection((a.server, a.port), timeout=a.timeout)
    req, tid = build_binding()
    s.sendall(req)
    m = parse(read_stun(s, time.monotonic() + a.timeout))
    emit({"binding": "ok" if m and m["tid"] == tid else "none",
          "closed_after": closed_after(s, a.wait)})


def cmd_quiet(a):
    facts = {}
    t = Turn(a)
    if not allocate(t, facts):
        emit(facts)
        return
    time.sleep(a.quiet)
    try:
        cls, _, code, _ = t.request(REFRESH, [(LIFETIME, b"\0\0\x02\x58")])
        facts["refresh"] = "ok" if cls == 2 else code
    except (OSError, EOFError) as e:
        facts["refresh"] = "closed (%s)" % (e.__class__.__name__)
    emit(facts)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("cmd", choices=("flood", "stall", "idle", "quiet"))
    p.add_argument("--server", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--bind", default="127.0.0.1")
    p.add_argument("--count", type=int, default=5000)
    p.add_argument("--fast", type=float, default=2.0)
    p.add_argument("--wait", type=float, default=30.0)
    p.add_argument("--quiet", type=float, default=3.0)
    p.add_argument("--timeout", type=float, default=5.0)
    p.add_argument("--user", default="alice")
    p.add_argument("--password", default="secret")
    a = p.parse_args()
    a.proto, a.transport, a.peer = "tcp", "udp", "127.0.0.1"
    {"flood": cmd_flood, "stall": cmd_stall, "idle": cmd_idle, "quiet": cmd_quiet}[a.cmd](a)


if __name__ == "__main__":
    main()
