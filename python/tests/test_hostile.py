"""A transmit callback that lies, returns garbage or raises: the kernel
reaches a defined outcome or the exception comes back to the caller; the
interpreter never crashes."""

import random

import pytest

import emv_kernel
from emv_kernel import SimulatedCard, Transaction


def test_random_garbage_responses_end_in_an_outcome(ca_keys):
    generator = random.Random(12)
    for _ in range(200):
        size = generator.choice([0, 1, 2, 3, 10, 255, 258, 600, 5000])
        outcome = Transaction(ca_keys=ca_keys, amount=100).run(
            lambda apdu: bytes(generator.getrandbits(8) for _ in range(size))
        )
        assert outcome.decision in ("approved", "declined", "terminated")


def test_a_card_that_is_right_then_garbles(ca_keys):
    generator = random.Random(7)
    for cut in range(1, 16):
        card = SimulatedCard("cda")
        count = 0

        def transmit(apdu):
            nonlocal count
            count += 1
            response = card.transmit(apdu)
            if count < cut:
                return response
            data = bytearray(response)
            for _ in range(3):
                if data:
                    data[generator.randrange(len(data))] ^= 1 << generator.randrange(8)
            return bytes(data)

        outcome = Transaction(ca_keys=ca_keys, amount="12.50").run(transmit)
        assert outcome.decision in ("approved", "declined", "terminated")


def test_a_card_answering_9000_forever_hits_the_step_bound(ca_keys):
    outcome = Transaction(ca_keys=ca_keys, amount=100).run(lambda apdu: b"\x90\x00")
    assert outcome.decision == "terminated"


@pytest.mark.parametrize("garbage", [None, 42, "9000", [0x90, 0x00], object()])
def test_transmit_returning_a_wrong_type_raises_and_ends_the_transaction(ca_keys, garbage):
    tx = Transaction(ca_keys=ca_keys, amount=100)
    with pytest.raises(TypeError, match="transmit must return bytes"):
        tx.run(lambda apdu: garbage)
    assert tx.outcome.termination_reason == "transport_failed"


def test_transmit_raising_propagates_and_ends_the_transaction(ca_keys):
    card = SimulatedCard("cda")
    sent = []

    def transmit(apdu):
        sent.append(apdu)
        if len(sent) == 4:
            raise ConnectionError("card removed")
        return card.transmit(apdu)

    tx = Transaction(ca_keys=ca_keys, amount=100)
    with pytest.raises(ConnectionError, match="card removed"):
        tx.run(transmit)
    assert tx.done
    assert tx.outcome.decision == "terminated"
    assert tx.outcome.termination_reason == "transport_failed"
    with pytest.raises(emv_kernel.UsageError):
        tx.on_response(b"\x90\x00")


def test_reentrant_callback_sees_the_pending_request(ca_keys):
    card = SimulatedCard("cda")
    tx = Transaction(ca_keys=ca_keys, amount=100)

    def transmit(apdu):
        assert tx.request().apdu == apdu
        return card.transmit(apdu)

    assert tx.run(transmit).approved


def test_pin_callback_raising_leaves_the_transaction_waiting(ca_keys):
    card = SimulatedCard("cvm-offline-pin")
    tx = Transaction(ca_keys=ca_keys, amount=100)

    def pin(request):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        tx.run(card.transmit, pin=pin)
    assert isinstance(tx.request(), emv_kernel.EnterPin)
    assert tx.run(card.transmit, pin="1234").approved


def test_the_simulated_card_takes_any_bytes():
    card = SimulatedCard("cda")
    for apdu in [b"", b"\x00", b"\x00\xa4", b"\xff" * 300, bytes(range(256))]:
        response = card.transmit(apdu)
        assert len(response) >= 2
