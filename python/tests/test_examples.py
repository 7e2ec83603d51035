"""The examples in examples/python run as the README shows them, so they
cannot rot (pcsc_purchase.py runs in test_pcsc.py, under pcscd)."""

import re
import subprocess
import sys


def run_example(root, *args):
    return subprocess.run(
        [sys.executable, str(root / "examples" / "python" / "purchase.py"), *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_purchase_example(root):
    run = run_example(root)
    assert run.returncode == 0, run.stderr
    assert "outcome: approved (TC)" in run.stdout
    assert "card: TEST CREDIT 679999******0318" in run.stdout
    # The PAN only masked.
    assert not re.search(r"679999\d{6}0318", run.stdout)


def test_purchase_example_with_pin_never_prints_it(root):
    run = run_example(root, "--profile", "cvm-offline-pin", "--pin", "1234")
    assert run.returncode == 0, run.stderr
    assert "PIN asked (offline_plaintext" in run.stdout
    assert "PIN block withheld" in run.stdout
    assert "241234" not in run.stdout  # the ISO 9564 format 2 PIN block


def test_purchase_example_online(root):
    run = run_example(root, "--profile", "card-online")
    assert run.returncode == 0, run.stderr
    assert "online:" in run.stdout


def test_purchase_example_declined(root):
    run = run_example(root, "--profile", "card-declines")
    assert run.returncode == 2
    assert "outcome: declined (AAC)" in run.stdout
