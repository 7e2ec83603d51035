#!/usr/bin/env python3
"""A purchase on a card in a PC/SC reader (pcscd), with the run() loop.

    python examples/python/pcsc_purchase.py --reader auto --amount 12.50
    python examples/python/pcsc_purchase.py --reader "=Virtual PCD 00 00" --wait 10

Try it without a card: `emv-terminal card serve --profile cda` puts the
simulated CDA card into pcscd's virtual reader. The PAN is printed masked;
the PIN (--pin) is never printed.
"""

import argparse
import sys

import emv_kernel


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reader", default="auto", help='"auto", "=EXACT NAME" or part of a name')
    parser.add_argument("--wait", type=float, default=10.0, help="seconds to wait for a card")
    parser.add_argument("--amount", default="12.50", help="amount in major units, e.g. 12.50")
    parser.add_argument("--capk", help="capk.txt with the CA keys (default: the test CA keys)")
    parser.add_argument("--pin", help="PIN digits for a card that asks for one")
    args = parser.parse_args()

    if args.capk:
        with open(args.capk, encoding="utf-8") as file:
            ca_keys = emv_kernel.CaKeys.from_capk_txt(file.read())
    else:
        ca_keys = emv_kernel.CaKeys.test_keys()

    with emv_kernel.PcscReader(args.reader, wait=args.wait) as reader:
        print(f"reader: {reader.name}, ATR {reader.atr.hex().upper()}")
        tx = emv_kernel.Transaction(ca_keys=ca_keys, amount=args.amount)
        outcome = tx.run(reader.transmit, pin=args.pin)

    print(f"outcome: {outcome.decision}", end="")
    if outcome.cryptogram_type:
        print(f" ({outcome.cryptogram_type})", end="")
    if outcome.termination_reason:
        print(f": {outcome.termination_reason} ({outcome.termination_message})", end="")
    print()
    print(f"card: {outcome.application_label} {outcome.masked_pan}")
    print(f"TVR {outcome.tvr_hex}  TSI {outcome.tsi_hex}  CVM results {outcome.cvm_results_hex}")
    return 0 if outcome.approved else 2


if __name__ == "__main__":
    sys.exit(main())
