#!/usr/bin/env python3
"""Known-answer vectors for emv-host (host/src/symmetric.rs tests), computed
independently of the Rust code: DES and 3DES from OpenSSL through the
`cryptography` package (Debian python3-cryptography, installed by
scripts/install-deps.sh), SHA-1 from hashlib, and the EMV Book 2 steps
written here from the book's text.

    python3 host/vectors/host_vectors.py

prints the vectors the tests hold; rerun it after changing an input.
"""
import hashlib

try:
    from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
except ImportError:  # cryptography < 43
    from cryptography.hazmat.primitives.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives.ciphers import Cipher, modes


def ecb(key, block, decrypt=False):
    # Spelled out as three keys: K1 K2 K1 for a double-length key, K K K (single DES).
    key = key + key[:8] if len(key) == 16 else key * 3
    c = Cipher(TripleDES(key), modes.ECB())
    op = c.decryptor() if decrypt else c.encryptor()
    return op.update(block) + op.finalize()


def tdes(key16, block):
    return ecb(key16, block)


def xor(a, b):
    return bytes(x ^ y for x, y in zip(a, b))


def retail_mac(key16, data):
    """ISO/IEC 9797-1 MAC algorithm 3, padding method 2 (Book 2, A1.2.1)."""
    kl, kr = key16[:8], key16[8:]
    data = data + b"\x80"
    data += b"\x00" * (-len(data) % 8)
    state = bytes(8)
    for i in range(0, len(data), 8):
        state = ecb(kl, xor(state, data[i:i + 8]))
    return ecb(kl, ecb(kr, state, decrypt=True))


def digits_of(pan_hex, psn):
    return [int(c) for c in pan_hex if c.isdigit()] + [psn >> 4, psn & 0xF]


def from_y(imk, y):
    return tdes(imk, y) + tdes(imk, xor(y, b"\xff" * 8))


def option_a(imk, pan_hex, psn):
    d = digits_of(pan_hex, psn)
    d = ([0] * 16 + d)[-16:]
    return from_y(imk, bytes(d[i] * 16 + d[i + 1] for i in range(0, 16, 2)))


def option_b(imk, pan_hex, psn):
    d = digits_of(pan_hex, psn)
    if len(d) <= 16:
        return option_a(imk, pan_hex, psn)
    if len(d) % 2:
        d = [0] + d
    x = bytes(d[i] * 16 + d[i + 1] for i in range(0, len(d), 2))
    y = hashlib.sha1(x).hexdigest().upper()
    z = [c for c in y if c.isdigit()] + [str(int(c, 16) - 10) for c in y if not c.isdigit()]
    z = "".join(z[:16])
    return from_y(imk, bytes.fromhex(z))


def common_session_key(mk, r):
    """Book 2, A1.3.1."""
    f1 = r[:2] + b"\xf0" + r[3:]
    f2 = r[:2] + b"\x0f" + r[3:]
    return tdes(mk, f1) + tdes(mk, f2)


imk = bytes.fromhex("0123456789ABCDEFFEDCBA9876543210")
pan, psn = "5413330089600010", 0x01
mk_a = option_a(imk, pan, psn)
pan19 = "5413330089600010123"
mk_b = option_b(imk, pan19, psn)
atc, un = bytes.fromhex("0102"), bytes.fromhex("11223344")
sk_common = common_session_key(mk_a, atc + b"\x00\x00" + un)
sk_atc = common_session_key(mk_a, atc + bytes(6))
cdol1 = bytes.fromhex("000000001000000000000000097800000000000978250615001122334400")
arqc = retail_mac(sk_common, cdol1)[:8]
arpc1 = tdes(sk_common, xor(arqc, b"00" + bytes(6)))
csu, pad = bytes.fromhex("00820000"), bytes.fromhex("A1B2")
arpc2 = retail_mac(sk_common, arqc + csu + pad)[:4]

print("imk          ", imk.hex().upper())
print("option A     ", mk_a.hex().upper(), "PAN", pan, "PSN 01")
print("option B     ", mk_b.hex().upper(), "PAN", pan19, "PSN 01")
print("SK common    ", sk_common.hex().upper(), "ATC 0102 UN 11223344")
print("SK atc       ", sk_atc.hex().upper(), "ATC 0102")
print("cdol1        ", cdol1.hex().upper())
print("ARQC         ", arqc.hex().upper(), "(MAC under SK common over cdol1)")
print("ARPC method 1", arpc1.hex().upper(), "ARC 00")
print("ARPC method 2", arpc2.hex().upper(), "CSU 00820000 PAD A1B2")
