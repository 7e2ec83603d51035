#!/usr/bin/env bash
# Checks the layout rules CI holds the tree to:
# - the production terminal (`emv-terminal` without its default feature
#   `simulated-cards`) builds and links no test part: no test PKI or card
#   engine (emv-test-cards) and no test HTTPS server (rcgen);
# - the C ABI library (`emv-kernel-ffi` with its default features) links no
#   emv-test-cards either: the simulated cards come only with its feature
#   `simulated-cards`;
# - no kernel step module imports from the dispatcher (`transaction.rs`).
#
#   scripts/check-layout.sh
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

echo "check-layout: cargo build -p emv-terminal --no-default-features"
cargo build --locked -q -p emv-terminal --no-default-features

tree=$(cargo tree --locked -p emv-terminal --no-default-features -e normal,build --prefix none)
for forbidden in emv-test-cards rcgen emv-acquirer; do
    if grep -q "^$forbidden " <<<"$tree"; then
        echo "check-layout: the production emv-terminal depends on $forbidden:" >&2
        cargo tree --locked -p emv-terminal --no-default-features -e normal,build -i "$forbidden" >&2
        exit 1
    fi
done
echo "check-layout: production emv-terminal links no emv-test-cards, rcgen or emv-acquirer"

ffi_tree=$(cargo tree --locked -p emv-kernel-ffi -e normal,build --prefix none)
if grep -q "^emv-test-cards " <<<"$ffi_tree"; then
    echo "check-layout: emv-kernel-ffi without features depends on emv-test-cards:" >&2
    cargo tree --locked -p emv-kernel-ffi -e normal,build -i emv-test-cards >&2
    exit 1
fi
echo "check-layout: emv-kernel-ffi links no emv-test-cards without its feature simulated-cards"

# Step modules take commands and status words from apdu.rs, never from the
# dispatcher: no import cycle through transaction.rs. (The driver loop and
# the crate root sit above the dispatcher and may name it.)
offenders=$(grep -rnE 'crate::transaction(::|\b)|super::transaction' kernel/src --include='*.rs' |
    grep -vE '^kernel/src/(transaction|driver|lib)\.rs:' |
    grep -vE '^[^:]+:[0-9]+:\s*//' || true)
if [ -n "$offenders" ]; then
    echo "check-layout: kernel modules import from transaction.rs:" >&2
    echo "$offenders" >&2
    exit 1
fi
echo "check-layout: no kernel module imports from transaction.rs"
