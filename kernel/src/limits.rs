//! Capacity limits of the kernel, in one place, each with its reason.
//!
//! The kernel has no heap; every buffer is sized here. Exceeding a limit is a
//! defined outcome (for example ODA fails with its TVR bit), never a panic.

/// Deepest nesting of constructed TLV templates we follow. Real cards nest at
/// most 4 deep (6F > A5 > BF0C > 61); 8 leaves room and bounds recursion.
pub const TLV_MAX_DEPTH: usize = 8;

/// Largest RSA modulus in bytes: 1984 bits, the largest CA, issuer and ICC key
/// length EMV Book 2 allows (Annex B2.1 and the key management part). Sizes every
/// recovery buffer and key in `oda` and the default RSA provider's widest integer.
pub const MAX_RSA_MODULUS_BYTES: usize = 248;

/// Largest RSA public exponent in bytes: EMV exponents are 3 or 2^16+1 (Book 2,
/// Annex B2.1), encoded in 1 or 3 bytes.
pub const MAX_RSA_EXPONENT_BYTES: usize = 3;

/// CA public keys one terminal holds: a real terminal carries 30-50 across the
/// payment systems it accepts (a few indexes per RID, test and live).
pub const CA_KEY_STORE_CAPACITY: usize = 64;

/// Issuer certificate revocation entries (Book 2, 5.3 step 10 and 6.3): the
/// payment systems publish a few per RID; 64 leaves room.
pub const REVOCATION_LIST_CAPACITY: usize = 64;

/// Most Cardholder Verification Rules in one CVM List (8E). Book 3, Annex A
/// gives 8E at most 252 bytes: 8 for amounts X and Y, then 2 per rule, so
/// (252 - 8) / 2 = 122. A longer list is a card format error.
pub const CVM_LIST_MAX_RULES: usize = 122;
