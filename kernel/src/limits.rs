//! Capacity limits of the kernel, in one place, each with its reason.
//!
//! The kernel has no heap; every buffer is sized here. Exceeding a limit is a
//! defined outcome (for example ODA fails with its TVR bit), never a panic.

/// Deepest nesting of constructed TLV templates we follow. Real cards nest at
/// most 4 deep (6F > A5 > BF0C > 61); 8 leaves room and bounds recursion.
pub const TLV_MAX_DEPTH: usize = 8;
