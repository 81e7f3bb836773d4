#!/usr/bin/python3
"""A WireGuard initiator written from the protocol, for the tunnel tests:
Debian's python3-nacl (X25519, ChaCha20-Poly1305, XChaCha20-Poly1305) and
hashlib's BLAKE2s, nothing shared with ternd's code.

  vector    print a handshake made from fixed keys (initiator, responder,
            ephemerals, preshared key, timestamp, indexes) as key=hex lines:
            the known answer tests/unit/test_tunnel.c checks ternd against
  rollover  against a running responder: handshake, then send a stream of
            pings (ICMP echo inside the tunnel) and re-handshake every
            --every seconds, sending each time one more packet under the
            previous session; report what came back
  replay    handshake, then send the same initiation again: answered or not
  unknown   an initiation from a key the responder does not know

Prints key=value lines, as stuntool.py does. Runs under /usr/bin/python3,
where Debian puts python3-nacl.
"""
import argparse
import base64
import hashlib
import hmac
import os
import socket
import struct
import sys
import time

from nacl.bindings import (crypto_aead_chacha20poly1305_ietf_decrypt,
                           crypto_aead_chacha20poly1305_ietf_encrypt,
                           crypto_aead_xchacha20poly1305_ietf_decrypt,
                           crypto_scalarmult, crypto_scalarmult_base)

CONSTRUCTION = b"Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s"
IDENTIFIER = b"WireGuard v1 zx2c4 Jason@zx2c4.com"


def HASH(*parts):
    return hashlib.blake2s(b"".join(parts)).digest()


def HMAC(key, data):
    return hmac.new(key, data, hashlib.blake2s).digest()


def MAC(key, data):
    return hashlib.blake2s(data, key=key, digest_size=16).digest()


def KDF(n, ck, data):
    t = HMAC(ck, data)
    out, prev = [], b""
    for i in range(1, n + 1):
        prev = HMAC(t, prev + bytes([i]))
        out.append(prev)
    return out


def AEAD(key, counter, plain, ad):
    return crypto_aead_chacha20poly1305_ietf_encrypt(plain, ad, b"\0" * 4 + struct.pack("<Q", counter), key)


def OPEN(key, counter, sealed, ad):
    return crypto_aead_chacha20poly1305_ietf_decrypt(sealed, ad, b"\0" * 4 + struct.pack("<Q", counter), key)


def tai64n(t=None):
    t = time.time() if t is None else t
    return struct.pack(">QI", 0x400000000000000A + int(t), int((t % 1) * 1e9))


class Session:
    def __init__(self, local, remote, send, recv):
        self.local, self.remote, self.send_key, self.recv_key = local, remote, send, recv
        self.counter = 0

    def seal(self, payload):
        pad = (-len(payload)) % 16
        c = self.counter
        self.counter += 1
        return struct.pack("<IIQ", 4, self.remote, c) + AEAD(self.send_key, c, payload + b"\0" * pad, None)

    def open(self, msg):
        _, _, counter = struct.unpack("<IIQ", msg[:16])
        return OPEN(self.recv_key, counter, msg[16:], None)


class Initiator:
    def __init__(self, priv, responder_pub, psk=b"\0" * 32):
        self.priv, self.pub = priv, crypto_scalarmult_base(priv)
        self.rpub, self.psk = responder_pub, psk
        self.cookie = None

    def initiation(self, sender, eph_priv=None, timestamp=None):
        e_priv = eph_priv or os.urandom(32)
        e_pub = crypto_scalarmult_base(e_priv)
        ck = HASH(CONSTRUCTION)
        h = HASH(HASH(ck, IDENTIFIER), self.rpub)
        h = HASH(h, e_pub)
        ck, = KDF(1, ck, e_pub)
        ck, k = KDF(2, ck, crypto_scalarmult(e_priv, self.rpub))
        enc_static = AEAD(k, 0, self.pub, h)
        h = HASH(h, enc_static)
        ck, k = KDF(2, ck, crypto_scalarmult(self.priv, self.rpub))
        enc_ts = AEAD(k, 0, timestamp or tai64n(), h)
        h = HASH(h, enc_ts)
        msg = struct.pack("<II", 1, sender) + e_pub + enc_static + enc_ts
        msg += MAC(HASH(b"mac1----", self.rpub), msg)
        msg += MAC(self.cookie, msg) if self.cookie else b"\0" * 16
        self.state = (sender, e_priv, ck, h, msg[116:132])
        return msg

    def take_cookie(self, reply):
        """A cookie reply to our last initiation: keep its cookie for mac2."""
        key = HASH(b"cookie--", self.rpub)
        self.cookie = crypto_aead_xchacha20poly1305_ietf_decrypt(reply[32:64], self.state[4], reply[8:32], key)

    def response(self, msg):
        sender, e_priv, ck, h, _ = self.state
        t, their, mine = struct.unpack("<III", msg[:12])
        assert t == 2 and mine == sender, "not a response to us"
        assert msg[60:76] == MAC(HASH(b"mac1----", self.pub), msg[:60]), "bad mac1"
        e_r = msg[12:44]
        h = HASH(h, e_r)
        ck, = KDF(1, ck, e_r)
        ck, = KDF(1, ck, crypto_scalarmult(e_priv, e_r))
        ck, = KDF(1, ck, crypto_scalarmult(self.priv, e_r))
        ck, tau, k = KDF(3, ck, self.psk)
        h = HASH(h, tau)
        OPEN(k, 0, msg[44:60], h)
        send, recv = KDF(2, ck, b"")
        return Session(sender, their, send, recv)


def icmp_echo(src, dst, ident, seq):
    """An IPv4 ICMP echo request, checksums and all."""
    def csum(b):
        b += b"\0" * (len(b) % 2)
        s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
        while s >> 16:
            s = (s & 0xFFFF) + (s >> 16)
        return ~s & 0xFFFF
    body = struct.pack("!BBHHH", 8, 0, 0, ident, seq) + b"tern" * 8
    body = body[:2] + struct.pack("!H", csum(body)) + body[4:]
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(body), seq, 0, 64, 1, 0,
                      socket.inet_aton(src), socket.inet_aton(dst))
    hdr = hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:]
    return hdr + body


def key(s):
    return base64.b64decode(s)


def cmd_vector(a):
    ri = bytes(range(1, 33))          # the initiator's private key
    rr = bytes(range(33, 65))         # the responder's
    ei = bytes(range(65, 97))         # the initiator's ephemeral
    er = bytes(range(97, 129))        # the responder's
    psk = bytes([0x77]) * 32
    ini = Initiator(ri, crypto_scalarmult_base(rr), psk)
    msg = ini.initiation(0x11223344, ei, struct.pack(">QI", 0x400000000000000A + 1700000000, 123456789))
    # the responder's side, by the same hand, to print what ternd must send
    e_r = crypto_scalarmult_base(er)
    _, _, ck, h, _ = ini.state
    resp = struct.pack("<III", 2, 0x55667788, 0x11223344) + e_r
    h = HASH(h, e_r)
    ck, = KDF(1, ck, e_r)
    ck, = KDF(1, ck, crypto_scalarmult(er, msg[8:40]))
    ck, = KDF(1, ck, crypto_scalarmult(er, ini.pub))
    ck, tau, k = KDF(3, ck, psk)
    h = HASH(h, tau)
    resp += AEAD(k, 0, b"", h)
    resp += MAC(HASH(b"mac1----", ini.pub), resp) + b"\0" * 16
    s = ini.response(resp)
    for name, v in (("initiator_private", ri), ("responder_private", rr), ("initiator_ephemeral", ei),
                    ("responder_ephemeral", er), ("psk", psk), ("initiation", msg), ("response", resp),
                    ("initiator_send", s.send_key), ("initiator_recv", s.recv_key)):
        print("%s=%s" % (name, v.hex()))


class Link:
    def __init__(self, a):
        self.s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.s.connect((a.server, a.port))
        self.s.settimeout(a.timeout)
        self.ini = Initiator(key(a.private), key(a.server_key))
        self.sender = 1000

    def handshake(self):
        self.sender += 1
        self.s.send(self.ini.initiation(self.sender))
        while True:
            m = self.s.recv(2048)
            if m[0] == 3:
                self.ini.take_cookie(m)
                self.s.send(self.ini.initiation(self.sender))
            elif m[0] == 2:
                return self.ini.response(m)

    def recv_data(self, sessions, deadline):
        """Data messages until deadline: (payloads opened, keepalives)."""
        got, keepalives = [], 0
        while time.monotonic() < deadline:
            self.s.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                m = self.s.recv(2048)
            except socket.timeout:
                break
            if m[0] != 4:
                continue
            idx = struct.unpack("<I", m[4:8])[0]
            for s in sessions:
                if s.local == idx:
                    p = s.open(m)
                    if p:
                        got.append(p)
                    else:
                        keepalives += 1
        return got, keepalives


def cmd_rollover(a):
    link = Link(a)
    sessions, sent, answered, seq = [], 0, 0, 0
    start = time.monotonic()
    while time.monotonic() - start < a.seconds:
        s = link.handshake()
        s_prev = sessions[-1] if sessions else None
        sessions.append(s)
        # confirm the new session with a keepalive, as an initiator does
        link.s.send(s.seal(b""))
        # and one packet sealed under the previous keys, already in flight
        if s_prev:
            seq += 1
            link.s.send(s_prev.seal(icmp_echo(a.src, a.dst, 7, seq)))
            sent += 1
        until = time.monotonic() + a.every
        while time.monotonic() < until:
            seq += 1
            link.s.send(s.seal(icmp_echo(a.src, a.dst, 7, seq)))
            sent += 1
            got, _ = link.recv_data(sessions, time.monotonic() + a.interval)
            answered += len(got)
    got, _ = link.recv_data(sessions, time.monotonic() + 1)
    answered += len(got)
    # the oldest session: retired once the responder holds 8 newer ones
    oldest = sessions[0]
    seq += 1
    link.s.send(oldest.seal(icmp_echo(a.src, a.dst, 7, seq)))
    late, _ = link.recv_data(sessions, time.monotonic() + 1)
    print("handshakes=%d sent=%d answered=%d oldest_answered=%d" % (
        len(sessions), sent, answered, len(late)))


def cmd_replay(a):
    link = Link(a)
    link.sender += 1
    msg = link.ini.initiation(link.sender)
    link.s.send(msg)
    try:
        first = link.s.recv(2048)
    except socket.timeout:
        print("first=none")
        return
    if a.save:
        with open(a.save, "w") as f:
            f.write(msg.hex())
    time.sleep(0.1)  # past the 50-a-second flood limit: only the timestamp can stop it
    link.s.send(msg)
    try:
        second = link.s.recv(2048)
        again = "answered" if second[0] == 2 else "type%d" % second[0]
    except socket.timeout:
        again = "none"
    print("first=%s again=%s" % ("response" if first[0] == 2 else "other", again))


def cmd_resend(a):
    """Send an initiation saved by replay --save again: answered or not."""
    link = Link(a)
    with open(a.file) as f:
        link.s.send(bytes.fromhex(f.read().strip()))
    try:
        m = link.s.recv(2048)
        print("answer=%s" % ("response" if m[0] == 2 else "type%d" % m[0]))
    except socket.timeout:
        print("answer=none")


def cmd_unknown(a):
    """--count initiations, each from a new random key, then wait for answers."""
    link = Link(a)
    for i in range(a.count):
        link.ini = Initiator(os.urandom(32), key(a.server_key))
        link.s.send(link.ini.initiation(7 + i))
    answers = 0
    try:
        while True:
            link.s.recv(2048)
            answers += 1
    except socket.timeout:
        pass
    print("answer=none" if answers == 0 else "answers=%d" % answers)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("cmd", choices=("vector", "rollover", "replay", "resend", "unknown"))
    p.add_argument("--server", default="127.0.0.1")
    p.add_argument("--port", type=int, default=51820)
    p.add_argument("--private", help="our private key, base64")
    p.add_argument("--server-key", help="the responder's public key, base64")
    p.add_argument("--src", default="10.9.0.2", help="our tunnel address")
    p.add_argument("--dst", default="10.9.0.1", help="whom we ping through the tunnel")
    p.add_argument("--seconds", type=float, default=20)
    p.add_argument("--every", type=float, default=2)
    p.add_argument("--interval", type=float, default=0.05)
    p.add_argument("--timeout", type=float, default=3)
    p.add_argument("--save", help="replay: write the initiation here, in hex")
    p.add_argument("--file", help="resend: the initiation to send")
    p.add_argument("--count", type=int, default=1, help="unknown: initiations")
    a = p.parse_args()
    {"vector": cmd_vector, "rollover": cmd_rollover, "replay": cmd_replay,
     "resend": cmd_resend, "unknown": cmd_unknown}[a.cmd](a)


if __name__ == "__main__":
    main()
