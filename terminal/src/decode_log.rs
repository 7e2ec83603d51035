//! `emv-terminal decode` on an APDU log: the lines a user pastes from another tool
//! (`C-APDU: 00 A4 ...` / `R-APDU: ...`, `>`/`<`, `>>`/`<<`, `TX`/`RX`, with timestamps or
//! log levels in front), or a pcsc-spy log (read by `emv_trace::spy`). Each command is
//! named with what its parameters mean, and each response is decoded in the context of
//! the command it answers: format 1 templates split, DOL data split by the DOL the card
//! gave earlier in the log, the status word named.

use emv_kernel::apdu::StatusWord;
use emv_kernel::dictionary;
use emv_kernel::dol;
use emv_kernel::tlv::{self, Tag};
use serde::Serialize;
use std::fmt::Write as _;

use crate::decode::{self, Context, DecodeError, Node, StatusWordNode};
use crate::decode_names::{self, Scheme};

/// Which way an APDU went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Direction {
    Command,
    Response,
}

/// One APDU as the log gave it: its bytes and the (1-based) line it started on, or
/// `None` when the log format has no line of its own per APDU (pcsc-spy).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedApdu {
    /// The log line.
    pub line: Option<usize>,
    /// The bytes, or the error text of a failed PC/SC call (responses only).
    pub bytes: Result<Vec<u8>, String>,
}

/// A command and the response that followed it; either may be missing from a log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedExchange {
    /// The command APDU.
    pub command: Option<LoggedApdu>,
    /// The response APDU (data and SW1 SW2).
    pub response: Option<LoggedApdu>,
}

/// The marker a log puts in front of a command or a response, one token (a trailing
/// `:` removed): `C-APDU`, `>`, `>>`, `TX` ... and `R-APDU`, `<`, `<<`, `RX` ...
fn marker(token: &str) -> Option<Direction> {
    let word = token.trim_end_matches(':').to_ascii_uppercase();
    let word = word.as_str();
    let run = |c: char| !word.is_empty() && word.len() <= 4 && word.chars().all(|w| w == c);
    if run('>') {
        return Some(Direction::Command);
    }
    if run('<') {
        return Some(Direction::Response);
    }
    match word {
        "C-APDU" | "CAPDU" | "C_APDU" | "APDU>" | "A>>" | "->" | "-->" | "TX" | "SEND" | "SENT"
        | "CMD" | "COMMAND" => Some(Direction::Command),
        "R-APDU" | "RAPDU" | "R_APDU" | "<APDU" | "A<<" | "<-" | "<--" | "RX" | "RECV"
        | "RECEIVED" | "RSP" | "RESP" | "RESPONSE" => Some(Direction::Response),
        _ => None,
    }
}

/// Whether a token is hex bytes (`00A4`, `0x6F`, `6F:1A`); lone separators are not.
fn is_hex_token(token: &str) -> bool {
    let body = token
        .strip_prefix("0x")
        .or_else(|| token.strip_prefix("0X"))
        .unwrap_or(token);
    body.chars().any(|c| c.is_ascii_hexdigit())
        && body
            .chars()
            .all(|c| c.is_ascii_hexdigit() || c == ':' || c == ',')
}

/// The tokens of a line with a marker glued to what follows split off (`>00A4`,
/// `C-APDU:00A4`).
fn tokens(line: &str) -> Vec<&str> {
    let mut out = Vec::new();
    for token in line.split_whitespace() {
        let arrows = token
            .find(|c| c != '>' && c != '<')
            .filter(|&at| at > 0 && at <= 4);
        if let Some(at) = arrows {
            let (head, tail) = token.split_at(at);
            if marker(head).is_some() && is_hex_token(tail) {
                out.extend([head, tail]);
                continue;
            }
        }
        match token.split_once(':') {
            Some((head, tail)) if !tail.is_empty() && marker(head).is_some() => {
                out.extend([head, tail]);
            }
            _ => out.push(token),
        }
    }
    out
}

/// The longest run of hex tokens in `tokens` (ties: the first), as text.
fn longest_hex_run(tokens: &[&str]) -> String {
    let mut best: (usize, usize) = (0, 0);
    let mut start = 0;
    for (index, token) in tokens.iter().enumerate() {
        if !is_hex_token(token) {
            start = index + 1;
            continue;
        }
        let digits = |range: std::ops::Range<usize>| -> usize {
            tokens
                .get(range)
                .unwrap_or(&[])
                .iter()
                .map(|t| t.chars().filter(char::is_ascii_hexdigit).count())
                .sum()
        };
        if digits(start..index + 1) > digits(best.0..best.1) {
            best = (start, index + 1);
        }
    }
    tokens.get(best.0..best.1).unwrap_or(&[]).join(" ")
}

/// What one log line holds.
enum LineKind {
    /// A marker and the hex after it (empty when the bytes follow on the next lines).
    Marked(Direction, String),
    /// Hex only: a continuation of the APDU above.
    Hex(String),
    /// Anything else: prose, timestamps alone, a tool's own decoding.
    Other,
}

fn classify(line: &str) -> LineKind {
    let tokens = tokens(line);
    if let Some(at) = tokens.iter().position(|t| marker(t).is_some()) {
        let direction = tokens.get(at).and_then(|t| marker(t));
        let after = tokens.get(at + 1..).unwrap_or(&[]);
        if let Some(direction) = direction {
            let run = longest_hex_run(after);
            // At least CLA INS P1 P2, or SW1 SW2: shorter runs are words ("a < b").
            let least = match direction {
                Direction::Command => 8,
                Direction::Response => 4,
            };
            let digits = run.chars().filter(char::is_ascii_hexdigit).count();
            if digits >= least || after.is_empty() {
                return LineKind::Marked(direction, run);
            }
        }
        return LineKind::Other;
    }
    if !tokens.is_empty() && tokens.iter().all(|t| is_hex_token(t)) {
        return LineKind::Hex(tokens.join(" "));
    }
    LineKind::Other
}

/// Whether `text` is an APDU log rather than bare hex: a pcsc-spy log, or at least one
/// line with a command or response marker and hex bytes after it.
pub fn is_log(text: &str) -> bool {
    text.contains("SCardTransmit")
        || text
            .lines()
            .any(|line| matches!(classify(line), LineKind::Marked(_, run) if !run.is_empty()))
}

/// Reads the exchanges of a log (see the module documentation).
pub fn parse_log(text: &str) -> Result<Vec<LoggedExchange>, DecodeError> {
    if text.contains("SCardTransmit") {
        let exchanges = emv_trace::spy::parse_log(text).map_err(|e| DecodeError::Log {
            line: e.line,
            message: e.message,
        })?;
        return Ok(exchanges
            .into_iter()
            .map(|e| LoggedExchange {
                command: Some(LoggedApdu {
                    line: None,
                    bytes: Ok(e.command),
                }),
                response: Some(LoggedApdu {
                    line: None,
                    bytes: e.response,
                }),
            })
            .collect());
    }
    // The APDUs in order: direction, first line, hex text (continuations appended).
    let mut apdus: Vec<(Direction, usize, String)> = Vec::new();
    let mut open = false;
    for (index, line) in text.lines().enumerate() {
        match classify(line) {
            LineKind::Marked(direction, run) => {
                apdus.push((direction, index + 1, run));
                open = true;
            }
            LineKind::Hex(run) if open => {
                if let Some((_, _, text)) = apdus.last_mut() {
                    text.push(' ');
                    text.push_str(&run);
                }
            }
            _ => open = false,
        }
    }
    let mut exchanges: Vec<LoggedExchange> = Vec::new();
    for (direction, line, hex_text) in apdus {
        let bytes = decode::parse_hex(&hex_text).map_err(|e| DecodeError::Log {
            line,
            message: e.to_string(),
        })?;
        let apdu = LoggedApdu {
            line: Some(line),
            bytes: Ok(bytes),
        };
        match direction {
            Direction::Command => exchanges.push(LoggedExchange {
                command: Some(apdu),
                response: None,
            }),
            Direction::Response => match exchanges.last_mut() {
                Some(last) if last.response.is_none() && last.command.is_some() => {
                    last.response = Some(apdu)
                }
                _ => exchanges.push(LoggedExchange {
                    command: None,
                    response: Some(apdu),
                }),
            },
        }
    }
    if exchanges.is_empty() {
        return Err(DecodeError::Log {
            line: 0,
            message: "no command or response lines (C-APDU/R-APDU, >/<, >>/<<, TX/RX)".into(),
        });
    }
    Ok(exchanges)
}

/// A command APDU taken apart (ISO/IEC 7816-4, 5.1: cases 1 to 4, short lengths).
struct Parts<'a> {
    cla: u8,
    ins: u8,
    p1: u8,
    p2: u8,
    data: &'a [u8],
    le: Option<u8>,
    /// What does not fit the cases, if anything.
    malformed: Option<String>,
}

fn parts(command: &[u8]) -> Option<Parts<'_>> {
    let [cla, ins, p1, p2, rest @ ..] = command else {
        return None;
    };
    let mut parts = Parts {
        cla: *cla,
        ins: *ins,
        p1: *p1,
        p2: *p2,
        data: &[],
        le: None,
        malformed: None,
    };
    match rest {
        [] => {}
        [le] => parts.le = Some(*le),
        [lc, body @ ..] => {
            let lc = usize::from(*lc);
            match body.len().checked_sub(lc) {
                Some(0) => parts.data = body,
                Some(1) => {
                    parts.data = body.get(..lc).unwrap_or(&[]);
                    parts.le = body.last().copied();
                }
                _ => {
                    parts.data = body;
                    parts.malformed = Some(format!(
                        "Lc {lc} does not match the {} bytes after it",
                        body.len()
                    ));
                }
            }
        }
    }
    Some(parts)
}

/// What the log has told so far: the DOLs the card gave and the application selected.
#[derive(Default)]
struct LogState {
    pdol: Option<Vec<u8>>,
    cdol1: Option<Vec<u8>>,
    cdol2: Option<Vec<u8>>,
    ddol: Option<Vec<u8>>,
    generate_ac_count: usize,
    /// The AID (DF name) of the application selected last.
    aid: Option<Vec<u8>>,
    /// The command a `61xx` answered, for the GET RESPONSE that follows.
    awaiting_get_response: Option<Vec<u8>>,
}

/// One command as `decode --json` prints it.
#[derive(Debug, Serialize)]
pub struct CommandNode {
    /// The line of the log it was on, or `null` (pcsc-spy logs).
    pub line: Option<usize>,
    /// The command in hex; for VERIFY only CLA INS P1 P2 Lc (the PIN block is withheld).
    pub hex: String,
    /// The command's name (`SELECT`, `GENERATE AC`, ...), or `Unknown command`.
    pub name: String,
    /// What the parameters and lengths mean.
    pub details: Vec<String>,
    /// The command data decoded: DOL data split by the card's DOL, templates as trees.
    pub data: Vec<Node>,
}

/// One response as `decode --json` prints it.
#[derive(Debug, Serialize)]
pub struct ResponseNode {
    /// The line of the log it was on, or `null`.
    pub line: Option<usize>,
    /// The response (data and SW1 SW2) in hex; `null` when the PC/SC call failed.
    pub hex: Option<String>,
    /// The response data decoded in the context of its command.
    pub objects: Vec<Node>,
    /// Notes: data that is not BER-TLV, a failed PC/SC call, the context used.
    pub details: Vec<String>,
    /// SW1 SW2 and their meaning; `null` when the response has fewer than 2 bytes.
    pub status_word: Option<StatusWordNode>,
}

/// One exchange of a decoded log.
#[derive(Debug, Serialize)]
pub struct ExchangeNode {
    /// The command, or `null` when the log has a response without one.
    pub command: Option<CommandNode>,
    /// The response, or `null` when the log ends (or goes on) without one.
    pub response: Option<ResponseNode>,
}

/// Decodes a whole log. `scheme` names proprietary tags when the log does not show
/// which application was selected (`--scheme`).
pub fn decode_log(exchanges: &[LoggedExchange], scheme: Option<Scheme>) -> Vec<ExchangeNode> {
    let mut state = LogState::default();
    let mut out = Vec::with_capacity(exchanges.len());
    for exchange in exchanges {
        let command_bytes = exchange
            .command
            .as_ref()
            .and_then(|c| c.bytes.as_ref().ok());
        let command = exchange
            .command
            .as_ref()
            .map(|apdu| command_node(apdu, &mut state, scheme));
        let response = exchange
            .response
            .as_ref()
            .map(|apdu| response_node(apdu, command_bytes.map(Vec::as_slice), &mut state, scheme));
        out.push(ExchangeNode { command, response });
    }
    out
}

/// The scheme whose proprietary tag names apply: the one of the selected AID's RID,
/// else the one given.
fn scheme_now(state: &LogState, given: Option<Scheme>) -> Option<Scheme> {
    state.aid.as_deref().and_then(Scheme::from_aid).or(given)
}

fn nodes_named(mut nodes: Vec<Node>, scheme: Option<Scheme>) -> Vec<Node> {
    decode_names::name_proprietary(&mut nodes, scheme);
    nodes
}

/// Splits DOL data by its DOL (Book 3, 5.4) into one node per entry; notes a mismatch.
fn split_dol_data(
    dol_bytes: &[u8],
    data: &[u8],
    offset: usize,
    details: &mut Vec<String>,
) -> Vec<Node> {
    let mut nodes = Vec::new();
    let mut at = 0;
    for entry in dol::entries(dol_bytes) {
        let Ok(entry) = entry else {
            details.push("the DOL is malformed; the rest is not split".to_owned());
            break;
        };
        let Some(value) = data.get(at..at + entry.length) else {
            details.push(format!(
                "the data ends before {} ({} bytes)",
                entry.tag, entry.length
            ));
            return nodes;
        };
        nodes.push(decode::primitive_node(entry.tag, value, offset + at));
        at += entry.length;
    }
    if at < data.len() {
        details.push(format!(
            "{} bytes after the last DOL entry",
            data.len() - at
        ));
    }
    nodes
}

fn command_node(apdu: &LoggedApdu, state: &mut LogState, scheme: Option<Scheme>) -> CommandNode {
    let bytes = apdu.bytes.as_deref().unwrap_or(&[]);
    let mut node = CommandNode {
        line: apdu.line,
        hex: hex::encode_upper(bytes),
        name: "Unknown command".to_owned(),
        details: Vec::new(),
        data: Vec::new(),
    };
    let Some(p) = parts(bytes) else {
        node.details
            .push(format!("{} bytes: shorter than CLA INS P1 P2", bytes.len()));
        return node;
    };
    let data_offset = 5;
    let mut details = Vec::new();
    // Notes on the command data, printed after the parameters, just above the data.
    let mut notes = Vec::new();
    let name: String = match (p.cla, p.ins) {
        (_, 0xA4) => {
            // Book 1, 11.3.2 (SELECT): P1 04 selects by name; P2 00 first or only
            // occurrence, 02 next occurrence.
            *state = LogState::default();
            details.push(match p.p1 {
                0x04 => "by DF name".to_owned(),
                other => format!("P1 {other:02X}: not a selection by name (ISO/IEC 7816-4)"),
            });
            details.push(match p.p2 {
                0x00 => "first or only occurrence".to_owned(),
                0x02 => "next occurrence".to_owned(),
                other => format!("P2 {other:02X}"),
            });
            if !p.data.is_empty() {
                details.push(describe_name(p.data));
                state.aid = Some(p.data.to_vec());
            }
            "SELECT".into()
        }
        (_, 0xB2) => {
            // Book 3, 6.5.11: P1 the record number, P2 the SFI in b8-b4 and 100 in b3-b1.
            if p.p2 & 0x07 == 0x04 {
                details.push(format!("record {}, SFI {}", p.p1, p.p2 >> 3));
            } else {
                details.push(format!(
                    "P1 {:02X} P2 {:02X}: P2 b3-b1 are not 100 (P1 is not a record number)",
                    p.p1, p.p2
                ));
            }
            "READ RECORD".into()
        }
        (0x80, 0xA8) => {
            // Book 3, 6.5.8: the data is template 83 around the PDOL data.
            match tlv::find(p.data, Tag(0x83)) {
                Some(pdol_data) => {
                    let mut template = decode::primitive_node(Tag(0x83), pdol_data, data_offset);
                    match &state.pdol {
                        Some(pdol) => {
                            notes.push("83 split by the PDOL (9F38) of the SELECT response".into());
                            template.children =
                                split_dol_data(pdol, pdol_data, data_offset + 2, &mut notes);
                        }
                        None if pdol_data.is_empty() => {
                            notes.push("no PDOL: 83 00".into());
                        }
                        None => {
                            notes.push("no PDOL (9F38) earlier in the log to split 83 by".into())
                        }
                    }
                    node.data.push(template);
                }
                None if !p.data.is_empty() => {
                    notes.push("the data is not template 83 (Book 3, 6.5.8.3)".into())
                }
                None => {}
            }
            "GET PROCESSING OPTIONS".into()
        }
        (0x80, 0xAE) => {
            details.push(generate_ac_p1(p.p1));
            state.generate_ac_count += 1;
            let (label, dol) = if state.generate_ac_count == 1 {
                ("CDOL1", state.cdol1.clone())
            } else {
                ("CDOL2", state.cdol2.clone())
            };
            match dol {
                Some(dol) => {
                    notes.push(format!("{} bytes of {label} data:", p.data.len()));
                    node.data = split_dol_data(&dol, p.data, data_offset, &mut notes);
                }
                None => notes.push(format!(
                    "{} bytes of {label} data, not split: no {label} ({}) earlier in the log",
                    p.data.len(),
                    if label == "CDOL1" { "8C" } else { "8D" }
                )),
            }
            "GENERATE AC".into()
        }
        (_, 0x88) => {
            // Book 3, 6.5.9: the data is the DDOL data.
            match &state.ddol {
                Some(ddol) => {
                    notes.push("DDOL data, split by the card's DDOL (9F49):".into());
                    node.data = split_dol_data(ddol, p.data, data_offset, &mut notes);
                }
                None => notes.push(format!(
                    "{} bytes of DDOL data (no DDOL 9F49 earlier in the log: the terminal's default DDOL)",
                    p.data.len()
                )),
            }
            "INTERNAL AUTHENTICATE".into()
        }
        (_, 0x82) => {
            // Book 3, 6.5.4: the data is the Issuer Authentication Data (91).
            if !p.data.is_empty() {
                node.data
                    .push(decode::primitive_node(Tag(0x91), p.data, data_offset));
            }
            "EXTERNAL AUTHENTICATE".into()
        }
        (_, 0x84) if p.cla & 0x0C == 0 => {
            details.push("asks for an 8-byte unpredictable number (Book 3, 6.5.6)".into());
            "GET CHALLENGE".into()
        }
        (_, 0x20) => {
            // Book 3, 6.5.12: P2 80 plaintext PIN, 88 enciphered PIN.
            details.push(match p.p2 {
                0x80 => "plaintext PIN".to_owned(),
                0x88 => "enciphered PIN".to_owned(),
                other => format!("P2 {other:02X}"),
            });
            details.push(format!("{} bytes of PIN data withheld", p.data.len()));
            node.hex = hex::encode_upper(bytes.get(..5).unwrap_or(bytes));
            "VERIFY".into()
        }
        (_, 0xCA) => {
            // Book 3, 6.5.7: P1 P2 are the tag asked for.
            let tag = Tag(u32::from(u16::from_be_bytes([p.p1, p.p2])));
            let tag = if p.p1 == 0 { Tag(u32::from(p.p2)) } else { tag };
            details.push(format!(
                "{tag} {}",
                tag_name(tag, scheme_now(state, scheme))
            ));
            "GET DATA".into()
        }
        (_, 0xC0) => "GET RESPONSE".into(),
        (_, 0x1E) => "APPLICATION BLOCK".into(),
        (_, 0x18) => "APPLICATION UNBLOCK".into(),
        (_, 0x16) => "CARD BLOCK".into(),
        (_, 0x24) => {
            // Book 3, 6.5.10: P2 00 unblock, 01 change with the current PIN, 02 without.
            details.push(match p.p2 {
                0x00 => "unblock the PIN".to_owned(),
                0x01 => "change the PIN, current PIN given".to_owned(),
                0x02 => "change the PIN, no current PIN".to_owned(),
                other => format!("P2 {other:02X}"),
            });
            if !p.data.is_empty() {
                details.push(format!(
                    "{} bytes of (enciphered) PIN data withheld",
                    p.data.len()
                ));
                node.hex = hex::encode_upper(bytes.get(..5).unwrap_or(bytes));
            }
            "PIN CHANGE/UNBLOCK".into()
        }
        (_, 0xDA) => {
            let tag = Tag(u32::from(u16::from_be_bytes([p.p1, p.p2])));
            let tag = if p.p1 == 0 { Tag(u32::from(p.p2)) } else { tag };
            details.push(format!(
                "{tag} {}",
                tag_name(tag, scheme_now(state, scheme))
            ));
            "PUT DATA".into()
        }
        (_, 0xDC) => {
            details.push(format!("record {}, SFI {}", p.p1, p.p2 >> 3));
            "UPDATE RECORD".into()
        }
        (cla, ins) => format!("command CLA {cla:02X} INS {ins:02X}"),
    };
    if p.cla & 0x0C != 0 {
        details.push("secure messaging (CLA b4-b3): the data ends with a MAC".into());
    }
    if let Some(le) = p.le {
        details.push(format!("Le {le:02X}"));
    }
    if let Some(problem) = p.malformed {
        details.push(problem);
    }
    if matches!(p.ins, 0xC0) {
        if let Some(original) = &state.awaiting_get_response {
            details.push(format!(
                "continues the answer to {}",
                crate::output::command_name(original)
            ));
        }
    }
    node.name = name;
    node.details.extend(details);
    node.details.extend(notes);
    node.data = nodes_named(std::mem::take(&mut node.data), scheme_now(state, scheme));
    node
}

/// Book 3, 6.5.5.2, Table 12: the cryptogram type asked for in P1 b8-b7 and the CDA
/// signature request in b5; the other bits are RFU.
fn generate_ac_p1(p1: u8) -> String {
    let asked = match p1 & 0xC0 {
        0x00 => "AAC",
        0x40 => "TC",
        0x80 => "ARQC",
        _ => "RFU (b8-b7 = 11)",
    };
    let cda = if p1 & 0x10 != 0 {
        ", CDA signature requested"
    } else {
        ""
    };
    let rfu = if p1 & 0x2F != 0 { ", RFU bits set" } else { "" };
    format!("P1 {p1:02X}: {asked} requested{cda}{rfu}")
}

/// The name a SELECT asks for: text when printable, with the directories named.
fn describe_name(name: &[u8]) -> String {
    let text = name
        .iter()
        .all(|b| b.is_ascii_graphic())
        .then(|| String::from_utf8_lossy(name).into_owned());
    match text.as_deref() {
        Some("1PAY.SYS.DDF01") => {
            "1PAY.SYS.DDF01: the Payment System Environment (Book 1, 12.2.2)".into()
        }
        Some("2PAY.SYS.DDF01") => "2PAY.SYS.DDF01: the Proximity Payment System Environment".into(),
        Some(text) if name.len() > 4 && !name.starts_with(&[0xA0]) => format!("name {text}"),
        _ => {
            let mut out = format!("AID {}", hex::encode_upper(name));
            if let Some(scheme) = Scheme::from_aid(name) {
                let _ = write!(out, " ({})", scheme.label());
            }
            out
        }
    }
}

fn tag_name(tag: Tag, scheme: Option<Scheme>) -> String {
    let dictionary_name = dictionary::lookup(tag).map(|e| e.name.to_owned());
    match (dictionary_name, scheme) {
        (Some(name), None) => name,
        (Some(name), Some(_)) => decode_names::proprietary_name(tag, scheme).unwrap_or(name),
        (None, _) => {
            decode_names::proprietary_name(tag, scheme).unwrap_or_else(|| "Unknown".to_owned())
        }
    }
}

fn response_node(
    apdu: &LoggedApdu,
    command: Option<&[u8]>,
    state: &mut LogState,
    scheme: Option<Scheme>,
) -> ResponseNode {
    let mut node = ResponseNode {
        line: apdu.line,
        hex: None,
        objects: Vec::new(),
        details: Vec::new(),
        status_word: None,
    };
    let bytes = match &apdu.bytes {
        Ok(bytes) => bytes,
        Err(error) => {
            node.details.push(format!("the PC/SC call failed: {error}"));
            return node;
        }
    };
    node.hex = Some(hex::encode_upper(bytes));
    let Some(split) = bytes.len().checked_sub(2) else {
        node.details
            .push(format!("{} bytes: no status word", bytes.len()));
        return node;
    };
    let (data, sw) = bytes.split_at(split);
    let sw = StatusWord::from_bytes(sw[0], sw[1]); // ok: 2 bytes after the split
    node.status_word = Some(StatusWordNode {
        hex: format!("{:04X}", sw.0),
        meaning: sw.meaning(),
    });
    // A GET RESPONSE answers for the command that got 61xx.
    let answered: Option<Vec<u8>> = match command {
        Some([_, 0xC0, ..]) => state.awaiting_get_response.clone(),
        Some(command) => Some(command.to_vec()),
        None => None,
    };
    state.awaiting_get_response = match (sw.sw1(), &answered) {
        (0x61, Some(answered)) => Some(answered.clone()),
        _ => None,
    };
    if data.is_empty() {
        return node;
    }
    let ins = answered
        .as_ref()
        .and_then(|c| c.get(..2))
        .map(|h| (h[0], h[1]));
    let context = match ins {
        Some((0x80, 0xA8)) => Some(Context::Gpo),
        Some((0x80, 0xAE)) => Some(Context::Genac),
        Some((_, 0x88)) => Some(Context::InternalAuthenticate),
        _ => None,
    };
    if matches!(ins, Some((_, 0x84))) && data.len() == 8 {
        node.details.push(format!(
            "ICC unpredictable number (GET CHALLENGE): {}",
            hex::encode_upper(data)
        ));
        return node;
    }
    match decode::decode_in(data, context) {
        Ok(objects) => {
            learn(state, data, ins);
            node.objects = nodes_named(objects, scheme_now(state, scheme));
        }
        Err(error) => node.details.push(format!(
            "the data is not BER-TLV ({error}): {}",
            hex::encode_upper(data)
        )),
    }
    node
}

/// Keeps what later commands need from a response: the DOLs and the selected AID.
fn learn(state: &mut LogState, data: &[u8], ins: Option<(u8, u8)>) {
    let keep = |slot: &mut Option<Vec<u8>>, tag: u32| {
        if let Some(value) = tlv::find(data, Tag(tag)) {
            *slot = Some(value.to_vec());
        }
    };
    keep(&mut state.pdol, 0x9F38);
    keep(&mut state.cdol1, 0x8C);
    keep(&mut state.cdol2, 0x8D);
    keep(&mut state.ddol, 0x9F49);
    if matches!(ins, Some((_, 0xA4))) {
        if let Some(df_name) = tlv::find(data, Tag(0x84)) {
            state.aid = Some(df_name.to_vec());
        }
    }
}

/// Writes a decoded log as text: each command as `> HEX` with its name and details,
/// each response as `< HEX` with its tree and status word.
pub fn write_log(out: &mut String, exchanges: &[ExchangeNode]) {
    let at = |line: Option<usize>| line.map(|l| format!("  (line {l})")).unwrap_or_default();
    for (index, exchange) in exchanges.iter().enumerate() {
        if index > 0 {
            out.push('\n');
        }
        if let Some(command) = &exchange.command {
            let _ = writeln!(out, "> {}{}", command.hex, at(command.line));
            let _ = writeln!(out, "  {}", command.name);
            for detail in &command.details {
                let _ = writeln!(out, "    {detail}");
            }
            decode::write_tree(out, &command.data, 2);
        }
        if let Some(response) = &exchange.response {
            let _ = writeln!(
                out,
                "< {}{}",
                response.hex.as_deref().unwrap_or("(none)"),
                at(response.line)
            );
            decode::write_tree(out, &response.objects, 1);
            for detail in &response.details {
                let _ = writeln!(out, "  {detail}");
            }
            if let Some(sw) = &response.status_word {
                let _ = writeln!(out, "  SW {} ({})", sw.hex, sw.meaning);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(exchange: &LoggedApdu) -> Vec<u8> {
        exchange.bytes.clone().unwrap()
    }

    #[test]
    fn line_styles_are_read() {
        let log = "\
12:00:01.100 C-APDU: 00 A4 04 00 0E 31 50 41 59 2E 53 59 53 2E 44 44 46 30 31 00
12:00:01.180 R-APDU: 6A 82
[=] >>> 00B2010C00
[=] <<< 70039F0D00 9000
> 00A4040007A000000003101000
< 6F 0A 84 07 A0000000031010 A5 00 90 00 : Normal processing.
2024-01-01 10:00:00 TX: 80A8000002830000
2024-01-01 10:00:00 RX:
  77 0A 82 02 19 80 94 04
  08 01 03 01 90 00
>>00CA9F3600
<<9F360200119000
01 select PPSE command length 20 data: 00a404000e325041592e5359532e444446303100
01 select PPSE response length 2 data: 6a82
";
        assert!(is_log(log));
        let exchanges = parse_log(log).unwrap();
        assert_eq!(exchanges.len(), 6, "{exchanges:?}");
        let first = &exchanges[0];
        assert_eq!(first.command.as_ref().unwrap().line, Some(1));
        assert_eq!(bytes(first.command.as_ref().unwrap()).len(), 20);
        assert_eq!(bytes(first.response.as_ref().unwrap()), [0x6A, 0x82]);
        assert_eq!(
            bytes(exchanges[2].response.as_ref().unwrap()),
            hex::decode("6F0A8407A0000000031010A5009000").unwrap(),
            "trailing text after the bytes is left out"
        );
        assert_eq!(
            bytes(exchanges[3].response.as_ref().unwrap()),
            hex::decode("770A82021980940408010301 9000".replace(' ', "")).unwrap(),
            "continuation lines"
        );
        assert_eq!(exchanges[3].response.as_ref().unwrap().line, Some(8));
        assert_eq!(
            bytes(exchanges[4].command.as_ref().unwrap()),
            [0x00, 0xCA, 0x9F, 0x36, 0x00]
        );
        assert_eq!(bytes(exchanges[5].response.as_ref().unwrap()), [0x6A, 0x82]);
    }

    #[test]
    fn hex_and_prose_are_not_logs() {
        assert!(!is_log("6F 1A 84 0E"));
        assert!(!is_log("Command successful\nResponse: none"));
        assert!(!is_log("a < b and c > d"));
        assert!(!is_log("TX: 12 bytes"));
        assert!(matches!(
            parse_log("> 00A4"),
            Err(DecodeError::Log { line: 0, .. })
        ));
        assert!(matches!(
            parse_log("> 00A40400 0"),
            Err(DecodeError::Log { line: 1, .. })
        ));
    }

    #[test]
    fn command_cases() {
        let p = parts(&[0x00, 0xB2, 0x01, 0x0C, 0x00]).unwrap();
        assert_eq!((p.data.len(), p.le), (0, Some(0)));
        let p = parts(&[0x80, 0xA8, 0, 0, 2, 0x83, 0x00, 0x00]).unwrap();
        assert_eq!((p.data, p.le), (&[0x83, 0x00][..], Some(0)));
        let p = parts(&[0x00, 0x82, 0, 0, 2, 0x11, 0x22]).unwrap();
        assert_eq!((p.data, p.le), (&[0x11, 0x22][..], None));
        assert!(parts(&[0x00, 0x82, 0, 0, 5, 0x11])
            .unwrap()
            .malformed
            .is_some());
        assert!(parts(&[0x00, 0x82, 0]).is_none());
        assert_eq!(
            generate_ac_p1(0x50),
            "P1 50: TC requested, CDA signature requested"
        );
        assert_eq!(generate_ac_p1(0x80), "P1 80: ARQC requested");
        assert_eq!(generate_ac_p1(0x00), "P1 00: AAC requested");
    }
}
