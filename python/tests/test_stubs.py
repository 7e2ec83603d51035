"""The type stubs (emv_kernel/_native.pyi) match the extension module as
built, and the package and the examples type-check strictly against them."""

import os
import subprocess
import sys

import pytest

# Installed by scripts/test-python.sh (python/requirements-test.txt).
pytest.importorskip("mypy")


def run_mypy(root, cwd, *args):
    return subprocess.run(
        [sys.executable, "-m", *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=cwd,  # not the source tree: the installed package must be the one imported
        env={**os.environ, "MYPY_CACHE_DIR": str(root / "target" / "mypy-cache")},
    )


def test_stubs_match_the_extension_module(root, tmp_path):
    run = run_mypy(root, tmp_path, "mypy.stubtest", "emv_kernel._native")
    assert run.returncode == 0, run.stdout + run.stderr


def test_package_and_examples_type_check(root, tmp_path):
    package = run_mypy(root, tmp_path, "mypy", "--strict", "-p", "emv_kernel")
    assert package.returncode == 0, package.stdout + package.stderr
    examples = root / "examples" / "python"
    run = run_mypy(
        root, tmp_path, "mypy", "--strict", str(examples / "purchase.py"), str(examples / "pcsc_purchase.py")
    )
    assert run.returncode == 0, run.stdout + run.stderr
