"""ICS row 100: the kernel's identification, as the Rust kernel states it."""

import re
from pathlib import Path

import emv_kernel

ROOT = Path(__file__).resolve().parents[2]


def test_kernel_version_and_checksum():
    assert re.fullmatch(r"[0-9a-f]{64}", emv_kernel.KERNEL_CHECKSUM)
    manifest = (ROOT / "kernel" / "Cargo.toml").read_text()
    version = re.search(r'^version\s*=\s*"([^"]+)"', manifest, re.M)
    if version is None:  # the workspace's version
        workspace = (ROOT / "Cargo.toml").read_text()
        version = re.search(r'^version\s*=\s*"([^"]+)"', workspace, re.M)
    assert version is not None
    assert emv_kernel.KERNEL_VERSION == version.group(1)
