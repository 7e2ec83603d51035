//! The trace file format, version 2: data model, parser and writer (version 1
//! files are read too: they differ only in spelling the ARC as hex).
//!
//! Line oriented: one keyword and its arguments per line, `#` starts a
//! comment, blank lines are ignored, hex may contain spaces. The reference is
//! `docs/traces.md`; this module and that page change together, and a change
//! that old files cannot follow raises [`FORMAT_VERSION`].

use emv_kernel::config::{Currency, TransactionInputs};
use std::fmt::Write as _;

/// The format version this build writes; it reads versions 1 to this one.
///
/// Version 2 spells the Authorisation Response Code (`expect arc`, `host ... arc=`) as
/// its two characters ([`arc_text`]); version 1 wrote four hex digits, which
/// [`parse_arc`] still reads.
pub const FORMAT_VERSION: u32 = 2;

/// The inputs a trace has when it names none: part of the format (version 1),
/// so a trace that leaves an `input` line out replays the same everywhere.
/// A 10.00 purchase in EUR on 2025-06-15 12:00:00, Unpredictable Number
/// `11223344`, random selection number 50, sequence counter 1.
pub const DEFAULT_INPUTS: TransactionInputs = TransactionInputs::new(
    1_000,
    Currency::EUR,
    [0x25, 0x06, 0x15],
    [0x12, 0x00, 0x00],
    [0x11, 0x22, 0x33, 0x44],
    50,
    1,
);

/// A trace file that cannot be read, with the 1-based line it failed on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct TraceError {
    /// The line (1-based); 0 for the whole file.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

fn error(line: usize, message: impl Into<String>) -> TraceError {
    TraceError {
        line,
        message: message.into(),
    }
}

/// Where the terminal configuration comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConfigSource {
    /// The built-in defaults of this build (`Settings::default`).
    Builtin,
    /// TOML text carried in the trace (`| ` lines after `config inline`).
    Inline(String),
    /// A TOML file, relative to the trace's folder, with its SHA-256.
    File {
        /// Path as written.
        path: String,
        /// SHA-256 of the file's bytes.
        sha256: [u8; 32],
    },
}

/// Where the CA public keys come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CapkSource {
    /// The test CA keys built into this build.
    Builtin,
    /// A capk.txt file, relative to the trace's folder, with its SHA-256.
    File {
        /// Path as written.
        path: String,
        /// SHA-256 of the file's bytes.
        sha256: [u8; 32],
    },
}

/// A CA public key the transaction used (Book 2, 5.2): RID, index and the
/// SHA-1 checksum of RID || index || modulus || exponent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CaKeyUse {
    /// Registered Application Provider Identifier.
    pub rid: [u8; 5],
    /// Certification Authority Public Key Index (8F).
    pub index: u8,
    /// Certification Authority Public Key Check Sum.
    pub checksum: [u8; 20],
}

/// The cardholder's answer to a PIN request. The digits are never stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PinResult {
    /// A PIN was entered (its digits are not in the trace).
    Entered,
    /// PIN entry was bypassed.
    Bypassed,
    /// The PIN pad was absent or not working.
    PadNotWorking,
    /// Online PIN captured and enciphered by the terminal.
    OnlineCaptured,
}

impl PinResult {
    fn keyword(self) -> &'static str {
        match self {
            PinResult::Entered => "entered",
            PinResult::Bypassed => "bypassed",
            PinResult::PadNotWorking => "pad-not-working",
            PinResult::OnlineCaptured => "online-captured",
        }
    }
}

/// The host's answer to the authorisation request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HostAnswer {
    /// No answer: unable to go online.
    Unreachable,
    /// The issuer (or its stand-in) answered.
    Answered {
        /// Whether the issuer approved.
        approved: bool,
        /// Authorisation Response Code (8A), two bytes (usually ASCII).
        authorisation_response_code: [u8; 2],
        /// Issuer Authentication Data (91).
        issuer_authentication_data: Option<Vec<u8>>,
        /// Issuer script templates 71/72 as received.
        scripts: Vec<u8>,
    },
}

/// One step of the transaction, in the order it happened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// A command APDU the terminal sent. With `withheld`, `apdu` holds only
    /// the header and Lc: the data (a PIN block) was not recorded.
    Command {
        /// The command bytes (header and Lc only when withheld).
        apdu: Vec<u8>,
        /// The command data was withheld (VERIFY).
        withheld: bool,
    },
    /// The card's response: data and SW1 SW2.
    Response(Vec<u8>),
    /// The transport failed for the last command (card removed).
    TransportError,
    /// The cardholder's application choice: a 0-based index, `None` cancelled.
    Choose(Option<usize>),
    /// The cardholder's PIN entry result.
    Pin(PinResult),
    /// The terminal's answer to the kernel's transaction log lookup (Book 3,
    /// 10.6.1, split sales): the card's most recent logged amount, minor units.
    RecentAmount(u64),
    /// The authorisation request's ICC data (field 55) the kernel produced.
    Online(Vec<u8>),
    /// The host's answer.
    Host(HostAnswer),
    /// The attendant's voice referral after an issuer referral (Book 4,
    /// 6.5.2): `true` approved.
    Referral(bool),
}

/// The expected outcome: named fields and their text values, in order.
/// Replay compares only the fields present.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Expected(pub Vec<(String, String)>);

impl Expected {
    /// The value of `field`.
    pub fn get(&self, field: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(name, _)| name == field)
            .map(|(_, value)| value.as_str())
    }
}

/// A whole trace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Trace {
    /// Format version the file declared.
    pub version: u32,
    /// What was recorded (free text: `simulated card cda`, `reader ...`).
    pub source: Option<String>,
    /// Whether PAN and track 2 data were masked.
    pub masked: bool,
    /// Terminal configuration.
    pub config: ConfigSource,
    /// CA key file.
    pub capk: CapkSource,
    /// CA keys the transaction used.
    pub ca_keys: Vec<CaKeyUse>,
    /// SHA-256 of each masked signature stand-in (see `docs/traces.md`).
    pub stand_ins: Vec<[u8; 32]>,
    /// Transaction inputs.
    pub inputs: TransactionInputs,
    /// `input recent-amount-same-card`: traces recorded before the kernel
    /// asked for the amount (a [`Event::RecentAmount`]) gave it as an input.
    /// Replay answers a lookup with it when the trace has no `recent-amount`
    /// line there.
    pub recent_amount_input: Option<u64>,
    /// The exchanges and answers, in order.
    pub events: Vec<Event>,
    /// The expected outcome.
    pub expected: Expected,
}

impl Trace {
    /// An empty trace with the built-in configuration and default inputs.
    pub fn new(inputs: TransactionInputs) -> Self {
        Trace {
            version: FORMAT_VERSION,
            source: None,
            masked: false,
            config: ConfigSource::Builtin,
            capk: CapkSource::Builtin,
            ca_keys: Vec::new(),
            stand_ins: Vec::new(),
            inputs,
            recent_amount_input: None,
            events: Vec::new(),
            expected: Expected::default(),
        }
    }

    /// Number of command/response exchanges.
    pub fn exchanges(&self) -> usize {
        self.events
            .iter()
            .filter(|e| matches!(e, Event::Command { .. }))
            .count()
    }

    /// Every response's bytes, in order.
    pub fn responses(&self) -> impl Iterator<Item = &[u8]> {
        self.events.iter().filter_map(|e| match e {
            Event::Response(bytes) => Some(bytes.as_slice()),
            _ => None,
        })
    }
}

/// Hex without separators, upper case.
pub fn hex_upper(bytes: &[u8]) -> String {
    hex::encode_upper(bytes)
}

/// Hex digits with optional spaces to bytes.
pub fn parse_hex(text: &str) -> Option<Vec<u8>> {
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    hex::decode(compact).ok()
}

/// The Authorisation Response Code (8A, format an 2, Book 3 Annex A) as a trace writes
/// it (format version 2): its two characters when both are alphanumeric (`Y1`, `Z3`,
/// `00`), the way every JSON output spells it; any other byte pair as `hex:` and four
/// hex digits (`hex:0000`, `hex:5920`), since a space, `#`, `=` or a control byte would
/// not survive a line-oriented text file.
pub fn arc_text(code: [u8; 2]) -> String {
    if code.iter().all(u8::is_ascii_alphanumeric) {
        code.iter().map(|&b| char::from(b)).collect()
    } else {
        format!("hex:{}", hex_upper(&code))
    }
}

/// Reads an ARC as [`arc_text`] writes it, or as format version 1 wrote it: four hex
/// digits (`5931` is `Y1`). Two characters are always the characters, four hex digits
/// always hex, so the spellings cannot be mistaken for each other.
pub fn parse_arc(text: &str) -> Option<[u8; 2]> {
    let hex_code = |digits: &str| {
        (digits.len() == 4)
            .then(|| parse_hex(digits))
            .flatten()
            .and_then(|bytes| <[u8; 2]>::try_from(bytes).ok())
    };
    match text.as_bytes() {
        [a, b] if a.is_ascii_alphanumeric() && b.is_ascii_alphanumeric() => Some([*a, *b]),
        _ => match text.strip_prefix("hex:") {
            Some(digits) => hex_code(digits),
            None => hex_code(text),
        },
    }
}

fn arc(text: &str, line: usize, what: &str) -> Result<[u8; 2], TraceError> {
    parse_arc(text).ok_or_else(|| {
        error(
            line,
            format!(
                "{what}: expected two letters or digits (Y1), hex:XXXX, or 4 hex digits \
                 (version 1), found {text:?}"
            ),
        )
    })
}

fn fixed_hex<const N: usize>(text: &str, line: usize, what: &str) -> Result<[u8; N], TraceError> {
    parse_hex(text)
        .and_then(|bytes| <[u8; N]>::try_from(bytes).ok())
        .ok_or_else(|| {
            error(
                line,
                format!("{what}: expected {} hex digits, found {text:?}", 2 * N),
            )
        })
}

fn number<T: std::str::FromStr>(text: &str, line: usize, what: &str) -> Result<T, TraceError> {
    text.parse()
        .map_err(|_| error(line, format!("{what}: expected a number, found {text:?}")))
}

fn yes_no(text: &str, line: usize, what: &str) -> Result<bool, TraceError> {
    match text {
        "yes" => Ok(true),
        "no" => Ok(false),
        _ => Err(error(
            line,
            format!("{what}: expected yes or no, found {text:?}"),
        )),
    }
}

fn strip_comment(line: &str) -> &str {
    line.split_once('#')
        .map_or(line, |(before, _)| before)
        .trim()
}

/// A short name for a command APDU, for the comment after it.
pub fn command_name(apdu: &[u8]) -> &'static str {
    match (apdu.first(), apdu.get(1)) {
        (_, Some(0xA4)) => "SELECT",
        (_, Some(0xB2)) => "READ RECORD",
        (Some(0x80), Some(0xA8)) => "GET PROCESSING OPTIONS",
        (Some(0x80), Some(0xAE)) => "GENERATE AC",
        (_, Some(0x88)) => "INTERNAL AUTHENTICATE",
        (_, Some(0x82)) => "EXTERNAL AUTHENTICATE",
        (_, Some(0x84)) => "GET CHALLENGE",
        (_, Some(0x20)) => "VERIFY",
        (_, Some(0xCA)) => "GET DATA",
        (_, Some(0xC0)) => "GET RESPONSE",
        (_, Some(0x1E)) => "APPLICATION BLOCK",
        (_, Some(0x18)) => "APPLICATION UNBLOCK",
        (_, Some(0x16)) => "CARD BLOCK",
        (_, Some(0x24)) => "PIN CHANGE/UNBLOCK",
        (_, Some(0xDA)) | (_, Some(0xDC)) => "PUT DATA / UPDATE RECORD",
        _ => "command",
    }
}

/// Parses a trace file.
pub fn parse(text: &str) -> Result<Trace, TraceError> {
    let mut trace = Trace::new(DEFAULT_INPUTS);
    let mut seen_version = false;
    let mut inline_config: Option<String> = None;
    let mut lines = text.lines().enumerate().peekable();
    while let Some((index, raw)) = lines.next() {
        let line = index + 1;
        let content = strip_comment(raw);
        if content.is_empty() {
            continue;
        }
        let (keyword, rest) = content
            .split_once(char::is_whitespace)
            .map_or((content, ""), |(k, r)| (k, r.trim()));
        if !seen_version {
            if keyword != "emv-trace" {
                return Err(error(line, "a trace starts with `emv-trace <version>`"));
            }
            let version: u32 = number(rest, line, "emv-trace")?;
            if version == 0 || version > FORMAT_VERSION {
                return Err(error(
                    line,
                    format!("trace format version {version}; this build reads versions 1 to {FORMAT_VERSION}"),
                ));
            }
            trace.version = version;
            seen_version = true;
            continue;
        }
        match keyword {
            "source" => trace.source = Some(rest.to_owned()),
            "masked" => trace.masked = yes_no(rest, line, "masked")?,
            "config" => {
                trace.config = parse_config(rest, line)?;
                if trace.config == ConfigSource::Inline(String::new()) {
                    // The TOML follows on `|` lines, taken verbatim (no comment stripping).
                    let mut toml = String::new();
                    while let Some((_, next)) = lines.peek() {
                        let Some(body) = next.strip_prefix('|') else {
                            break;
                        };
                        toml.push_str(body.strip_prefix(' ').unwrap_or(body));
                        toml.push('\n');
                        lines.next();
                    }
                    inline_config = Some(toml);
                }
            }
            "capk" => trace.capk = parse_capk(rest, line)?,
            "ca-key" => trace.ca_keys.push(parse_ca_key(rest, line)?),
            "stand-in" => trace
                .stand_ins
                .push(fixed_hex::<32>(rest, line, "stand-in")?),
            "input" => parse_input(&mut trace, rest, line)?,
            ">" => trace.events.push(parse_command(rest, line)?),
            "<" => {
                let bytes = parse_hex(rest).ok_or_else(|| error(line, "response: expected hex"))?;
                if bytes.len() < 2 {
                    return Err(error(line, "response: at least SW1 SW2"));
                }
                trace.events.push(Event::Response(bytes));
            }
            "transport-error" => trace.events.push(Event::TransportError),
            "choose" => trace.events.push(Event::Choose(match rest {
                "cancel" => None,
                _ => Some(
                    number::<usize>(rest, line, "choose")?
                        .checked_sub(1)
                        .ok_or_else(|| error(line, "choose: candidates count from 1"))?,
                ),
            })),
            "pin" => trace.events.push(Event::Pin(parse_pin(rest, line)?)),
            "recent-amount" => {
                trace
                    .events
                    .push(Event::RecentAmount(number(rest, line, "recent-amount")?))
            }
            "online" => trace.events.push(Event::Online(
                parse_hex(rest).ok_or_else(|| error(line, "online: expected hex"))?,
            )),
            "host" => trace.events.push(Event::Host(parse_host(rest, line)?)),
            "referral" => trace.events.push(Event::Referral(match rest {
                "approve" => true,
                "decline" => false,
                _ => return Err(error(line, "referral: expected approve or decline")),
            })),
            "expect" => {
                let (field, value) = rest
                    .split_once(char::is_whitespace)
                    .map_or((rest, ""), |(f, v)| (f, v.trim()));
                if field.is_empty() {
                    return Err(error(line, "expect: a field name and a value"));
                }
                // Either spelling of the ARC compares as the one the replay produces.
                let value = match (field, value) {
                    ("arc", "none") => value.to_owned(),
                    ("arc", _) => arc_text(arc(value, line, "expect arc")?),
                    _ => value.to_owned(),
                };
                trace.expected.0.push((field.to_owned(), value));
            }
            other => return Err(error(line, format!("unknown keyword {other:?}"))),
        }
    }
    if !seen_version {
        return Err(error(0, "empty trace: no `emv-trace` line"));
    }
    if let Some(toml) = inline_config {
        trace.config = ConfigSource::Inline(toml);
    }
    Ok(trace)
}

fn parse_config(rest: &str, line: usize) -> Result<ConfigSource, TraceError> {
    let words: Vec<&str> = rest.split_whitespace().collect();
    match words.as_slice() {
        ["builtin"] => Ok(ConfigSource::Builtin),
        ["inline"] => Ok(ConfigSource::Inline(String::new())),
        ["file", path, "sha256", digest] => Ok(ConfigSource::File {
            path: (*path).to_owned(),
            sha256: fixed_hex::<32>(digest, line, "config sha256")?,
        }),
        _ => Err(error(
            line,
            "config: expected `builtin`, `inline` or `file PATH sha256 HEX`",
        )),
    }
}

fn parse_capk(rest: &str, line: usize) -> Result<CapkSource, TraceError> {
    let words: Vec<&str> = rest.split_whitespace().collect();
    match words.as_slice() {
        ["builtin"] => Ok(CapkSource::Builtin),
        ["file", path, "sha256", digest] => Ok(CapkSource::File {
            path: (*path).to_owned(),
            sha256: fixed_hex::<32>(digest, line, "capk sha256")?,
        }),
        _ => Err(error(
            line,
            "capk: expected `builtin` or `file PATH sha256 HEX`",
        )),
    }
}

fn parse_ca_key(rest: &str, line: usize) -> Result<CaKeyUse, TraceError> {
    let words: Vec<&str> = rest.split_whitespace().collect();
    let [rid, index, checksum] = words.as_slice() else {
        return Err(error(line, "ca-key: expected RID INDEX CHECKSUM"));
    };
    Ok(CaKeyUse {
        rid: fixed_hex::<5>(rid, line, "ca-key RID")?,
        index: fixed_hex::<1>(index, line, "ca-key index")?[0],
        checksum: fixed_hex::<20>(checksum, line, "ca-key checksum")?,
    })
}

fn parse_input(trace: &mut Trace, rest: &str, line: usize) -> Result<(), TraceError> {
    let inputs = &mut trace.inputs;
    let (name, value) = rest
        .split_once(char::is_whitespace)
        .map_or((rest, ""), |(n, v)| (n, v.trim()));
    match name {
        "amount-authorised" => inputs.amount_authorised = number(value, line, name)?,
        "amount-other" => inputs.amount_other = number(value, line, name)?,
        "transaction-type" => inputs.transaction_type = fixed_hex::<1>(value, line, name)?[0],
        "currency" => inputs.currency_code = fixed_hex::<2>(value, line, name)?,
        "currency-exponent" => inputs.currency_exponent = number(value, line, name)?,
        "date" => inputs.date = fixed_hex::<3>(value, line, name)?,
        "time" => inputs.time = fixed_hex::<3>(value, line, name)?,
        "unpredictable-number" => inputs.unpredictable_number = fixed_hex::<4>(value, line, name)?,
        "random-selection-number" => inputs.random_selection_number = number(value, line, name)?,
        "sequence-counter" => inputs.transaction_sequence_counter = number(value, line, name)?,
        "recent-amount-same-card" => trace.recent_amount_input = Some(number(value, line, name)?),
        "merchant-forced-online" => inputs.merchant_forced_online = yes_no(value, line, name)?,
        _ => return Err(error(line, format!("unknown input {name:?}"))),
    }
    Ok(())
}

fn parse_command(rest: &str, line: usize) -> Result<Event, TraceError> {
    let (hex_part, withheld) = match rest.strip_suffix("withheld") {
        Some(before) => (before, true),
        None => (rest, false),
    };
    let apdu = parse_hex(hex_part).ok_or_else(|| error(line, "command: expected hex"))?;
    if apdu.len() < 4 || (withheld && apdu.len() != 5) {
        return Err(error(
            line,
            "command: at least CLA INS P1 P2 (exactly CLA INS P1 P2 Lc before `withheld`)",
        ));
    }
    Ok(Event::Command { apdu, withheld })
}

fn parse_pin(rest: &str, line: usize) -> Result<PinResult, TraceError> {
    [
        PinResult::Entered,
        PinResult::Bypassed,
        PinResult::PadNotWorking,
        PinResult::OnlineCaptured,
    ]
    .into_iter()
    .find(|result| result.keyword() == rest)
    .ok_or_else(|| {
        error(
            line,
            "pin: expected entered, bypassed, pad-not-working or online-captured",
        )
    })
}

fn parse_host(rest: &str, line: usize) -> Result<HostAnswer, TraceError> {
    let mut words = rest.split_whitespace();
    let approved = match words.next() {
        Some("unreachable") => return Ok(HostAnswer::Unreachable),
        Some("approved") => true,
        Some("declined") => false,
        _ => {
            return Err(error(
                line,
                "host: expected unreachable, approved or declined",
            ))
        }
    };
    let mut authorisation_response_code = None;
    let mut issuer_authentication_data = None;
    let mut scripts = Vec::new();
    for word in words {
        let (key, value) = word
            .split_once('=')
            .ok_or_else(|| error(line, format!("host: expected key=HEX, found {word:?}")))?;
        match key {
            "arc" => authorisation_response_code = Some(arc(value, line, "host arc")?),
            "iad" => {
                issuer_authentication_data =
                    Some(parse_hex(value).ok_or_else(|| error(line, "host iad: expected hex"))?)
            }
            "scripts" => {
                scripts =
                    parse_hex(value).ok_or_else(|| error(line, "host scripts: expected hex"))?
            }
            _ => return Err(error(line, format!("host: unknown field {key:?}"))),
        }
    }
    Ok(HostAnswer::Answered {
        approved,
        authorisation_response_code: authorisation_response_code
            .ok_or_else(|| error(line, "host: arc=CODE missing"))?,
        issuer_authentication_data,
        scripts,
    })
}

/// Writes a trace in the format [`parse`] reads; `parse(&write(t)) == t`.
pub fn write(trace: &Trace) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "emv-trace {FORMAT_VERSION}");
    let _ = writeln!(
        out,
        "# EMV card trace, format in docs/traces.md. `>` command, `<` response."
    );
    if let Some(source) = &trace.source {
        let _ = writeln!(out, "source {source}");
    }
    let _ = writeln!(out, "masked {}", if trace.masked { "yes" } else { "no" });
    match &trace.config {
        ConfigSource::Builtin => out.push_str("config builtin\n"),
        ConfigSource::Inline(toml) => {
            out.push_str("config inline\n");
            for line in toml.lines() {
                let _ = writeln!(out, "| {line}");
            }
        }
        ConfigSource::File { path, sha256 } => {
            let _ = writeln!(out, "config file {path} sha256 {}", hex_upper(sha256));
        }
    }
    match &trace.capk {
        CapkSource::Builtin => out.push_str("capk builtin\n"),
        CapkSource::File { path, sha256 } => {
            let _ = writeln!(out, "capk file {path} sha256 {}", hex_upper(sha256));
        }
    }
    for key in &trace.ca_keys {
        let _ = writeln!(
            out,
            "ca-key {} {:02X} {}",
            hex_upper(&key.rid),
            key.index,
            hex_upper(&key.checksum)
        );
    }
    for digest in &trace.stand_ins {
        let _ = writeln!(out, "stand-in {}", hex_upper(digest));
    }
    write_inputs(&mut out, &trace.inputs, trace.recent_amount_input);
    let mut exchange = 0;
    for event in &trace.events {
        write_event(&mut out, event, &mut exchange);
    }
    for (field, value) in &trace.expected.0 {
        let _ = writeln!(out, "expect {field} {value}");
    }
    out
}

fn write_inputs(out: &mut String, inputs: &TransactionInputs, recent_amount: Option<u64>) {
    let recent_amount = recent_amount.map(|amount| ("recent-amount-same-card", amount.to_string()));
    let lines = [
        ("amount-authorised", inputs.amount_authorised.to_string()),
        ("amount-other", inputs.amount_other.to_string()),
        (
            "transaction-type",
            format!("{:02X}", inputs.transaction_type),
        ),
        ("currency", hex_upper(&inputs.currency_code)),
        ("currency-exponent", inputs.currency_exponent.to_string()),
        ("date", hex_upper(&inputs.date)),
        ("time", hex_upper(&inputs.time)),
        (
            "unpredictable-number",
            hex_upper(&inputs.unpredictable_number),
        ),
        (
            "random-selection-number",
            inputs.random_selection_number.to_string(),
        ),
        (
            "sequence-counter",
            inputs.transaction_sequence_counter.to_string(),
        ),
        (
            "merchant-forced-online",
            if inputs.merchant_forced_online {
                "yes"
            } else {
                "no"
            }
            .to_owned(),
        ),
    ];
    let merchant = lines.len() - 1;
    let (before, after) = lines.split_at(merchant);
    for (name, value) in before.iter().chain(&recent_amount).chain(after) {
        let _ = writeln!(out, "input {name} {value}");
    }
}

fn write_event(out: &mut String, event: &Event, exchange: &mut usize) {
    match event {
        Event::Command { apdu, withheld } => {
            *exchange += 1;
            let name = command_name(apdu);
            if *withheld {
                let _ = writeln!(
                    out,
                    "> {} withheld  # {exchange}: {name}, PIN data not recorded",
                    hex_upper(apdu)
                );
            } else {
                let _ = writeln!(out, "> {}  # {exchange}: {name}", hex_upper(apdu));
            }
        }
        Event::Response(bytes) => {
            let _ = writeln!(out, "< {}", hex_upper(bytes));
        }
        Event::TransportError => out.push_str("transport-error\n"),
        Event::Choose(Some(index)) => {
            let _ = writeln!(out, "choose {}", index + 1);
        }
        Event::Choose(None) => out.push_str("choose cancel\n"),
        Event::Pin(result) => {
            let _ = writeln!(out, "pin {}", result.keyword());
        }
        Event::RecentAmount(amount) => {
            let _ = writeln!(out, "recent-amount {amount}");
        }
        Event::Online(data) => {
            let _ = writeln!(out, "online {}", hex_upper(data));
        }
        Event::Referral(approved) => {
            out.push_str(if *approved {
                "referral approve\n"
            } else {
                "referral decline\n"
            });
        }
        Event::Host(HostAnswer::Unreachable) => out.push_str("host unreachable\n"),
        Event::Host(HostAnswer::Answered {
            approved,
            authorisation_response_code,
            issuer_authentication_data,
            scripts,
        }) => {
            let _ = write!(
                out,
                "host {} arc={}",
                if *approved { "approved" } else { "declined" },
                arc_text(*authorisation_response_code)
            );
            if let Some(data) = issuer_authentication_data {
                let _ = write!(out, " iad={}", hex_upper(data));
            }
            if !scripts.is_empty() {
                let _ = write!(out, " scripts={}", hex_upper(scripts));
            }
            out.push('\n');
        }
    }
}

/// Replaces the `expect` lines of a trace file's text with `expected`,
/// keeping every other line (comments included) as it was. The new lines go
/// where the first old one was, or at the end.
pub fn replace_expected(text: &str, expected: &Expected) -> String {
    let mut out = String::new();
    let mut written = false;
    let new_lines: String = expected
        .0
        .iter()
        .map(|(field, value)| format!("expect {field} {value}\n"))
        .collect();
    for line in text.lines() {
        if strip_comment(line).starts_with("expect ") || strip_comment(line) == "expect" {
            if !written {
                out.push_str(&new_lines);
                written = true;
            }
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    if !written {
        out.push_str(&new_lines);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arc_spellings() {
        assert_eq!(arc_text(*b"Y1"), "Y1");
        assert_eq!(arc_text(*b"00"), "00");
        assert_eq!(arc_text(*b"z3"), "z3");
        // Not both alphanumeric: hex with the marker.
        assert_eq!(arc_text([0x00, 0x00]), "hex:0000");
        assert_eq!(arc_text(*b"Y "), "hex:5920");
        assert_eq!(arc_text(*b"#1"), "hex:2331");
        for code in [*b"Y1", *b"00", [0x00, 0xFF], *b"Y ", *b"=A"] {
            assert_eq!(parse_arc(&arc_text(code)), Some(code), "{code:?}");
        }
        // Format version 1: four hex digits.
        assert_eq!(parse_arc("5931"), Some(*b"Y1"));
        assert_eq!(parse_arc("3030"), Some(*b"00"));
        assert_eq!(parse_arc("hex:3030"), Some(*b"00"));
        for bad in [
            "", "Y", "Y1 ", "Y#", "593", "59311", "hex:59", "hex:Y1", "GG00",
        ] {
            assert_eq!(parse_arc(bad), None, "{bad:?}");
        }
    }

    /// A version 1 trace (ARC in hex) reads as the same trace in version 2 (ARC in
    /// characters); the writer writes version 2.
    #[test]
    fn version_1_arc_in_hex_still_reads() {
        let body = |version: u32, host_arc: &str, expect_arc: &str| {
            format!(
                "emv-trace {version}\nmasked yes\nconfig builtin\ncapk builtin\n\
                 > 80AE800000\n< 9000\nhost approved arc={host_arc} iad=0102\n\
                 expect arc {expect_arc}\nexpect tvr 0000000000\n"
            )
        };
        let old = parse(&body(1, "3030", "5931")).expect("version 1");
        let new = parse(&body(2, "00", "Y1")).expect("version 2");
        assert_eq!(old.version, 1);
        assert_eq!(
            Trace {
                version: 2,
                ..old.clone()
            },
            new
        );
        assert_eq!(old.expected.get("arc"), Some("Y1"));
        assert!(old.events.iter().any(|e| matches!(
            e,
            Event::Host(HostAnswer::Answered { authorisation_response_code, .. })
                if authorisation_response_code == b"00"
        )));
        let written = write(&old);
        assert!(written.starts_with("emv-trace 2\n"), "{written}");
        assert!(
            written.contains("host approved arc=00 iad=0102\n"),
            "{written}"
        );
        assert!(written.contains("expect arc Y1\n"), "{written}");
        assert_eq!(parse(&written), Ok(new));
        // Both spellings of an unprintable code; "none" stays.
        let odd = parse(&body(2, "hex:0000", "hex:0000")).expect("hex marker");
        assert_eq!(odd.expected.get("arc"), Some("hex:0000"));
        assert_eq!(
            parse(&body(1, "0000", "0000")),
            Ok(Trace { version: 1, ..odd })
        );
        let none = parse(&body(2, "00", "none")).expect("none");
        assert_eq!(none.expected.get("arc"), Some("none"));
        let error = parse(&body(2, "00", "Y%")).unwrap_err().to_string();
        assert!(
            error.contains("expect arc") && error.contains("\"Y%\""),
            "{error}"
        );
        assert!(parse(&body(2, "Y 1", "Y1")).is_err());
        assert!(
            parse(&body(3, "00", "Y1")).is_err(),
            "version 3 is not readable"
        );
    }
}
