//! Names `decode` shows beyond the kernel's EMV dictionary: the ISO names of country,
//! currency and language codes, the payment schemes by their Registered Application
//! Provider Identifier, and the names the schemes publish for their proprietary tags.
//!
//! These are display names only: the kernel's dictionary (`emv_kernel::dictionary`)
//! stays what the kernel builds DOLs from.

use emv_kernel::tlv::Tag;
use serde::Serialize;

/// A country, currency or language code in a value, with its ISO name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IsoCode {
    /// `ISO 3166-1` (country), `ISO 4217` (currency) or `ISO 639-1` (language).
    pub standard: &'static str,
    /// The code as the card has it: three digits (`056`, `978`), or letters (`BE`,
    /// `BEL`, `en`).
    pub code: String,
    /// The alphabetic code of a numeric one (`BE` for 056, `EUR` for 978), `null` for
    /// languages and for codes the standard does not list.
    pub alpha: Option<&'static str>,
    /// The English name (`Belgium`, `Euro`, `English`), `null` for a code the standard
    /// does not list.
    pub name: Option<&'static str>,
}

impl IsoCode {
    /// How the text tree shows the name: `Belgium`, `Euro, EUR`, `English`, `unknown`.
    pub fn label(&self) -> String {
        match (self.name, self.standard, self.alpha) {
            (Some(name), "ISO 4217", Some(alpha)) => format!("{name}, {alpha}"),
            (Some(name), _, _) => name.to_owned(),
            (None, _, _) => format!("not an {} code", self.standard),
        }
    }
}

/// Three BCD digits in two bytes (`0x09 0x78` is 978), as Book 3 codes n3 values.
fn numeric_3(bytes: &[u8]) -> Option<u16> {
    let [high, low] = bytes else { return None };
    let digits = [high >> 4, high & 0x0F, low >> 4, low & 0x0F];
    (digits.iter().all(|&d| d <= 9) && digits[0] == 0)
        .then(|| digits.iter().fold(0u16, |n, &d| n * 10 + u16::from(d)))
}

fn country_numeric(bytes: &[u8]) -> Option<IsoCode> {
    let numeric = numeric_3(bytes)?;
    let country = rust_iso3166::from_numeric(numeric);
    Some(IsoCode {
        standard: "ISO 3166-1",
        code: format!("{numeric:03}"),
        alpha: country.map(|c| c.alpha2),
        name: country.map(|c| c.name),
    })
}

fn country_alpha(bytes: &[u8]) -> Option<IsoCode> {
    let text = std::str::from_utf8(bytes).ok()?.to_ascii_uppercase();
    let country = match text.len() {
        2 => rust_iso3166::from_alpha2(&text),
        3 => rust_iso3166::from_alpha3(&text),
        _ => return None,
    };
    Some(IsoCode {
        standard: "ISO 3166-1",
        code: String::from_utf8_lossy(bytes).into_owned(),
        alpha: None,
        name: country.map(|c| c.name),
    })
}

fn currency(bytes: &[u8]) -> Option<IsoCode> {
    let numeric = numeric_3(bytes)?;
    let currency = rust_iso4217::from_numeric(i32::from(numeric));
    Some(IsoCode {
        standard: "ISO 4217",
        code: format!("{numeric:03}"),
        alpha: currency.map(|c| c.code),
        name: currency.map(|c| c.name),
    })
}

fn language(bytes: &[u8]) -> Option<IsoCode> {
    let text = std::str::from_utf8(bytes).ok()?;
    let language = rust_iso639::from_code_1(&text.to_ascii_lowercase());
    Some(IsoCode {
        standard: "ISO 639-1",
        code: text.to_owned(),
        alpha: None,
        name: language.map(|l| l.name),
    })
}

/// Reads one code of a value.
type CodeReader = fn(&[u8]) -> Option<IsoCode>;

/// The ISO codes a value holds, for the tags whose value is one or more of them;
/// `None` for other tags, or when the value is not made of whole codes.
///
/// Book 3, Annex A: country codes (5F28, 9F1A; 9F57 in Visa's dictionary) are ISO 3166
/// numeric, n3 in 2 bytes, and 5F55/5F56 its alpha-2 and alpha-3 forms; currency codes
/// (5F2A, 9F42, 9F3C) ISO 4217 numeric, and 9F3B up to four of them; the Language
/// Preference (5F2D) one to four ISO 639-1 codes of 2 letters, in order of preference.
pub fn iso_codes(tag: Tag, value: &[u8]) -> Option<Vec<IsoCode>> {
    let (piece, read): (usize, CodeReader) = match tag.0 {
        0x5F28 | 0x9F1A | 0x9F57 => (2, country_numeric),
        0x5F55 => (2, country_alpha),
        0x5F56 => (3, country_alpha),
        // 9F51: Visa's and UnionPay's Application Currency Code (see PROPRIETARY).
        0x5F2A | 0x9F42 | 0x9F3C | 0x9F3B | 0x9F51 => (2, currency),
        0x5F2D => (2, language),
        _ => return None,
    };
    if value.is_empty() || !value.len().is_multiple_of(piece) {
        return None;
    }
    value.chunks(piece).map(read).collect()
}

/// A payment scheme, known by the RID (the first 5 bytes of its AIDs, ISO/IEC 7816-5).
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// Visa (RID A000000003).
    Visa,
    /// Mastercard, Maestro (RID A000000004).
    Mastercard,
    /// American Express (RID A000000025).
    Amex,
    /// JCB (RID A000000065).
    Jcb,
    /// Discover, Diners Club (D-PAS, RID A000000152).
    Discover,
    /// UnionPay (RID A000000333).
    Unionpay,
}

impl Scheme {
    /// Every scheme with its RID.
    const RIDS: [(Scheme, [u8; 5]); 6] = [
        (Scheme::Visa, [0xA0, 0x00, 0x00, 0x00, 0x03]),
        (Scheme::Mastercard, [0xA0, 0x00, 0x00, 0x00, 0x04]),
        (Scheme::Amex, [0xA0, 0x00, 0x00, 0x00, 0x25]),
        (Scheme::Jcb, [0xA0, 0x00, 0x00, 0x00, 0x65]),
        (Scheme::Discover, [0xA0, 0x00, 0x00, 0x01, 0x52]),
        (Scheme::Unionpay, [0xA0, 0x00, 0x00, 0x03, 0x33]),
    ];

    /// The scheme whose RID starts `aid`, if it is one of [`Scheme::RIDS`].
    pub fn from_aid(aid: &[u8]) -> Option<Scheme> {
        let rid = aid.get(..5)?;
        Self::RIDS
            .iter()
            .find(|(_, known)| known == rid)
            .map(|(scheme, _)| *scheme)
    }

    /// The scheme's name as people write it.
    pub fn label(self) -> &'static str {
        match self {
            Scheme::Visa => "Visa",
            Scheme::Mastercard => "Mastercard",
            Scheme::Amex => "American Express",
            Scheme::Jcb => "JCB",
            Scheme::Discover => "Discover",
            Scheme::Unionpay => "UnionPay",
        }
    }
}

/// Tags outside EMV Book 3's dictionary (or given other meanings by a scheme), with the
/// name each scheme gives them in its published specifications: Mastercard's in EMV
/// Contactless Book C-2 (Kernel 2: mag-stripe mode CVC3 data, data storage, data
/// envelopes), Visa's in Book C-3 and VIS, American Express's in Book C-4, UnionPay's
/// in Book C-7 and the PBOC electronic cash specification. A tag a scheme does not
/// define stays unknown for a card of that scheme.
const PROPRIETARY: &[(u32, &[(Scheme, &str)])] = &[
    (
        0x9F51,
        &[
            (Scheme::Visa, "Application Currency Code"),
            (Scheme::Unionpay, "Application Currency Code"),
        ],
    ),
    (
        0x9F5D,
        &[(Scheme::Mastercard, "Application Capabilities Information")],
    ),
    (0x9F5E, &[(Scheme::Mastercard, "DS ID")]),
    (0x9F5F, &[(Scheme::Mastercard, "DS Slot Availability")]),
    (0x9F60, &[(Scheme::Mastercard, "CVC3 (Track1)")]),
    (0x9F61, &[(Scheme::Mastercard, "CVC3 (Track2)")]),
    (0x9F62, &[(Scheme::Mastercard, "PCVC3 (Track1)")]),
    (
        0x9F63,
        &[
            (Scheme::Mastercard, "PUNATC (Track1)"),
            (Scheme::Unionpay, "Product Identification Information"),
        ],
    ),
    (0x9F64, &[(Scheme::Mastercard, "NATC (Track1)")]),
    (0x9F65, &[(Scheme::Mastercard, "PCVC3 (Track2)")]),
    (0x9F66, &[(Scheme::Mastercard, "PUNATC (Track2)")]),
    (0x9F67, &[(Scheme::Mastercard, "NATC (Track2)")]),
    (
        0x9F68,
        &[
            (Scheme::Mastercard, "Mag-stripe CVM List"),
            (Scheme::Visa, "Card Additional Processes"),
        ],
    ),
    (
        0x9F69,
        &[
            (Scheme::Mastercard, "UDOL"),
            (Scheme::Visa, "Card Authentication Related Data"),
        ],
    ),
    (
        0x9F6C,
        &[(
            Scheme::Mastercard,
            "Mag-stripe Application Version Number (Card)",
        )],
    ),
    (
        0x9F6D,
        &[
            (
                Scheme::Mastercard,
                "Mag-stripe Application Version Number (Reader)",
            ),
            (Scheme::Amex, "Contactless Reader Capabilities"),
            (Scheme::Unionpay, "Electronic Cash Reset Threshold"),
        ],
    ),
    (
        0x9F6E,
        &[
            (Scheme::Visa, "Form Factor Indicator"),
            (Scheme::Mastercard, "Third Party Data"),
            (Scheme::Amex, "Enhanced Contactless Reader Capabilities"),
        ],
    ),
    (
        0x9F6F,
        &[(Scheme::Mastercard, "DS Slot Management Control")],
    ),
    (
        0x9F70,
        &[
            (Scheme::Mastercard, "Protected Data Envelope 1"),
            (Scheme::Amex, "Card Interface Capabilities"),
        ],
    ),
    (
        0x9F71,
        &[
            (Scheme::Mastercard, "Protected Data Envelope 2"),
            (Scheme::Amex, "Mobile CVM Results"),
        ],
    ),
    (0x9F72, &[(Scheme::Mastercard, "Protected Data Envelope 3")]),
    (0x9F73, &[(Scheme::Mastercard, "Protected Data Envelope 4")]),
    (
        0x9F74,
        &[
            (Scheme::Mastercard, "Protected Data Envelope 5"),
            (
                Scheme::Unionpay,
                "Electronic Cash Issuer Authorisation Code",
            ),
        ],
    ),
    (
        0x9F75,
        &[(Scheme::Mastercard, "Unprotected Data Envelope 1")],
    ),
    (
        0x9F76,
        &[(Scheme::Mastercard, "Unprotected Data Envelope 2")],
    ),
    (
        0x9F77,
        &[
            (Scheme::Mastercard, "Unprotected Data Envelope 3"),
            (Scheme::Unionpay, "Electronic Cash Balance Limit"),
        ],
    ),
    (
        0x9F78,
        &[
            (Scheme::Mastercard, "Unprotected Data Envelope 4"),
            (Scheme::Unionpay, "Electronic Cash Single Transaction Limit"),
        ],
    ),
    (
        0x9F79,
        &[
            (Scheme::Mastercard, "Unprotected Data Envelope 5"),
            (Scheme::Unionpay, "Electronic Cash Balance"),
        ],
    ),
    (
        0x9F7C,
        &[
            (Scheme::Visa, "Customer Exclusive Data"),
            (Scheme::Mastercard, "Merchant Custom Data"),
        ],
    ),
    (0x9F7D, &[(Scheme::Mastercard, "DS Summary 1")]),
    (0x9F7E, &[(Scheme::Mastercard, "Mobile Support Indicator")]),
    (
        0xDF4B,
        &[(Scheme::Mastercard, "POS Cardholder Interaction Information")],
    ),
    (0xDF4D, &[(Scheme::Unionpay, "Load Log Entry")]),
    (0xDF4F, &[(Scheme::Unionpay, "Load Log Format")]),
    (0xDF60, &[(Scheme::Mastercard, "DS Input (Card)")]),
    (0xDF61, &[(Scheme::Mastercard, "DS Digest H")]),
    (0xDF62, &[(Scheme::Mastercard, "DS ODS Info")]),
    (0xDF63, &[(Scheme::Mastercard, "DS ODS Term")]),
];

/// The scheme names of a proprietary tag: with the scheme known, its name for the tag
/// (`DS ID (Mastercard)`), or `None` when that scheme defines none; without, every
/// scheme's (`Protected Data Envelope 1 (Mastercard) / Card Interface Capabilities
/// (American Express)`).
pub fn proprietary_name(tag: Tag, scheme: Option<Scheme>) -> Option<String> {
    let (_, names) = PROPRIETARY.iter().find(|(known, _)| *known == tag.0)?;
    match scheme {
        Some(scheme) => names
            .iter()
            .find(|(s, _)| *s == scheme)
            .map(|(s, name)| format!("{name} ({})", s.label())),
        None => {
            // Schemes that agree on a name share it: `Application Currency Code (Visa, UnionPay)`.
            let mut parts: Vec<(&str, Vec<&str>)> = Vec::new();
            for (s, name) in names.iter() {
                match parts.iter_mut().find(|(n, _)| n == name) {
                    Some((_, schemes)) => schemes.push(s.label()),
                    None => parts.push((name, vec![s.label()])),
                }
            }
            Some(
                parts
                    .iter()
                    .map(|(name, schemes)| format!("{name} ({})", schemes.join(", ")))
                    .collect::<Vec<_>>()
                    .join(" / "),
            )
        }
    }
}

/// Names the proprietary tags in a decoded tree: a tag the kernel's dictionary does not
/// know gets the schemes' names; a tag the dictionary knows keeps its name unless the
/// scheme is known and gives it its own meaning (9F6E on a Mastercard card is Third
/// Party Data). Unknown stays unknown.
pub fn name_proprietary(nodes: &mut [crate::decode::Node], scheme: Option<Scheme>) {
    for node in nodes {
        if let Ok(value) = u32::from_str_radix(&node.tag, 16) {
            let tag = Tag(value);
            let in_dictionary = emv_kernel::dictionary::lookup(tag).is_some();
            let name = proprietary_name(tag, scheme);
            if !in_dictionary || scheme.is_some() {
                if let Some(name) = &name {
                    node.name.clone_from(name);
                }
            }
            // The scheme's own meaning replaces the dictionary's: its format, bit names
            // and length checks do not apply; the value is shown as bytes.
            if in_dictionary && scheme.is_some() && name.is_some() {
                node.format = None;
                node.details.clear();
                if let Some(hex) = &node.hex {
                    node.value = Some(spaced(hex));
                }
            }
            // A proprietary currency code only where the scheme makes it one.
            if !in_dictionary && name.is_none() {
                node.iso_codes = None;
            }
        }
        name_proprietary(&mut node.children, scheme);
    }
}

/// Hex digits as space-separated bytes (`0A1B` becomes `0A 1B`).
fn spaced(hex: &str) -> String {
    hex.as_bytes()
        .chunks(2)
        .map(|pair| String::from_utf8_lossy(pair).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The scheme of the first application named in `data` (an FCI's DF Name 84 or a
/// directory entry's AID 4F), for bare data decoded without `--scheme`.
pub fn scheme_in(data: &[u8]) -> Option<Scheme> {
    [0x84, 0x4F]
        .into_iter()
        .filter_map(|tag| emv_kernel::tlv::find(data, Tag(tag)))
        .find_map(Scheme::from_aid)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(tag: u32, value: &[u8]) -> Option<Vec<String>> {
        iso_codes(Tag(tag), value).map(|codes| codes.iter().map(IsoCode::label).collect())
    }

    #[test]
    fn iso_names_of_codes() {
        assert_eq!(
            labels(0x5F28, &[0x00, 0x56]),
            Some(vec!["Belgium".to_owned()])
        );
        assert_eq!(
            labels(0x9F1A, &[0x02, 0x50]),
            Some(vec!["France".to_owned()])
        );
        assert_eq!(
            labels(0x5F2A, &[0x09, 0x78]),
            Some(vec!["Euro, EUR".to_owned()])
        );
        assert_eq!(
            labels(0x9F42, &[0x08, 0x40]),
            Some(vec!["US Dollar, USD".to_owned()])
        );
        assert_eq!(
            labels(0x9F3B, &[0x09, 0x78, 0x08, 0x26]),
            Some(vec![
                "Euro, EUR".to_owned(),
                "Pound Sterling, GBP".to_owned()
            ])
        );
        assert_eq!(
            labels(0x5F2D, b"enfr"),
            Some(vec!["English".to_owned(), "French".to_owned()])
        );
        assert_eq!(labels(0x5F55, b"BE"), Some(vec!["Belgium".to_owned()]));
        assert_eq!(labels(0x5F56, b"BEL"), Some(vec!["Belgium".to_owned()]));
        // Codes the standard does not list, and values that are not codes.
        assert_eq!(
            labels(0x5F2A, &[0x00, 0x01]),
            Some(vec!["not an ISO 4217 code".to_owned()])
        );
        assert_eq!(
            labels(0x5F2D, b"zz"),
            Some(vec!["not an ISO 639-1 code".to_owned()])
        );
        assert_eq!(labels(0x5F28, &[0x0A, 0x56]), None, "not BCD");
        assert_eq!(labels(0x5F28, &[0x10, 0x56]), None, "four digits");
        assert_eq!(labels(0x5F2D, b"enf"), None, "not whole codes");
        assert_eq!(labels(0x5F2D, &[0xFF, 0xFE]), None, "not text");
        assert_eq!(labels(0x9F36, &[0x00, 0x56]), None, "not a code tag");
        let euro = &iso_codes(Tag(0x5F2A), &[0x09, 0x78]).unwrap()[0];
        assert_eq!((euro.code.as_str(), euro.alpha), ("978", Some("EUR")));
    }

    #[test]
    fn proprietary_names_by_scheme() {
        let name = |tag, scheme| proprietary_name(Tag(tag), scheme);
        assert_eq!(
            name(0x9F5E, Some(Scheme::Mastercard)).as_deref(),
            Some("DS ID (Mastercard)")
        );
        assert_eq!(
            name(0x9F5E, Some(Scheme::Visa)),
            None,
            "Visa defines no 9F5E"
        );
        assert_eq!(name(0x9F5E, None).as_deref(), Some("DS ID (Mastercard)"));
        assert_eq!(
            name(0x9F6E, None).as_deref(),
            Some(
                "Form Factor Indicator (Visa) / Third Party Data (Mastercard) / \
                 Enhanced Contactless Reader Capabilities (American Express)"
            )
        );
        assert_eq!(
            name(0x9F6E, Some(Scheme::Amex)).as_deref(),
            Some("Enhanced Contactless Reader Capabilities (American Express)")
        );
        assert_eq!(
            name(0x9F51, None).as_deref(),
            Some("Application Currency Code (Visa, UnionPay)")
        );
        assert_eq!(
            name(0xDF4F, Some(Scheme::Unionpay)).as_deref(),
            Some("Load Log Format (UnionPay)")
        );
        assert_eq!(name(0xDF7F, None), None, "unknown stays unknown");
        assert_eq!(name(0x9F36, None), None, "EMV's own tags are not here");
        // The table is sorted and holds each tag once.
        assert!(PROPRIETARY.windows(2).all(|w| w[0].0 < w[1].0));
    }

    #[test]
    fn schemes_by_rid() {
        assert_eq!(
            Scheme::from_aid(&[0xA0, 0, 0, 0, 0x03, 0x10, 0x10]),
            Some(Scheme::Visa)
        );
        assert_eq!(
            Scheme::from_aid(&[0xA0, 0, 0, 0, 0x04, 0x30, 0x60]),
            Some(Scheme::Mastercard)
        );
        assert_eq!(Scheme::from_aid(&[0xA0, 0, 0, 0x09, 0x99, 0x10]), None);
        assert_eq!(Scheme::from_aid(&[0xA0, 0, 0]), None);
    }
}
