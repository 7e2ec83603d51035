#!/usr/bin/env bash
# The project's main job on the built-in simulated CDA card: installs the
# Debian packages the build needs when missing, builds emv-terminal, and runs
# one purchase of 12.50 through the whole kernel. Extra arguments go to
# `emv-terminal transact` (for example --card dda, --json, --pin-stdin).
#
#   scripts/demo.sh [transact options]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
bash scripts/install-deps.sh
exec cargo run --release -q -p emv-terminal -- transact --amount 12.50 "$@"
