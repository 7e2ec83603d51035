"""Shared fixtures: the repository's paths, the test CA keys, and the gate
for tests that need pcscd with the virtual reader (EMV_PCSCD=1)."""

import os
from pathlib import Path

import pytest

import emv_kernel

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def ca_keys() -> emv_kernel.CaKeys:
    return emv_kernel.CaKeys.test_keys()


@pytest.fixture
def pcscd():
    """Skips (printing why) unless pcscd with vpcd runs: scripts/test.sh
    starts it and sets EMV_PCSCD=1."""
    if os.environ.get("EMV_PCSCD") != "1":
        print("skipped: set EMV_PCSCD=1 (scripts/test.sh starts pcscd and sets it)")
        pytest.skip("set EMV_PCSCD=1 (scripts/test.sh starts pcscd and sets it)")
