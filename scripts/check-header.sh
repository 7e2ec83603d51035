#!/usr/bin/env bash
# Checks that the committed C header include/emv_kernel.h is what cbindgen
# generates from ffi/src today (config ffi/cbindgen.toml): regenerates it into
# a temporary file and fails, showing the diff, when they differ.
#
#   scripts/check-header.sh            check (exit 1 when stale)
#   scripts/check-header.sh --update   write the regenerated header in place
#
# Needs cbindgen at the version scripts/install-tools.sh pins.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

header=include/emv_kernel.h
command -v cbindgen >/dev/null || { echo "check-header: cbindgen not found: run scripts/install-tools.sh" >&2; exit 1; }

fresh=$(mktemp)
trap 'rm -f "$fresh"' EXIT
cbindgen --quiet --config ffi/cbindgen.toml --crate emv-kernel-ffi --output "$fresh"

if [ "${1:-}" = --update ]; then
    cp "$fresh" "$header"
    echo "check-header: $header regenerated"
    exit 0
fi

if ! diff -u "$header" "$fresh" --label "$header (committed)" --label "$header (cbindgen $(cbindgen --version | cut -d' ' -f2))"; then
    echo "check-header: $header is stale: run scripts/check-header.sh --update and commit it" >&2
    exit 1
fi
echo "check-header: $header matches ffi/src"
