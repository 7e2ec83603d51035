#!/usr/bin/env bash
# Installs the Debian packages the project needs, only those missing.
#
#   scripts/install-deps.sh [EXTRA_PACKAGE...]
#
# pcscd + vsmartcard-vpcd: the PC/SC daemon and its virtual reader, for the
# tests that drive the kernel through a real pcscd; libpcsclite-dev +
# pkg-config: to build the `pcsc` crate; pcsc-tools: pcsc_scan and scriptor
# for looking at readers by hand; python3: the MSRV check (scripts/check-msrv.py)
# and the power-loss model's self-test (terminal/tests/journal_powerloss.rs);
# binutils-arm-none-eabi: arm-none-eabi-size, the flash footprint of the
# Cortex-M build (scripts/check-embedded.sh);
# python3-venv + python3-pip: the virtual environment scripts/test-python.sh
# installs the Python package (python/) and pytest into (Debian's python3
# has neither venv's pip bootstrap nor pip without them); valgrind: the
# kernel's RAM measurement (scripts/check-stack.sh, massif);
# gcc-mingw-w64-x86-64-posix: the C compiler `ring` needs to build for
# x86_64-pc-windows-gnu (scripts/check-windows.sh); gcc + libc6-dev: the C
# compiler and headers the journal's power-loss test builds its LD_PRELOAD
# model of the disk with (terminal/tests/powerloss/preload.c);
# python3-cryptography: OpenSSL's DES for host/vectors/host_vectors.py, which
# computes emv-host's known-answer vectors independently of the Rust code.
#
# Idempotent: runs `apt-get update` only when something is missing. Works as
# root on a bare Debian 12; uses sudo only when not root.
set -euo pipefail

packages=(pcscd libpcsclite-dev vsmartcard-vpcd pcsc-tools pkg-config python3 python3-cryptography binutils-arm-none-eabi python3-venv python3-pip valgrind gcc-mingw-w64-x86-64-posix libssl-dev gcc libc6-dev "$@")

missing=()
for package in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed'; then
        missing+=("$package")
    fi
done

if [ "${#missing[@]}" -eq 0 ]; then
    echo "install-deps: all present (${packages[*]})"
    exit 0
fi

as_root=()
if [ "$(id -u)" -ne 0 ]; then
    as_root=(sudo)
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get -o DPkg::Lock::Timeout=300 update -q
"${as_root[@]}" apt-get -o DPkg::Lock::Timeout=300 install -y -q --no-install-recommends "${missing[@]}"
