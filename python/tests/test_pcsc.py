"""Purchases through a real pcscd: `emv-terminal card serve --profile cda`
puts the simulated CDA card into vpcd's second virtual reader and the kernel
runs on it through PcscReader, as on a USB reader. Needs pcscd with
vsmartcard-vpcd: run through scripts/test.sh (or scripts/pcscd.sh start and
EMV_PCSCD=1); otherwise each test prints "skipped: set EMV_PCSCD=1"."""

import os
import subprocess
import sys
import time

import pytest

import emv_kernel

READER = "Virtual PCD 00 01"
PORT = "35964"


def terminal_binary(root):
    """emv-terminal as cargo builds it (EMV_TERMINAL overrides); built when missing."""
    override = os.environ.get("EMV_TERMINAL")
    if override:
        return override
    binary = root / "target" / "debug" / "emv-terminal"
    if not binary.exists():
        subprocess.run(["cargo", "build", "-q", "-p", "emv-terminal"], cwd=root, check=True)
    return str(binary)


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
