//! Computes the kernel build's identification for type approval (`emv_kernel::identity`):
//! a SHA-256 checksum over the kernel's sources, its manifest and the enabled features
//! (the algorithm is in `checksum.rs`), passed to the crate as `EMV_KERNEL_CHECKSUM` and
//! `EMV_KERNEL_FEATURES`.

include!("checksum.rs");

fn main() {
    let dir = std::path::PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default());
    println!("cargo:rerun-if-changed=src");
    println!("cargo:rerun-if-changed=Cargo.toml");
    println!("cargo:rerun-if-changed=checksum.rs");
    let features: Vec<String> = std::env::vars()
        .filter_map(|(key, _)| key.strip_prefix("CARGO_FEATURE_").map(str::to_owned))
        .map(|name| name.to_lowercase().replace('_', "-"))
        .collect();
    let checksum = match kernel_checksum(&dir, &features) {
        Ok(checksum) => checksum,
        Err(e) => panic!("kernel checksum over {}: {e}", dir.display()),
    };
    let mut sorted = features;
    sorted.sort();
    println!("cargo:rustc-env=EMV_KERNEL_CHECKSUM={checksum}");
    println!("cargo:rustc-env=EMV_KERNEL_FEATURES={}", sorted.join(","));
}
