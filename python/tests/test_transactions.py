"""Transactions on the simulated cards, through the request loop and the
run() convenience: the outcomes the profiles document (test-cards/PROFILES.md)."""

import datetime

import pytest

import emv_kernel
from emv_kernel import (
    ChooseApplication,
    Done,
    EnterPin,
    GoOnline,
    HostResponse,
    RecentAmount,
    SimulatedCard,
    Transaction,
    Transmit,
    UsageError,
)


def test_approved_offline_cda_purchase_of_12_50(ca_keys):
    card = SimulatedCard("cda")
    tx = Transaction(ca_keys=ca_keys, amount="12.50", currency=978)
    outcome = tx.run(card.transmit)
    assert outcome.decision == "approved"
    assert outcome.approved
    assert outcome.cryptogram_type == "TC"
    assert outcome.oda_method == "cda"
    assert outcome.oda_result == "succeeded"
    assert outcome.termination_reason is None
    assert outcome.tvr == bytes(5) and outcome.tvr_hex == "0000000000"
    assert outcome.tsi_hex == outcome.tsi.hex().upper()
    assert len(outcome.cvm_results) == 3
    assert outcome.masked_pan == "679999******0318"
    assert len(outcome.cryptogram) == 8
    # Field 55 carries the amount and the unpredictable number this layer drew.
    fields = {n["tag"]: n["data"] for n in emv_kernel.decode(outcome.icc_data)}
    assert fields["9F02"] == bytes.fromhex("000000001250")
    assert fields["9F37"] == tx.unpredictable_number
    assert fields["9F26"] == outcome.cryptogram
    assert tx.done and tx.outcome.decision == "approved"


def test_request_loop_by_hand(ca_keys):
    card = SimulatedCard("cda")
    tx = Transaction(
        ca_keys=ca_keys,
        amount=1250,
        date=datetime.date(2026, 12, 2),
        time="101500",
        unpredictable_number=bytes.fromhex("0A1B2C3D"),
        random_selection_number=50,
    )
    commands = []
    while True:
        request = tx.request()
        if isinstance(request, Done):
            break
        if isinstance(request, RecentAmount):
            tx.on_recent_amount(0)  # no transaction log
            continue
        assert isinstance(request, Transmit), request
        commands.append(request.apdu)
        tx.on_response(card.transmit(request.apdu))
    assert request.outcome.decision == "approved"
    assert commands[0].hex().upper() == "00A404000E315041592E5359532E444446303100"
    assert any(c[:2] == b"\x80\xae" for c in commands)
    fields = {n["tag"]: n["data"] for n in emv_kernel.decode(request.outcome.icc_data)}
    assert fields["9A"] == bytes.fromhex("261202")
    assert fields["9F37"] == bytes.fromhex("0A1B2C3D")


def test_unpredictable_numbers_are_drawn_fresh(ca_keys):
    drawn = {Transaction(ca_keys=ca_keys, amount=100).unpredictable_number for _ in range(8)}
    assert len(drawn) == 8
    assert all(len(n) == 4 for n in drawn)


def test_offline_pin_card(ca_keys):
    card = SimulatedCard("cvm-offline-pin")
    asked = []

    def pin(request: EnterPin):
        asked.append((request.kind, request.tries_left))
        return "1234"

    outcome = Transaction(ca_keys=ca_keys, amount="10.00").run(card.transmit, pin=pin)
    assert asked and asked[0][0] == "offline_plaintext"
    assert outcome.cvm_results_hex == "010002"
    assert outcome.cryptogram_type == "TC"
    assert outcome.approved


def test_wrong_pin_counts_down(ca_keys):
    card = SimulatedCard("cvm-offline-pin")
    tries = []

    def pin(request: EnterPin):
        tries.append(request.tries_left)
        return "9999" if len(tries) == 1 else "1234"

    outcome = Transaction(ca_keys=ca_keys, amount="10.00").run(card.transmit, pin=pin)
    assert len(tries) == 2
    assert outcome.cvm_results_hex == "010002"


def test_enciphered_pin_card(ca_keys):
    card = SimulatedCard("cvm-enciphered-pin")
    outcome = Transaction(ca_keys=ca_keys, amount="10.00").run(card.transmit, pin=b"1234")
    assert outcome.cvm_results_hex == "040002"
    assert outcome.approved


def test_an_invalid_pin_is_a_usage_error(ca_keys):
    card = SimulatedCard("cvm-offline-pin")
    tx = Transaction(ca_keys=ca_keys, amount="10.00")
    while not isinstance(tx.request(), EnterPin):
        tx.on_response(card.transmit(tx.request().apdu))
    with pytest.raises(UsageError, match="4 to 12"):
        tx.on_pin("12")
    tx.on_pin("1234")
    assert tx.run(card.transmit).approved


def test_card_declines(ca_keys):
    outcome = Transaction(ca_keys=ca_keys, amount="10.00").run(SimulatedCard("card-declines").transmit)
    assert outcome.decision == "declined"
    assert outcome.cryptogram_type == "AAC"


def test_bad_cda_signature_is_declined(ca_keys):
    outcome = Transaction(ca_keys=ca_keys, amount="10.00").run(SimulatedCard("cda-bad-signature").transmit)
    assert outcome.decision == "declined"
    assert outcome.oda_result == "failed"
    assert outcome.oda_failure
    assert "CDA failed" in outcome.tvr_bits


def test_blocked_card_terminates(ca_keys):
    outcome = Transaction(ca_keys=ca_keys, amount="10.00").run(SimulatedCard("card-blocked").transmit)
    assert outcome.decision == "terminated"
    assert outcome.termination_reason == "card_blocked"
    assert "6A81" in outcome.termination_message
    assert outcome.cryptogram_type is None


def test_online_card_with_the_test_issuer(ca_keys):
    card = SimulatedCard("card-online")
    seen = []

    def host(icc_data: bytes):
        seen.append(icc_data)
        return card.authorise(icc_data, approve=True)

    outcome = Transaction(ca_keys=ca_keys, amount="10.00").run(card.transmit, host=host)
    assert seen
    assert outcome.online
    assert outcome.authorisation_response_code == "00"
    assert outcome.approved
    assert outcome.cryptogram_type == "TC"


def test_online_card_without_a_host(ca_keys):
    outcome = Transaction(ca_keys=ca_keys, amount="10.00").run(SimulatedCard("card-online").transmit)
    assert not outcome.online
    assert outcome.authorisation_response_code in ("Y3", "Z3")


def test_go_online_and_host_response_by_hand(ca_keys):
    card = SimulatedCard("card-online")
    tx = Transaction(ca_keys=ca_keys, amount="10.00")
    while True:
        request = tx.request()
        if isinstance(request, Transmit):
            tx.on_response(card.transmit(request.apdu))
        elif isinstance(request, GoOnline):
            tx.on_host(HostResponse(False, "05"))
        elif isinstance(request, RecentAmount):
            assert "*" in request.masked_pan and "*" in repr(request)
            tx.on_recent_amount(0)
        else:
            assert isinstance(request, Done)
            break
    assert request.outcome.decision == "declined"
    assert request.outcome.authorisation_response_code == "05"


def test_application_choice(ca_keys):
    offered = []

    def choose(request: ChooseApplication):
        offered.extend(c.label for c in request.candidates)
        return 1

    outcome = Transaction(ca_keys=ca_keys, amount="10.00").run(
        SimulatedCard("multi-app-pse").transmit, choose=choose
    )
    assert len(offered) >= 2
    assert outcome.aid_hex == "A0000009991010"


def test_answers_out_of_turn_are_usage_errors(ca_keys):
    tx = Transaction(ca_keys=ca_keys, amount=100)
    with pytest.raises(UsageError):
        tx.on_pin("1234")
    with pytest.raises(UsageError):
        tx.on_host(None)
    with pytest.raises(UsageError):
        tx.on_application_chosen(0)
    assert isinstance(tx.request(), Transmit)


def test_invalid_inputs(ca_keys):
    with pytest.raises(TypeError):
        Transaction(ca_keys=ca_keys, amount=12.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        Transaction(ca_keys=ca_keys, amount="12.505")
    with pytest.raises(UsageError, match="date"):
        Transaction(ca_keys=ca_keys, amount=1, date="261399")
    with pytest.raises(UsageError, match="random selection"):
        Transaction(ca_keys=ca_keys, amount=1, random_selection_number=0)
    with pytest.raises(ValueError, match="unpredictable_number"):
        Transaction(ca_keys=ca_keys, amount=1, unpredictable_number=b"\x01\x02")


def test_every_profile_reaches_an_outcome(ca_keys):
    for name in emv_kernel.profiles():
        card = SimulatedCard(name)
        tx = Transaction(ca_keys=ca_keys, amount="10.00")
        try:
            outcome = tx.run(card.transmit, pin="1234", host=lambda icc, card=card: card.authorise(icc))
        except emv_kernel.CardError:
            # A T=0 card whose GET RESPONSE never ends: the simulated reader
            # gives up, and the transaction ends as a transport failure.
            outcome = tx.outcome
            assert outcome.termination_reason == "transport_failed", name
        assert outcome.decision in ("approved", "declined", "terminated"), name


def test_unknown_profile():
    with pytest.raises(emv_kernel.CardError, match="no profile named"):
        SimulatedCard("no-such-card")


def test_the_pin_block_never_shows_in_a_repr(ca_keys):
    card = SimulatedCard("cvm-offline-pin")
    tx = Transaction(ca_keys=ca_keys, amount="10.00")
    reprs = []

    def transmit(apdu):
        reprs.append(repr(tx.request()))
        return card.transmit(apdu)

    assert tx.run(transmit, pin="1234").approved
    verify = [r for r in reprs if r.startswith("Transmit(00200080")]
    assert verify == ["Transmit(0020008008, PIN block withheld)"]
    assert not any("241234" in r for r in reprs)


def test_a_card_decline_after_issuer_approval_asks_for_a_reversal(ca_keys):
    # The issuer approves with an ARPC that does not verify: EXTERNAL
    # AUTHENTICATE fails and the card declines the second GENERATE AC.
    card = SimulatedCard("issuer-scripts")

    def host(icc_data: bytes):
        good = card.authorise(icc_data, approve=True)
        bad_arpc = bytes([good.issuer_authentication_data[0] ^ 0xFF]) + good.issuer_authentication_data[1:]
        return HostResponse(True, "00", bad_arpc)

    outcome = Transaction(ca_keys=ca_keys, amount="10.00").run(card.transmit, host=host)
    assert outcome.online
    assert not outcome.approved
    assert outcome.reversal_required
    assert not outcome.advice_required
    assert outcome.to_dict()["reversal_required"] is True


def test_an_online_approval_needs_no_reversal(ca_keys):
    card = SimulatedCard("issuer-scripts")
    outcome = Transaction(ca_keys=ca_keys, amount="10.00").run(
        card.transmit, host=lambda icc: card.authorise(icc, approve=True)
    )
    assert outcome.approved
    assert not outcome.reversal_required


def test_an_issuer_referral_asks_the_attendant(ca_keys):
    # Book 4, 6.5.2: ARC 01 "refer to card issuer"; the referral callback is
    # the attendant's call, and it decides what the card is asked for.
    for approves, decision in ((True, "approved"), (False, "declined")):
        card = SimulatedCard("card-online")
        asked = []

        def referral(request):
            asked.append(request.authorisation_response_code)
            assert "01" in repr(request)
            return approves

        outcome = Transaction(ca_keys=ca_keys, amount="10.00").run(
            card.transmit, host=lambda icc: HostResponse(False, "01"), referral=referral
        )
        assert asked == ["01"]
        assert outcome.decision == decision
        assert outcome.referral == decision
        assert outcome.to_dict()["referral"] == decision
        assert outcome.authorisation_response_code == "01"
    # Without a referral callback the referral is declined.
    outcome = Transaction(ca_keys=ca_keys, amount="10.00").run(
        SimulatedCard("card-online").transmit, host=lambda icc: HostResponse(False, "02")
    )
    assert outcome.referral == "declined" and not outcome.approved


def test_forced_acceptance_of_a_card_decline(ca_keys):
    # Book 4, 6.5.4: the attendant accepts what the card declined.
    tx = Transaction(ca_keys=ca_keys, amount="10.00")
    outcome = tx.run(SimulatedCard("card-declines").transmit)
    assert outcome.decision == "declined" and not outcome.forced_acceptance
    tx.force_acceptance()
    assert tx.outcome.forced_acceptance and tx.outcome.decision == "declined"
    approved = Transaction(ca_keys=ca_keys, amount="10.00")
    assert approved.run(SimulatedCard("cda").transmit).approved
    with pytest.raises(UsageError):
        approved.force_acceptance()


def test_messages_in_the_card_language(ca_keys):
    # Book 4, 11.1 and 11.2: the test cards prefer en then fr; a terminal
    # with German and French shows French.
    config = emv_kernel.Config.from_toml('[terminal]\nlanguages = ["de", "fr"]\n')
    shown = []
    tx = Transaction(config=config, ca_keys=ca_keys, amount="10.00")
    outcome = tx.run(SimulatedCard("cvm-offline-pin").transmit, pin="1234", show=shown.append)
    assert outcome.approved
    assert tx.language == "fr"
    assert [(m.id, m.code) for m in shown] == [
        (0x09, "enter_pin"),
        (0x0D, "pin_ok"),
        (0x03, "approved"),
        (0x10, "remove_card"),
    ]
    assert shown[0].text == "SAISIR LE CODE" and shown[0].language == "fr"
    assert tx.next_message() is None
