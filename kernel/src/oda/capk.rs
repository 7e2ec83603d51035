//! The terminal's Certification Authority public keys (Book 2, 5.2, 6.2 and 11.2).
//!
//! A [`CaKeyStore`] holds up to `N` keys (by default
//! [`CA_KEY_STORE_CAPACITY`]) addressed by RID and CA Public Key Index;
//! [`CaKeyStore::load_capk_txt`] fills it from a `capk.txt` file. Each key's check sum (SHA-1 over RID, index, modulus
//! and exponent) is verified when it is loaded, and a key past its expiry date
//! is not used.
//!
//! # `capk.txt` lines
//!
//! [`parse_capk_line`] reads the one-key-a-line format of emv-tools and
//! Proxmark3, fields separated by white space:
//!
//! ```text
//! # RID          index expiry  algorithm exponent modulus              hash  check sum
//! a0:00:00:00:03 92    251231  rsa       03       99:6a:f5:...:7c:9f   sha1  42:9c:...:53
//! ```
//!
//! - byte strings are hexadecimal, either colon-separated (`a0:00:00:00:03`) or
//!   plain (`A000000003`), in either case;
//! - the expiry is `YYMMDD` in decimal; `000000` means the key does not expire;
//! - the algorithm is `rsa` and the hash `sha1` (the only ones EMV defines);
//! - an elliptic-curve CA key (EMV 4.4 Book 2, XDA) has no exponent: its
//!   algorithm is the suite, `ecc-p256` (suite `10`, EC-SDSA with SHA-256 on
//!   P-256) or `ecc-p521` (suite `11`, SHA-512 on P-521), followed by the
//!   x-coordinate of its point, the hash `sha1` and the check sum, SHA-1 over
//!   RID, index, suite indicator and x (our choice, docs/conformance.md):
//!
//! ```text
//! # RID          index expiry  algorithm x-coordinate          hash  check sum
//! a0:00:00:09:99 e0    301231  ecc-p256  cd:74:00:...:87:0a    sha1  5b:...:10
//! ```
//!
//!   Loading checks that x has the curve's length and is a point's
//!   x-coordinate ([`CryptoProvider::ecc_check_point`]);
//! - `#` starts a comment to the end of the line; blank lines are skipped.
//!
//! Parsing needs no allocation: the caller reads the file and feeds lines.

use super::{Date, EccPublicKey, PublicKey};
use crate::crypto::{CryptoError, CryptoProvider, EccCurve, MAX_ECC_FIELD_BYTES, SHA1_LEN};
use crate::limits::{CA_KEY_STORE_CAPACITY, MAX_RSA_EXPONENT_BYTES, MAX_RSA_MODULUS_BYTES};

/// Why a CA public key cannot be loaded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CaKeyError {
    /// Modulus empty or longer than 1984 bits, or exponent empty or longer than 3 bytes.
    KeySize,
    /// The check sum does not match SHA-1 over RID, index, modulus and exponent.
    Checksum,
    /// An elliptic-curve key whose x-coordinate is not a point of its curve
    /// (Book 2 Annex B2).
    InvalidPoint,
    /// The store already holds its capacity of keys.
    StoreFull {
        /// How many keys the store holds at most (its `N`).
        capacity: usize,
    },
}

impl core::fmt::Display for CaKeyError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            CaKeyError::KeySize => write!(
                f,
                "key size: the modulus must be 1 to {MAX_RSA_MODULUS_BYTES} bytes and the exponent 1 to {MAX_RSA_EXPONENT_BYTES} bytes"
            ),
            CaKeyError::InvalidPoint => f.write_str(
                "the elliptic-curve key is not a point of its curve",
            ),
            CaKeyError::Checksum => f.write_str(
                "the check sum does not match SHA-1 over RID, index, modulus and exponent",
            ),
            CaKeyError::StoreFull { capacity } => write!(
                f,
                "the CA key store is full: it holds at most {capacity} keys (choose a larger CaKeyStore<N>)"
            ),
        }
    }
}

impl core::error::Error for CaKeyError {}

/// One Certification Authority public key (Book 2, 11.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaPublicKey {
    /// Registered Application Provider Identifier of the payment system.
    pub rid: [u8; 5],
    /// Certification Authority Public Key Index (8F).
    pub index: u8,
    /// The public key: RSA (SDA, DDA, CDA) or elliptic-curve (XDA).
    pub key: CaKey,
    /// Last day the key may be used; `None` if it does not expire.
    pub expiry: Option<Date>,
}

/// A CA public key's algorithm and value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CaKey {
    /// RSA (Book 2, 11.2): certifies issuer keys of SDA, DDA and CDA cards.
    Rsa(PublicKey),
    /// Elliptic curve (EMV 4.4 Book 2, XDA): certifies ECC issuer keys.
    Ecc(EccPublicKey),
}

impl CaKey {
    /// The RSA key, if this is one.
    pub fn rsa(&self) -> Option<&PublicKey> {
        match self {
            CaKey::Rsa(key) => Some(key),
            CaKey::Ecc(_) => None,
        }
    }

    /// The elliptic-curve key, if this is one.
    pub fn ecc(&self) -> Option<&EccPublicKey> {
        match self {
            CaKey::Rsa(_) => None,
            CaKey::Ecc(key) => Some(key),
        }
    }
}

/// The algorithm suite indicator of a curve (Book 2 Annex B2): `10` or `11`.
pub(crate) const fn suite_indicator(curve: EccCurve) -> u8 {
    match curve {
        EccCurve::P256 => 0x10,
        EccCurve::P521 => 0x11,
    }
}

impl CaPublicKey {
    /// An elliptic-curve CA key (XDA), checking that `x` is a point of
    /// `curve` (when the provider supports the curve) and verifying the check
    /// sum when one is given (SHA-1 over RID, index, suite indicator and x;
    /// docs/conformance.md).
    pub fn new_ecc<C: CryptoProvider + ?Sized>(
        crypto: &C,
        rid: [u8; 5],
        index: u8,
        curve: EccCurve,
        x: &[u8],
        expiry: Option<Date>,
        checksum: Option<&[u8; SHA1_LEN]>,
    ) -> Result<Self, CaKeyError> {
        let key = EccPublicKey::new(curve, x).ok_or(CaKeyError::KeySize)?;
        let ca_key = Self {
            rid,
            index,
            key: CaKey::Ecc(key),
            expiry,
        };
        if let Some(expected) = checksum {
            if ca_key.checksum(crypto) != *expected {
                return Err(CaKeyError::Checksum);
            }
        }
        // Not a point: refused. A provider without this curve (a provider
        // written before XDA, or a build without feature `ecc-p521`) cannot
        // tell: the key loads, and every XDA check with it fails as
        // `CryptoError::Unsupported`, so one such line does not stop a
        // `capk.txt` load for the RSA keys.
        match crypto.ecc_check_point(curve, x) {
            Ok(()) | Err(CryptoError::Unsupported) => Ok(ca_key),
            Err(_) => Err(CaKeyError::InvalidPoint),
        }
    }

    /// A key, verifying its check sum when one is given.
    ///
    /// Book 2, 11.2: the check sum is SHA-1 over RID, CA Public Key Index,
    /// modulus and exponent.
    pub fn new<C: CryptoProvider + ?Sized>(
        crypto: &C,
        rid: [u8; 5],
        index: u8,
        modulus: &[u8],
        exponent: &[u8],
        expiry: Option<Date>,
        checksum: Option<&[u8; SHA1_LEN]>,
    ) -> Result<Self, CaKeyError> {
        let key = PublicKey::new(modulus, exponent).ok_or(CaKeyError::KeySize)?;
        let ca_key = Self {
            rid,
            index,
            key: CaKey::Rsa(key),
            expiry,
        };
        if let Some(expected) = checksum {
            if ca_key.checksum(crypto) != *expected {
                return Err(CaKeyError::Checksum);
            }
        }
        Ok(ca_key)
    }

    /// SHA-1 over RID, index, modulus and exponent (Book 2, 11.2); for an
    /// elliptic-curve key over RID, index, suite indicator and x.
    pub fn checksum<C: CryptoProvider + ?Sized>(&self, crypto: &C) -> [u8; SHA1_LEN] {
        match &self.key {
            CaKey::Rsa(key) => {
                crypto.sha1(&[&self.rid, &[self.index], &key.modulus, &key.exponent])
            }
            CaKey::Ecc(key) => crypto.sha1(&[
                &self.rid,
                &[self.index],
                &[suite_indicator(key.curve)],
                &key.x,
            ]),
        }
    }

    /// Whether the key may be used on `date` (not past its expiry date).
    pub fn is_valid_on(&self, date: Date) -> bool {
        self.expiry.is_none_or(|expiry| date <= expiry)
    }
}

/// Looking up CA public keys by RID and index (Book 2, 5.2 and 6.2), on the
/// keys a [`CaKeyStore`] holds. The kernel reads the terminal's keys as a
/// slice ([`TerminalContext::ca_keys`](crate::transaction::TerminalContext)),
/// so a store of any capacity serves.
pub trait CaKeyLookup {
    /// The key for `rid` and `index` usable on `date`.
    ///
    /// A key past its expiry date is not used: the result is `None`, as if the
    /// terminal did not hold it.
    fn key_for(&self, rid: &[u8; 5], index: u8, date: Date) -> Option<&CaPublicKey>;
    /// The key for `rid` and `index`, whatever its expiry date.
    fn find_key(&self, rid: &[u8; 5], index: u8) -> Option<&CaPublicKey>;
}

impl CaKeyLookup for [CaPublicKey] {
    fn key_for(&self, rid: &[u8; 5], index: u8, date: Date) -> Option<&CaPublicKey> {
        self.find_key(rid, index)
            .filter(|key| key.is_valid_on(date))
    }

    fn find_key(&self, rid: &[u8; 5], index: u8) -> Option<&CaPublicKey> {
        self.iter()
            .find(|key| &key.rid == rid && key.index == index)
    }
}

/// The terminal's CA public keys, addressed by RID and index, at most `N`
/// of them ([`CA_KEY_STORE_CAPACITY`] by default). Each key takes about
/// 270 bytes; choose `N` for the key lists the terminal must carry (published
/// lists of test and live keys hold over 130).
///
/// It dereferences to the slice of keys it holds, which is what
/// [`TerminalContext::ca_keys`](crate::transaction::TerminalContext) takes.
#[derive(Clone, Debug, Default)]
pub struct CaKeyStore<const N: usize = CA_KEY_STORE_CAPACITY> {
    keys: heapless::Vec<CaPublicKey, N>,
}

impl<const N: usize> core::ops::Deref for CaKeyStore<N> {
    type Target = [CaPublicKey];

    fn deref(&self) -> &[CaPublicKey] {
        &self.keys
    }
}

impl CaKeyStore {
    /// An empty store of the default capacity ([`CA_KEY_STORE_CAPACITY`]).
    /// For another capacity: `CaKeyStore::<160>::empty()`.
    pub const fn new() -> Self {
        Self::empty()
    }
}

impl<const N: usize> CaKeyStore<N> {
    /// An empty store of capacity `N`.
    pub const fn empty() -> Self {
        Self {
            keys: heapless::Vec::new(),
        }
    }

    /// How many keys the store can hold (`N`).
    pub const fn capacity(&self) -> usize {
        N
    }

    /// Add a key, replacing one with the same RID and index.
    pub fn insert(&mut self, key: CaPublicKey) -> Result<(), CaKeyError> {
        if let Some(slot) = self
            .keys
            .iter_mut()
            .find(|k| k.rid == key.rid && k.index == key.index)
        {
            *slot = key;
            return Ok(());
        }
        self.keys
            .push(key)
            .map_err(|_| CaKeyError::StoreFull { capacity: N })
    }

    /// The key for `rid` and `index` usable on `date` (Book 2, 5.2 and 6.2).
    ///
    /// A key past its expiry date is not used: the result is `None`, as if the
    /// terminal did not hold it.
    pub fn get(&self, rid: &[u8; 5], index: u8, date: Date) -> Option<&CaPublicKey> {
        self.keys.as_slice().key_for(rid, index, date)
    }

    /// The key for `rid` and `index`, whatever its expiry date.
    pub fn find(&self, rid: &[u8; 5], index: u8) -> Option<&CaPublicKey> {
        self.keys.as_slice().find_key(rid, index)
    }

    /// Remove the key for `rid` and `index`; whether one was held.
    pub fn remove(&mut self, rid: &[u8; 5], index: u8) -> bool {
        match self
            .keys
            .iter()
            .position(|key| &key.rid == rid && key.index == index)
        {
            Some(position) => {
                self.keys.swap_remove(position);
                true
            }
            None => false,
        }
    }

    /// Load every key of a `capk.txt` file (the format of the
    /// [module documentation](self)), line by line, verifying each check sum.
    ///
    /// `today`, when given, is used to report keys already expired on that
    /// date: they are still loaded (the kernel never uses a key past its
    /// expiry, Book 2, 5.2), but `notice` hears of them. A key whose RID and
    /// index an earlier line of the same file already gave is reported as
    /// [`CapkNotice::Duplicate`] and replaces the earlier one, as
    /// [`CaKeyStore::insert`] does. The first bad line stops the load with
    /// its line number; keys loaded before it stay in the store.
    ///
    /// Returns how many keys the file held.
    pub fn load_capk_txt<C: CryptoProvider + ?Sized>(
        &mut self,
        crypto: &C,
        text: &str,
        today: Option<Date>,
        mut notice: impl FnMut(CapkNotice),
    ) -> Result<usize, CapkFileError> {
        let first_new = self.keys.len();
        let mut loaded = 0usize;
        for (number, line) in text.lines().enumerate() {
            let line_number = number + 1;
            let key = match parse_capk_line(crypto, line) {
                Ok(Some(key)) => key,
                Ok(None) => continue,
                Err(error) => {
                    return Err(CapkFileError {
                        line: line_number,
                        error,
                    })
                }
            };
            let (rid, index) = (key.rid, key.index);
            // Only keys this load added count as duplicates of the file.
            let duplicate = self
                .keys
                .get(first_new..)
                .is_some_and(|added| added.find_key(&rid, index).is_some());
            if duplicate {
                notice(CapkNotice::Duplicate {
                    line: line_number,
                    rid,
                    index,
                });
            }
            if let (Some(today), Some(expiry)) = (today, key.expiry) {
                if !key.is_valid_on(today) {
                    notice(CapkNotice::Expired {
                        line: line_number,
                        rid,
                        index,
                        expiry,
                    });
                }
            }
            self.insert(key).map_err(|error| CapkFileError {
                line: line_number,
                error: CapkLineError::Key(error),
            })?;
            loaded += 1;
        }
        Ok(loaded)
    }
}

/// Something worth telling the user about a `capk.txt` file that still loads
/// ([`CaKeyStore::load_capk_txt`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CapkNotice {
    /// An earlier line of the file gave a key for the same RID and index;
    /// this line's key replaces it.
    Duplicate {
        /// Line number (from 1).
        line: usize,
        /// The RID.
        rid: [u8; 5],
        /// The CA Public Key Index.
        index: u8,
    },
    /// The key's expiry date is before the date given to the load; it will
    /// never be used.
    Expired {
        /// Line number (from 1).
        line: usize,
        /// The RID.
        rid: [u8; 5],
        /// The CA Public Key Index.
        index: u8,
        /// Its expiry date.
        expiry: Date,
    },
}

impl core::fmt::Display for CapkNotice {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            CapkNotice::Duplicate { line, rid, index } => {
                write!(f, "line {line}: ")?;
                write_rid(f, rid)?;
                write!(
                    f,
                    " index {index:02X} appears again; this line replaces the earlier key"
                )
            }
            CapkNotice::Expired {
                line,
                rid,
                index,
                expiry,
            } => {
                write!(f, "line {line}: ")?;
                write_rid(f, rid)?;
                write!(
                    f,
                    " index {index:02X} expired on {:04}-{:02}-{:02} and will not be used",
                    expiry.year, expiry.month, expiry.day
                )
            }
        }
    }
}

fn write_rid(f: &mut core::fmt::Formatter<'_>, rid: &[u8; 5]) -> core::fmt::Result {
    f.write_str("RID ")?;
    for byte in rid {
        write!(f, "{byte:02X}")?;
    }
    Ok(())
}

/// A `capk.txt` line that could not be loaded, with its line number (from 1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CapkFileError {
    /// Line number (from 1).
    pub line: usize,
    /// What was wrong with it.
    pub error: CapkLineError,
}

impl core::fmt::Display for CapkFileError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "line {}: {}", self.line, self.error)
    }
}

impl core::error::Error for CapkFileError {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        Some(&self.error)
    }
}

/// A field of a `capk.txt` line, to say which one is wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CapkField {
    /// RID, 5 bytes.
    Rid,
    /// CA Public Key Index, 1 byte.
    Index,
    /// Expiry date, `YYMMDD` or `000000`.
    Expiry,
    /// Key algorithm, `rsa`, `ecc-p256` or `ecc-p521`.
    KeyAlgorithm,
    /// Elliptic-curve x-coordinate, 32 (P-256) or 66 (P-521) bytes.
    EccPoint,
    /// Public exponent, 1 to 3 bytes.
    Exponent,
    /// Modulus, 1 to 248 bytes.
    Modulus,
    /// Hash algorithm, `sha1`.
    HashAlgorithm,
    /// Check sum, 20 bytes.
    Checksum,
}

/// Why a `capk.txt` line cannot be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CapkLineError {
    /// The line ends before this field.
    MissingField(CapkField),
    /// The field is not valid hexadecimal, has the wrong length, or is not
    /// one of the accepted words.
    InvalidField(CapkField),
    /// Text follows the check sum.
    TrailingText,
    /// The key itself was rejected (bad check sum, size).
    Key(CaKeyError),
}

impl core::fmt::Display for CapkField {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            CapkField::Rid => "RID (5 bytes of hex)",
            CapkField::Index => "CA Public Key Index (1 byte of hex)",
            CapkField::Expiry => "expiry date (YYMMDD, or 000000)",
            CapkField::KeyAlgorithm => "key algorithm (rsa, ecc-p256 or ecc-p521)",
            CapkField::EccPoint => "x-coordinate (32 bytes of hex for P-256, 66 for P-521)",
            CapkField::Exponent => "exponent (1 to 3 bytes of hex)",
            CapkField::Modulus => "modulus (1 to 248 bytes of hex)",
            CapkField::HashAlgorithm => "hash algorithm (sha1)",
            CapkField::Checksum => "check sum (20 bytes of hex)",
        })
    }
}

impl core::fmt::Display for CapkLineError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            CapkLineError::MissingField(field) => write!(f, "the line ends before the {field}"),
            CapkLineError::InvalidField(field) => write!(f, "invalid {field}"),
            CapkLineError::TrailingText => f.write_str("text after the check sum"),
            CapkLineError::Key(error) => error.fmt(f),
        }
    }
}

impl core::error::Error for CapkLineError {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            CapkLineError::Key(error) => Some(error),
            _ => None,
        }
    }
}

/// Read one `capk.txt` line; `Ok(None)` for a blank or comment line.
///
/// The format is described in the [module documentation](self).
pub fn parse_capk_line<C: CryptoProvider + ?Sized>(
    crypto: &C,
    line: &str,
) -> Result<Option<CaPublicKey>, CapkLineError> {
    let content = match line.split_once('#') {
        Some((before, _comment)) => before,
        None => line,
    };
    let mut fields = content.split_whitespace();
    let Some(rid_text) = fields.next() else {
        return Ok(None);
    };
    let mut next = |field| fields.next().ok_or(CapkLineError::MissingField(field));

    let mut rid = [0u8; 5];
    decode_exact(rid_text, &mut rid, CapkField::Rid)?;
    let mut index = [0u8; 1];
    decode_exact(next(CapkField::Index)?, &mut index, CapkField::Index)?;
    let [index_byte] = index;
    let expiry = parse_expiry(next(CapkField::Expiry)?)?;
    let algorithm = next(CapkField::KeyAlgorithm)?;
    let curve = if algorithm.eq_ignore_ascii_case("rsa") {
        None
    } else if algorithm.eq_ignore_ascii_case("ecc-p256") {
        Some(EccCurve::P256)
    } else if algorithm.eq_ignore_ascii_case("ecc-p521") {
        Some(EccCurve::P521)
    } else {
        return Err(CapkLineError::InvalidField(CapkField::KeyAlgorithm));
    };
    if let Some(curve) = curve {
        let mut x = [0u8; MAX_ECC_FIELD_BYTES];
        let x = decode_hex(next(CapkField::EccPoint)?, &mut x)
            .and_then(|len| x.get(..len))
            .filter(|x| x.len() == curve.field_len())
            .ok_or(CapkLineError::InvalidField(CapkField::EccPoint))?;
        let checksum = read_hash_and_checksum(&mut next)?;
        if fields.next().is_some() {
            return Err(CapkLineError::TrailingText);
        }
        return CaPublicKey::new_ecc(crypto, rid, index_byte, curve, x, expiry, Some(&checksum))
            .map(Some)
            .map_err(CapkLineError::Key);
    }
    let mut exponent = [0u8; MAX_RSA_EXPONENT_BYTES];
    let exponent_len = decode_hex(next(CapkField::Exponent)?, &mut exponent)
        .ok_or(CapkLineError::InvalidField(CapkField::Exponent))?;
    let mut modulus = [0u8; MAX_RSA_MODULUS_BYTES];
    let modulus_len = decode_hex(next(CapkField::Modulus)?, &mut modulus)
        .ok_or(CapkLineError::InvalidField(CapkField::Modulus))?;
    let checksum = read_hash_and_checksum(&mut next)?;
    if fields.next().is_some() {
        return Err(CapkLineError::TrailingText);
    }

    CaPublicKey::new(
        crypto,
        rid,
        index_byte,
        modulus.get(..modulus_len).unwrap_or(&[]),
        exponent.get(..exponent_len).unwrap_or(&[]),
        expiry,
        Some(&checksum),
    )
    .map(Some)
    .map_err(CapkLineError::Key)
}

/// The `sha1` hash field and the check sum after it.
fn read_hash_and_checksum<'a>(
    next: &mut impl FnMut(CapkField) -> Result<&'a str, CapkLineError>,
) -> Result<[u8; SHA1_LEN], CapkLineError> {
    if !next(CapkField::HashAlgorithm)?.eq_ignore_ascii_case("sha1") {
        return Err(CapkLineError::InvalidField(CapkField::HashAlgorithm));
    }
    let mut checksum = [0u8; SHA1_LEN];
    decode_exact(
        next(CapkField::Checksum)?,
        &mut checksum,
        CapkField::Checksum,
    )?;
    Ok(checksum)
}

/// Decode hexadecimal that must fill `out` exactly.
fn decode_exact(text: &str, out: &mut [u8], field: CapkField) -> Result<(), CapkLineError> {
    match decode_hex(text, out) {
        Some(len) if len == out.len() => Ok(()),
        _ => Err(CapkLineError::InvalidField(field)),
    }
}

/// Decode hexadecimal digits, ignoring `:` separators, into `out`; the number
/// of bytes written, or `None` if the text is empty, not hexadecimal, has an
/// odd number of digits, or does not fit.
fn decode_hex(text: &str, out: &mut [u8]) -> Option<usize> {
    let mut digits = text.bytes().filter(|byte| *byte != b':');
    let mut written = 0usize;
    while let Some(high) = digits.next() {
        let low = digits.next()?;
        let value = (hex_digit(high)? << 4) | hex_digit(low)?;
        *out.get_mut(written)? = value;
        written += 1;
    }
    (written > 0).then_some(written)
}

fn hex_digit(byte: u8) -> Option<u8> {
    match byte {
        b'0'..=b'9' => Some(byte - b'0'),
        b'a'..=b'f' => Some(byte - b'a' + 10),
        b'A'..=b'F' => Some(byte - b'A' + 10),
        _ => None,
    }
}

/// `YYMMDD` in decimal digits, or `000000` for a key without expiry.
fn parse_expiry(text: &str) -> Result<Option<Date>, CapkLineError> {
    let invalid = CapkLineError::InvalidField(CapkField::Expiry);
    if text == "000000" {
        return Ok(None);
    }
    let bytes = text.as_bytes();
    if bytes.len() != 6 || !bytes.iter().all(u8::is_ascii_digit) {
        return Err(invalid);
    }
    let mut bcd = [0u8; 3];
    for (target, pair) in bcd.iter_mut().zip(bytes.chunks(2)) {
        let (high, low) = match pair {
            [high, low] => (high - b'0', low - b'0'),
            _ => return Err(invalid),
        };
        *target = (high << 4) | low;
    }
    Date::from_bcd(&bcd).map(Some).map_err(|_| invalid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_with_and_without_colons() {
        let mut out = [0u8; 4];
        assert_eq!(decode_hex("a0:00:0F", &mut out), Some(3));
        assert_eq!(out[..3], [0xA0, 0x00, 0x0F]);
        assert_eq!(decode_hex("A0000F", &mut out), Some(3));
        assert_eq!(decode_hex("A0000", &mut out), None);
        assert_eq!(decode_hex("A0G0", &mut out), None);
        assert_eq!(decode_hex("0102030405", &mut out), None);
        assert_eq!(decode_hex("", &mut out), None);
    }

    #[test]
    fn expiry_dates() {
        assert_eq!(parse_expiry("000000"), Ok(None));
        assert_eq!(
            parse_expiry("251231"),
            Ok(Some(Date {
                year: 2025,
                month: 12,
                day: 31
            }))
        );
        assert!(parse_expiry("251331").is_err());
        assert!(parse_expiry("2512").is_err());
        assert!(parse_expiry("25123a").is_err());
    }
}
