//! `emv-terminal decode`: EMV BER-TLV data as an indented tree with tag names,
//! formats, decoded values and bit fields, or as JSON.

use emv_kernel::dictionary;
use emv_kernel::render;
use emv_kernel::tlv::{self, Tlv};
use serde::Serialize;
use std::error::Error;
use std::fmt::Write as _;
use std::io::Read;
use std::process::ExitCode;

/// Arguments of `decode`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The data as hex (spaces and colons allowed, several arguments are
    /// joined), or `-` to read it from standard input.
    #[arg(required = true, value_name = "HEX")]
    pub hex: Vec<String>,
    /// Print JSON instead of the indented tree.
    #[arg(long)]
    pub json: bool,
}

/// Why the input could not be decoded.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// Standard input could not be read.
    #[error("cannot read standard input: {0}")]
    Stdin(#[from] std::io::Error),
    /// No hex digits at all.
    #[error("no data: give hex bytes or - for standard input")]
    Empty,
    /// A character that is not a hex digit, space or colon.
    #[error("not hex: {character:?} at character {position}")]
    NotHex {
        /// The offending character.
        character: char,
        /// Its position among the input characters (0-based).
        position: usize,
    },
    /// An odd number of hex digits.
    #[error("odd number of hex digits ({0}): the input is not whole bytes")]
    OddDigits(usize),
    /// The bytes are not well-formed BER-TLV.
    #[error("malformed TLV: {0}")]
    Tlv(tlv::Error),
}

/// Turns hex text into bytes; spaces, tabs, newlines and colons separate
/// digits freely.
pub fn parse_hex(text: &str) -> Result<Vec<u8>, DecodeError> {
    let mut digits = Vec::with_capacity(text.len());
    for (position, character) in text.chars().enumerate() {
        match character {
            c if c.is_ascii_hexdigit() => digits.push(c as u8),
            c if c.is_whitespace() || c == ':' => {}
            c => {
                return Err(DecodeError::NotHex {
                    character: c,
                    position,
                })
            }
        }
    }
    if digits.is_empty() {
        return Err(DecodeError::Empty);
    }
    if digits.len() % 2 != 0 {
        return Err(DecodeError::OddDigits(digits.len()));
    }
    hex::decode(&digits).map_err(|_| DecodeError::OddDigits(digits.len()))
}

/// The version of the `decode --json` contract (`docs/schema/decode.schema.json`).
pub const SCHEMA_VERSION: u32 = 1;

/// What `decode --json` prints: one object, every field always present.
#[derive(Debug, Serialize)]
pub struct Decoded {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The data objects, in input order.
    pub objects: Vec<Node>,
}

/// One decoded data object; absent values are `null` (format of an unknown tag, hex
/// and value of a template), empty lists `[]`.
#[derive(Debug, Serialize)]
pub struct Node {
    /// The tag in hex.
    pub tag: String,
    /// The dictionary name, or `Unknown`.
    pub name: String,
    /// The dictionary format (`b`, `n`, `cn`, `an`, `ans`, `a`), if known.
    pub format: Option<&'static str>,
    /// Offset of the tag in the input.
    pub offset: usize,
    /// Length of the value in bytes.
    pub length: usize,
    /// The value bytes in hex (primitive objects).
    pub hex: Option<String>,
    /// The value rendered for people (primitive objects).
    pub value: Option<String>,
    /// Decoded details: bits set, CVM rules, AFL entries, DOL entries.
    pub details: Vec<String>,
    /// The objects inside a template.
    pub children: Vec<Node>,
}

fn node(tlv: &Tlv<'_>) -> Result<Node, tlv::Error> {
    let element = dictionary::lookup(tlv.tag);
    let mut node = Node {
        tag: tlv.tag.to_string(),
        name: element.map_or("Unknown", |e| e.name).to_string(),
        format: element.map(|e| e.format.code()),
        offset: tlv.offset,
        length: tlv.value.len(),
        hex: None,
        value: None,
        details: Vec::new(),
        children: Vec::new(),
    };
    if tlv.is_constructed() {
        for child in tlv.children() {
            node.children.push(self::node(&child?)?);
        }
        return Ok(node);
    }
    node.hex = Some(hex::encode_upper(tlv.value));
    node.value = Some(
        render::Value {
            tag: tlv.tag,
            value: tlv.value,
        }
        .to_string(),
    );
    render::for_each_detail(tlv.tag, tlv.value, |line| {
        node.details.push(line.to_string());
        Ok(())
    })
    .ok();
    if let Some(e) = element.filter(|e| !e.length_ok(tlv.value.len())) {
        let expected = if e.min_len == e.max_len {
            format!("{}", e.min_len)
        } else {
            format!("{} to {}", e.min_len, e.max_len)
        };
        node.details.push(format!(
            "Unexpected length: {} bytes, the dictionary says {expected}",
            tlv.value.len()
        ));
    }
    Ok(node)
}

/// Decodes a whole buffer into trees of nodes, or the first error.
pub fn decode(data: &[u8]) -> Result<Vec<Node>, DecodeError> {
    tlv::iter(data)
        .map(|item| item.and_then(|tlv| node(&tlv)))
        .collect::<Result<_, _>>()
        .map_err(DecodeError::Tlv)
}

/// Writes nodes as the indented text tree: templates as `TAG Name`,
/// primitives as `TAG Name [format length]: value`, details indented below.
pub fn write_tree(out: &mut String, nodes: &[Node], depth: usize) {
    for n in nodes {
        let indent = "  ".repeat(depth);
        let _ = write!(out, "{indent}{} {}", n.tag, n.name);
        if let Some(v) = &n.value {
            // Primitive: format (when known) and length, then the value.
            match n.format {
                Some(format) => {
                    let _ = write!(out, " [{format} {}]", n.length);
                }
                None => {
                    let _ = write!(out, " [{}]", n.length);
                }
            }
            if n.length == 0 {
                out.push(':');
            } else {
                let _ = write!(out, ": {v}");
            }
        }
        out.push('\n');
        for line in &n.details {
            let _ = writeln!(out, "{indent}    {line}");
        }
        write_tree(out, &n.children, depth + 1);
    }
}

fn read_input(args: &Args) -> Result<String, DecodeError> {
    if args.hex.len() == 1 && args.hex.first().is_some_and(|h| h == "-") {
        let mut text = String::new();
        std::io::stdin().read_to_string(&mut text)?;
        Ok(text)
    } else {
        Ok(args.hex.join(" "))
    }
}

/// Runs `decode`.
pub fn run(args: Args) -> Result<ExitCode, Box<dyn Error>> {
    let text = read_input(&args)?;
    let data = parse_hex(&text)?;
    let nodes = decode(&data)?;
    if args.json {
        let decoded = Decoded {
            schema_version: SCHEMA_VERSION,
            objects: nodes,
        };
        outln!("{}", serde_json::to_string_pretty(&decoded)?)?;
    } else {
        let mut out = String::new();
        write_tree(&mut out, &nodes, 0);
        out!("{out}")?;
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_input_forms() {
        assert_eq!(parse_hex("6f 00").unwrap(), [0x6F, 0x00]);
        assert_eq!(parse_hex("6F:00\n").unwrap(), [0x6F, 0x00]);
        assert!(matches!(parse_hex("6F0"), Err(DecodeError::OddDigits(3))));
        assert!(matches!(
            parse_hex("6G"),
            Err(DecodeError::NotHex {
                character: 'G',
                position: 1
            })
        ));
        assert!(matches!(parse_hex("  "), Err(DecodeError::Empty)));
    }

    #[test]
    fn tree_of_a_select_response() {
        let data = parse_hex("6F 0D 84 07 A0000000031010 A5 02 87 01").unwrap();
        assert!(decode(&data).is_err());
        let data = parse_hex("6F 0E 84 07 A0000000031010 A5 03 87 01 01").unwrap();
        let nodes = decode(&data).unwrap();
        let mut out = String::new();
        write_tree(&mut out, &nodes, 0);
        assert_eq!(
            out,
            "6F File Control Information (FCI) Template\n\
             \x20 84 Dedicated File (DF) Name [b 7]: A0 00 00 00 03 10 10\n\
             \x20 A5 File Control Information (FCI) Proprietary Template\n\
             \x20   87 Application Priority Indicator [b 1]: 01\n"
        );
    }
}
