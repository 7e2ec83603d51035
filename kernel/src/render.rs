//! Decoding EMV values: for people (text rendering through `core::fmt`) and
//! for the kernel (structured decoders of the CVM List, the AFL, the CID and
//! the bit strings).
//!
//! Nothing here allocates: renderers write through [`core::fmt::Write`] or
//! implement [`core::fmt::Display`]; decoders borrow the value they decode.
//! Every function accepts any bytes (card data is hostile) and never panics.

use crate::dictionary::{self, Format};
use crate::dol;
use crate::tlv::Tag;
use crate::tvr::{Bit, TSI_BITS, TVR_BITS};
use core::fmt;

const fn bit(byte: usize, mask: u8, name: &'static str) -> Bit {
    Bit { byte, mask, name }
}

/// Book 3, Annex C1: Application Interchange Profile (82); byte 1 b8 is
/// EMV 4.4's XDA.
pub const AIP_BITS: &[Bit] = &[
    bit(0, 0x80, "XDA supported"),
    bit(0, 0x40, "SDA supported"),
    bit(0, 0x20, "DDA supported"),
    bit(0, 0x10, "Cardholder verification is supported"),
    bit(0, 0x08, "Terminal risk management is to be performed"),
    bit(0, 0x04, "Issuer authentication is supported"),
    bit(0, 0x01, "CDA supported"),
    bit(
        1,
        0x80,
        "Reserved for use by the EMV Contactless Specifications",
    ),
];

/// Book 3, Annex C2: Application Usage Control (9F07).
pub const AUC_BITS: &[Bit] = &[
    bit(0, 0x80, "Valid for domestic cash transactions"),
    bit(0, 0x40, "Valid for international cash transactions"),
    bit(0, 0x20, "Valid for domestic goods"),
    bit(0, 0x10, "Valid for international goods"),
    bit(0, 0x08, "Valid for domestic services"),
    bit(0, 0x04, "Valid for international services"),
    bit(0, 0x02, "Valid at ATMs"),
    bit(0, 0x01, "Valid at terminals other than ATMs"),
    bit(1, 0x80, "Domestic cashback allowed"),
    bit(1, 0x40, "International cashback allowed"),
];

/// Book 4, Annex A2: Terminal Capabilities (9F33).
pub const TERMINAL_CAPABILITIES_BITS: &[Bit] = &[
    bit(0, 0x80, "Manual key entry"),
    bit(0, 0x40, "Magnetic stripe"),
    bit(0, 0x20, "IC with contacts"),
    bit(1, 0x80, "Plaintext PIN for ICC verification"),
    bit(1, 0x40, "Enciphered PIN for online verification"),
    bit(1, 0x20, "Signature (paper)"),
    bit(1, 0x10, "Enciphered PIN for offline verification"),
    bit(1, 0x08, "No CVM required"),
    bit(2, 0x80, "SDA"),
    bit(2, 0x40, "DDA"),
    bit(2, 0x20, "Card capture"),
    bit(2, 0x08, "CDA"),
    bit(2, 0x04, "XDA"),
];

/// Book 4, Annex A3: Additional Terminal Capabilities (9F40).
pub const ADDITIONAL_TERMINAL_CAPABILITIES_BITS: &[Bit] = &[
    bit(0, 0x80, "Cash"),
    bit(0, 0x40, "Goods"),
    bit(0, 0x20, "Services"),
    bit(0, 0x10, "Cashback"),
    bit(0, 0x08, "Inquiry"),
    bit(0, 0x04, "Transfer"),
    bit(0, 0x02, "Payment"),
    bit(0, 0x01, "Administrative"),
    bit(1, 0x80, "Cash deposit"),
    bit(2, 0x80, "Numeric keys"),
    bit(2, 0x40, "Alphabetic and special characters keys"),
    bit(2, 0x20, "Command keys"),
    bit(2, 0x10, "Function keys"),
    bit(3, 0x80, "Print, attendant"),
    bit(3, 0x40, "Print, cardholder"),
    bit(3, 0x20, "Display, attendant"),
    bit(3, 0x10, "Display, cardholder"),
    bit(3, 0x02, "Code table 10"),
    bit(3, 0x01, "Code table 9"),
    bit(4, 0x80, "Code table 8"),
    bit(4, 0x40, "Code table 7"),
    bit(4, 0x20, "Code table 6"),
    bit(4, 0x10, "Code table 5"),
    bit(4, 0x08, "Code table 4"),
    bit(4, 0x04, "Code table 3"),
    bit(4, 0x02, "Code table 2"),
    bit(4, 0x01, "Code table 1"),
];

/// The named bits of a tag that is a bit string, if it is one we decode.
pub fn bit_table(tag: Tag) -> Option<&'static [Bit]> {
    match tag.0 {
        0x82 => Some(AIP_BITS),
        0x95 => Some(&TVR_BITS),
        0x9B => Some(&TSI_BITS),
        0x9F07 => Some(AUC_BITS),
        0x9F33 => Some(TERMINAL_CAPABILITIES_BITS),
        0x9F40 => Some(ADDITIONAL_TERMINAL_CAPABILITIES_BITS),
        // Issuer and terminal action codes are coded like the TVR.
        0x9F0D..=0x9F0F => Some(&TVR_BITS),
        _ => None,
    }
}

/// Iterator over the named bits of a bit string: each bit's name and whether
/// it is set. Bits in bytes the value does not have are skipped.
#[derive(Clone, Debug)]
pub struct Bits<'a> {
    table: core::slice::Iter<'static, Bit>,
    value: &'a [u8],
}

impl Iterator for Bits<'_> {
    type Item = (&'static str, bool);

    fn next(&mut self) -> Option<Self::Item> {
        for b in self.table.by_ref() {
            if let Some(byte) = self.value.get(b.byte) {
                return Some((b.name, byte & b.mask != 0));
            }
        }
        None
    }
}

/// Decodes a bit string (TVR, TSI, AIP, AUC, IACs, terminal capabilities);
/// empty for other tags.
pub fn decode_bits(tag: Tag, value: &[u8]) -> Bits<'_> {
    Bits {
        table: bit_table(tag).unwrap_or(&[]).iter(),
        value,
    }
}

/// Book 3, Annex C3: a cardholder verification method (b6-b1 of the first
/// byte of a CV Rule, and of the first byte of CVM Results).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CvmMethod {
    /// `00`: fail CVM processing.
    FailCvmProcessing,
    /// `01`: plaintext PIN verification performed by ICC.
    PlaintextPinByIcc,
    /// `02`: enciphered PIN verified online.
    EncipheredPinOnline,
    /// `03`: plaintext PIN verification performed by ICC and signature.
    PlaintextPinByIccAndSignature,
    /// `04`: enciphered PIN verification performed by ICC.
    EncipheredPinByIcc,
    /// `05`: enciphered PIN verification performed by ICC and signature.
    EncipheredPinByIccAndSignature,
    /// `1E`: signature (paper).
    Signature,
    /// `1F`: no CVM required.
    NoCvmRequired,
    /// `3F`: no CVM performed (only in CVM Results; not valid in a rule).
    NoCvmPerformed,
    /// Any other code: RFU (`06`-`1D`), payment system (`20`-`2F`) or
    /// issuer (`30`-`3E`) methods.
    Other(u8),
}

impl CvmMethod {
    /// The method coded in b6-b1 of `byte` (b8 and b7 are ignored).
    pub const fn from_byte(byte: u8) -> Self {
        match byte & 0x3F {
            0x00 => CvmMethod::FailCvmProcessing,
            0x01 => CvmMethod::PlaintextPinByIcc,
            0x02 => CvmMethod::EncipheredPinOnline,
            0x03 => CvmMethod::PlaintextPinByIccAndSignature,
            0x04 => CvmMethod::EncipheredPinByIcc,
            0x05 => CvmMethod::EncipheredPinByIccAndSignature,
            0x1E => CvmMethod::Signature,
            0x1F => CvmMethod::NoCvmRequired,
            0x3F => CvmMethod::NoCvmPerformed,
            other => CvmMethod::Other(other),
        }
    }

    /// The six-bit code.
    pub const fn code(self) -> u8 {
        match self {
            CvmMethod::FailCvmProcessing => 0x00,
            CvmMethod::PlaintextPinByIcc => 0x01,
            CvmMethod::EncipheredPinOnline => 0x02,
            CvmMethod::PlaintextPinByIccAndSignature => 0x03,
            CvmMethod::EncipheredPinByIcc => 0x04,
            CvmMethod::EncipheredPinByIccAndSignature => 0x05,
            CvmMethod::Signature => 0x1E,
            CvmMethod::NoCvmRequired => 0x1F,
            CvmMethod::NoCvmPerformed => 0x3F,
            CvmMethod::Other(code) => code & 0x3F,
        }
    }

    /// The standard's wording.
    pub const fn name(self) -> &'static str {
        match self {
            CvmMethod::FailCvmProcessing => "Fail CVM processing",
            CvmMethod::PlaintextPinByIcc => "Plaintext PIN verification performed by ICC",
            CvmMethod::EncipheredPinOnline => "Enciphered PIN verified online",
            CvmMethod::PlaintextPinByIccAndSignature => {
                "Plaintext PIN verification performed by ICC and signature (paper)"
            }
            CvmMethod::EncipheredPinByIcc => "Enciphered PIN verification performed by ICC",
            CvmMethod::EncipheredPinByIccAndSignature => {
                "Enciphered PIN verification performed by ICC and signature (paper)"
            }
            CvmMethod::Signature => "Signature (paper)",
            CvmMethod::NoCvmRequired => "No CVM required",
            CvmMethod::NoCvmPerformed => "No CVM performed",
            CvmMethod::Other(code) => match code & 0x3F {
                0x20..=0x2F => "Method reserved for use by the individual payment systems",
                0x30..=0x3E => "Method reserved for use by the issuer",
                _ => "Method reserved for future use",
            },
        }
    }
}

/// Book 3, Annex C3: when a CV Rule applies (second byte of the rule).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CvmCondition {
    /// `00`: always.
    Always,
    /// `01`: if unattended cash.
    UnattendedCash,
    /// `02`: if not unattended cash and not manual cash and not purchase with
    /// cashback.
    NotUnattendedCashNotManualCashNotCashback,
    /// `03`: if terminal supports the CVM.
    TerminalSupportsCvm,
    /// `04`: if manual cash.
    ManualCash,
    /// `05`: if purchase with cashback.
    PurchaseWithCashback,
    /// `06`: if transaction is in the application currency and is under X.
    UnderX,
    /// `07`: if transaction is in the application currency and is over X.
    OverX,
    /// `08`: if transaction is in the application currency and is under Y.
    UnderY,
    /// `09`: if transaction is in the application currency and is over Y.
    OverY,
    /// Any other code: RFU (`0A`-`7F`) or payment system (`80`-`FF`).
    Other(u8),
}

impl CvmCondition {
    /// The condition coded in `byte`.
    pub const fn from_byte(byte: u8) -> Self {
        match byte {
            0x00 => CvmCondition::Always,
            0x01 => CvmCondition::UnattendedCash,
            0x02 => CvmCondition::NotUnattendedCashNotManualCashNotCashback,
            0x03 => CvmCondition::TerminalSupportsCvm,
            0x04 => CvmCondition::ManualCash,
            0x05 => CvmCondition::PurchaseWithCashback,
            0x06 => CvmCondition::UnderX,
            0x07 => CvmCondition::OverX,
            0x08 => CvmCondition::UnderY,
            0x09 => CvmCondition::OverY,
            other => CvmCondition::Other(other),
        }
    }

    /// The standard's wording.
    pub const fn name(self) -> &'static str {
        match self {
            CvmCondition::Always => "Always",
            CvmCondition::UnattendedCash => "If unattended cash",
            CvmCondition::NotUnattendedCashNotManualCashNotCashback => {
                "If not unattended cash and not manual cash and not purchase with cashback"
            }
            CvmCondition::TerminalSupportsCvm => "If terminal supports the CVM",
            CvmCondition::ManualCash => "If manual cash",
            CvmCondition::PurchaseWithCashback => "If purchase with cashback",
            CvmCondition::UnderX => {
                "If transaction is in the application currency and is under X value"
            }
            CvmCondition::OverX => {
                "If transaction is in the application currency and is over X value"
            }
            CvmCondition::UnderY => {
                "If transaction is in the application currency and is under Y value"
            }
            CvmCondition::OverY => {
                "If transaction is in the application currency and is over Y value"
            }
            CvmCondition::Other(code) if code >= 0x80 => {
                "Condition reserved for use by individual payment systems"
            }
            CvmCondition::Other(_) => "Condition reserved for future use",
        }
    }
}

/// One Cardholder Verification Rule of a CVM List.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CvRule {
    /// The method (b6-b1 of the first byte).
    pub method: CvmMethod,
    /// b7 of the first byte: apply the succeeding rule if this CVM is
    /// unsuccessful (otherwise cardholder verification fails).
    pub apply_next_if_unsuccessful: bool,
    /// When the rule applies.
    pub condition: CvmCondition,
    /// The two bytes as the card sent them.
    pub raw: [u8; 2],
}

impl CvRule {
    /// Decodes a rule from its two bytes.
    pub const fn from_bytes(raw: [u8; 2]) -> Self {
        CvRule {
            method: CvmMethod::from_byte(raw[0]),
            apply_next_if_unsuccessful: raw[0] & 0x40 != 0,
            condition: CvmCondition::from_byte(raw[1]),
            raw,
        }
    }
}

/// Why a CVM List (8E) could not be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CvmListError {
    /// Shorter than the 8 bytes of amounts X and Y.
    TooShort,
    /// The rules part has an odd number of bytes.
    OddLength,
}

impl fmt::Display for CvmListError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CvmListError::TooShort => "CVM List shorter than amounts X and Y",
            CvmListError::OddLength => "CVM List rules of odd length",
        })
    }
}

impl core::error::Error for CvmListError {}

/// Book 3, 10.5 and Annex C3: a Cardholder Verification Method List (8E).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CvmList<'a> {
    /// Amount X, in the application currency (binary, implied exponent).
    pub amount_x: u32,
    /// Amount Y, in the application currency.
    pub amount_y: u32,
    rules: &'a [u8],
}

impl<'a> CvmList<'a> {
    /// Reads a CVM List: 4 bytes amount X, 4 bytes amount Y, then two-byte
    /// rules. A list of amounts only (no rules) is accepted.
    pub fn parse(value: &'a [u8]) -> Result<Self, CvmListError> {
        let (x, rest) = value
            .split_first_chunk::<4>()
            .ok_or(CvmListError::TooShort)?;
        let (y, rules) = rest
            .split_first_chunk::<4>()
            .ok_or(CvmListError::TooShort)?;
        if rules.len() % 2 != 0 {
            return Err(CvmListError::OddLength);
        }
        Ok(CvmList {
            amount_x: u32::from_be_bytes(*x),
            amount_y: u32::from_be_bytes(*y),
            rules,
        })
    }

    /// The rules, in the order the card gave them.
    pub fn rules(&self) -> CvRules<'a> {
        CvRules {
            chunks: self.rules.chunks_exact(2),
        }
    }

    /// How many rules the list has.
    pub fn len(&self) -> usize {
        self.rules.len() / 2
    }

    /// Whether the list has no rules.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }
}

/// Iterator over the rules of a [`CvmList`].
#[derive(Clone, Debug)]
pub struct CvRules<'a> {
    chunks: core::slice::ChunksExact<'a, u8>,
}

impl Iterator for CvRules<'_> {
    type Item = CvRule;

    fn next(&mut self) -> Option<CvRule> {
        let pair = self.chunks.next()?;
        let raw: [u8; 2] = pair.try_into().ok()?;
        Some(CvRule::from_bytes(raw))
    }
}

/// Book 4, Annex A4: the result byte of CVM Results (9F34).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CvmOutcome {
    /// `00`: unknown (for example signature).
    Unknown,
    /// `01`: failed.
    Failed,
    /// `02`: successful.
    Successful,
    /// Any other value (RFU).
    Other(u8),
}

impl CvmOutcome {
    /// Decodes the third byte of CVM Results.
    pub const fn from_byte(byte: u8) -> Self {
        match byte {
            0 => CvmOutcome::Unknown,
            1 => CvmOutcome::Failed,
            2 => CvmOutcome::Successful,
            other => CvmOutcome::Other(other),
        }
    }

    /// A short name.
    pub const fn name(self) -> &'static str {
        match self {
            CvmOutcome::Unknown => "Unknown",
            CvmOutcome::Failed => "Failed",
            CvmOutcome::Successful => "Successful",
            CvmOutcome::Other(_) => "RFU",
        }
    }
}

/// Book 3, 6.5.5.4, Table 15: the cryptogram type in b8-b7 of the CID (9F27).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CryptogramType {
    /// `00`: Application Authentication Cryptogram (decline).
    Aac,
    /// `01`: Transaction Certificate (approve offline).
    Tc,
    /// `10`: Authorisation Request Cryptogram (go online).
    Arqc,
    /// `11`: reserved for future use.
    Rfu,
}

impl CryptogramType {
    /// The type coded in b8-b7 of `cid`.
    pub const fn from_cid(cid: u8) -> Self {
        match cid >> 6 {
            0 => CryptogramType::Aac,
            1 => CryptogramType::Tc,
            2 => CryptogramType::Arqc,
            _ => CryptogramType::Rfu,
        }
    }

    /// The abbreviation used in the standard.
    pub const fn name(self) -> &'static str {
        match self {
            CryptogramType::Aac => "AAC",
            CryptogramType::Tc => "TC",
            CryptogramType::Arqc => "ARQC",
            CryptogramType::Rfu => "RFU",
        }
    }
}

/// Book 3, 6.5.5.4, Table 15: a decoded Cryptogram Information Data byte.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Cid {
    /// The raw byte.
    pub raw: u8,
}

impl Cid {
    /// The cryptogram type (b8-b7).
    pub const fn cryptogram_type(self) -> CryptogramType {
        CryptogramType::from_cid(self.raw)
    }

    /// b6-b5: payment system-specific cryptogram bits.
    pub const fn payment_system_bits(self) -> u8 {
        (self.raw >> 4) & 0x03
    }

    /// b4: advice required.
    pub const fn advice_required(self) -> bool {
        self.raw & 0x08 != 0
    }

    /// b3-b1: the reason/advice code's wording.
    pub const fn reason(self) -> &'static str {
        match self.raw & 0x07 {
            0 => "No information given",
            1 => "Service not allowed",
            2 => "PIN Try Limit exceeded",
            3 => "Issuer authentication failed",
            _ => "RFU",
        }
    }
}

/// Why an AFL (94) or one of its entries is invalid.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AflError {
    /// The AFL length is not a multiple of 4.
    Length,
    /// SFI 0 or above 30 (entry index, 0-based).
    InvalidSfi(usize),
    /// First record number 0.
    FirstRecordZero(usize),
    /// Last record number below the first.
    LastBeforeFirst(usize),
    /// More records for offline data authentication than in the range.
    TooManyOdaRecords(usize),
}

impl fmt::Display for AflError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AflError::Length => f.write_str("AFL length not a multiple of 4"),
            AflError::InvalidSfi(i) => write!(f, "AFL entry {}: SFI 0 or above 30", i + 1),
            AflError::FirstRecordZero(i) => write!(f, "AFL entry {}: first record 0", i + 1),
            AflError::LastBeforeFirst(i) => {
                write!(f, "AFL entry {}: last record before first", i + 1)
            }
            AflError::TooManyOdaRecords(i) => {
                write!(f, "AFL entry {}: more ODA records than records", i + 1)
            }
        }
    }
}

impl core::error::Error for AflError {}

/// Book 3, 10.2: one entry of the Application File Locator.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct AflEntry {
    /// Short File Identifier (1 to 30).
    pub sfi: u8,
    /// First record to read (at least 1).
    pub first_record: u8,
    /// Last record to read (at least `first_record`).
    pub last_record: u8,
    /// How many records, from `first_record` on, take part in offline data
    /// authentication.
    pub oda_records: u8,
}

impl AflEntry {
    /// Decodes and checks one four-byte entry (`index` is reported in errors).
    ///
    /// Book 3, 10.2: invalid when the SFI is 0 or above 30, the first record
    /// is 0, the last record is before the first, or the ODA count exceeds
    /// the number of records.
    pub const fn parse(bytes: [u8; 4], index: usize) -> Result<Self, AflError> {
        let sfi = bytes[0] >> 3;
        let [_, first_record, last_record, oda_records] = bytes;
        if sfi == 0 || sfi > 30 {
            return Err(AflError::InvalidSfi(index));
        }
        if first_record == 0 {
            return Err(AflError::FirstRecordZero(index));
        }
        if last_record < first_record {
            return Err(AflError::LastBeforeFirst(index));
        }
        if oda_records > last_record - first_record + 1 {
            return Err(AflError::TooManyOdaRecords(index));
        }
        Ok(AflEntry {
            sfi,
            first_record,
            last_record,
            oda_records,
        })
    }

    /// How many records the entry names.
    pub const fn record_count(&self) -> usize {
        self.last_record.saturating_sub(self.first_record) as usize + 1
    }

    /// The records to read, each with whether it takes part in offline data
    /// authentication.
    pub fn records(&self) -> impl Iterator<Item = (u8, bool)> {
        let first = self.first_record;
        let oda_end = u16::from(first) + u16::from(self.oda_records);
        (first..=self.last_record).map(move |r| (r, u16::from(r) < oda_end))
    }
}

/// Book 3, 10.2: a checked Application File Locator (94).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Afl<'a> {
    bytes: &'a [u8],
}

impl<'a> Afl<'a> {
    /// Checks every entry; the AFL is usable only when all are valid.
    /// An empty AFL (no records to read) is accepted.
    pub fn parse(value: &'a [u8]) -> Result<Self, AflError> {
        if !value.len().is_multiple_of(4) {
            return Err(AflError::Length);
        }
        for entry in afl_entries(value) {
            entry?;
        }
        Ok(Afl { bytes: value })
    }

    /// The entries, in order.
    pub fn entries(&self) -> impl Iterator<Item = AflEntry> + 'a {
        afl_entries(self.bytes).filter_map(Result::ok)
    }

    /// How many records the AFL names in all.
    pub fn record_count(&self) -> usize {
        self.entries().map(|e| e.record_count()).sum()
    }

    /// How many records take part in offline data authentication.
    pub fn oda_record_count(&self) -> usize {
        self.entries().map(|e| usize::from(e.oda_records)).sum()
    }
}

/// Decodes each complete four-byte entry of an unchecked AFL value (for
/// display: invalid entries are reported, the others still decoded).
pub fn afl_entries(value: &[u8]) -> impl Iterator<Item = Result<AflEntry, AflError>> + '_ {
    value
        .chunks_exact(4)
        .enumerate()
        .map(|(index, chunk)| match <[u8; 4]>::try_from(chunk) {
            Ok(bytes) => AflEntry::parse(bytes, index),
            Err(_) => Err(AflError::Length),
        })
}

/// Book 3, 4.3: the year of a `YY` date: 00-49 is 20YY, 50-99 is 19YY.
const fn century(yy: u8) -> u16 {
    if yy < 50 {
        2000 + yy as u16
    } else {
        1900 + yy as u16
    }
}

/// Whether every nibble of `value` is a decimal digit.
fn is_bcd(value: &[u8]) -> bool {
    value.iter().all(|b| b >> 4 <= 9 && b & 0x0F <= 9)
}

/// A BCD byte's value (both nibbles must be digits).
const fn bcd(byte: u8) -> u8 {
    (byte >> 4) * 10 + (byte & 0x0F)
}

/// Writes `value` as upper-case hex bytes separated by spaces.
pub fn write_hex(out: &mut impl fmt::Write, value: &[u8]) -> fmt::Result {
    for (i, b) in value.iter().enumerate() {
        if i > 0 {
            out.write_char(' ')?;
        }
        write!(out, "{b:02X}")?;
    }
    Ok(())
}

/// Writes text bytes; bytes outside printable ASCII as `\xNN`.
fn write_text(out: &mut impl fmt::Write, value: &[u8]) -> fmt::Result {
    for &b in value {
        if (0x20..0x7F).contains(&b) {
            out.write_char(char::from(b))?;
        } else {
            write!(out, "\\x{b:02X}")?;
        }
    }
    Ok(())
}

/// Writes `n` digits without leading zeros (at least one digit).
fn write_numeric(out: &mut impl fmt::Write, value: &[u8]) -> fmt::Result {
    let mut started = false;
    for nibble in value.iter().flat_map(|b| [b >> 4, b & 0x0F]) {
        if nibble != 0 || started {
            started = true;
            write!(out, "{nibble}")?;
        }
    }
    if !started {
        out.write_char('0')?;
    }
    Ok(())
}

/// Writes `cn` digits up to the first `F` padding nibble.
fn write_compact_numeric(out: &mut impl fmt::Write, value: &[u8]) -> fmt::Result {
    for nibble in value
        .iter()
        .flat_map(|b| [b >> 4, b & 0x0F])
        .take_while(|n| *n != 0x0F)
    {
        write!(out, "{nibble:X}")?;
    }
    Ok(())
}

/// A value rendered on one line for people, according to its tag: dates as
/// `YYYY-MM-DD`, times as `HH:MM:SS`, numbers (`n`) as digits, PANs (`cn`)
/// without padding, text as text, everything else as hex bytes.
#[derive(Clone, Copy, Debug)]
pub struct Value<'a> {
    /// The tag the value belongs to.
    pub tag: Tag,
    /// The value bytes.
    pub value: &'a [u8],
}

impl fmt::Display for Value<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_value(f, self.tag, self.value)
    }
}

/// Writes a value on one line (see [`Value`]).
pub fn write_value(out: &mut impl fmt::Write, tag: Tag, value: &[u8]) -> fmt::Result {
    let format = match dictionary::format_of(tag) {
        Some(format) if !tag.is_constructed() => format,
        _ => return write_hex(out, value),
    };
    match (tag.0, value) {
        // Dates YYMMDD: expiration, effective, transaction date.
        (0x5F24 | 0x5F25 | 0x9A, &[yy, mm, dd]) if is_bcd(value) => {
            write!(out, "{}-{:02}-{:02}", century(bcd(yy)), bcd(mm), bcd(dd))
        }
        // Transaction Time HHMMSS.
        (0x9F21, &[hh, mm, ss]) if is_bcd(value) => {
            write!(out, "{:02}:{:02}:{:02}", bcd(hh), bcd(mm), bcd(ss))
        }
        _ => match format {
            Format::Numeric if is_bcd(value) => write_numeric(out, value),
            Format::CompactNumeric => write_compact_numeric(out, value),
            f if f.is_text() => write_text(out, value),
            _ => write_hex(out, value),
        },
    }
}

/// Writes the detail lines of a value (decoded bits, CVM rules, AFL entries,
/// DOL entries ...), one call of `line` per line; none for plain values.
///
/// Bit strings list only the bits that are set.
pub fn for_each_detail(
    tag: Tag,
    value: &[u8],
    mut line: impl FnMut(fmt::Arguments<'_>) -> fmt::Result,
) -> fmt::Result {
    if let Some(table) = bit_table(tag) {
        for (name, set) in decode_bits(tag, value) {
            if set {
                line(format_args!("{name}"))?;
            }
        }
        // Bits set where the standard defines none.
        let mut defined = [0u8; 8];
        for b in table {
            if let Some(d) = defined.get_mut(b.byte) {
                *d |= b.mask;
            }
        }
        for (i, (v, d)) in value.iter().zip(defined.iter()).enumerate() {
            if v & !d != 0 {
                line(format_args!("Byte {} RFU bits set: {:02X}", i + 1, v & !d))?;
            }
        }
        return Ok(());
    }
    match tag.0 {
        0x8E => cvm_list_details(value, &mut line),
        0x9F34 => match value {
            &[method, condition, result] => {
                line(format_args!(
                    "CVM performed: {}{}",
                    CvmMethod::from_byte(method).name(),
                    if method & 0x40 != 0 {
                        " (apply next if unsuccessful)"
                    } else {
                        ""
                    }
                ))?;
                line(format_args!(
                    "Condition: {}",
                    CvmCondition::from_byte(condition).name()
                ))?;
                line(format_args!(
                    "Result: {}",
                    CvmOutcome::from_byte(result).name()
                ))
            }
            _ => line(format_args!(
                "Invalid length: {} bytes, 3 expected",
                value.len()
            )),
        },
        0x9F27 => match value {
            &[raw] => {
                let cid = Cid { raw };
                line(format_args!("Cryptogram: {}", cid.cryptogram_type().name()))?;
                if cid.payment_system_bits() != 0 {
                    line(format_args!(
                        "Payment system-specific cryptogram bits: {}",
                        cid.payment_system_bits()
                    ))?;
                }
                if cid.advice_required() {
                    line(format_args!("Advice required"))?;
                }
                line(format_args!("Reason: {}", cid.reason()))
            }
            _ => line(format_args!(
                "Invalid length: {} bytes, 1 expected",
                value.len()
            )),
        },
        0x94 => {
            for entry in afl_entries(value) {
                match entry {
                    Ok(e) => line(format_args!(
                        "SFI {}, records {}-{}, {} for offline data authentication",
                        e.sfi, e.first_record, e.last_record, e.oda_records
                    ))?,
                    Err(e) => line(format_args!("{e}"))?,
                }
            }
            if !value.len().is_multiple_of(4) {
                line(format_args!("{}", AflError::Length))?;
            }
            Ok(())
        }
        0x9F38 | 0x8C | 0x8D | 0x9F49 | 0x97 | 0x9F4F => {
            for entry in dol::entries(value) {
                match entry {
                    Ok(e) => line(format_args!(
                        "{} {}: {} bytes",
                        e.tag,
                        dictionary::name_of(e.tag).unwrap_or("Unknown"),
                        e.length
                    ))?,
                    Err(e) => line(format_args!("{e}"))?,
                }
            }
            Ok(())
        }
        0x9F4A => {
            // The SDA Tag List is a list of tags without lengths.
            let mut rest = value;
            while !rest.is_empty() {
                match dol::read_tag(rest) {
                    Ok((tag, used)) => {
                        line(format_args!(
                            "{} {}",
                            tag,
                            dictionary::name_of(tag).unwrap_or("Unknown")
                        ))?;
                        rest = rest.get(used..).unwrap_or(&[]);
                    }
                    Err(_) => return line(format_args!("Malformed tag list")),
                }
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

fn cvm_list_details(
    value: &[u8],
    line: &mut impl FnMut(fmt::Arguments<'_>) -> fmt::Result,
) -> fmt::Result {
    let list = match CvmList::parse(value) {
        Ok(list) => list,
        Err(e) => return line(format_args!("{e}")),
    };
    line(format_args!("Amount X: {}", list.amount_x))?;
    line(format_args!("Amount Y: {}", list.amount_y))?;
    for rule in list.rules() {
        line(format_args!(
            "{}; {}; {}",
            rule.method.name(),
            rule.condition.name(),
            if rule.apply_next_if_unsuccessful {
                "apply next rule if unsuccessful"
            } else {
                "fail if unsuccessful"
            }
        ))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::fmt::Write as _;

    type String = heapless::String<512>;
    type Vec<T> = heapless::Vec<T, 64>;

    fn value(tag: u32, bytes: &[u8]) -> String {
        let mut s = String::new();
        write_value(&mut s, Tag(tag), bytes).unwrap();
        s
    }

    fn details(tag: u32, bytes: &[u8]) -> Vec<String> {
        let mut lines = Vec::new();
        for_each_detail(Tag(tag), bytes, |a| {
            let mut line = String::new();
            write!(line, "{a}")?;
            lines.push(line).map_err(|_| core::fmt::Error)?;
            Ok(())
        })
        .unwrap();
        lines
    }

    #[test]
    fn renders_values_by_format() {
        assert_eq!(
            value(0x5A, &[0x47, 0x61, 0x73, 0x90, 0x01, 0x01, 0x00, 0x10]),
            "4761739001010010"
        );
        assert_eq!(
            value(
                0x5A,
                &[0x54, 0x13, 0x33, 0x00, 0x89, 0x02, 0x00, 0x13, 0x3F]
            ),
            "54133300890200133"
        );
        assert_eq!(value(0x5F24, &[0x25, 0x12, 0x31]), "2025-12-31");
        assert_eq!(value(0x9A, &[0x99, 0x01, 0x02]), "1999-01-02");
        assert_eq!(value(0x9F21, &[0x13, 0x05, 0x59]), "13:05:59");
        assert_eq!(value(0x9F02, &[0, 0, 0, 0, 0x10, 0x00]), "1000");
        assert_eq!(value(0x9F02, &[0; 6]), "0");
        assert_eq!(value(0x5F2A, &[0x09, 0x78]), "978");
        assert_eq!(value(0x50, b"VISA CREDIT"), "VISA CREDIT");
        assert_eq!(value(0x50, &[0x41, 0x00]), "A\\x00");
        assert_eq!(
            value(0x84, &[0xA0, 0, 0, 0, 3, 0x10, 0x10]),
            "A0 00 00 00 03 10 10"
        );
        // Not BCD: shown as hex, not as wrong digits.
        assert_eq!(value(0x9F02, &[0xAB]), "AB");
        assert_eq!(value(0x5F24, &[0x25, 0x1F, 0x31]), "25 1F 31");
        assert_eq!(value(0xDF01, &[1]), "01");
    }

    #[test]
    fn decodes_bits() {
        let aip: Vec<_> = decode_bits(Tag(0x82), &[0x19, 0x00])
            .filter(|b| b.1)
            .map(|b| b.0)
            .collect();
        assert_eq!(
            aip,
            [
                "Cardholder verification is supported",
                "Terminal risk management is to be performed",
                "CDA supported"
            ]
        );
        assert_eq!(decode_bits(Tag(0x95), &[0; 5]).count(), 29);
        assert_eq!(decode_bits(Tag(0x95), &[0; 2]).count(), 13); // short value: bytes 1-2 only
        assert_eq!(decode_bits(Tag(0x5A), &[0xFF]).count(), 0);
        assert_eq!(details(0x9F33, &[0xE0, 0xF8, 0xC8]).len(), 3 + 5 + 3);
        assert_eq!(details(0x82, &[0x02, 0x00]), ["Byte 1 RFU bits set: 02"]);
        assert_eq!(details(0x82, &[0x00, 0x40]), ["Byte 2 RFU bits set: 40"]);
    }

    #[test]
    fn reads_a_cvm_list() {
        // X = 0, Y = 0; 42 03: enciphered PIN by ICC if supported, apply next;
        // 1E 03: signature if supported, apply next; 1F 03: no CVM if supported.
        let v = [0, 0, 0, 0, 0, 0, 0, 0, 0x44, 0x03, 0x5E, 0x03, 0x1F, 0x03];
        let list = CvmList::parse(&v).unwrap();
        let rules: Vec<_> = list.rules().collect();
        assert_eq!(rules.len(), 3);
        assert_eq!(rules[0].method, CvmMethod::EncipheredPinByIcc);
        assert!(rules[0].apply_next_if_unsuccessful);
        assert_eq!(rules[0].condition, CvmCondition::TerminalSupportsCvm);
        assert_eq!(rules[1].method, CvmMethod::Signature);
        assert_eq!(rules[2].method, CvmMethod::NoCvmRequired);
        assert!(!rules[2].apply_next_if_unsuccessful);
        assert_eq!(CvmList::parse(&v[..7]), Err(CvmListError::TooShort));
        assert_eq!(CvmList::parse(&v[..9]), Err(CvmListError::OddLength));
        assert!(CvmList::parse(&v[..8]).unwrap().is_empty());
        let x = CvmList::parse(&[0, 0, 0x27, 0x10, 0, 0, 0, 1]).unwrap();
        assert_eq!((x.amount_x, x.amount_y), (10_000, 1));
        assert_eq!(details(0x8E, &v)[2], "Enciphered PIN verification performed by ICC; If terminal supports the CVM; apply next rule if unsuccessful");
        assert_eq!(
            CvmMethod::from_byte(0x25).name(),
            "Method reserved for use by the individual payment systems"
        );
        assert_eq!(CvmMethod::from_byte(0x42).code(), 0x02);
    }

    #[test]
    fn reads_an_afl() {
        let v = [
            0x08, 0x01, 0x01, 0x00, 0x10, 0x01, 0x03, 0x02, 0x18, 0x02, 0x02, 0x01,
        ];
        let afl = Afl::parse(&v).unwrap();
        let entries: Vec<_> = afl.entries().collect();
        assert_eq!(
            entries[1],
            AflEntry {
                sfi: 2,
                first_record: 1,
                last_record: 3,
                oda_records: 2
            }
        );
        assert_eq!(afl.record_count(), 5);
        assert_eq!(afl.oda_record_count(), 3);
        let recs: Vec<_> = entries[1].records().collect();
        assert_eq!(recs, [(1, true), (2, true), (3, false)]);
        assert_eq!(Afl::parse(&v[..5]), Err(AflError::Length));
        assert_eq!(
            AflEntry::parse([0x00, 1, 1, 0], 0),
            Err(AflError::InvalidSfi(0))
        );
        assert_eq!(
            AflEntry::parse([0xF8, 1, 1, 0], 2),
            Err(AflError::InvalidSfi(2))
        );
        assert_eq!(AflEntry::parse([0xF0, 1, 1, 0], 0).map(|e| e.sfi), Ok(30));
        assert_eq!(
            AflEntry::parse([0x08, 0, 1, 0], 0),
            Err(AflError::FirstRecordZero(0))
        );
        assert_eq!(
            AflEntry::parse([0x08, 2, 1, 0], 0),
            Err(AflError::LastBeforeFirst(0))
        );
        assert_eq!(
            AflEntry::parse([0x08, 1, 2, 3], 0),
            Err(AflError::TooManyOdaRecords(0))
        );
        assert_eq!(
            AflEntry::parse([0x08, 1, 255, 255], 0).map(|e| e.records().count()),
            Ok(255)
        );
        assert!(Afl::parse(&[]).unwrap().entries().next().is_none());
        assert_eq!(
            details(0x94, &v)[0],
            "SFI 1, records 1-1, 0 for offline data authentication"
        );
    }

    #[test]
    fn decodes_cid_and_cvm_results() {
        assert_eq!(
            details(0x9F27, &[0x80]),
            ["Cryptogram: ARQC", "Reason: No information given"]
        );
        assert_eq!(
            details(0x9F27, &[0x09]),
            [
                "Cryptogram: AAC",
                "Advice required",
                "Reason: Service not allowed"
            ]
        );
        assert_eq!(Cid { raw: 0x40 }.cryptogram_type(), CryptogramType::Tc);
        assert_eq!(
            details(0x9F34, &[0x1E, 0x03, 0x00]),
            [
                "CVM performed: Signature (paper)",
                "Condition: If terminal supports the CVM",
                "Result: Unknown"
            ]
        );
        assert_eq!(
            details(0x9F34, &[0x3F, 0x00, 0x01])[0],
            "CVM performed: No CVM performed"
        );
    }

    #[test]
    fn lists_dol_entries() {
        assert_eq!(
            details(0x9F38, &[0x9F, 0x02, 0x06, 0xDF, 0x01, 0x01]),
            [
                "9F02 Amount, Authorised (Numeric): 6 bytes",
                "DF01 Unknown: 1 bytes"
            ]
        );
        assert_eq!(
            details(0x9F4A, &[0x82, 0x9F, 0x07]),
            [
                "82 Application Interchange Profile (AIP)",
                "9F07 Application Usage Control"
            ]
        );
    }
}
