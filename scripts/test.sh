#!/usr/bin/env bash
# The project's full test run: installs what is missing, builds, starts pcscd
# with its virtual reader, runs every test with EMV_PCSCD=1 (so the tests that
# need pcscd run too), then the Python package's pytest suite
# (scripts/test-python.sh), stops pcscd (also when tests fail) and exits with
# the test status.
#
#   scripts/test.sh [extra `cargo test` arguments]
#
# Without root or pcscd, `cargo test --workspace` alone runs everything else;
# the pcscd tests then print "skipped: set EMV_PCSCD=1".
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

bash scripts/install-deps.sh
cargo build --workspace --all-targets

trap 'bash scripts/pcscd.sh stop' EXIT
bash scripts/pcscd.sh start

status=0
EMV_PCSCD=1 cargo test --workspace "$@" || status=$?
# Every benchmark once, in criterion's test mode (no timing): a benchmark that no
# longer runs (the journal's sync benchmark once broke the chain sync checks) fails
# here instead of at the next measurement.
cargo test --workspace --benches || status=$?
# The crash test that kills transact inside its commit and display windows, and the
# power-loss test (an LD_PRELOAD model of the disk, built with cc, with its
# synchronous=OFF mutation check), need the testing aids, which only the `test-aids`
# feature compiles in (never the shipped binary).
cargo test -p emv-terminal --features test-aids --test journal_crash_transact --test journal_powerloss || status=$?
# The host file over pcscd with the shipped binary (no simulated cards, no test CA keys).
EMV_PCSCD=1 cargo test -p emv-terminal --no-default-features --test host_file_pcscd || status=$?

# The Python package (python/): built with maturin into target/python-venv
# and tested with pytest, its pcscd tests included. Before the test below,
# which stops pcscd.
EMV_PCSCD=1 bash scripts/test-python.sh || status=$?

# Last: the test that stops pcscd under a live session. It kills the pcscd
# started above (the trap then finds it gone), so it runs only when this
# script started pcscd itself, not when it found one running.
if [ -f "${EMV_PCSCD_DIR:-$root/target/pcscd}/pcscd.pid" ]; then
    EMV_PCSCD=1 EMV_PCSCD_STOP_TEST=1 cargo test -p emv-integration-tests --test pcsc_service || status=$?
else
    echo "test.sh: pcscd was already running (not ours): pcsc_service test not run"
fi
exit "$status"
