#!/usr/bin/env bash
# A bounded fuzz pass of every cargo-fuzz target (fuzz/), for CI.
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET]     (default 30)
#
# Each target starts from its committed seed corpus (fuzz/corpus/TARGET),
# copied to a scratch directory so the run adds nothing to the tree, and runs
# for the given time with libFuzzer. Any crash, panic or oracle failure stops
# the script with the target's status; the input is left in
# fuzz/artifacts/TARGET/ (replay: cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run TARGET FILE).
#
# cargo-fuzz comes from scripts/install-tools.sh. libFuzzer needs nightly
# compiler flags; RUSTC_BOOTSTRAP=1 lets the stable toolchain accept them.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"

seconds=${1:-30}
targets=(tlv dol transaction oda xda)
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

export RUSTC_BOOTSTRAP=1
for target in "${targets[@]}"; do
    cargo fuzz build -O "$target"
done
for target in "${targets[@]}"; do
    mkdir -p "$scratch/$target"
    echo "fuzz: $target for ${seconds}s"
    status=0
    cargo fuzz run -O "$target" "$scratch/$target" "corpus/$target" -- \
        -max_total_time="$seconds" -print_final_stats=1 >"$scratch/$target.log" 2>&1 || status=$?
    grep -E '^(Done |stat::number_of_executed_units)' "$scratch/$target.log" || true
    if [ "$status" -ne 0 ]; then
        tail -n 40 "$scratch/$target.log" >&2
        echo "fuzz: $target failed (status $status); input in fuzz/artifacts/$target/" >&2
        exit "$status"
    fi
done
echo "fuzz: ${#targets[@]} targets, ${seconds}s each, no finding"
