#!/usr/bin/env python3
"""A purchase on a simulated card, driven request by request.

    python examples/python/purchase.py                      # 12.50 on the CDA card
    python examples/python/purchase.py --profile cvm-offline-pin --pin 1234
    python examples/python/purchase.py --profile card-online   # goes online to the test issuer

Prints each command the kernel sends (commands carry no card data) with the
card's status word, then the outcome. The PAN is printed masked; the PIN is
never printed.
"""

import argparse
import sys

import emv_kernel


def shown(apdu: bytes) -> str:
    """A command in hex, without the PIN block of VERIFY (INS 20)."""
    if len(apdu) > 5 and apdu[1] == 0x20:
        return f"{apdu[:5].hex().upper()} (PIN block withheld)"
    return apdu.hex().upper()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="cda", help="simulated card (see emv_kernel.profiles())")
    parser.add_argument("--amount", default="12.50", help="amount in major units, e.g. 12.50")
    parser.add_argument("--pin", help="PIN digits for a card that asks for one")
    args = parser.parse_args()

    card = emv_kernel.SimulatedCard(args.profile)
    tx = emv_kernel.Transaction(ca_keys=emv_kernel.CaKeys.test_keys(), amount=args.amount)
    while True:
        request = tx.request()
        if isinstance(request, emv_kernel.Transmit):
            response = card.transmit(request.apdu)
            print(f"[{tx.step}] {shown(request.apdu)} -> SW {response[-2:].hex().upper()}")
            tx.on_response(response)
        elif isinstance(request, emv_kernel.ChooseApplication):
            print(f"choose: {', '.join(c.label for c in request.candidates)}; taking the first")
            tx.on_application_chosen(0)
        elif isinstance(request, emv_kernel.EnterPin):
            print(f"PIN asked ({request.kind}, tries left: {request.tries_left})")
            if args.pin is None:
                tx.on_pin_bypassed()
            else:
                tx.on_pin(args.pin)
        elif isinstance(request, emv_kernel.RecentAmount):
            tx.on_recent_amount(0)  # this example keeps no transaction log
        elif isinstance(request, emv_kernel.GoOnline):
            print(f"online: {len(request.icc_data)} bytes of ICC data to the test issuer")
            tx.on_host(card.authorise(request.icc_data, approve=True))
        elif isinstance(request, emv_kernel.IssuerReferral):
            # Book 4, 6.5.2: an attendant would call the issuer; nobody here.
            print(f"issuer referral (ARC {request.authorisation_response_code}): declined")
            tx.on_referral(False)
        else:
            outcome = request.outcome
            break

    print(f"outcome: {outcome.decision}", end="")
    if outcome.cryptogram_type:
        print(f" ({outcome.cryptogram_type})", end="")
    if outcome.termination_reason:
        print(f": {outcome.termination_reason} ({outcome.termination_message})", end="")
    print()
    print(f"card: {outcome.application_label} {outcome.masked_pan}")
    print(f"TVR {outcome.tvr_hex}  TSI {outcome.tsi_hex}  CVM results {outcome.cvm_results_hex}")
    print(f"ICC data: {outcome.icc_data_hex}")
    return 0 if outcome.approved else 2


if __name__ == "__main__":
    sys.exit(main())
