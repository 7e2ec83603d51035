//! Kernel identification for a type-approval letter.
//!
//! EMVCo's Level 2 approval names the kernel by its version and a checksum of the build
//! that was tested; a terminal shows both (for example on a maintenance screen) so that an
//! auditor can match the software in the field with the letter. [`CHECKSUM`] is computed
//! when the kernel is built (`kernel/build.rs`): SHA-256 over every file of `kernel/src`,
//! `kernel/Cargo.toml` and the enabled features, so any change of the kernel's code or of
//! its feature set gives another checksum. The algorithm is in `kernel/checksum.rs`;
//! `kernel/tests/identity.rs` recomputes it from the sources.

/// The kernel's version (`emv-kernel` crate version).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// SHA-256 of the kernel's sources, manifest and enabled features: 64 lowercase hex digits.
pub const CHECKSUM: &str = env!("EMV_KERNEL_CHECKSUM");

/// The enabled cargo features the checksum covers, sorted, comma-separated.
pub const FEATURES: &str = env!("EMV_KERNEL_FEATURES");

/// The first 16 hex digits of [`CHECKSUM`], the short form a terminal can display.
pub fn short_checksum() -> &'static str {
    CHECKSUM.get(..16).unwrap_or(CHECKSUM)
}
