//! Errors: the `emv_error` codes, their messages, the detail text of the
//! last failure, and the guard that keeps panics inside the library.

use std::cell::RefCell;
use std::ffi::{c_char, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};

use emv_kernel::transaction::UsageError;

/// What an `emv_*` function returns: `EMV_OK` (0) or why it failed.
/// `emv_error_message` names each code; `emv_last_error_detail` says more
/// about the last failure on the calling thread.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum emv_error {
    /// Success.
    EMV_OK = 0,
    /// A pointer argument that must not be NULL was NULL.
    EMV_ERROR_NULL_POINTER = 1,
    /// An argument is invalid: text that is not UTF-8, a length that does
    /// not fit, an unknown enum value.
    EMV_ERROR_INVALID_ARGUMENT = 2,
    /// A handle is not what the function takes (another object, freed, or
    /// never initialised).
    EMV_ERROR_INVALID_HANDLE = 3,
    /// The caller's buffer is too small; the needed size is reported.
    EMV_ERROR_BUFFER_TOO_SMALL = 4,
    /// The caller's memory for a transaction is not aligned to
    /// `emv_transaction_align()`.
    EMV_ERROR_MISALIGNED = 5,
    /// The answer does not match the transaction's pending request.
    EMV_ERROR_NOT_EXPECTED = 6,
    /// The transaction is not over yet: `emv_request` says what it needs.
    EMV_ERROR_NOT_FINISHED = 7,
    /// The random selection number is outside 1 to 99, or a random
    /// selection percentage of the configuration is out of range.
    EMV_ERROR_RANDOM_SELECTION = 8,
    /// The transaction date is not a valid BCD YYMMDD date.
    EMV_ERROR_INVALID_DATE = 9,
    /// A PIN has 4 to 12 decimal digits.
    EMV_ERROR_INVALID_PIN = 10,
    /// The configuration text is invalid (the detail names the key).
    EMV_ERROR_CONFIG = 11,
    /// A CA public key or a capk.txt line is invalid (the detail says which).
    EMV_ERROR_CA_KEY = 12,
    /// A fixed capacity is full (applications, CA keys).
    EMV_ERROR_CAPACITY = 13,
    /// The object is still used by a transaction: end the transaction first.
    EMV_ERROR_IN_USE = 14,
    /// No simulated card profile has this name.
    EMV_ERROR_UNKNOWN_PROFILE = 15,
    /// An internal error (a panic was caught); the object that was in use
    /// must not be used again, except to free it.
    EMV_ERROR_PANIC = 16,
    /// `emv_force_acceptance` on an unattended terminal, or on a transaction
    /// the card did not decline.
    EMV_ERROR_FORCED_ACCEPTANCE_NOT_ALLOWED = 17,
    /// The transaction type is not one the terminal's Additional Terminal
    /// Capabilities (9F40 bytes 1-2) list.
    EMV_ERROR_TRANSACTION_TYPE_NOT_SUPPORTED = 18,
}

impl emv_error {
    /// The fixed message of the code.
    fn message(self) -> &'static std::ffi::CStr {
        match self {
            emv_error::EMV_OK => c"success",
            emv_error::EMV_ERROR_NULL_POINTER => c"a required pointer argument is NULL",
            emv_error::EMV_ERROR_INVALID_ARGUMENT => c"an argument is invalid",
            emv_error::EMV_ERROR_INVALID_HANDLE => {
                c"the handle is not an object of this kind, or it was freed"
            }
            emv_error::EMV_ERROR_BUFFER_TOO_SMALL => c"the caller's buffer is too small",
            emv_error::EMV_ERROR_MISALIGNED => {
                c"the transaction memory is not aligned to emv_transaction_align()"
            }
            emv_error::EMV_ERROR_NOT_EXPECTED => {
                c"this answer does not match the transaction's pending request (see emv_request)"
            }
            emv_error::EMV_ERROR_NOT_FINISHED => {
                c"the transaction is not over yet (see emv_request)"
            }
            emv_error::EMV_ERROR_RANDOM_SELECTION => {
                c"random selection number outside 1 to 99, or a target percentage out of range"
            }
            emv_error::EMV_ERROR_INVALID_DATE => {
                c"the transaction date is not a valid BCD YYMMDD date"
            }
            emv_error::EMV_ERROR_INVALID_PIN => c"a PIN has 4 to 12 decimal digits",
            emv_error::EMV_ERROR_CONFIG => c"the configuration is invalid",
            emv_error::EMV_ERROR_CA_KEY => c"a CA public key is invalid",
            emv_error::EMV_ERROR_CAPACITY => c"a fixed capacity is full",
            emv_error::EMV_ERROR_IN_USE => c"the object is still used by a transaction",
            emv_error::EMV_ERROR_UNKNOWN_PROFILE => c"no simulated card profile has this name",
            emv_error::EMV_ERROR_PANIC => c"internal error (a panic was caught)",
            emv_error::EMV_ERROR_FORCED_ACCEPTANCE_NOT_ALLOWED => {
                c"forced acceptance needs an attended terminal and a transaction the card declined"
            }
            emv_error::EMV_ERROR_TRANSACTION_TYPE_NOT_SUPPORTED => {
                c"the transaction type is not one the terminal supports (9F40)"
            }
        }
    }

    /// Every code, in order of value.
    const ALL: [emv_error; 19] = [
        emv_error::EMV_OK,
        emv_error::EMV_ERROR_NULL_POINTER,
        emv_error::EMV_ERROR_INVALID_ARGUMENT,
        emv_error::EMV_ERROR_INVALID_HANDLE,
        emv_error::EMV_ERROR_BUFFER_TOO_SMALL,
        emv_error::EMV_ERROR_MISALIGNED,
        emv_error::EMV_ERROR_NOT_EXPECTED,
        emv_error::EMV_ERROR_NOT_FINISHED,
        emv_error::EMV_ERROR_RANDOM_SELECTION,
        emv_error::EMV_ERROR_INVALID_DATE,
        emv_error::EMV_ERROR_INVALID_PIN,
        emv_error::EMV_ERROR_CONFIG,
        emv_error::EMV_ERROR_CA_KEY,
        emv_error::EMV_ERROR_CAPACITY,
        emv_error::EMV_ERROR_IN_USE,
        emv_error::EMV_ERROR_UNKNOWN_PROFILE,
        emv_error::EMV_ERROR_PANIC,
        emv_error::EMV_ERROR_FORCED_ACCEPTANCE_NOT_ALLOWED,
        emv_error::EMV_ERROR_TRANSACTION_TYPE_NOT_SUPPORTED,
    ];

    /// The code with this value, if there is one.
    pub fn from_value(value: i32) -> Option<emv_error> {
        usize::try_from(value)
            .ok()
            .and_then(|index| Self::ALL.get(index))
            .copied()
    }
}

/// A failure inside the library: the code and, when there is more to say,
/// the detail text for `emv_last_error_detail`.
#[derive(Debug)]
pub(crate) struct Failure {
    pub(crate) code: emv_error,
    pub(crate) detail: String,
}

impl Failure {
    pub(crate) fn new(code: emv_error, detail: impl Into<String>) -> Self {
        Failure {
            code,
            detail: detail.into(),
        }
    }

    pub(crate) fn null(argument: &str) -> Self {
        Failure::new(
            emv_error::EMV_ERROR_NULL_POINTER,
            format!("{argument} is NULL"),
        )
    }

    pub(crate) fn invalid(detail: impl Into<String>) -> Self {
        Failure::new(emv_error::EMV_ERROR_INVALID_ARGUMENT, detail)
    }
}

impl From<UsageError> for Failure {
    fn from(error: UsageError) -> Self {
        let code = match error {
            UsageError::NotExpected => emv_error::EMV_ERROR_NOT_EXPECTED,
            UsageError::RandomSelection => emv_error::EMV_ERROR_RANDOM_SELECTION,
            UsageError::InvalidDate => emv_error::EMV_ERROR_INVALID_DATE,
            UsageError::InvalidPin => emv_error::EMV_ERROR_INVALID_PIN,
            UsageError::ForcedAcceptanceNotAllowed => {
                emv_error::EMV_ERROR_FORCED_ACCEPTANCE_NOT_ALLOWED
            }
            UsageError::TransactionTypeNotSupported => {
                emv_error::EMV_ERROR_TRANSACTION_TYPE_NOT_SUPPORTED
            }
        };
        Failure::new(code, error.to_string())
    }
}

thread_local! {
    /// The detail text of the last failure on this thread.
    static LAST_ERROR_DETAIL: RefCell<CString> = RefCell::new(CString::default());
}

fn set_detail(code: emv_error, detail: &str) {
    let text = if detail.is_empty() {
        code.message().to_string_lossy().into_owned()
    } else {
        detail.to_owned()
    };
    // A NUL inside the text would end the C string early: replace it.
    let text = CString::new(text.replace('\0', " ")).unwrap_or_default();
    LAST_ERROR_DETAIL.with(|slot| *slot.borrow_mut() = text);
}

/// Runs one extern function's body: a panic becomes `EMV_ERROR_PANIC`, a
/// failure sets the thread's error detail and returns its code.
pub(crate) fn guard(body: impl FnOnce() -> Result<(), Failure>) -> emv_error {
    let result = catch_unwind(AssertUnwindSafe(body)).unwrap_or_else(|_| {
        Err(Failure::new(
            emv_error::EMV_ERROR_PANIC,
            "internal error: a panic was caught at the C boundary",
        ))
    });
    match result {
        Ok(()) => emv_error::EMV_OK,
        Err(failure) => {
            set_detail(failure.code, &failure.detail);
            failure.code
        }
    }
}

/// Runs a body that returns a value rather than an error code; a panic
/// returns `fallback`.
pub(crate) fn guard_value<T>(fallback: T, body: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(body)).unwrap_or(fallback)
}

/// The fixed English message of an error code (a static string, never
/// NULL); "unknown error code" for a value that is no `emv_error`.
#[no_mangle]
pub extern "C" fn emv_error_message(error: i32) -> *const c_char {
    guard_value(c"unknown error code".as_ptr(), || {
        emv_error::from_value(error)
            .map_or(c"unknown error code", emv_error::message)
            .as_ptr()
    })
}

/// The detail text of the last failure on the calling thread: the kernel's
/// or the configuration's own message, naming the field, key, line or
/// limit (for example `application[1].tac_online: expected 10 hex digits,
/// found 8`). Never NULL; an empty string before any failure.
///
/// The text never holds a PIN, a key or a PAN. The pointer stays valid until
/// the next failing `emv_*` call on the same thread; copy the text to keep it.
#[no_mangle]
pub extern "C" fn emv_last_error_detail() -> *const c_char {
    guard_value(c"".as_ptr(), || {
        LAST_ERROR_DETAIL.with(|slot| slot.borrow().as_ptr())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_round_trips_through_its_value() {
        for (index, code) in emv_error::ALL.iter().enumerate() {
            assert_eq!(*code as i32, index as i32);
            assert_eq!(emv_error::from_value(index as i32), Some(*code));
        }
        assert_eq!(emv_error::from_value(-1), None);
        assert_eq!(emv_error::from_value(19), None);
    }

    #[test]
    fn a_panic_becomes_an_error_code() {
        let code = guard(|| panic!("boom"));
        assert_eq!(code, emv_error::EMV_ERROR_PANIC);
    }
}
