#!/usr/bin/env bash
# Installs the cargo tools and Rust toolchains CI needs, only those missing.
#
#   scripts/install-tools.sh
#
# - cargo-deny (crates.io): licence and ban checks (`deny.toml`);
# - cbindgen (crates.io): generates the C header include/emv_kernel.h from
#   ffi/src (`scripts/check-header.sh`); pinned, since its output differs
#   between versions;
# - the toolchain of the workspace's declared rust-version, for the MSRV
#   check (scripts/check-msrv.py installs it itself when rustup can);
# - cargo-fuzz (crates.io): the bounded fuzz pass of scripts/fuzz.sh;
# - the Rust target thumbv7em-none-eabihf (Cortex-M4F), for the no_std
#   firmware build (scripts/check-embedded.sh);
# - the Rust target x86_64-pc-windows-gnu, for `cargo check` of emv-terminal
#   on Windows (scripts/check-windows.sh; its C compiler comes from
#   install-deps.sh).
#
# Idempotent: a tool already on PATH at the pinned version is kept.
set -euo pipefail

cargo_deny_version=0.20.0
cargo_fuzz_version=0.13.1
cbindgen_version=0.29.4

have_version() { # have_version COMMAND VERSION
    command -v "$1" >/dev/null 2>&1 && "$1" --version 2>/dev/null | grep -q "$2"
}

if have_version cargo-deny "$cargo_deny_version"; then
    echo "install-tools: cargo-deny $cargo_deny_version present"
else
    echo "install-tools: installing cargo-deny $cargo_deny_version (crates.io)"
    cargo install --locked --quiet cargo-deny --version "$cargo_deny_version"
fi

if have_version cbindgen "$cbindgen_version"; then
    echo "install-tools: cbindgen $cbindgen_version present"
else
    echo "install-tools: installing cbindgen $cbindgen_version (crates.io)"
    cargo install --locked --quiet cbindgen --version "$cbindgen_version"
fi

if have_version cargo-fuzz "$cargo_fuzz_version"; then
    echo "install-tools: cargo-fuzz $cargo_fuzz_version present"
else
    echo "install-tools: installing cargo-fuzz $cargo_fuzz_version (crates.io)"
    cargo install --locked --quiet cargo-fuzz --version "$cargo_fuzz_version"
fi

for target in thumbv7em-none-eabihf x86_64-pc-windows-gnu; do
    if rustc --print sysroot >/dev/null 2>&1 && [ -d "$(rustc --print sysroot)/lib/rustlib/$target" ]; then
        echo "install-tools: Rust target $target present"
    elif command -v rustup >/dev/null 2>&1; then
        echo "install-tools: installing Rust target $target (rustup)"
        rustup target add "$target"
    else
        echo "install-tools: no rustup to install the Rust target $target; install it with your toolchain" >&2
        exit 1
    fi
done
