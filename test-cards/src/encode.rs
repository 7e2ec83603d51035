//! Small helpers the card uses to build BER-TLV objects and read its own DOLs.
//!
//! Encoding goes through the kernel's encoder (`emv_kernel::tlv`), so the
//! card and the kernel agree on tags and lengths; the card side works on
//! `Vec`s because it is a std crate.

use emv_kernel::tlv::{encode_length, encode_tag, Tag};

/// Encodes one data object: tag, minimal length, value.
pub fn tlv(tag: u32, value: &[u8]) -> Vec<u8> {
    let mut header = [0u8; 8];
    let tag_len = encode_tag(Tag(tag), &mut header).unwrap_or(0);
    let len_len = match header.get_mut(tag_len..) {
        Some(rest) => encode_length(value.len(), rest).unwrap_or(0),
        None => 0,
    };
    let mut out = Vec::with_capacity(tag_len + len_len + value.len());
    out.extend_from_slice(&header[..tag_len + len_len]);
    out.extend_from_slice(value);
    out
}

/// Encodes a constructed object from already encoded children.
pub fn template(tag: u32, children: &[Vec<u8>]) -> Vec<u8> {
    tlv(tag, &children.concat())
}

/// One entry of a Data Object List: a tag and the length the card expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DolEntry {
    /// The requested tag.
    pub tag: u32,
    /// Its length in the DOL-related data.
    pub len: usize,
}

/// Reads a DOL (tag, length pairs, Book 3, 5.4). The card only reads its own
/// DOLs, so malformed input just ends the list.
pub fn parse_dol(dol: &[u8]) -> Vec<DolEntry> {
    let mut entries = Vec::new();
    let mut i = 0;
    while i < dol.len() {
        let first = dol[i];
        let mut tag = u32::from(first);
        i += 1;
        if first & 0x1F == 0x1F {
            while let Some(&b) = dol.get(i) {
                tag = (tag << 8) | u32::from(b);
                i += 1;
                if b & 0x80 == 0 {
                    break;
                }
            }
        }
        let Some(&len) = dol.get(i) else { break };
        i += 1;
        entries.push(DolEntry {
            tag,
            len: usize::from(len),
        });
    }
    entries
}

/// Total length of the data a DOL asks for.
pub fn dol_data_len(dol: &[u8]) -> usize {
    parse_dol(dol).iter().map(|e| e.len).sum()
}

/// The slice of DOL-related `data` that holds `tag`, if the DOL lists it.
pub fn dol_value<'a>(dol: &[u8], data: &'a [u8], tag: u32) -> Option<&'a [u8]> {
    let mut offset = 0;
    for entry in parse_dol(dol) {
        if entry.tag == tag {
            return data.get(offset..offset + entry.len);
        }
        offset += entry.len;
    }
    None
}

/// Packs a string of decimal digits into BCD, padding an odd count with `F`
/// (compressed numeric, `cn`), to exactly `len` bytes padded with `FF`.
pub fn cn(digits: &str, len: usize) -> Vec<u8> {
    let mut nibbles: Vec<u8> = digits
        .bytes()
        .map(|d| d.wrapping_sub(b'0') & 0x0F)
        .collect();
    nibbles.resize(len * 2, 0x0F);
    nibbles.chunks(2).map(|p| (p[0] << 4) | p[1]).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tlv_uses_long_lengths_when_needed() {
        assert_eq!(tlv(0x5A, &[1, 2]), vec![0x5A, 2, 1, 2]);
        assert_eq!(&tlv(0x9F46, &[0; 200])[..4], &[0x9F, 0x46, 0x81, 200]);
        assert_eq!(&tlv(0x70, &[0; 300])[..4], &[0x70, 0x82, 0x01, 0x2C]);
    }

    #[test]
    fn dol_offsets() {
        let dol = hex::decode("9F02069F03069F1A0295055F2A029A039C019F3704").unwrap();
        assert_eq!(dol_data_len(&dol), 29);
        let data: Vec<u8> = (0..29).collect();
        assert_eq!(dol_value(&dol, &data, 0x9F37), Some(&data[25..29]));
        assert_eq!(dol_value(&dol, &data, 0x95), Some(&data[14..19]));
        assert_eq!(dol_value(&dol, &data, 0x9F4C), None);
    }

    #[test]
    fn cn_pads_with_f() {
        assert_eq!(cn("12345", 4), vec![0x12, 0x34, 0x5F, 0xFF]);
    }
}
