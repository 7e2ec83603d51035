//! The EMV data dictionary: what each tag is called, its format, its length
//! and who provides it.
//!
//! Book 3, Annex A (data element dictionary) in full, the directory and FCI
//! elements of Book 1, 11 and 12, and data elements that contact and
//! contactless cards commonly carry beside them (EMV contactless Books A-C,
//! and Visa VIS elements seen on cards in the field). The DOL builder takes the
//! format from here (Book 3, 5.4), the decoders take names and formats.
//!
//! Lengths are in bytes, as Annex A gives them. Where Annex A gives a
//! length in terms of key sizes (certificates, remainders) the bounds here are
//! the ones those key sizes allow.

use crate::tlv::Tag;

/// Book 3, 4.3: how a data element's value is coded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Format {
    /// `a`: alphabetic, one ASCII letter per byte.
    Alphabetic,
    /// `an`: alphanumeric, ASCII letters and digits.
    Alphanumeric,
    /// `ans`: alphanumeric and special characters (ISO/IEC 8859 common set).
    AlphanumericSpecial,
    /// `b`: binary, bit strings and binary numbers; also constructed templates.
    Binary,
    /// `cn`: compact numeric, BCD digits left justified, padded with `F`.
    CompactNumeric,
    /// `n`: numeric, BCD digits right justified, padded with leading zeros.
    Numeric,
}

impl Format {
    /// The abbreviation Book 3 uses (`b`, `n`, `cn`, `an`, `ans`, `a`).
    pub const fn code(self) -> &'static str {
        match self {
            Format::Alphabetic => "a",
            Format::Alphanumeric => "an",
            Format::AlphanumericSpecial => "ans",
            Format::Binary => "b",
            Format::CompactNumeric => "cn",
            Format::Numeric => "n",
        }
    }

    /// Whether the value is text (`a`, `an`, `ans`).
    pub const fn is_text(self) -> bool {
        matches!(
            self,
            Format::Alphabetic | Format::Alphanumeric | Format::AlphanumericSpecial
        )
    }
}

/// Who provides a data element (Annex A's "Source" column).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Source {
    /// The ICC (the card).
    Card,
    /// The terminal.
    Terminal,
    /// The issuer, through the online response.
    Issuer,
    /// The issuer, or the terminal when it decides offline (Authorisation
    /// Response Code, 8A).
    IssuerOrTerminal,
}

impl Source {
    /// A short lower-case name for display.
    pub const fn name(self) -> &'static str {
        match self {
            Source::Card => "card",
            Source::Terminal => "terminal",
            Source::Issuer => "issuer",
            Source::IssuerOrTerminal => "issuer/terminal",
        }
    }
}

/// One entry of the dictionary.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Element {
    /// The tag.
    pub tag: Tag,
    /// The name the standard uses.
    pub name: &'static str,
    /// How the value is coded.
    pub format: Format,
    /// Shortest valid value, in bytes.
    pub min_len: u16,
    /// Longest valid value, in bytes.
    pub max_len: u16,
    /// Who provides it.
    pub source: Source,
    /// The templates it appears in when the card sends it (empty for terminal
    /// data and top-level templates).
    pub templates: &'static [Tag],
}

impl Element {
    /// Whether this element is a constructed template.
    pub const fn is_template(&self) -> bool {
        self.tag.is_constructed()
    }

    /// Whether `len` bytes is a valid length for this element.
    pub const fn length_ok(&self, len: usize) -> bool {
        len >= self.min_len as usize && len <= self.max_len as usize
    }
}

/// Finds a tag's dictionary entry (binary search over [`ELEMENTS`]).
pub fn lookup(tag: Tag) -> Option<&'static Element> {
    ELEMENTS
        .binary_search_by(|e| e.tag.cmp(&tag))
        .ok()
        .and_then(|i| ELEMENTS.get(i))
}

/// The format of a tag, or `None` for tags the dictionary does not know.
pub fn format_of(tag: Tag) -> Option<Format> {
    lookup(tag).map(|e| e.format)
}

/// The name of a tag, or `None` for tags the dictionary does not know.
pub fn name_of(tag: Tag) -> Option<&'static str> {
    lookup(tag).map(|e| e.name)
}

use Format::{
    Alphabetic as A, Alphanumeric as AN, AlphanumericSpecial as ANS, Binary as B,
    CompactNumeric as CN, Numeric as N,
};
use Source::{Card as ICC, Issuer as ISS, IssuerOrTerminal as ISS_TERM, Terminal as TERM};

const fn element(
    tag: u32,
    name: &'static str,
    format: Format,
    min_len: u16,
    max_len: u16,
    source: Source,
    templates: &'static [Tag],
) -> Element {
    Element {
        tag: Tag(tag),
        name,
        format,
        min_len,
        max_len,
        source,
        templates,
    }
}

/// No enclosing template (terminal data, top-level templates).
const NONE: &[Tag] = &[];
/// READ RECORD (70) or GPO / GENERATE AC format 2 (77).
const T70_77: &[Tag] = &[Tag(0x70), Tag(0x77)];
/// Response Message Template format 2 (77) or format 1 (80).
const T77_80: &[Tag] = &[Tag(0x77), Tag(0x80)];
/// FCI Issuer Discretionary Data (BF0C) or Directory Discretionary Template (73).
const TBF0C_73: &[Tag] = &[Tag(0xBF0C), Tag(0x73)];
/// Application Template (61) or FCI Proprietary Template (A5).
const T61_A5: &[Tag] = &[Tag(0x61), Tag(0xA5)];
/// FCI Proprietary Template (A5).
const TA5: &[Tag] = &[Tag(0xA5)];
/// Application Template (61).
const T61: &[Tag] = &[Tag(0x61)];
/// FCI Template (6F).
const T6F: &[Tag] = &[Tag(0x6F)];
/// READ RECORD Response Message Template (70).
const T70: &[Tag] = &[Tag(0x70)];
/// Issuer Script Templates 1 and 2.
const T71_72: &[Tag] = &[Tag(0x71), Tag(0x72)];
/// Application Template (61) or FCI Issuer Discretionary Data (BF0C).
const T61_BF0C: &[Tag] = &[Tag(0x61), Tag(0xBF0C)];
/// FCI Issuer Discretionary Data (BF0C) or READ RECORD template (70).
const TBF0C_70: &[Tag] = &[Tag(0xBF0C), Tag(0x70)];

/// Longest variable value Annex A allows in a record ("var. up to 252").
const VAR: u16 = 252;

/// Every data element the kernel knows, sorted by tag value.
pub const ELEMENTS: &[Element] = &[
    element(
        0x42,
        "Issuer Identification Number (IIN)",
        N,
        3,
        3,
        ICC,
        TBF0C_73,
    ),
    element(
        0x4F,
        "Application Dedicated File (ADF) Name",
        B,
        5,
        16,
        ICC,
        T61,
    ),
    element(0x50, "Application Label", ANS, 1, 16, ICC, T61_A5),
    element(0x56, "Track 1 Data", ANS, 0, 76, ICC, T70),
    element(0x57, "Track 2 Equivalent Data", B, 0, 19, ICC, T70_77),
    element(
        0x5A,
        "Application Primary Account Number (PAN)",
        CN,
        1,
        10,
        ICC,
        T70_77,
    ),
    element(0x61, "Application Template", B, 0, VAR, ICC, T70),
    element(
        0x6F,
        "File Control Information (FCI) Template",
        B,
        0,
        VAR,
        ICC,
        NONE,
    ),
    element(
        0x70,
        "READ RECORD Response Message Template",
        B,
        0,
        VAR,
        ICC,
        NONE,
    ),
    element(0x71, "Issuer Script Template 1", B, 0, VAR, ISS, NONE),
    element(0x72, "Issuer Script Template 2", B, 0, VAR, ISS, NONE),
    element(
        0x73,
        "Directory Discretionary Template",
        B,
        0,
        VAR,
        ICC,
        T61,
    ),
    element(
        0x77,
        "Response Message Template Format 2",
        B,
        0,
        256,
        ICC,
        NONE,
    ),
    element(
        0x80,
        "Response Message Template Format 1",
        B,
        0,
        256,
        ICC,
        NONE,
    ),
    element(0x81, "Amount, Authorised (Binary)", B, 4, 4, TERM, NONE),
    element(
        0x82,
        "Application Interchange Profile (AIP)",
        B,
        2,
        2,
        ICC,
        T77_80,
    ),
    element(0x83, "Command Template", B, 0, VAR, TERM, NONE),
    element(0x84, "Dedicated File (DF) Name", B, 5, 16, ICC, T6F),
    element(0x86, "Issuer Script Command", B, 4, 261, ISS, T71_72),
    element(0x87, "Application Priority Indicator", B, 1, 1, ICC, T61_A5),
    element(0x88, "Short File Identifier (SFI)", B, 1, 1, ICC, TA5),
    element(0x89, "Authorisation Code", AN, 6, 6, ISS, NONE),
    element(
        0x8A,
        "Authorisation Response Code",
        AN,
        2,
        2,
        ISS_TERM,
        NONE,
    ),
    element(
        0x8C,
        "Card Risk Management Data Object List 1 (CDOL1)",
        B,
        0,
        VAR,
        ICC,
        T70_77,
    ),
    element(
        0x8D,
        "Card Risk Management Data Object List 2 (CDOL2)",
        B,
        0,
        VAR,
        ICC,
        T70_77,
    ),
    element(
        0x8E,
        "Cardholder Verification Method (CVM) List",
        B,
        10,
        VAR,
        ICC,
        T70_77,
    ),
    element(
        0x8F,
        "Certification Authority Public Key Index",
        B,
        1,
        1,
        ICC,
        T70_77,
    ),
    element(
        0x90,
        "Issuer Public Key Certificate",
        B,
        0,
        248,
        ICC,
        T70_77,
    ),
    element(0x91, "Issuer Authentication Data", B, 8, 16, ISS, NONE),
    element(0x92, "Issuer Public Key Remainder", B, 0, 248, ICC, T70_77),
    element(
        0x93,
        "Signed Static Application Data",
        B,
        0,
        248,
        ICC,
        T70_77,
    ),
    element(
        0x94,
        "Application File Locator (AFL)",
        B,
        0,
        VAR,
        ICC,
        T77_80,
    ),
    element(
        0x95,
        "Terminal Verification Results (TVR)",
        B,
        5,
        5,
        TERM,
        NONE,
    ),
    element(
        0x97,
        "Transaction Certificate Data Object List (TDOL)",
        B,
        0,
        VAR,
        ICC,
        T70_77,
    ),
    element(
        0x98,
        "Transaction Certificate (TC) Hash Value",
        B,
        20,
        20,
        TERM,
        NONE,
    ),
    element(
        0x99,
        "Transaction Personal Identification Number (PIN) Data",
        B,
        0,
        VAR,
        TERM,
        NONE,
    ),
    element(0x9A, "Transaction Date", N, 3, 3, TERM, NONE),
    element(
        0x9B,
        "Transaction Status Information (TSI)",
        B,
        2,
        2,
        TERM,
        NONE,
    ),
    element(0x9C, "Transaction Type", N, 1, 1, TERM, NONE),
    element(
        0x9D,
        "Directory Definition File (DDF) Name",
        B,
        5,
        16,
        ICC,
        T61,
    ),
    element(
        0xA5,
        "File Control Information (FCI) Proprietary Template",
        B,
        0,
        VAR,
        ICC,
        T6F,
    ),
    element(0x5F20, "Cardholder Name", ANS, 2, 26, ICC, T70_77),
    element(0x5F24, "Application Expiration Date", N, 3, 3, ICC, T70_77),
    element(0x5F25, "Application Effective Date", N, 3, 3, ICC, T70_77),
    element(0x5F28, "Issuer Country Code", N, 2, 2, ICC, T70_77),
    element(0x5F2A, "Transaction Currency Code", N, 2, 2, TERM, NONE),
    element(0x5F2D, "Language Preference", AN, 2, 8, ICC, TA5),
    element(0x5F30, "Service Code", N, 2, 2, ICC, T70_77),
    element(
        0x5F34,
        "Application Primary Account Number (PAN) Sequence Number",
        N,
        1,
        1,
        ICC,
        T70_77,
    ),
    element(0x5F36, "Transaction Currency Exponent", N, 1, 1, TERM, NONE),
    element(0x5F50, "Issuer URL", ANS, 0, VAR, ICC, TBF0C_73),
    element(
        0x5F53,
        "International Bank Account Number (IBAN)",
        AN,
        0,
        34,
        ICC,
        TBF0C_73,
    ),
    element(
        0x5F54,
        "Bank Identifier Code (BIC)",
        AN,
        8,
        11,
        ICC,
        TBF0C_73,
    ),
    element(
        0x5F55,
        "Issuer Country Code (alpha2 format)",
        A,
        2,
        2,
        ICC,
        TBF0C_73,
    ),
    element(
        0x5F56,
        "Issuer Country Code (alpha3 format)",
        A,
        3,
        3,
        ICC,
        TBF0C_73,
    ),
    element(0x5F57, "Account Type", N, 1, 1, TERM, NONE),
    element(0x9F01, "Acquirer Identifier", N, 6, 6, TERM, NONE),
    element(0x9F02, "Amount, Authorised (Numeric)", N, 6, 6, TERM, NONE),
    element(0x9F03, "Amount, Other (Numeric)", N, 6, 6, TERM, NONE),
    element(0x9F04, "Amount, Other (Binary)", B, 4, 4, TERM, NONE),
    element(
        0x9F05,
        "Application Discretionary Data",
        B,
        1,
        32,
        ICC,
        T70_77,
    ),
    element(
        0x9F06,
        "Application Identifier (AID) - terminal",
        B,
        5,
        16,
        TERM,
        NONE,
    ),
    element(0x9F07, "Application Usage Control", B, 2, 2, ICC, T70_77),
    element(0x9F08, "Application Version Number", B, 2, 2, ICC, T70_77),
    element(
        0x9F09,
        "Application Version Number - terminal",
        B,
        2,
        2,
        TERM,
        NONE,
    ),
    element(
        0x9F0A,
        "Application Selection Registered Proprietary Data (ASRPD)",
        B,
        0,
        VAR,
        ICC,
        TBF0C_73,
    ),
    element(0x9F0B, "Cardholder Name Extended", ANS, 27, 45, ICC, T70_77),
    element(
        0x9F0C,
        "Issuer Identification Number Extended (IINE)",
        N,
        3,
        4,
        ICC,
        TBF0C_73,
    ),
    element(0x9F0D, "Issuer Action Code - Default", B, 5, 5, ICC, T70_77),
    element(0x9F0E, "Issuer Action Code - Denial", B, 5, 5, ICC, T70_77),
    element(0x9F0F, "Issuer Action Code - Online", B, 5, 5, ICC, T70_77),
    element(0x9F10, "Issuer Application Data", B, 0, 32, ICC, T77_80),
    element(0x9F11, "Issuer Code Table Index", N, 1, 1, ICC, TA5),
    element(
        0x9F12,
        "Application Preferred Name",
        ANS,
        1,
        16,
        ICC,
        T61_A5,
    ),
    element(
        0x9F13,
        "Last Online Application Transaction Counter (ATC) Register",
        B,
        2,
        2,
        ICC,
        NONE,
    ),
    element(
        0x9F14,
        "Lower Consecutive Offline Limit",
        B,
        1,
        1,
        ICC,
        T70_77,
    ),
    element(0x9F15, "Merchant Category Code", N, 2, 2, TERM, NONE),
    element(0x9F16, "Merchant Identifier", ANS, 15, 15, TERM, NONE),
    element(
        0x9F17,
        "Personal Identification Number (PIN) Try Counter",
        B,
        1,
        1,
        ICC,
        NONE,
    ),
    element(0x9F18, "Issuer Script Identifier", B, 4, 4, ISS, T71_72),
    element(0x9F19, "Token Requestor ID", N, 6, 6, ICC, T70_77),
    element(0x9F1A, "Terminal Country Code", N, 2, 2, TERM, NONE),
    element(0x9F1B, "Terminal Floor Limit", B, 4, 4, TERM, NONE),
    element(0x9F1C, "Terminal Identification", AN, 8, 8, TERM, NONE),
    element(0x9F1D, "Terminal Risk Management Data", B, 1, 8, TERM, NONE),
    element(
        0x9F1E,
        "Interface Device (IFD) Serial Number",
        AN,
        8,
        8,
        TERM,
        NONE,
    ),
    element(
        0x9F1F,
        "Track 1 Discretionary Data",
        ANS,
        0,
        VAR,
        ICC,
        T70_77,
    ),
    element(
        0x9F20,
        "Track 2 Discretionary Data",
        CN,
        0,
        VAR,
        ICC,
        T70_77,
    ),
    element(0x9F21, "Transaction Time", N, 3, 3, TERM, NONE),
    element(
        0x9F22,
        "Certification Authority Public Key Index - terminal",
        B,
        1,
        1,
        TERM,
        NONE,
    ),
    element(
        0x9F23,
        "Upper Consecutive Offline Limit",
        B,
        1,
        1,
        ICC,
        T70_77,
    ),
    element(
        0x9F24,
        "Payment Account Reference (PAR)",
        AN,
        29,
        29,
        ICC,
        T70_77,
    ),
    element(0x9F25, "Last 4 Digits of PAN", N, 2, 2, ICC, T70_77),
    element(0x9F26, "Application Cryptogram", B, 8, 8, ICC, T77_80),
    element(0x9F27, "Cryptogram Information Data", B, 1, 1, ICC, T77_80),
    element(0x9F29, "Extended Selection", B, 0, VAR, ICC, T61),
    element(0x9F2A, "Kernel Identifier", B, 1, 8, ICC, T61_BF0C),
    element(
        0x9F2D,
        "ICC PIN Encipherment Public Key Certificate",
        B,
        0,
        248,
        ICC,
        T70_77,
    ),
    element(
        0x9F2E,
        "ICC PIN Encipherment Public Key Exponent",
        B,
        1,
        3,
        ICC,
        T70_77,
    ),
    element(
        0x9F2F,
        "ICC PIN Encipherment Public Key Remainder",
        B,
        0,
        248,
        ICC,
        T70_77,
    ),
    element(0x9F32, "Issuer Public Key Exponent", B, 1, 3, ICC, T70_77),
    element(0x9F33, "Terminal Capabilities", B, 3, 3, TERM, NONE),
    element(
        0x9F34,
        "Cardholder Verification Method (CVM) Results",
        B,
        3,
        3,
        TERM,
        NONE,
    ),
    element(0x9F35, "Terminal Type", N, 1, 1, TERM, NONE),
    element(
        0x9F36,
        "Application Transaction Counter (ATC)",
        B,
        2,
        2,
        ICC,
        T77_80,
    ),
    element(0x9F37, "Unpredictable Number", B, 4, 4, TERM, NONE),
    element(
        0x9F38,
        "Processing Options Data Object List (PDOL)",
        B,
        0,
        VAR,
        ICC,
        TA5,
    ),
    element(
        0x9F39,
        "Point-of-Service (POS) Entry Mode",
        N,
        1,
        1,
        TERM,
        NONE,
    ),
    element(0x9F3A, "Amount, Reference Currency", B, 4, 4, TERM, NONE),
    element(
        0x9F3B,
        "Application Reference Currency",
        N,
        2,
        8,
        ICC,
        T70_77,
    ),
    element(
        0x9F3C,
        "Transaction Reference Currency Code",
        N,
        2,
        2,
        TERM,
        NONE,
    ),
    element(
        0x9F3D,
        "Transaction Reference Currency Exponent",
        N,
        1,
        1,
        TERM,
        NONE,
    ),
    element(
        0x9F40,
        "Additional Terminal Capabilities",
        B,
        5,
        5,
        TERM,
        NONE,
    ),
    element(0x9F41, "Transaction Sequence Counter", N, 2, 4, TERM, NONE),
    element(0x9F42, "Application Currency Code", N, 2, 2, ICC, T70_77),
    element(
        0x9F43,
        "Application Reference Currency Exponent",
        N,
        1,
        4,
        ICC,
        T70_77,
    ),
    element(
        0x9F44,
        "Application Currency Exponent",
        N,
        1,
        1,
        ICC,
        T70_77,
    ),
    element(0x9F45, "Data Authentication Code", B, 2, 2, ICC, NONE),
    element(0x9F46, "ICC Public Key Certificate", B, 0, 248, ICC, T70_77),
    element(0x9F47, "ICC Public Key Exponent", B, 1, 3, ICC, T70_77),
    element(0x9F48, "ICC Public Key Remainder", B, 0, 248, ICC, T70_77),
    element(
        0x9F49,
        "Dynamic Data Authentication Data Object List (DDOL)",
        B,
        0,
        VAR,
        ICC,
        T70_77,
    ),
    element(
        0x9F4A,
        "Static Data Authentication Tag List",
        B,
        0,
        VAR,
        ICC,
        T70_77,
    ),
    element(
        0x9F4B,
        "Signed Dynamic Application Data",
        B,
        0,
        248,
        ICC,
        T77_80,
    ),
    element(0x9F4C, "ICC Dynamic Number", B, 2, 8, ICC, NONE),
    element(0x9F4D, "Log Entry", B, 2, 2, ICC, TBF0C_73),
    element(
        0x9F4E,
        "Merchant Name and Location",
        ANS,
        0,
        VAR,
        TERM,
        NONE,
    ),
    element(0x9F4F, "Log Format", B, 0, VAR, ICC, NONE),
    element(
        0x9F53,
        "Transaction Category Code (Mastercard)",
        AN,
        1,
        1,
        TERM,
        NONE,
    ),
    element(
        0x9F54,
        "Cumulative Total Transaction Amount Limit (Visa)",
        N,
        6,
        6,
        ICC,
        T70_77,
    ),
    element(
        0x9F56,
        "Issuer Authentication Indicator (Visa)",
        B,
        1,
        1,
        ICC,
        T70_77,
    ),
    element(0x9F57, "Issuer Country Code (Visa)", N, 2, 2, ICC, T70_77),
    element(
        0x9F58,
        "Lower Consecutive Offline Limit (Card Check) (Visa)",
        B,
        1,
        1,
        ICC,
        T70_77,
    ),
    element(
        0x9F59,
        "Upper Consecutive Offline Limit (Card Check) (Visa)",
        B,
        1,
        1,
        ICC,
        T70_77,
    ),
    element(
        0x9F5A,
        "Application Program Identifier (Visa)",
        B,
        1,
        16,
        ICC,
        TBF0C_70,
    ),
    element(0x9F5B, "Issuer Script Results", B, 0, VAR, TERM, NONE),
    element(
        0x9F5C,
        "Cumulative Total Transaction Amount Upper Limit (Visa)",
        N,
        6,
        6,
        ICC,
        T70_77,
    ),
    element(
        0x9F5D,
        "Available Offline Spending Amount (Visa)",
        N,
        6,
        6,
        ICC,
        T77_80,
    ),
    element(
        0x9F66,
        "Terminal Transaction Qualifiers (TTQ)",
        B,
        4,
        4,
        TERM,
        NONE,
    ),
    element(
        0x9F6A,
        "Unpredictable Number (Numeric) (Mastercard)",
        N,
        4,
        4,
        TERM,
        NONE,
    ),
    element(0x9F6B, "Track 2 Data (Mastercard)", B, 0, 19, ICC, T70),
    element(
        0x9F6C,
        "Card Transaction Qualifiers (CTQ)",
        B,
        2,
        2,
        ICC,
        T77_80,
    ),
    element(
        0x9F6E,
        "Form Factor Indicator (Visa) / Third Party Data (Mastercard)",
        B,
        0,
        32,
        ICC,
        TBF0C_70,
    ),
    element(
        0x9F72,
        "Consecutive Transaction Limit (International - Country) (Visa)",
        B,
        1,
        1,
        ICC,
        T70_77,
    ),
    element(
        0x9F73,
        "Currency Conversion Factor (Visa)",
        N,
        4,
        4,
        ICC,
        T70_77,
    ),
    element(
        0x9F74,
        "VLP Issuer Authorisation Code (Visa)",
        A,
        6,
        6,
        ICC,
        T77_80,
    ),
    element(
        0x9F75,
        "Cumulative Total Transaction Amount Limit - Dual Currency (Visa)",
        N,
        6,
        6,
        ICC,
        T70_77,
    ),
    element(
        0x9F76,
        "Secondary Application Currency Code (Visa)",
        N,
        2,
        2,
        ICC,
        T70_77,
    ),
    element(0x9F77, "VLP Funds Limit (Visa)", N, 6, 6, ICC, T70_77),
    element(
        0x9F78,
        "VLP Single Transaction Limit (Visa)",
        N,
        6,
        6,
        ICC,
        T70_77,
    ),
    element(0x9F79, "VLP Available Funds (Visa)", N, 6, 6, ICC, T77_80),
    element(
        0x9F7A,
        "VLP Terminal Support Indicator (Visa)",
        B,
        1,
        1,
        TERM,
        NONE,
    ),
    element(
        0x9F7B,
        "VLP Terminal Transaction Limit (Visa)",
        N,
        6,
        6,
        TERM,
        NONE,
    ),
    element(
        0x9F7C,
        "Customer Exclusive Data (Visa) / Merchant Custom Data (Mastercard)",
        B,
        0,
        32,
        ICC,
        T77_80,
    ),
    element(
        0x9F7F,
        "Card Production Life Cycle (CPLC) History File Identifiers",
        B,
        0,
        VAR,
        ICC,
        NONE,
    ),
    element(
        0xBF0C,
        "File Control Information (FCI) Issuer Discretionary Data",
        B,
        0,
        222,
        ICC,
        TA5,
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_unique_and_large_enough() {
        for pair in ELEMENTS.windows(2) {
            assert!(
                pair[0].tag < pair[1].tag,
                "{} before {}",
                pair[0].tag,
                pair[1].tag
            );
        }
        assert!(ELEMENTS.len() >= 150, "only {} elements", ELEMENTS.len());
    }

    #[test]
    fn every_entry_is_self_consistent() {
        for e in ELEMENTS {
            assert!(e.min_len <= e.max_len, "{}", e.tag);
            assert!(!e.name.is_empty());
            // Constructed tags are templates and carry binary (BER-TLV) data.
            if e.is_template() {
                assert_eq!(e.format, Format::Binary, "{}", e.tag);
            }
            // A card element names the templates the card sends it in, and
            // every such template is itself in the dictionary.
            for t in e.templates {
                assert!(lookup(*t).is_some(), "{} in unknown {}", e.tag, t);
            }
        }
    }

    #[test]
    fn book3_annex_a_is_covered() {
        // Every tag Book 3 Annex A (v4.3/4.4) defines.
        let annex_a: &[u32] = &[
            0x42, 0x4F, 0x50, 0x57, 0x5A, 0x61, 0x6F, 0x70, 0x71, 0x72, 0x73, 0x77, 0x80, 0x81,
            0x82, 0x83, 0x84, 0x86, 0x87, 0x88, 0x89, 0x8A, 0x8C, 0x8D, 0x8E, 0x8F, 0x90, 0x91,
            0x92, 0x93, 0x94, 0x95, 0x97, 0x98, 0x99, 0x9A, 0x9B, 0x9C, 0x9D, 0xA5, 0x5F20, 0x5F24,
            0x5F25, 0x5F28, 0x5F2A, 0x5F2D, 0x5F30, 0x5F34, 0x5F36, 0x5F50, 0x5F53, 0x5F54, 0x5F55,
            0x5F56, 0x5F57, 0x9F01, 0x9F02, 0x9F03, 0x9F04, 0x9F05, 0x9F06, 0x9F07, 0x9F08, 0x9F09,
            0x9F0A, 0x9F0B, 0x9F0D, 0x9F0E, 0x9F0F, 0x9F10, 0x9F11, 0x9F12, 0x9F13, 0x9F14, 0x9F15,
            0x9F16, 0x9F17, 0x9F18, 0x9F1A, 0x9F1B, 0x9F1C, 0x9F1D, 0x9F1E, 0x9F1F, 0x9F20, 0x9F21,
            0x9F22, 0x9F23, 0x9F26, 0x9F27, 0x9F2D, 0x9F2E, 0x9F2F, 0x9F32, 0x9F33, 0x9F34, 0x9F35,
            0x9F36, 0x9F37, 0x9F38, 0x9F39, 0x9F3A, 0x9F3B, 0x9F3C, 0x9F3D, 0x9F40, 0x9F41, 0x9F42,
            0x9F43, 0x9F44, 0x9F45, 0x9F46, 0x9F47, 0x9F48, 0x9F49, 0x9F4A, 0x9F4B, 0x9F4C,
        ];
        for &t in annex_a {
            assert!(lookup(Tag(t)).is_some(), "missing {:X}", t);
        }
        for t in [0x9F4D, 0x9F4E, 0x9F4F, 0xBF0C, 0x9F66, 0x9F6C, 0x9F6E] {
            assert!(lookup(Tag(t)).is_some(), "missing {:X}", t);
        }
    }

    #[test]
    fn lookup_facts() {
        let pan = lookup(Tag(0x5A)).unwrap();
        assert_eq!(pan.format, Format::CompactNumeric);
        assert_eq!(pan.max_len, 10);
        let amount = lookup(Tag(0x9F02)).unwrap();
        assert_eq!(
            (amount.format, amount.min_len, amount.source),
            (Format::Numeric, 6, Source::Terminal)
        );
        assert_eq!(format_of(Tag(0x9F37)), Some(Format::Binary));
        assert_eq!(
            name_of(Tag(0xBF0C)),
            Some("File Control Information (FCI) Issuer Discretionary Data")
        );
        assert_eq!(lookup(Tag(0x9F7E)), None);
        assert_eq!(lookup(Tag(0)), None);
        assert_eq!(lookup(Tag(0xFFFF_FFFF)), None);
    }
}
