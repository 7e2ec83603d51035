//! Data Object Lists: reading the lists the card sends, building the data the
//! card asked for.
//!
//! Book 3, 5.4. A DOL (PDOL 9F38, CDOL1 8C, CDOL2 8D, DDOL 9F49, TDOL 97) is
//! a plain concatenation of entries, each a BER-TLV tag followed by a one-byte
//! length and no value. The terminal answers with the values of those data
//! objects, concatenated without tags or lengths, each fitted to the length
//! the card asked for.

use crate::dictionary::{self, Format};
use crate::tlv::{self, Tag};

/// What was wrong with a DOL.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DolErrorKind {
    /// The list ended inside a tag.
    TruncatedTag,
    /// A tag of more than three bytes.
    TagTooLong,
    /// A tag with no length byte after it.
    MissingLength,
}

impl core::fmt::Display for DolErrorKind {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            DolErrorKind::TruncatedTag => "DOL ends inside a tag",
            DolErrorKind::TagTooLong => "DOL tag longer than three bytes",
            DolErrorKind::MissingLength => "DOL entry without a length",
        })
    }
}

/// A malformed DOL: what was wrong and at which byte offset of the list.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct DolError {
    /// What was wrong.
    pub kind: DolErrorKind,
    /// Offset of the entry's first byte in the list.
    pub offset: usize,
}

impl core::fmt::Display for DolError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{} at offset {}", self.kind, self.offset)
    }
}

impl core::error::Error for DolError {}

/// One DOL entry: the tag the card asks for and how many bytes it wants.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct DolEntry {
    /// The data object asked for.
    pub tag: Tag,
    /// The length the card wants its value in (Book 3, 5.4: one byte).
    pub length: usize,
}

/// Iterator over the entries of a DOL; stops after the first error.
#[derive(Clone, Debug)]
pub struct Entries<'a> {
    rest: &'a [u8],
    offset: usize,
    done: bool,
}

/// Iterates the entries of a DOL.
pub fn entries(dol: &[u8]) -> Entries<'_> {
    Entries {
        rest: dol,
        offset: 0,
        done: false,
    }
}

/// Reads one BER-TLV tag (Book 3, Annex B1) from the start of `input`;
/// returns it and the bytes it took.
pub(crate) fn read_tag(input: &[u8]) -> Result<(Tag, usize), DolErrorKind> {
    let mut bytes = input.iter();
    let first = *bytes.next().ok_or(DolErrorKind::TruncatedTag)?;
    let mut value = u32::from(first);
    if first & 0x1F != 0x1F {
        return Ok((Tag(value), 1));
    }
    for used in 2..=3 {
        let next = *bytes.next().ok_or(DolErrorKind::TruncatedTag)?;
        value = (value << 8) | u32::from(next);
        if next & 0x80 == 0 {
            return Ok((Tag(value), used));
        }
    }
    Err(DolErrorKind::TagTooLong)
}

impl Iterator for Entries<'_> {
    type Item = Result<DolEntry, DolError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done || self.rest.is_empty() {
            return None;
        }
        let fail = |kind| DolError {
            kind,
            offset: self.offset,
        };
        let entry = read_tag(self.rest).map_err(fail).and_then(|(tag, used)| {
            let length = *self
                .rest
                .get(used)
                .ok_or(fail(DolErrorKind::MissingLength))?;
            Ok((
                DolEntry {
                    tag,
                    length: usize::from(length),
                },
                used + 1,
            ))
        });
        match entry {
            Ok((entry, used)) => {
                self.rest = self.rest.get(used..).unwrap_or(&[]);
                self.offset += used;
                Some(Ok(entry))
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

/// Checks a DOL and returns the total length of the data it asks for.
pub fn data_length(dol: &[u8]) -> Result<usize, DolError> {
    entries(dol).try_fold(0usize, |total, entry| {
        entry.map(|e| total.saturating_add(e.length))
    })
}

/// Where the DOL builder finds the values of data objects: the terminal's
/// configuration, the transaction data, what the card sent so far.
pub trait DataSource {
    /// The value of `tag`, if it is known.
    fn get(&self, tag: Tag) -> Option<&[u8]>;
}

impl<T: DataSource + ?Sized> DataSource for &T {
    fn get(&self, tag: Tag) -> Option<&[u8]> {
        (**self).get(tag)
    }
}

/// Two sources searched in order: the first that has the tag answers.
impl<A: DataSource, B: DataSource> DataSource for (A, B) {
    fn get(&self, tag: Tag) -> Option<&[u8]> {
        self.0.get(tag).or_else(|| self.1.get(tag))
    }
}

/// A list of (tag, value) pairs, searched in order.
impl DataSource for [(Tag, &[u8])] {
    fn get(&self, tag: Tag) -> Option<&[u8]> {
        self.iter().find(|(t, _)| *t == tag).map(|(_, v)| *v)
    }
}

/// BER-TLV encoded data (searched through its templates, first match).
#[derive(Clone, Copy, Debug)]
pub struct TlvSource<'a>(pub &'a [u8]);

impl DataSource for TlvSource<'_> {
    fn get(&self, tag: Tag) -> Option<&[u8]> {
        tlv::find(self.0, tag)
    }
}

/// Why a DOL's data could not be built.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BuildError {
    /// The DOL itself is malformed.
    Dol(DolError),
    /// The caller's buffer is smaller than the data the DOL asks for.
    BufferTooSmall,
}

impl From<DolError> for BuildError {
    fn from(e: DolError) -> Self {
        BuildError::Dol(e)
    }
}

impl core::fmt::Display for BuildError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            BuildError::Dol(e) => e.fmt(f),
            BuildError::BufferTooSmall => f.write_str("DOL data does not fit the buffer"),
        }
    }
}

impl core::error::Error for BuildError {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            BuildError::Dol(e) => Some(e),
            BuildError::BufferTooSmall => None,
        }
    }
}

/// Book 3, 5.4: fits one value into the `field` the DOL entry gave it.
///
/// - absent, or a constructed tag: all zeros (rules a and b);
/// - too long: numeric (`n`) values lose their leftmost bytes, all other
///   formats their rightmost bytes (rule c);
/// - too short: numeric values get leading zeros, compact numeric (`cn`)
///   values trailing `FF`s, all other formats trailing zeros (rule d).
///
/// A tag the dictionary does not know is treated as binary when the data
/// source has a value for it (the terminal knows it, since it holds it).
pub fn fit_value(tag: Tag, value: Option<&[u8]>, field: &mut [u8]) {
    let value = match value {
        Some(v) if !tag.is_constructed() => v,
        _ => {
            field.fill(0);
            return;
        }
    };
    let format = dictionary::format_of(tag).unwrap_or(Format::Binary);
    let want = field.len();
    if let Some(shorter) = want.checked_sub(value.len()) {
        // The value fits: pad (shorter may be 0, then it is a plain copy).
        let (head, tail) = field.split_at_mut(match format {
            Format::Numeric => shorter,
            _ => value.len(),
        });
        match format {
            Format::Numeric => {
                head.fill(0);
                tail.copy_from_slice(value);
            }
            Format::CompactNumeric => {
                head.copy_from_slice(value);
                tail.fill(0xFF);
            }
            _ => {
                head.copy_from_slice(value);
                tail.fill(0);
            }
        }
    } else {
        let kept = match format {
            Format::Numeric => value.get(value.len() - want..), // ok: want < value.len()
            _ => value.get(..want),
        };
        match kept {
            Some(kept) => field.copy_from_slice(kept),
            None => field.fill(0),
        }
    }
}

/// Book 3, 5.4: builds the data a DOL asks for into `out`; returns its length.
///
/// The whole DOL is checked first, so a malformed DOL is reported as such
/// whatever the size of `out`, and nothing is written when it does not fit.
pub fn build(dol: &[u8], source: &impl DataSource, out: &mut [u8]) -> Result<usize, BuildError> {
    if data_length(dol)? > out.len() {
        return Err(BuildError::BufferTooSmall);
    }
    let mut position = 0usize;
    for entry in entries(dol) {
        let entry = entry?;
        let end = position
            .checked_add(entry.length)
            .ok_or(BuildError::BufferTooSmall)?;
        let field = out
            .get_mut(position..end)
            .ok_or(BuildError::BufferTooSmall)?;
        fit_value(entry.tag, source.get(entry.tag), field);
        position = end;
    }
    Ok(position)
}

/// Book 3, 6.5.8.3: the data field of GET PROCESSING OPTIONS, the PDOL data
/// inside a Command Template (83); `83 00` when the card has no PDOL.
pub fn build_gpo_data(
    pdol: Option<&[u8]>,
    source: &impl DataSource,
    out: &mut [u8],
) -> Result<usize, BuildError> {
    let pdol = pdol.unwrap_or(&[]);
    let data_len = data_length(pdol)?;
    let tag_len = tlv::encode_tag(Tag(0x83), &mut *out).map_err(|_| BuildError::BufferTooSmall)?;
    let rest = out.get_mut(tag_len..).ok_or(BuildError::BufferTooSmall)?;
    let len_len = tlv::encode_length(data_len, rest).map_err(|_| BuildError::BufferTooSmall)?;
    let header = tag_len + len_len;
    let body = out.get_mut(header..).ok_or(BuildError::BufferTooSmall)?;
    let written = build(pdol, source, body)?;
    Ok(header + written)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(dol: &[u8]) -> heapless::Vec<(u32, usize), 16> {
        entries(dol)
            .map(|e| e.map(|e| (e.tag.0, e.length)).unwrap())
            .collect()
    }

    #[test]
    fn parses_a_pdol() {
        // 9F66 04, 9F02 06, 9F37 04, 5F2A 02, 9A 03, 9C 01
        let pdol = hex::decode("9F66049F02069F37045F2A029A039C01").unwrap();
        assert_eq!(
            list(&pdol).as_slice(),
            &[
                (0x9F66, 4),
                (0x9F02, 6),
                (0x9F37, 4),
                (0x5F2A, 2),
                (0x9A, 3),
                (0x9C, 1)
            ]
        );
        assert_eq!(data_length(&pdol), Ok(20));
        assert_eq!(data_length(&[]), Ok(0));
    }

    #[test]
    fn reports_malformed_lists() {
        let err = |bytes: &[u8]| data_length(bytes).unwrap_err();
        assert_eq!(
            err(&[0x9F]),
            DolError {
                kind: DolErrorKind::TruncatedTag,
                offset: 0
            }
        );
        assert_eq!(
            err(&[0x9A, 0x03, 0x9F, 0x02]),
            DolError {
                kind: DolErrorKind::MissingLength,
                offset: 2
            }
        );
        assert_eq!(
            err(&[0x9A, 0x03, 0x5F, 0x81, 0x82, 0x01, 0x01]),
            DolError {
                kind: DolErrorKind::TagTooLong,
                offset: 2
            }
        );
        assert_eq!(list(&[0xDF, 0x81, 0x01, 0x02]).as_slice(), &[(0xDF8101, 2)]);
    }

    #[test]
    fn fits_values_by_format() {
        let mut f = [0xEEu8; 4];
        // n: truncate leftmost, pad leading zeros.
        fit_value(
            Tag(0x9F02),
            Some(&[0x00, 0x00, 0x00, 0x01, 0x23, 0x45]),
            &mut f,
        );
        assert_eq!(f, [0x00, 0x01, 0x23, 0x45]);
        let mut f = [0xEEu8; 8];
        fit_value(
            Tag(0x9F02),
            Some(&[0x00, 0x00, 0x00, 0x01, 0x23, 0x45]),
            &mut f,
        );
        assert_eq!(f, [0, 0, 0, 0, 0, 0x01, 0x23, 0x45]);
        // cn: pad trailing FF, truncate rightmost.
        let mut f = [0xEEu8; 10];
        fit_value(
            Tag(0x5A),
            Some(&[0x47, 0x61, 0x73, 0x90, 0x01, 0x01, 0x00, 0x10]),
            &mut f,
        );
        assert_eq!(
            f,
            [0x47, 0x61, 0x73, 0x90, 0x01, 0x01, 0x00, 0x10, 0xFF, 0xFF]
        );
        let mut f = [0xEEu8; 3];
        fit_value(Tag(0x5A), Some(&[0x47, 0x61, 0x73, 0x90]), &mut f);
        assert_eq!(f, [0x47, 0x61, 0x73]);
        // b and ans: truncate rightmost, pad trailing zeros.
        let mut f = [0xEEu8; 2];
        fit_value(Tag(0x9F37), Some(&[1, 2, 3, 4]), &mut f);
        assert_eq!(f, [1, 2]);
        let mut f = [0xEEu8; 6];
        fit_value(Tag(0x9F4E), Some(b"SHOP"), &mut f);
        assert_eq!(&f, b"SHOP\0\0");
        // absent, constructed: zeros.
        let mut f = [0xEEu8; 3];
        fit_value(Tag(0x9A), None, &mut f);
        assert_eq!(f, [0, 0, 0]);
        let mut f = [0xEEu8; 2];
        fit_value(Tag(0x70), Some(&[1, 2]), &mut f);
        assert_eq!(f, [0, 0]);
        // zero-length field.
        fit_value(Tag(0x9A), Some(&[1, 2, 3]), &mut []);
    }

    #[test]
    fn builds_cdol1_data_and_gpo_template() {
        let terminal: &[(Tag, &[u8])] = &[
            (Tag(0x9F02), &[0, 0, 0, 0, 0x10, 0x00]),
            (Tag(0x9F37), &[0xDE, 0xAD, 0xBE, 0xEF]),
            (Tag(0x9A), &[0x25, 0x11, 0x25]),
        ];
        let dol = hex::decode("9F02069F03069A039F3704").unwrap();
        let mut out = [0u8; 32];
        let n = build(&dol, &terminal, &mut out).unwrap();
        assert_eq!(
            hex::encode_upper(&out[..n]),
            "000000001000000000000000251125DEADBEEF"
        );
        assert_eq!(
            build(&dol, &terminal, &mut [0u8; 18]),
            Err(BuildError::BufferTooSmall)
        );

        let n = build_gpo_data(Some(&hex::decode("9F3704").unwrap()), &terminal, &mut out).unwrap();
        assert_eq!(hex::encode_upper(&out[..n]), "8304DEADBEEF");
        let n = build_gpo_data(None, &terminal, &mut out).unwrap();
        assert_eq!(&out[..n], &[0x83, 0x00]);
        assert_eq!(
            build_gpo_data(None, &terminal, &mut [0u8; 1]),
            Err(BuildError::BufferTooSmall)
        );
    }

    #[test]
    fn chained_and_tlv_sources() {
        let card = hex::decode("70095F2A0209789F3701AA").unwrap();
        let terminal: &[(Tag, &[u8])] = &[(Tag(0x9F37), &[1, 2, 3, 4])];
        let both = (terminal, TlvSource(&card));
        assert_eq!(both.get(Tag(0x9F37)), Some(&[1u8, 2, 3, 4][..]));
        assert_eq!(both.get(Tag(0x5F2A)), Some(&[0x09u8, 0x78][..]));
        assert_eq!(both.get(Tag(0x9F02)), None);
    }
}
