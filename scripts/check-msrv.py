#!/usr/bin/env python3
"""Checks that every workspace crate's `rust-version` is true.

For each workspace member, walks its dependency closure in the lock file
(`cargo metadata`: normal and build dependencies, transitively, plus the
member's own dev-dependencies, which its tests need) and fails when any
package there declares a `rust_version` newer than the member's own.

    scripts/check-msrv.py            # check, exit 1 on a violation
    scripts/check-msrv.py --verbose  # also print each member's closure maximum

Then, where rustup already has the declared toolchain or can install it
(`rustup toolchain install`, bounded in time), runs
`cargo +VERSION check --workspace` with it; where it cannot (no network to
the toolchain server, as on the project's CI machine), says so and skips.
"""

import json
import os
import shutil
import subprocess
import sys


def version_key(text):
    """'1.88' and '1.88.0' as comparable tuples; None for no version."""
    if not text:
        return None
    parts = [int(p) for p in text.split(".")]
    while len(parts) < 3:
        parts.append(0)
    return tuple(parts)


def show(key):
    return ".".join(str(p) for p in key)


def main():
    verbose = "--verbose" in sys.argv[1:]
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    metadata = json.loads(
        subprocess.run(
            ["cargo", "metadata", "--format-version", "1", "--locked"],
            cwd=root,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    )
    packages = {p["id"]: p for p in metadata["packages"]}
    nodes = {n["id"]: n for n in metadata["resolve"]["nodes"]}
    members = metadata["workspace_members"]

    def deps_of(node_id, kinds):
        for dep in nodes[node_id]["deps"]:
            dep_kinds = {k["kind"] or "normal" for k in dep["dep_kinds"]}
            if dep_kinds & kinds:
                yield dep["pkg"]

    failures = []
    declared_versions = set()
    for member in members:
        package = packages[member]
        declared = version_key(package["rust_version"])
        if declared is None:
            failures.append(f"{package['name']}: no rust-version declared")
            continue
        declared_versions.add(declared)
        # The member's own dev-dependencies count (its tests must build), but
        # only normal and build dependencies are followed beyond them.
        seen = set()
        stack = list(deps_of(member, {"normal", "build", "dev"}))
        while stack:
            pkg_id = stack.pop()
            if pkg_id in seen:
                continue
            seen.add(pkg_id)
            stack.extend(deps_of(pkg_id, {"normal", "build"}))
        newest = None
        for pkg_id in seen:
            dep = packages[pkg_id]
            needed = version_key(dep["rust_version"])
            if needed is None:
                continue
            if newest is None or needed > newest[0]:
                newest = (needed, dep)
            if needed > declared:
                failures.append(
                    f"{package['name']} declares rust-version {show(declared)}, "
                    f"but {dep['name']} {dep['version']} needs {show(needed)}"
                )
        if verbose and newest:
            print(
                f"check-msrv: {package['name']}: declares {show(declared)}, "
                f"newest need {show(newest[0])} ({newest[1]['name']} {newest[1]['version']})"
            )

    if failures:
        for line in sorted(set(failures)):
            print(f"check-msrv: {line}", file=sys.stderr)
        return 1
    print(
        f"check-msrv: {len(members)} workspace crates, every dependency fits the declared "
        f"rust-version ({', '.join(sorted(show(v) for v in declared_versions))})"
    )

    # Build with the oldest declared compiler when it can be had.
    oldest = show(min(declared_versions))
    if shutil.which("rustup") is None:
        print("check-msrv: no rustup: compile check with the declared toolchain skipped")
        return 0
    toolchain = oldest
    have = subprocess.run(["rustup", "toolchain", "list"], capture_output=True, text=True).stdout
    if not any(line.startswith(toolchain) for line in have.splitlines()):
        try:
            installed = subprocess.run(
                ["rustup", "toolchain", "install", "--profile", "minimal", toolchain],
                capture_output=True,
                text=True,
                timeout=300,
            )
            ok = installed.returncode == 0
            reason = (installed.stderr.strip().splitlines() or ["failed"])[-1]
        except subprocess.TimeoutExpired:
            ok, reason = False, "timed out after 300 s"
        if not ok:
            print(
                f"check-msrv: toolchain {toolchain} cannot be installed here ({reason}): "
                f"compile check with it skipped"
            )
            return 0
    print(f"check-msrv: cargo +{toolchain} check --workspace --locked")
    result = subprocess.run(
        ["cargo", f"+{toolchain}", "check", "--workspace", "--locked"], cwd=root
    )
    return result.returncode


if __name__ == "__main__":
    sys.exit(main())
