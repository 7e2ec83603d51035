"""Purchases through a real pcscd: `emv-terminal card serve --profile cda`
puts the simulated CDA card into vpcd's second virtual reader and the kernel
runs on it through PcscReader, as on a USB reader. Needs pcscd with
vsmartcard-vpcd: run through scripts/test.sh (or scripts/pcscd.sh start and
EMV_PCSCD=1); otherwise each test prints "skipped: set EMV_PCSCD=1"."""

import os
from pathlib import Path
import subprocess
import sys
import time

import pytest

import emv_kernel

READER = "Virtual PCD 00 01"
PORT = "35964"


def terminal_binary(root):
    """emv-terminal as cargo builds it with its default features, which serve the
    simulated cards (EMV_TERMINAL overrides). Built every time: cargo does nothing
    when it is up to date, and a build of the same path without simulated cards
    (scripts/test.sh tests the shipped binary too) must not be the one run here.
    Honours CARGO_TARGET_DIR."""
    override = os.environ.get("EMV_TERMINAL")
    if override:
        return override
    subprocess.run(["cargo", "build", "-q", "-p", "emv-terminal"], cwd=root, check=True)
    target = Path(os.environ.get("CARGO_TARGET_DIR", root / "target"))
    if not target.is_absolute():
        target = root / target
    return str(target / "debug" / "emv-terminal")


def card_present(name):
    return any(reader == name and present for reader, present in emv_kernel.readers())


@pytest.fixture
def served_cda(pcscd, root):
    """The CDA card in READER for the test's duration; the serving process
    is stopped by its own handle afterwards."""
    if card_present(READER):
        print(f"skipped: {READER} already holds a card served by another process")
        pytest.skip(f"{READER} already holds a card served by another process")
    serve = subprocess.Popen(
        [terminal_binary(root), "card", "serve", "--profile", "cda", "--port", PORT],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 15
        while not card_present(READER):
            assert serve.poll() is None, "card serve exited"
            assert time.monotonic() < deadline, f"no card appeared in {READER}"
            time.sleep(0.05)
        yield READER
    finally:
        serve.terminate()
        try:
            serve.wait(timeout=5)
        except subprocess.TimeoutExpired:
            serve.kill()
            serve.wait()
        deadline = time.monotonic() + 5
        while card_present(READER) and time.monotonic() < deadline:
            time.sleep(0.05)


def test_purchase_through_pcscd(served_cda, ca_keys):
    with emv_kernel.PcscReader("=" + served_cda, wait=5) as reader:
        assert reader.name == served_cda
        assert reader.atr
        outcome = emv_kernel.Transaction(ca_keys=ca_keys, amount="12.50").run(reader.transmit)
    assert outcome.decision == "approved"
    assert outcome.cryptogram_type == "TC"
    assert outcome.oda_method == "cda" and outcome.oda_result == "succeeded"
    assert outcome.masked_pan == "679999******0318"


def test_closed_reader_raises(served_cda):
    reader = emv_kernel.PcscReader(served_cda, wait=5)
    reader.close()
    with pytest.raises(emv_kernel.PcscError, match="closed"):
        reader.transmit(b"\x00\xa4\x04\x00\x00")


def test_pcsc_purchase_example(served_cda, root):
    run = subprocess.run(
        [sys.executable, str(root / "examples" / "python" / "pcsc_purchase.py"),
         "--reader", "=" + served_cda, "--amount", "12.50", "--wait", "10"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    assert f"reader: {served_cda}" in run.stdout
    assert "outcome: approved (TC)" in run.stdout
    assert "679999******0318" in run.stdout


def test_no_reader_is_a_pcsc_error(pcscd):
    with pytest.raises(emv_kernel.PcscError):
        emv_kernel.PcscReader("=No Such Reader 99", wait=0)
