"""A small RADIUS client for the tests: Access-Requests with PAP or MS-CHAPv2 (RFC 2865,
RFC 2548, RFC 2759) from a chosen source address, and the reply's attributes decoded.

radclient cannot choose its source address (FreeRADIUS knows a NAS by it) nor compute an
MS-CHAPv2 response, so the tests speak RADIUS themselves.
"""

from __future__ import annotations

import hashlib
import ipaddress
import os
import socket
import struct
from dataclasses import dataclass, field

from Crypto.Cipher import DES
from Crypto.Hash import MD4

ACCESS_REQUEST, ACCESS_ACCEPT, ACCESS_REJECT = 1, 2, 3
MICROSOFT, MIKROTIK, WISPR = 311, 14988, 14122
NAMES = {
    8: "Framed-IP-Address",
    18: "Reply-Message",
    27: "Session-Timeout",
    97: "Framed-IPv6-Prefix",
    123: "Delegated-IPv6-Prefix",
    (MIKROTIK, 3): "Mikrotik-Group",
    (MIKROTIK, 8): "Mikrotik-Rate-Limit",
    (MIKROTIK, 19): "Mikrotik-Address-List",
    (WISPR, 7): "WISPr-Bandwidth-Max-Up",
    (WISPR, 8): "WISPr-Bandwidth-Max-Down",
    (MICROSOFT, 26): "MS-CHAP2-Success",
}
INTEGERS = {27, (WISPR, 7), (WISPR, 8)}


@dataclass
class Reply:
    code: int
    attributes: dict[str, str] = field(default_factory=dict)

    @property
    def accepted(self) -> bool:
        return self.code == ACCESS_ACCEPT


def _attribute(kind: int, value: bytes) -> bytes:
    return struct.pack("BB", kind, len(value) + 2) + value


def _vendor(vendor: int, kind: int, value: bytes) -> bytes:
    return _attribute(26, struct.pack("!I", vendor) + _attribute(kind, value))


def _pap(password: str, secret: bytes, authenticator: bytes) -> bytes:
    plain = password.encode()
    plain += b"\0" * (-len(plain) % 16 or (16 if not plain else 0))
    out, last = b"", authenticator
    for i in range(0, len(plain), 16):
        key = hashlib.md5(secret + last).digest()
        last = bytes(a ^ b for a, b in zip(plain[i : i + 16], key, strict=True))
        out += last
    return out


def _des_key(seven: bytes) -> bytes:
    bits = int.from_bytes(seven, "big")
    return bytes((((bits >> (49 - 7 * i)) & 0x7F) << 1) for i in range(8))


def mschap2_response(username: str, password: str, auth_challenge: bytes, peer: bytes) -> bytes:
    """The 24-byte NT-Response of RFC 2759 section 8.1."""
    challenge = hashlib.sha1(peer + auth_challenge + username.encode()).digest()[:8]
    nt = MD4.new(password.encode("utf-16-le")).digest() + b"\0" * 5
    return b"".join(
        DES.new(_des_key(nt[i : i + 7]), DES.MODE_ECB).encrypt(challenge) for i in (0, 7, 14)
    )


def access_request(
    server: tuple[str, int],
    secret: str,
    username: str,
    password: str,
    *,
    method: str = "pap",
    source: str = "127.0.0.1",
    timeout: float = 2.0,
) -> Reply:
    """Send one Access-Request and decode the answer."""
    key = secret.encode()
    authenticator = os.urandom(16)
    identifier = os.urandom(1)[0]
    attrs = _attribute(1, username.encode()) + _attribute(4, socket.inet_aton(source))
    if method == "pap":
        attrs += _attribute(2, _pap(password, key, authenticator))
    else:
        auth_challenge, peer = os.urandom(16), os.urandom(16)
        response = mschap2_response(username, password, auth_challenge, peer)
        attrs += _vendor(MICROSOFT, 11, auth_challenge)
        attrs += _vendor(MICROSOFT, 25, bytes([identifier, 0]) + peer + b"\0" * 8 + response)
    packet = struct.pack("!BBH", ACCESS_REQUEST, identifier, 20 + len(attrs)) + authenticator
    packet += attrs
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((source, 0))
        sock.settimeout(timeout)
        sock.sendto(packet, server)
        data, _ = sock.recvfrom(4096)
    return _decode(data)


def _decode(data: bytes) -> Reply:
    reply = Reply(code=data[0])
    rest = data[20:]
    while rest:
        kind, length = rest[0], rest[1]
        value, rest = rest[2:length], rest[length:]
        if kind == 26:
            vendor = struct.unpack("!I", value[:4])[0]
            _store(reply, (vendor, value[4]), value[6 : 6 + value[5] - 2])
        else:
            _store(reply, kind, value)
    return reply


def _store(reply: Reply, key: int | tuple[int, int], value: bytes) -> None:
    name = NAMES.get(key)
    if name is None:
        return
    if key == 8:
        text = socket.inet_ntoa(value)
    elif key in (97, 123):
        length, prefix = value[1], value[2:] + b"\0" * (18 - len(value))
        text = f"{ipaddress.IPv6Address(prefix[:16])}/{length}"
    elif key in INTEGERS:
        text = str(struct.unpack("!I", value)[0])
    else:
        text = value.decode(errors="replace")
    reply.attributes[name] = text
