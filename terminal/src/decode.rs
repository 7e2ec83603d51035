//! `emv-terminal decode`: EMV BER-TLV data as an indented tree with tag names,
//! formats, decoded values and bit fields, or as JSON; a pasted APDU log command by
//! command (`crate::decode_log`).

use emv_kernel::apdu::StatusWord;
use emv_kernel::dictionary;
use emv_kernel::render;
use emv_kernel::tlv::{self, Tag, Tlv};
use serde::Serialize;
use std::error::Error;
use std::fmt::Write as _;
use std::io::Read;
use std::process::ExitCode;

/// Arguments of `decode`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The data as hex (spaces, colons, commas and `0x` prefixes allowed, several
    /// arguments are joined), or `-` to read it from standard input (hex text, an APDU
    /// log, or raw binary bytes). A trailing status word (`... 9000`) is recognised and
    /// named. Text with command/response markers (`C-APDU:`/`R-APDU:`, `>`/`<`,
    /// `>>`/`<<`, `TX`/`RX`, a pcsc-spy log) is decoded as an APDU log.
    #[arg(required_unless_present = "file", value_name = "HEX")]
    pub hex: Vec<String>,
    /// Read the data from FILE (`-`: standard input): hex text or an APDU log as above,
    /// or else raw binary bytes.
    #[arg(
        short = 'f',
        long = "file",
        value_name = "FILE",
        conflicts_with = "hex"
    )]
    pub file: Option<std::path::PathBuf>,
    /// The command the data answers, to split a format 1 template (80): `gpo` into AIP
    /// and AFL, `genac` into CID, ATC, Application Cryptogram and Issuer Application Data.
    #[arg(long, value_enum, value_name = "COMMAND")]
    pub context: Option<Context>,
    /// Print JSON instead of the indented tree.
    #[arg(long)]
    pub json: bool,
    /// The payment scheme whose proprietary tag names apply (9F6E, 9F70, DF60, ...) when
    /// the input does not show it: an APDU log's SELECT, or an AID (84, 4F) in the data,
    /// take precedence. Without either, every scheme's meaning is shown.
    #[arg(long, value_enum, value_name = "SCHEME")]
    pub scheme: Option<crate::decode_names::Scheme>,
    /// Decode the input as the bare value of one field, not as BER-TLV:
    /// `decode --field tvr 8000048000` (emv-decode's single-field modes).
    #[arg(long, value_enum, value_name = "FIELD", conflicts_with = "context")]
    pub field: Option<Field>,
}

/// The fields `decode --field` reads as bare values.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// Terminal Verification Results (95), 5 bytes.
    Tvr,
    /// Transaction Status Information (9B), 2 bytes.
    Tsi,
    /// Application Interchange Profile (82), 2 bytes.
    Aip,
    /// Application Usage Control (9F07), 2 bytes.
    Auc,
    /// CVM List (8E).
    CvmList,
    /// CVM Results (9F34), 3 bytes.
    CvmResults,
    /// Cryptogram Information Data (9F27), 1 byte.
    Cid,
    /// Terminal Capabilities (9F33), 3 bytes.
    TerminalCapabilities,
    /// Additional Terminal Capabilities (9F40), 5 bytes.
    AdditionalCapabilities,
    /// Application File Locator (94).
    Afl,
    /// A Data Object List (as a PDOL, 9F38: tags and lengths).
    Dol,
    /// A status word, SW1 SW2.
    Sw,
    /// An Answer To Reset (ISO/IEC 7816-3).
    Atr,
}

impl Field {
    /// The tag whose value the field is, for the fields decoded as BER-TLV.
    fn tag(self) -> Option<u32> {
        Some(match self {
            Field::Tvr => 0x95,
            Field::Tsi => 0x9B,
            Field::Aip => 0x82,
            Field::Auc => 0x9F07,
            Field::CvmList => 0x8E,
            Field::CvmResults => 0x9F34,
            Field::Cid => 0x9F27,
            Field::TerminalCapabilities => 0x9F33,
            Field::AdditionalCapabilities => 0x9F40,
            Field::Afl => 0x94,
            Field::Dol => 0x9F38,
            Field::Sw | Field::Atr => return None,
        })
    }
}

/// `value` wrapped as the data object `tag` (BER-TLV, definite length), so the field is
/// decoded by the same code as inside a response.
fn wrap(tag: u32, value: &[u8]) -> Vec<u8> {
    let mut out: Vec<u8> = tag
        .to_be_bytes()
        .into_iter()
        .skip_while(|&b| b == 0)
        .collect();
    match value.len() {
        n @ 0..=0x7F => out.push(n as u8),
        n @ 0x80..=0xFF => out.extend([0x81, n as u8]),
        n => out.extend([0x82, (n >> 8) as u8, n as u8]),
    }
    out.extend_from_slice(value);
    out
}

/// The command a response answers (Book 3, 6.5.8.4 and 6.5.5.4: format 1 responses).
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Context {
    /// GET PROCESSING OPTIONS: 80 holds AIP (2 bytes) then the AFL.
    Gpo,
    /// GENERATE AC: 80 holds CID (1), ATC (2), Application Cryptogram (8), then IAD.
    Genac,
    /// INTERNAL AUTHENTICATE: 80 holds the Signed Dynamic Application Data (Book 3, 6.5.9.4).
    InternalAuthenticate,
}

/// Why the input could not be decoded.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// Standard input could not be read.
    #[error("cannot read standard input: {0}")]
    Stdin(#[from] std::io::Error),
    /// The `--file` could not be read.
    #[error("cannot read {path}: {error}")]
    File {
        /// The file.
        path: String,
        /// Why.
        error: std::io::Error,
    },
    /// No hex digits at all.
    #[error("no data: give hex bytes or - for standard input")]
    Empty,
    /// A character that is not a hex digit, space or colon.
    #[error(
        "not hex: {character:?} at character {position} (an APDU log needs its lines marked: \
         C-APDU:/R-APDU:, >/<, >>/<<, TX/RX)"
    )]
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
    /// An APDU log line that could not be read.
    #[error("APDU log line {line}: {message}")]
    Log {
        /// The 1-based line, 0 for the log as a whole.
        line: usize,
        /// What was wrong.
        message: String,
    },
}

/// Turns hex text into bytes; spaces, tabs, newlines, colons and commas separate
/// digits freely, and a `0x` at the start of a group is skipped.
pub fn parse_hex(text: &str) -> Result<Vec<u8>, DecodeError> {
    let mut digits = Vec::with_capacity(text.len());
    let characters: Vec<char> = text.chars().collect();
    let separator = |c: char| c.is_whitespace() || c == ':' || c == ',';
    let mut skip = false;
    for (position, &character) in characters.iter().enumerate() {
        if skip {
            skip = false;
            continue;
        }
        let group_start =
            position == 0 || characters.get(position - 1).is_some_and(|c| separator(*c));
        if character == '0'
            && group_start
            && characters
                .get(position + 1)
                .is_some_and(|c| *c == 'x' || *c == 'X')
        {
            skip = true;
            continue;
        }
        match character {
            c if c.is_ascii_hexdigit() => digits.push(c as u8),
            c if separator(c) => {}
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
    /// The status word after the data, when the input ends with one; else `null`.
    pub status_word: Option<StatusWordNode>,
    /// For an APDU log: each command and its response decoded (then `objects` is `[]`
    /// and `status_word` `null`); `[]` for other input.
    pub exchanges: Vec<crate::decode_log::ExchangeNode>,
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
    /// The country, currency or language codes the value holds, with their ISO names
    /// (5F28, 9F1A, 5F2A, 9F42, 5F2D, ...); `null` for other tags.
    pub iso_codes: Option<Vec<crate::decode_names::IsoCode>>,
    /// The objects inside a template; for a format 1 template (80) given `--context`,
    /// the data objects it holds without tags (AIP and AFL, or CID, ATC, AC and IAD).
    pub children: Vec<Node>,
}

/// A node with its tag's dictionary name and format, nothing decoded yet.
fn bare_node(tag: Tag, offset: usize, length: usize) -> Node {
    let element = dictionary::lookup(tag);
    Node {
        tag: tag.to_string(),
        name: element.map_or("Unknown", |e| e.name).to_string(),
        format: element.map(|e| e.format.code()),
        offset,
        length,
        hex: None,
        value: None,
        details: Vec::new(),
        iso_codes: None,
        children: Vec::new(),
    }
}

/// A primitive data object: its value rendered, its bit fields, a length the
/// dictionary does not allow.
pub(crate) fn primitive_node(tag: Tag, value: &[u8], offset: usize) -> Node {
    let mut node = bare_node(tag, offset, value.len());
    node.hex = Some(hex::encode_upper(value));
    node.value = Some(match (tag.0, value) {
        // ISO 3166 and ISO 4217 numeric codes (n3 in 2 bytes) keep their 3 digits: 056, 978.
        (0x5F28 | 0x5F2A | 0x9F1A | 0x9F3C | 0x9F42 | 0x9F57, [high, low]) => {
            crate::output::numeric_code([*high, *low])
        }
        _ => render::Value { tag, value }.to_string(),
    });
    node.iso_codes = crate::decode_names::iso_codes(tag, value);
    render::for_each_detail(tag, value, |line| {
        node.details.push(line.to_string());
        Ok(())
    })
    .ok();
    if let Some(e) = dictionary::lookup(tag).filter(|e| !e.length_ok(value.len())) {
        let expected = if e.min_len == e.max_len {
            format!("{}", e.min_len)
        } else {
            format!("{} to {}", e.min_len, e.max_len)
        };
        node.details.push(format!(
            "Unexpected length: {} bytes, the dictionary says {expected}",
            value.len()
        ));
    }
    node
}

fn node(tlv: &Tlv<'_>, context: Option<Context>) -> Result<Node, tlv::Error> {
    if tlv.is_constructed() {
        let mut node = bare_node(tlv.tag, tlv.offset, tlv.value.len());
        for child in tlv.children() {
            node.children.push(self::node(&child?, context)?);
        }
        return Ok(node);
    }
    let value_offset = tlv.offset + tlv.raw.len() - tlv.value.len();
    let mut node = primitive_node(tlv.tag, tlv.value, tlv.offset);
    if tlv.tag == Tag(0x80) {
        format_1(&mut node, tlv.value, value_offset, context);
    }
    Ok(node)
}

/// Book 3, 6.5.8.4 (GET PROCESSING OPTIONS) and 6.5.5.4 (GENERATE AC): the data
/// objects a Response Message Template Format 1 holds without their tags.
fn format_1(node: &mut Node, value: &[u8], offset: usize, context: Option<Context>) {
    let fields: &[(u32, usize)] = match context {
        None => {
            node.details.push(
                "Format 1: AIP and AFL after GET PROCESSING OPTIONS, CID, ATC, AC and IAD after \
                 GENERATE AC; --context gpo or --context genac splits it"
                    .to_owned(),
            );
            return;
        }
        Some(Context::Gpo) if value.len() >= 2 && (value.len() - 2).is_multiple_of(4) => {
            &[(0x82, 2), (0x94, usize::MAX)]
        }
        Some(Context::Genac) if (11..=11 + 32).contains(&value.len()) => {
            &[(0x9F27, 1), (0x9F36, 2), (0x9F26, 8), (0x9F10, usize::MAX)]
        }
        Some(Context::InternalAuthenticate) if !value.is_empty() => &[(0x9F4B, usize::MAX)],
        Some(context) => {
            node.details.push(format!(
                "{} bytes do not split as a format 1 response to {}",
                value.len(),
                match context {
                    Context::Gpo => "GET PROCESSING OPTIONS (AIP, then 4 bytes per AFL entry)",
                    Context::Genac =>
                        "GENERATE AC (CID, ATC, AC: 11 bytes, then at most 32 of IAD)",
                    Context::InternalAuthenticate =>
                        "INTERNAL AUTHENTICATE (the Signed Dynamic Application Data)",
                }
            ));
            return;
        }
    };
    let mut at: usize = 0;
    for &(tag, length) in fields {
        let end = at.saturating_add(length).min(value.len());
        let Some(part) = value.get(at..end).filter(|p| !p.is_empty()) else {
            break;
        };
        node.children
            .push(primitive_node(Tag(tag), part, offset + at));
        at = end;
    }
}

/// Decodes a whole buffer into trees of nodes, or the first error; `context` is the
/// command the data answers, for format 1 templates.
pub fn decode_in(data: &[u8], context: Option<Context>) -> Result<Vec<Node>, DecodeError> {
    tlv::iter(data)
        .map(|item| item.and_then(|tlv| node(&tlv, context)))
        .collect::<Result<_, _>>()
        .map_err(DecodeError::Tlv)
}

/// A status word the card appended to a pasted response (`... 9000`).
#[derive(Debug, Serialize)]
pub struct StatusWordNode {
    /// SW1 SW2 in hex.
    pub hex: String,
    /// Its meaning (ISO 7816-4, Book 1 and Book 3).
    pub meaning: &'static str,
}

/// Splits a trailing status word off `data`: the last two bytes are one (9000,
/// 61xx to 6Fxx) and the bytes before them are whole BER-TLV on their own.
fn split_status_word(data: &[u8], context: Option<Context>) -> (&[u8], Option<StatusWord>) {
    let Some(split) = data.len().checked_sub(2) else {
        return (data, None);
    };
    let (body, tail) = data.split_at(split);
    let sw = StatusWord::from_bytes(tail[0], tail[1]); // ok: tail has 2 bytes
    let looks_like_sw = sw.0 == 0x9000 || (0x61..=0x6F).contains(&sw.sw1());
    if looks_like_sw && (body.is_empty() || decode_in(body, context).is_ok()) {
        (body, Some(sw))
    } else {
        (data, None)
    }
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
            match (&n.iso_codes, n.length) {
                (_, 0) => out.push(':'),
                // Codes with their names: `056 (Belgium)`, `en fr (English, French)`.
                (Some(codes), _) => {
                    let codes_text: Vec<&str> = codes.iter().map(|c| c.code.as_str()).collect();
                    let names: Vec<String> = codes.iter().map(|c| c.label()).collect();
                    // Names with a comma in them (`Euro, EUR`) are set apart by `;`.
                    let separator = if names.iter().any(|n| n.contains(',')) {
                        "; "
                    } else {
                        ", "
                    };
                    let _ = write!(
                        out,
                        ": {} ({})",
                        codes_text.join(" "),
                        names.join(separator)
                    );
                }
                (None, _) => {
                    let _ = write!(out, ": {v}");
                }
            }
        }
        out.push('\n');
        for line in &n.details {
            let _ = writeln!(out, "{indent}    {line}");
        }
        write_tree(out, &n.children, depth + 1);
    }
}

/// What `decode` was given: bytes to decode as BER-TLV (or a field), or an APDU log.
enum Input {
    Bytes(Vec<u8>),
    Log(Vec<crate::decode_log::LoggedExchange>),
}

/// Text when the bytes are UTF-8 without control characters other than white space;
/// else `None` (binary data: BER-TLV lengths and tags are mostly control bytes).
fn as_text(bytes: &[u8]) -> Option<&str> {
    std::str::from_utf8(bytes)
        .ok()
        .filter(|text| !text.chars().any(|c| c.is_control() && !c.is_whitespace()))
}

/// Hex text, an APDU log, or (`binary_ok`) raw bytes.
fn classify(bytes: Vec<u8>, binary_ok: bool) -> Result<Input, DecodeError> {
    match as_text(&bytes) {
        Some(text) if crate::decode_log::is_log(text) => {
            Ok(Input::Log(crate::decode_log::parse_log(text)?))
        }
        Some(text) => parse_hex(text).map(Input::Bytes),
        None if binary_ok => Ok(Input::Bytes(bytes)),
        None => Err(DecodeError::Empty),
    }
}

/// The input: a file or standard input (hex text, a log, else binary) or the arguments.
fn read_input(args: &Args) -> Result<Input, DecodeError> {
    let stdin = || {
        let mut bytes = Vec::new();
        std::io::stdin().read_to_end(&mut bytes)?;
        Ok::<_, DecodeError>(bytes)
    };
    if let Some(path) = &args.file {
        let bytes = if path.as_os_str() == "-" {
            stdin()?
        } else {
            std::fs::read(path).map_err(|error| DecodeError::File {
                path: path.display().to_string(),
                error,
            })?
        };
        return classify(bytes, true);
    }
    if args.hex.len() == 1 && args.hex.first().is_some_and(|h| h == "-") {
        classify(stdin()?, true)
    } else {
        classify(args.hex.join("\n").into_bytes(), false)
    }
}

/// Runs `decode`.
pub fn run(args: Args) -> Result<ExitCode, Box<dyn Error>> {
    let data = match read_input(&args)? {
        Input::Bytes(data) => data,
        Input::Log(exchanges) => return run_log(&args, &exchanges),
    };
    let wrapped;
    let (body, status_word) = match args.field {
        None => split_status_word(&data, args.context),
        Some(Field::Sw) => match data[..] {
            [sw1, sw2] => (&[][..], Some(StatusWord::from_bytes(sw1, sw2))),
            _ => {
                return Err(crate::usage(format!(
                    "--field sw: expected 2 bytes, found {}",
                    data.len()
                )))
            }
        },
        Some(Field::Atr) => {
            if args.json {
                return Err(crate::usage("--field atr has no JSON form"));
            }
            let atr = emv_pcsc::atr::Atr::parse(&data).map_err(|e| format!("ATR: {e:?}"))?;
            outln!("ATR {}: {atr}", hex::encode_upper(&data))?;
            return Ok(ExitCode::SUCCESS);
        }
        Some(field) => {
            if data.len() > 0xFFFF {
                return Err(
                    format!("--field: {} bytes is longer than any field", data.len()).into(),
                );
            }
            wrapped = wrap(field.tag().unwrap_or_default(), &data);
            (&wrapped[..], None)
        }
    };
    let mut nodes = decode_in(body, args.context)?;
    let scheme = crate::decode_names::scheme_in(body).or(args.scheme);
    crate::decode_names::name_proprietary(&mut nodes, scheme);
    if args.json {
        let decoded = Decoded {
            schema_version: SCHEMA_VERSION,
            objects: nodes,
            status_word: status_word.map(|sw| StatusWordNode {
                hex: format!("{:04X}", sw.0),
                meaning: sw.meaning(),
            }),
            exchanges: Vec::new(),
        };
        outln!("{}", serde_json::to_string_pretty(&decoded)?)?;
    } else {
        let mut out = String::new();
        write_tree(&mut out, &nodes, 0);
        if let Some(sw) = status_word {
            let _ = writeln!(out, "SW {sw}");
        }
        out!("{out}")?;
    }
    Ok(ExitCode::SUCCESS)
}

/// `decode` on an APDU log: every exchange, each response in its command's context.
fn run_log(
    args: &Args,
    exchanges: &[crate::decode_log::LoggedExchange],
) -> Result<ExitCode, Box<dyn Error>> {
    if args.field.is_some() || args.context.is_some() {
        return Err(crate::usage(
            "--field and --context apply to bare data; in an APDU log each response is \
             decoded in the context of its command",
        ));
    }
    let decoded = crate::decode_log::decode_log(exchanges, args.scheme);
    if args.json {
        let decoded = Decoded {
            schema_version: SCHEMA_VERSION,
            objects: Vec::new(),
            status_word: None,
            exchanges: decoded,
        };
        outln!("{}", serde_json::to_string_pretty(&decoded)?)?;
    } else {
        let mut out = String::new();
        crate::decode_log::write_log(&mut out, &decoded);
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
        assert!(decode_in(&data, None).is_err());
        let data = parse_hex("6F 0E 84 07 A0000000031010 A5 03 87 01 01").unwrap();
        let nodes = decode_in(&data, None).unwrap();
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
