#!/usr/bin/env python3
"""A raw STUN client for the interop tests (Python standard library only).

Each subcommand does one exchange and prints what it saw as key=value lines,
so the shell scripts compare values instead of parsing STUN. Addresses print
as ip:port, IPv6 as [ip]:port, the same way for "local", "from" and every
address attribute, so the scripts can compare them as strings.

  binding  one or more Binding requests over udp, tcp or tls
  garbage  send bytes that are not STUN over udp, report any reply
  load     N Binding requests one after another over udp, count answers
  http     GET a URL: status, content type, body
  metric   sum of a Prometheus counter's samples whose labels match
  tls11    can this machine's TLS library speak TLS 1.1 at all?
"""
import argparse
import os
import re
import select
import socket
import ssl
import struct
import sys
import threading
import time
import urllib.error
import urllib.request
import warnings
import zlib

MAGIC = 0x2112A442
FP_XOR = 0x5354554E
BINDING_REQUEST = 0x0001
BINDING_SUCCESS = 0x0101
BINDING_ERROR = 0x0111

MAPPED_ADDRESS = 0x0001
CHANGE_REQUEST = 0x0003
RESPONSE_PORT = 0x0027
ERROR_CODE = 0x0009
UNKNOWN_ATTRIBUTES = 0x000A
XOR_MAPPED_ADDRESS = 0x0020
SOFTWARE = 0x8022
FINGERPRINT = 0x8028
RESPONSE_ORIGIN = 0x802B
OTHER_ADDRESS = 0x802C


def fmt_addr(ip, port):
    return "[%s]:%d" % (ip, port) if ":" in ip else "%s:%d" % (ip, port)


def text(b):
    """Printable one-line text from attribute bytes (trailing NULs dropped)."""
    t = b.rstrip(b"\0").decode("utf-8", "replace")
    return "".join(c if c.isprintable() else "?" for c in t)


def fmt_sockaddr(sa):
    return fmt_addr(sa[0], sa[1])


# ---- encoding ---------------------------------------------------------------

def attr(t, value):
    pad = (4 - len(value) % 4) % 4
    return struct.pack("!HH", t, len(value)) + value + b"\0" * pad


def fingerprint_of(msg_without_fp):
    """FINGERPRINT over msg, whose header length already counts the 8 bytes."""
    return (zlib.crc32(msg_without_fp) & 0xFFFFFFFF) ^ FP_XOR


def build_binding(classic=False, fingerprint=False, change=0, software=None,
                  response_port=None):
    """A Binding request. classic: RFC 3489, a 16-byte transaction id and no
    magic cookie. Returns (bytes, 16-byte cookie+tid as sent)."""
    if classic:
        tid = b"\x00" + os.urandom(15)  # byte 0 zero: never the magic cookie
    else:
        tid = struct.pack("!I", MAGIC) + os.urandom(12)
    body = b""
    if change:
        body += attr(CHANGE_REQUEST, struct.pack("!I", change))
    if response_port is not None:  # RFC 5780 s7.5: port, then 2 bytes padding
        body += attr(RESPONSE_PORT, struct.pack("!HH", response_port, 0))
    if software:
        body += attr(SOFTWARE, software.encode())
    if fingerprint:
        hdr = struct.pack("!HH", BINDING_REQUEST, len(body) + 8) + tid
        crc = fingerprint_of(hdr + body)
        body += attr(FINGERPRINT, struct.pack("!I", crc))
    return struct.pack("!HH", BINDING_REQUEST, len(body)) + tid + body, tid


# ---- decoding ---------------------------------------------------------------

def parse(msg):
    """Header and attribute list of one STUN message, or None if malformed."""
    if len(msg) < 20:
        return None
    mtype, mlen = struct.unpack("!HH", msg[:4])
    if mtype & 0xC000 or mlen % 4 or 20 + mlen != len(msg):
        return None
    attrs, off = [], 20
    while off < len(msg):
        if off + 4 > len(msg):
            return None
        t, ln = struct.unpack("!HH", msg[off:off + 4])
        if off + 4 + ln > len(msg):
            return None
        attrs.append((t, msg[off + 4:off + 4 + ln], off))
        off += 4 + ln + (4 - ln % 4) % 4
    if off != len(msg):
        return None
    return {"type": mtype, "tid": msg[4:20], "attrs": attrs, "raw": msg}


def decode_addr(value, xor_with=None):
    """(ip, port) from a (XOR-)MAPPED-ADDRESS style value. xor_with is the
    16 bytes cookie+tid for the XOR form."""
    if len(value) < 4:
        return None
    family, port = value[1], struct.unpack("!H", value[2:4])[0]
    raw = value[4:]
    if xor_with is not None:
        port ^= MAGIC >> 16
        raw = bytes(a ^ b for a, b in zip(raw, xor_with))
    if family == 1 and len(raw) == 4:
        return socket.inet_ntop(socket.AF_INET, raw), port
    if family == 2 and len(raw) == 16:
        return socket.inet_ntop(socket.AF_INET6, raw), port
    return None


def describe(msg, sent_tid, prefix=""):
    """key=value facts about one response."""
    out = {}
    m = parse(msg)
    if m is None:
        return {prefix + "result": "malformed", prefix + "length": str(len(msg))}
    out["result"] = "ok"
    out["length"] = str(len(msg))
    cls = {BINDING_SUCCESS: "success", BINDING_ERROR: "error"}
    out["class"] = cls.get(m["type"], "type-0x%04x" % m["type"])
    out["cookie"] = "yes" if m["tid"][:4] == struct.pack("!I", MAGIC) else "no"
    out["tid_match"] = "yes" if m["tid"] == sent_tid else "no"
    out["fingerprint"] = "absent"
    names = {MAPPED_ADDRESS: "mapped", XOR_MAPPED_ADDRESS: "xor_mapped",
             RESPONSE_ORIGIN: "response_origin", OTHER_ADDRESS: "other_address"}
    for t, v, off in m["attrs"]:
        if t in names:
            a = decode_addr(v, m["tid"] if t == XOR_MAPPED_ADDRESS else None)
            out[names[t]] = fmt_addr(*a) if a else "undecodable"
        elif t == ERROR_CODE and len(v) >= 4:
            out["error_code"] = str((v[2] & 7) * 100 + v[3])
            out["error_reason"] = text(v[4:])
        elif t == UNKNOWN_ATTRIBUTES:
            out["unknown"] = ",".join("0x%04x" % x for x in
                                      struct.unpack("!%dH" % (len(v) // 2), v[:len(v) // 2 * 2]))
        elif t == SOFTWARE:
            out["software"] = text(v)
        elif t == FINGERPRINT:
            # RFC 8489 s14.7: CRC over everything before the attribute, with
            # the header length as sent (it counts the FINGERPRINT itself).
            ok = (len(v) == 4 and off == len(msg) - 8 and
                  struct.unpack("!I", v)[0] == fingerprint_of(msg[:off]))
            out["fingerprint"] = "ok" if ok else "bad"
    return {prefix + k: val for k, val in out.items()}


def emit(facts):
    for k, v in facts.items():
        print("%s=%s" % (k, v))
    sys.stdout.flush()


# ---- transports -------------------------------------------------------------

def family_of(host):
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def source_for(server, port):
    """The local address the kernel would send from to reach server; the
    socket is bound to it so "local" is the exact address the server sees."""
    probe = socket.socket(family_of(server), socket.SOCK_DGRAM)
    probe.connect((server, port))
    ip = probe.getsockname()[0]
    probe.close()
    return ip


def udp_exchange(a, req, tid, other=None):
    """Send req from a fresh socket s; the answer may come back to s or, with
    RESPONSE-PORT, to the socket other. "arrived" says which one got it."""
    s = socket.socket(family_of(a.server), socket.SOCK_DGRAM)
    # unconnected: a CHANGE-REQUEST answer comes from another address
    s.bind((a.bind or source_for(a.server, a.port), 0))
    s.sendto(req, (a.server, a.port))
    facts = {"local": fmt_sockaddr(s.getsockname())}
    socks = {s: "source-port"}
    if other is not None:
        socks[other] = "response-port"
    ready, _, _ = select.select(list(socks), [], [], a.timeout)
    if not ready:
        facts["result"] = "timeout"
        return facts
    data, src = ready[0].recvfrom(65536)
    facts["arrived"] = socks[ready[0]]
    facts["from"] = fmt_sockaddr(src)
    facts.update(describe(data, tid))
    return facts


def read_stun(sock, deadline):
    """One framed STUN message from a stream (RFC 8489 s6.2.2)."""
    buf = b""
    need = 20
    while len(buf) < need:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        chunk = sock.recv(need - len(buf))
        if not chunk:
            raise EOFError("connection closed after %d bytes" % len(buf))
        buf += chunk
        if len(buf) >= 4 and need == 20:
            need = 20 + struct.unpack("!H", buf[2:4])[0]
    return buf


def stream_connect(a):
    s = socket.create_connection((a.server, a.port), timeout=a.timeout,
                                 source_address=(a.bind, 0) if a.bind else None)
    facts = {"local": fmt_sockaddr(s.getsockname()), "from": fmt_sockaddr(s.getpeername())}
    if a.proto != "tls":
        return s, facts
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if a.cafile:
        ctx.load_verify_locations(a.cafile)
    else:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    versions = {"1.0": ssl.TLSVersion.TLSv1, "1.1": ssl.TLSVersion.TLSv1_1,
                "1.2": ssl.TLSVersion.TLSv1_2, "1.3": ssl.TLSVersion.TLSv1_3}
    if a.tls_min:
        ctx.minimum_version = versions[a.tls_min]
    if a.tls_max:
        ctx.maximum_version = versions[a.tls_max]
    if a.tls_min in ("1.0", "1.1"):
        ctx.set_ciphers("DEFAULT:@SECLEVEL=0")  # let OpenSSL 3 offer them
    t = ctx.wrap_socket(s, server_hostname=a.sni)
    facts["tls_version"] = t.version()
    facts["tls_cipher"] = t.cipher()[0]
    return t, facts


def stream_exchange(a, reqs):
    try:
        s, facts = stream_connect(a)
    except (ssl.SSLError, OSError) as e:
        return {"result": "connect-failed", "tls_error": str(e).replace("\n", " ")}
    try:
        wire = b"".join(r for r, _ in reqs)
        if a.write == "together":
            s.sendall(wire)
        elif a.write == "split":
            # every request cut in two, the pieces written 100 ms apart
            for r, _ in reqs:
                s.sendall(r[:7])
                time.sleep(0.1)
                s.sendall(r[7:])
        else:  # bytewise
            for i in range(len(wire)):
                s.sendall(wire[i:i + 1])
                time.sleep(0.002)
        deadline = time.monotonic() + a.timeout
        got = [read_stun(s, deadline) for _ in reqs]
    except (socket.timeout, EOFError, OSError) as e:
        facts["result"] = "timeout" if isinstance(e, socket.timeout) else "closed"
        facts["detail"] = str(e)
        return facts
    finally:
        s.close()
    return merge(facts, got, [t for _, t in reqs])


def merge(facts, got, tids):
    """One response: its facts. Several: facts of the first plus whether
    every response matched a request and carried the same mapped address."""
    first = describe(got[0], tids[0])
    facts.update(first)
    if len(got) > 1:
        seen = [parse(g)["tid"] if parse(g) else None for g in got]
        facts["responses"] = str(len(got))
        facts["tids_match"] = "yes" if set(seen) == set(tids) else "no"
        xm = {describe(g, None).get("xor_mapped") for g in got}
        facts["xor_mapped_all"] = xm.pop() if len(xm) == 1 else "differ"
    return facts


def cmd_binding(a):
    change = {"": 0, "ip": 4, "port": 2, "ipport": 6}[a.change]
    other, rport = None, None
    if a.response_port:
        other = socket.socket(family_of(a.server), socket.SOCK_DGRAM)
        other.bind((a.bind or source_for(a.server, a.port), 0))
        rport = other.getsockname()[1]
    reqs = [build_binding(a.classic, a.fingerprint, change, a.software, rport)
            for _ in range(a.count)]
    if a.proto == "udp":
        facts = udp_exchange(a, *reqs[0], other)
        if rport is not None:
            facts["response_port"] = str(rport)
        emit(facts)
    else:
        emit(stream_exchange(a, reqs))


def cmd_garbage(a):
    s = socket.socket(family_of(a.server), socket.SOCK_DGRAM)
    s.settimeout(a.timeout)
    s.sendto(bytes.fromhex(a.hex), (a.server, a.port))
    try:
        data, _ = s.recvfrom(65536)
        emit({"reply": str(len(data))})
    except socket.timeout:
        emit({"reply": "none"})


def cmd_load(a):
    s = socket.socket(family_of(a.server), socket.SOCK_DGRAM)
    s.settimeout(a.timeout)
    got = 0
    for _ in range(a.n):
        req, tid = build_binding()
        s.sendto(req, (a.server, a.port))
        try:
            while True:
                data, _ = s.recvfrom(65536)
                if data[4:20] == tid:
                    got += 1
                    break
        except socket.timeout:
            pass
    emit({"sent": a.n, "received": got})


def cmd_http(a):
    try:
        with urllib.request.urlopen(a.url, timeout=a.timeout) as r:
            status, ctype, body = r.status, r.headers.get("Content-Type", ""), r.read()
    except urllib.error.HTTPError as e:
        status, ctype, body = e.code, e.headers.get("Content-Type", ""), e.read()
    except (urllib.error.URLError, OSError) as e:
        emit({"status": "none", "detail": str(e)})
        return
    if a.body:
        with open(a.body, "wb") as f:
            f.write(body)
    emit({"status": status, "content_type": ctype,
          "body": text(body[:200].strip().replace(b"\n", b"|"))})


SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)')
LABEL = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*,?')


def cmd_metric(a):
    """Sum every sample of a.name whose labels include all --label k=v.
    Prints "absent" when no sample matches (a lazily created counter)."""
    want = dict(kv.split("=", 1) for kv in a.label)
    total, found = 0.0, False
    with open(a.file, encoding="utf-8", errors="replace") as f:
        for line in f:
            m = SAMPLE.match(line.strip())
            if not m or m.group(1) != a.name:
                continue
            labels = dict(LABEL.findall(m.group(3) or ""))
            if all(labels.get(k) == v for k, v in want.items()):
                total += float(m.group(4))
                found = True
    print(("%d" % total if total == int(total) else repr(total)) if found else "absent")


def cmd_tls11(a):
    """Start an in-process TLS 1.1 server and connect to it with TLS 1.1. If
    that fails the local library cannot offer 1.1, so a server refusing 1.1
    proves nothing."""
    srv = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    srv.load_cert_chain(a.cert, a.key)
    cli = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    cli.check_hostname, cli.verify_mode = False, ssl.CERT_NONE
    for c in (srv, cli):
        c.minimum_version = c.maximum_version = ssl.TLSVersion.TLSv1_1
        c.set_ciphers("DEFAULT:@SECLEVEL=0")
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(1)
    ls.settimeout(5)

    def serve():
        try:
            conn, _ = ls.accept()
            srv.wrap_socket(conn, server_side=True).close()
        except (OSError, ssl.SSLError):
            pass

    th = threading.Thread(target=serve, daemon=True)
    th.start()
    try:
        c = socket.create_connection(ls.getsockname(), timeout=5)
        t = cli.wrap_socket(c)
        emit({"capable": "yes" if t.version() == "TLSv1.1" else "no"})
        t.close()
    except (OSError, ssl.SSLError) as e:
        emit({"capable": "no", "detail": str(e)})
    th.join(5)


def main():
    warnings.filterwarnings("ignore", category=DeprecationWarning)  # TLS 1.0/1.1
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)

    def server_args(sp):
        sp.add_argument("--server", required=True)
        sp.add_argument("--port", type=int, required=True)
        sp.add_argument("--timeout", type=float, default=3.0)

    b = sub.add_parser("binding")
    server_args(b)
    b.add_argument("--proto", choices=("udp", "tcp", "tls"), default="udp")
    b.add_argument("--bind", help="local address to send from")
    b.add_argument("--fingerprint", action="store_true")
    b.add_argument("--classic", action="store_true", help="RFC 3489: no magic cookie")
    b.add_argument("--change", choices=("", "ip", "port", "ipport"), default="")
    b.add_argument("--software")
    b.add_argument("--response-port", action="store_true",
                   help="ask for the answer on a second socket (RFC 5780 s7.5)")
    b.add_argument("--count", type=int, default=1, help="requests on one stream")
    b.add_argument("--write", choices=("together", "split", "bytewise"), default="together")
    b.add_argument("--cafile")
    b.add_argument("--sni", default="localhost")
    b.add_argument("--tls-min", choices=("1.0", "1.1", "1.2", "1.3"))
    b.add_argument("--tls-max", choices=("1.0", "1.1", "1.2", "1.3"))
    b.set_defaults(fn=cmd_binding)

    g = sub.add_parser("garbage")
    server_args(g)
    g.add_argument("--hex", required=True)
    g.set_defaults(fn=cmd_garbage)

    lo = sub.add_parser("load")
    server_args(lo)
    lo.add_argument("-n", type=int, required=True)
    lo.set_defaults(fn=cmd_load)

    h = sub.add_parser("http")
    h.add_argument("url")
    h.add_argument("--body")
    h.add_argument("--timeout", type=float, default=3.0)
    h.set_defaults(fn=cmd_http)

    m = sub.add_parser("metric")
    m.add_argument("--file", required=True)
    m.add_argument("--name", required=True)
    m.add_argument("--label", action="append", default=[])
    m.set_defaults(fn=cmd_metric)

    t = sub.add_parser("tls11")
    t.add_argument("--cert", required=True)
    t.add_argument("--key", required=True)
    t.set_defaults(fn=cmd_tls11)

    a = p.parse_args()
    a.fn(a)


if __name__ == "__main__":
    main()
