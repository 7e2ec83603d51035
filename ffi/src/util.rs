//! Reading and writing C memory: the checks every extern function makes
//! before it touches a caller's pointer.

use crate::error::Failure;

/// A caller's `(pointer, length)` byte range as a slice; NULL with length 0
/// is the empty slice.
///
/// # Safety
/// When `pointer` is not NULL it must point to `length` readable bytes that
/// stay unchanged for `'a`.
pub(crate) unsafe fn bytes<'a>(
    pointer: *const u8,
    length: usize,
    argument: &str,
) -> Result<&'a [u8], Failure> {
    if pointer.is_null() {
        return if length == 0 {
            Ok(&[])
        } else {
            Err(Failure::null(argument))
        };
    }
    if length > isize::MAX as usize {
        return Err(Failure::invalid(format!(
            "{argument}: length {length} is too large"
        )));
    }
    // SAFETY: not NULL, and the caller guarantees `length` readable bytes
    // that outlive 'a; the length fits an isize (checked above).
    Ok(unsafe { std::slice::from_raw_parts(pointer, length) })
}

/// A caller's text (`pointer`, `length` bytes, no NUL needed) as UTF-8.
///
/// # Safety
/// As for [`bytes`].
pub(crate) unsafe fn text<'a>(
    pointer: *const std::ffi::c_char,
    length: usize,
    argument: &str,
) -> Result<&'a str, Failure> {
    // SAFETY: forwarded from the caller's contract.
    let raw = unsafe { bytes(pointer.cast(), length, argument) }?;
    std::str::from_utf8(raw).map_err(|error| {
        Failure::invalid(format!(
            "{argument} is not UTF-8 (byte {})",
            error.valid_up_to()
        ))
    })
}

/// A NUL-terminated C string as UTF-8.
#[cfg(feature = "simulated-cards")]
///
/// # Safety
/// When not NULL, `pointer` must be a NUL-terminated string.
pub(crate) unsafe fn c_str<'a>(
    pointer: *const std::ffi::c_char,
    argument: &str,
) -> Result<&'a str, Failure> {
    if pointer.is_null() {
        return Err(Failure::null(argument));
    }
    // SAFETY: not NULL, and the caller guarantees a NUL-terminated string.
    let raw = unsafe { std::ffi::CStr::from_ptr(pointer) };
    raw.to_str()
        .map_err(|_| Failure::invalid(format!("{argument} is not UTF-8")))
}

/// A caller's output location, checked for NULL.
///
/// # Safety
/// When not NULL, `pointer` must be valid for writes of a `T` and aligned.
pub(crate) unsafe fn out<'a, T>(pointer: *mut T, argument: &str) -> Result<&'a mut T, Failure> {
    // SAFETY: the caller guarantees a writable, aligned `T` when not NULL;
    // `as_mut` checks NULL.
    unsafe { pointer.as_mut() }.ok_or_else(|| Failure::null(argument))
}

/// A caller's input struct, checked for NULL.
///
/// # Safety
/// When not NULL, `pointer` must point to an initialised, aligned `T`.
pub(crate) unsafe fn input<'a, T>(pointer: *const T, argument: &str) -> Result<&'a T, Failure> {
    // SAFETY: the caller guarantees an initialised, aligned `T` when not
    // NULL; `as_ref` checks NULL.
    unsafe { pointer.as_ref() }.ok_or_else(|| Failure::null(argument))
}

/// Copies `text` into a fixed C `char` array, NUL-terminated, truncated to
/// fit; the rest of the array is zero.
pub(crate) fn copy_c_text(target: &mut [std::ffi::c_char], text: &[u8]) {
    target.fill(0);
    let room = target.len().saturating_sub(1);
    for (slot, byte) in target.iter_mut().zip(text.iter().take(room)) {
        *slot = *byte as std::ffi::c_char;
    }
}

/// Copies `source` into the front of `target` and zeroes the rest; returns
/// how many bytes were copied.
pub(crate) fn copy_bytes(target: &mut [u8], source: &[u8]) -> usize {
    target.fill(0);
    let count = source.len().min(target.len());
    target[..count].copy_from_slice(&source[..count]);
    count
}

/// An object the library allocates and hands to C as an opaque pointer:
/// its first field is a tag that tells its kind, checked on every use.
pub(crate) trait Handle {
    /// The tag of this kind of object.
    const MAGIC: u64;
    /// What C calls it, for error details.
    const NAME: &'static str;
    /// The object's tag (`MAGIC` while alive, 0 once freed).
    fn magic(&self) -> u64;
}

/// A handle the caller passed, checked for NULL and for its kind.
///
/// # Safety
/// When not NULL, `pointer` must point to memory that holds a `T` made by
/// this library, or at least 8 readable bytes that are not one.
pub(crate) unsafe fn handle<'a, T: Handle>(pointer: *const T) -> Result<&'a T, crate::Failure> {
    // SAFETY: forwarded from the caller's contract.
    let object = unsafe { input(pointer, T::NAME) }?;
    if object.magic() != T::MAGIC {
        return Err(crate::Failure::new(
            crate::emv_error::EMV_ERROR_INVALID_HANDLE,
            format!(
                "{} is not a live {} (freed, or another object)",
                T::NAME,
                T::NAME
            ),
        ));
    }
    Ok(object)
}

/// As [`handle`], for a handle the function changes.
///
/// # Safety
/// As for [`handle`], and no other reference to the object may be in use.
pub(crate) unsafe fn handle_mut<'a, T: Handle>(
    pointer: *mut T,
) -> Result<&'a mut T, crate::Failure> {
    // SAFETY: forwarded from the caller's contract.
    unsafe { handle(pointer) }?;
    // SAFETY: checked non-NULL and of kind T above; the caller guarantees
    // exclusive access.
    Ok(unsafe { &mut *pointer })
}

/// A caller's writable byte range as a slice; NULL is refused unless
/// `length` is 0.
///
/// # Safety
/// When `pointer` is not NULL it must point to `length` writable bytes that
/// nothing else uses for `'a`.
pub(crate) unsafe fn bytes_mut<'a>(
    pointer: *mut u8,
    length: usize,
    argument: &str,
) -> Result<&'a mut [u8], Failure> {
    if pointer.is_null() {
        return if length == 0 {
            Ok(&mut [])
        } else {
            Err(Failure::null(argument))
        };
    }
    if length > isize::MAX as usize {
        return Err(Failure::invalid(format!(
            "{argument}: length {length} is too large"
        )));
    }
    // SAFETY: not NULL, and the caller guarantees `length` writable bytes
    // used by nothing else for 'a; the length fits an isize.
    Ok(unsafe { std::slice::from_raw_parts_mut(pointer, length) })
}
