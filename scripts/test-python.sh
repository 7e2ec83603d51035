#!/usr/bin/env bash
# The Python package's tests: creates a virtual environment in
# target/python-venv (once), installs the package from python/ (pip builds
# it with maturin, pinned in python/pyproject.toml) and pytest (pinned in
# python/requirements-test.txt), and runs python/tests. Exits with pytest's
# status.
#
#   scripts/test-python.sh [pytest arguments]
#
# EMV_PCSCD=1 runs the pcscd tests too (scripts/test.sh starts pcscd and sets
# it); without it they print "skipped: set EMV_PCSCD=1".
#
# Environment:
#   EMV_PYTHON         interpreter to create the environment with (default python3)
#   EMV_PYTHON_VENV    where the environment goes (default target/python-venv)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

python=${EMV_PYTHON:-python3}
venv=${EMV_PYTHON_VENV:-$root/target/python-venv}

if [ ! -x "$venv/bin/python" ]; then
    echo "test-python: creating $venv"
    "$python" -m venv "$venv"
fi
pip=("$venv/bin/python" -m pip --disable-pip-version-check)
"${pip[@]}" install --quiet -r python/requirements-test.txt
# Always rebuilt and reinstalled, so the tests run the tree as it is.
"${pip[@]}" install --quiet --force-reinstall --no-deps ./python

# From the repository root, so `import emv_kernel` is the installed package,
# not python/emv_kernel without its extension module.
"$venv/bin/python" -m pytest python/tests "$@"
