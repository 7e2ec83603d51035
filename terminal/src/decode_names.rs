//! Names `decode` shows beyond the kernel's EMV dictionary: the ISO names of country,
//! currency and language codes, and the payment schemes by their Registered
//! Application Provider Identifier.

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
        0x5F2A | 0x9F42 | 0x9F3C | 0x9F3B => (2, currency),
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
