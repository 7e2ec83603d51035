#!/usr/bin/env bash
# The kernel's RAM for one whole transaction: its state (the `Transaction`
# on the stack) plus the peak stack of its calls, on release code.
#
#   scripts/check-stack.sh
#
# Runs kernel/examples/stack_peak.rs (release) under valgrind's massif with
# --stacks=yes once per committed transcript and once as `none` (the same
# program without the transaction), and prints each peak stack minus the
# baseline. Fails when one exceeds the budget below.
#
# The budget is the goal of the issue "kernel budgets": 16 KiB for state plus
# stack, on the path for terminals with little RAM (Transaction::idle and
# start, steps run by a loop instead of nesting; README, "Measured").
#
# Needs valgrind (scripts/install-deps.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

budget=$((16 * 1024))
transcripts=(sda dda cda xda xda-enciphered-pin cvm-offline-pin issuer-scripts no-oda)

cargo build --locked -q --release -p emv-kernel --example stack_peak
program=target/release/examples/stack_peak
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

peak() { # peak NAME: the largest mem_stacks_B of a massif run
    valgrind -q --tool=massif --stacks=yes --massif-out-file="$scratch/$1.out" \
        "$program" "$1" >/dev/null
    sed -n 's/^mem_stacks_B=//p' "$scratch/$1.out" | sort -n | tail -n 1
}

baseline=$(peak none)
echo "check-stack: baseline (the program without a transaction): $baseline bytes"
worst=0
for name in "${transcripts[@]}"; do
    used=$(( $(peak "$name") - baseline ))
    echo "check-stack: $name: state + peak stack $used bytes"
    if [ "$used" -gt "$worst" ]; then worst=$used; fi
done
if [ "$worst" -gt "$budget" ]; then
    echo "check-stack: $worst bytes is over the budget of $budget" >&2
    exit 1
fi
echo "check-stack: worst $worst bytes (budget $budget; goal 16384)"
