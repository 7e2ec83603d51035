//! The kernel's identification for a type-approval letter (ICS row 100):
//! the version and the build checksum of `emv_kernel::identity`, as C
//! strings a terminal can show on its maintenance screen.

use std::ffi::{c_char, CString};
use std::sync::OnceLock;

fn c_string(cell: &'static OnceLock<CString>, text: &'static str) -> *const c_char {
    cell.get_or_init(|| CString::new(text).unwrap_or_default())
        .as_ptr()
}

/// The kernel's version (`emv-kernel` crate version), NUL-terminated,
/// static: never freed by the caller.
#[no_mangle]
pub extern "C" fn emv_kernel_version() -> *const c_char {
    static CELL: OnceLock<CString> = OnceLock::new();
    c_string(&CELL, emv_kernel::identity::VERSION)
}

/// SHA-256 of the kernel's sources, manifest and enabled features computed
/// when the kernel was built: 64 lowercase hex digits, NUL-terminated,
/// static.
#[no_mangle]
pub extern "C" fn emv_kernel_checksum() -> *const c_char {
    static CELL: OnceLock<CString> = OnceLock::new();
    c_string(&CELL, emv_kernel::identity::CHECKSUM)
}
