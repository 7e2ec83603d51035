//! Passes the emv-kernel version to the binary (`EMV_KERNEL_VERSION`) for
//! `emv-terminal --version`, read from the kernel's manifest in the workspace.

use std::path::Path;

fn main() {
    let manifest_dir = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default();
    let root = Path::new(&manifest_dir).join("..");
    let kernel = root.join("kernel/Cargo.toml");
    println!("cargo:rerun-if-changed={}", kernel.display());
    println!(
        "cargo:rerun-if-changed={}",
        root.join("Cargo.toml").display()
    );
    let version = package_version(&kernel)
        .or_else(|| workspace_version(&root.join("Cargo.toml")))
        .unwrap_or_else(|| "unknown".to_owned());
    println!("cargo:rustc-env=EMV_KERNEL_VERSION={version}");
}

/// `version = "X"` of the manifest's `[package]`, unless it is `version.workspace = true`.
fn package_version(manifest: &Path) -> Option<String> {
    let text = std::fs::read_to_string(manifest).ok()?;
    section_version(&text, "[package]")
}

/// `version = "X"` of `[workspace.package]` in the workspace manifest.
fn workspace_version(manifest: &Path) -> Option<String> {
    let text = std::fs::read_to_string(manifest).ok()?;
    section_version(&text, "[workspace.package]")
}

fn section_version(text: &str, section: &str) -> Option<String> {
    let mut inside = false;
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') {
            inside = line == section;
            continue;
        }
        if !inside {
            continue;
        }
        if let Some(value) = line.strip_prefix("version") {
            let value = value.trim_start().strip_prefix('=')?.trim();
            return value
                .strip_prefix('"')
                .and_then(|v| v.split('"').next())
                .map(str::to_owned);
        }
    }
    None
}
