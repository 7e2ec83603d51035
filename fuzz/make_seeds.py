#!/usr/bin/env python3
"""Writes the seed corpus of the `transaction` fuzz target from the committed
transcripts (kernel/benches/transcripts): each transcript unmutated (its mode
byte, with the host reachable and not), and each as a card of fuzzer bytes
(mode 7: every response with a 2-byte length). Rerun after the transcripts
change: `python3 fuzz/make_seeds.py`."""

import pathlib

root = pathlib.Path(__file__).resolve().parent
transcripts = ["dda", "cda", "no-oda", "cvm-offline-pin", "issuer-scripts", "sda", "xda"]
out = root / "corpus" / "transaction"
out.mkdir(parents=True, exist_ok=True)
for old in out.glob("seed-*"):
    old.unlink()
for index, name in enumerate(transcripts):
    text = (root.parent / "kernel" / "benches" / "transcripts" / f"{name}.txt").read_text()
    responses = [bytes.fromhex(line[2:]) for line in text.splitlines() if line.startswith("< ")]
    (out / f"seed-{name}").write_bytes(bytes([index]))
    (out / f"seed-{name}-host").write_bytes(bytes([index | 0x08]))
    # One flipped byte in the last response, as a shape for the mutator.
    (out / f"seed-{name}-flip").write_bytes(bytes([index, len(responses) - 1, 0, 4, 0x01]))
    raw = bytearray([7 | 0x08])
    for response in responses:
        raw += len(response).to_bytes(2, "big") + response
    (out / f"seed-{name}-raw").write_bytes(bytes(raw))

# The `oda` target: one well-formed plaintext per target, the harness fixing
# header, trailer, fields and hash (flags 0x07), with exponent 3 and 65537;
# and the same with nothing fixed.
oda = root / "corpus" / "oda"
oda.mkdir(parents=True, exist_ok=True)
for old in oda.glob("seed-*"):
    old.unlink()
issuer_key_bytes = 128  # issuer-1024 signs targets 1 and 2, icc-1024 target 3
seeds = {
    # Issuer certificate: 64-byte issuer modulus, all in the certificate.
    "issuer": bytes([0, 0x07, 0]) + bytes(12) + bytes([0x40]),
    # ICC certificate: 64-byte ICC modulus, static data "record".
    "icc": bytes([1, 0x07, 0]) + bytes(18) + bytes([0x40]) + b"\xbb" * (issuer_key_bytes - 22 - 19) + b"\x70\x03\x5a\x01\x00",
    # Signed Static Application Data: format 03, SHA-1, DAC DA01.
    "sda": bytes([2, 0x07, 0, 0x03, 0x01, 0xDA, 0x01]),
    # Signed Dynamic Application Data: format 05, ICC Dynamic Number 1234, DDOL data = UN.
    "dda": bytes([3, 0x07, 0, 0x05, 0x01, 0x03, 0x02, 0x12, 0x34]) + b"\xbb" * (issuer_key_bytes - 22 - 6) + bytes([0x11, 0x22, 0x33, 0x44]),
}
for name, seed in seeds.items():
    (oda / f"seed-{name}").write_bytes(seed)
    (oda / f"seed-{name}-e3").write_bytes(bytes([seed[0], seed[1] | 0x08]) + seed[2:])
    (oda / f"seed-{name}-raw").write_bytes(bytes([seed[0], 0x00]) + seed[2:])

# The `xda` target (fuzz_targets/xda.rs): each target with the harness
# writing the valid fields and signing (flags b0, b1, b3; b2 for P-521), and
# the same unsigned and flipped, so both sides of every check are seeds.
out = root / "corpus" / "xda"
out.mkdir(parents=True, exist_ok=True)
for old in out.glob("seed-*"):
    old.unlink()
issuer_fields = bytes(range(21)) + bytes(32) + bytes(64)
icc_fields = bytes(17) + bytes(32) + b"\x70\x03\x5a\x01\x67" * 8
response = bytes.fromhex("9F2701409F360200119F260800010203040506079F1006011110000000")
seeds = {
    "issuer-p256": bytes([0, 0x09]) + issuer_fields,
    "issuer-p521": bytes([0, 0x0D]) + issuer_fields,
    "issuer-unsigned": bytes([0, 0x01]) + issuer_fields,
    "issuer-flipped": bytes([0, 0x19]) + issuer_fields,
    "icc": bytes([1, 0x0B]) + icc_fields,
    "icc-wrong-hash": bytes([1, 0x09]) + icc_fields,
    "genac": bytes([2, 0x08]) + response,
    "genac-flipped": bytes([2, 0x18]) + response,
}
for name, seed in seeds.items():
    (out / f"seed-{name}").write_bytes(seed)
