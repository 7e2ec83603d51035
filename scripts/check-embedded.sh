#!/usr/bin/env bash
# The kernel on a microcontroller target, with its default (portable) crypto.
#
#   scripts/check-embedded.sh
#
# 1. `cargo build -p emv-kernel --target thumbv7em-none-eabihf`: the library
#    with default features builds for Cortex-M4F (no std, no heap, no OS
#    random source).
# 2. `cargo tree` for that target shows no `ring` and no `getrandom`.
# 3. examples/no_std, a firmware image running one whole CDA purchase, is
#    built with the `firmware` profile (opt-level z, LTO) and its sections
#    are printed with arm-none-eabi-size; the script fails when `.text`
#    exceeds the budget below.
#
# Needs the target (scripts/install-tools.sh) and binutils-arm-none-eabi
# (scripts/install-deps.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

target=thumbv7em-none-eabihf
# Flash budget for the whole purchase (kernel, portable crypto, core): a
# Cortex-M4 part with 256 KiB of flash keeps most of it for the terminal.
text_budget=$((96 * 1024))

cargo build --locked -q -p emv-kernel --target "$target"
echo "check-embedded: emv-kernel builds for $target with default features"

tree=$(cargo tree --locked -p emv-kernel --target "$target" -e normal --prefix none)
for forbidden in ring getrandom; do
    if grep -q "^$forbidden v" <<<"$tree"; then
        echo "check-embedded: $forbidden is in emv-kernel's dependencies for $target" >&2
        exit 1
    fi
done

cargo build --locked -q -p emv-kernel-no-std-example --profile firmware --target "$target"
image="target/$target/firmware/emv-kernel-no-std-example"
arm-none-eabi-size -A "$image" | grep -E '^(section|\.text|\.rodata|\.data|\.bss)'
text=$(arm-none-eabi-size -A "$image" | awk '$1 == ".text" { print $2 }')
if [ -z "$text" ] || [ "$text" -gt "$text_budget" ]; then
    echo "check-embedded: .text is ${text:-missing} bytes, over the budget of $text_budget" >&2
    exit 1
fi
echo "check-embedded: firmware .text $text bytes (budget $text_budget)"
