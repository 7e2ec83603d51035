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

/// Longest AID (4F / 84): Book 1, 12.2.1 allows 5 to 16 bytes.
pub const MAX_AID_BYTES: usize = 16;

/// Applications one terminal accepts: schemes, their debit/credit variants and
/// domestic brands rarely exceed a dozen; 16 leaves room.
pub const TERMINAL_AID_CAPACITY: usize = 16;

/// Languages one terminal shows messages in (Book 4, 11.1): a local
/// language, a few neighbours' and English; 8 leaves room.
pub const TERMINAL_LANGUAGE_CAPACITY: usize = 8;

/// Longest terminal default DDOL / TDOL kept in the configuration: real ones
/// are one to a few entries (`9F3704`); 32 bytes holds ten entries.
pub const MAX_DEFAULT_DOL_BYTES: usize = 32;

/// Merchant Name and Location (9F4E): schemes allow up to 40 characters here.
pub const MAX_MERCHANT_NAME_BYTES: usize = 40;

/// Candidate list entries (Book 1, 12.3): a card holds a handful of
/// applications (PSE directories on multi-application cards list 2-6).
pub const CANDIDATE_LIST_CAPACITY: usize = 12;

/// Application Label (50) and Application Preferred Name (9F12): 1-16 bytes
/// (Book 1, Annex B).
pub const MAX_LABEL_BYTES: usize = 16;

/// DDFs followed from the PSE directory (Book 1, 12.3.2): directories may
/// nest; real cards use none or one level. Bounds the selection loop.
pub const PSE_DDF_CAPACITY: usize = 4;

/// Bytes of card and issuer data kept for one transaction (the values of
/// every primitive object read: FCI, GPO response, records, GET DATA). A real
/// card's records total 0.6-1.5 KiB, dominated by up to four RSA certificates
/// and remainders (4 x 248 bytes at 1984-bit keys); 3 KiB holds the worst
/// realistic case.
pub const DATA_STORE_BYTES: usize = 3072;

/// Distinct data objects kept for one transaction: real cards send 30-60.
pub const DATA_STORE_ENTRIES: usize = 96;

/// Static data to be authenticated (Book 3, 10.3): the ODA-flagged records
/// plus the tags of the SDA tag list. Real cards flag 1-3 records (under
/// 600 bytes); 2 KiB covers eight full records. Overflow: ODA fails.
pub const ODA_DATA_BYTES: usize = 2048;

/// Largest AFL (94): 252 bytes is the most a 256-byte response leaves after
/// its template; 63 four-byte entries.
pub const MAX_AFL_BYTES: usize = 252;

/// Issuer scripts (71 and 72) kept from one authorisation response: Book 3,
/// 10.10 lets acquirers cap script length; 512 bytes holds several
/// commands of the common PIN change / block / update types.
pub const ISSUER_SCRIPT_BYTES: usize = 512;

/// Script results (9F5B) kept: 5 bytes per command, 16 commands.
pub const SCRIPT_RESULTS_BYTES: usize = 80;

/// ICC data for clearing (ISO 8583 field 55) written into the outcome: the
/// standard set is about 20 objects and 150-260 bytes with a long 9F10.
pub const CLEARING_DATA_BYTES: usize = 320;

/// Most Cardholder Verification Rules in one CVM List (8E). Book 3, Annex A
/// gives 8E at most 252 bytes: 8 for amounts X and Y, then 2 per rule, so
/// (252 - 8) / 2 = 122. A longer list is a card format error.
pub const CVM_LIST_MAX_RULES: usize = 122;

/// Data objects of a GENERATE AC response hashed for CDA (Book 2, 6.6.2):
/// format 2 responses carry 4 to 8 (9F27, 9F36, 9F4B, 9F10 and proprietary
/// ones); 16 leaves room. More makes CDA fail, as a defined outcome.
pub const CDA_RESPONSE_MAX_OBJECTS: usize = 16;
