#!/usr/bin/env bash
# emv-terminal must build on Windows: platform code sits behind `cfg(unix)`
# (private file modes: emv_journal::private; PIN descriptors). This checks the
# whole dependency graph of the command line for x86_64-pc-windows-gnu
# (target from scripts/install-tools.sh, mingw-w64 from install-deps.sh).
# The test binaries and the reference acquirer (a Unix test server) are not
# part of the check.
set -euo pipefail
cd "$(dirname "$0")/.."
target=x86_64-pc-windows-gnu
cargo check --locked --quiet -p emv-terminal --target "$target"
echo "check-windows: emv-terminal checks for $target"
