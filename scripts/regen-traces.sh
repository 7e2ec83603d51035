#!/usr/bin/env bash
# Regenerates tests/traces/: one trace per test-cards profile, recorded with
# `emv-terminal transact --record` through the in-process simulated card,
# masked, with fixed inputs so that every run writes the same bytes.
#
#   scripts/regen-traces.sh            all profiles
#   scripts/regen-traces.sh cda dda    only these
#
# Then `cargo test -p emv-trace --test trace_corpus` (or
# `emv-terminal replay tests/traces`) replays them. Regenerate only for an
# intended change and review `git diff tests/traces` before committing.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=$root/tests/traces
cd "$root"
cargo build -q -p emv-terminal --bin emv-terminal
bin=${CARGO_TARGET_DIR:-$root/target}/debug/emv-terminal

if [ $# -gt 0 ]; then
    profiles=("$@")
else
    mapfile -t profiles < <("$bin" card list | awk '{print $1}')
fi

mkdir -p "$out"
failed=0
for profile in "${profiles[@]}"; do
    extra=()
    case $profile in
        # A PIN UNBLOCK script before and an APPLICATION BLOCK after the final GENERATE AC.
        issuer-scripts) extra=(--issuer-script 84240000: --issuer-script 841E0000:) ;;
        # EMV 4.4 XDA: the default terminal predates it; this one has 9F33 byte 3 b3.
        xda*) extra=(--config docs/terminal.xda.toml) ;;
    esac
    # Exit status 2/3 (declined/terminated) is an outcome, not a failure here.
    log=$("$bin" transact --card "$profile" --amount 10.00 --date 250615 --time 120000 \
        --unpredictable-number 11223344 --random-number 99 --sequence-counter 1 \
        --test-pin 1234 --application 1 --no-journal "${extra[@]}" \
        --record "$out/$profile.trace" </dev/null 2>&1) || true
    line=$(grep '^trace: ' <<<"$log" || true)
    if grep -q 'replays cleanly' <<<"$line"; then
        echo "$profile: ok"
    else
        echo "$profile: FAILED"
        echo "$log" | tail -20
        failed=1
    fi
done
exit $failed
