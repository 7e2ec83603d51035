//! The host file: a TOML file that configures the host simulator, in mode
//! `keys` (the issuer's master keys and scheme) or `fixed` (one answer).
//! The format is described in terminal/README.md ("Host simulator file").
//!
//! Errors name the file, the line and the field, and never show a value: a
//! mistyped key must not end up in a terminal's scroll-back or a log.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use crate::issuer::{
    ArpcMethod, InputPart, Issuer, IssuerKeys, MasterKey, MasterKeyDerivation, Scheme,
    SessionKeyMethod, TEST_CARDS_ARQC_INPUT,
};
use crate::simulator::{arc_approves, FixedHost, Host, KeysHost, Script, ScriptTemplate};

/// Why a host file cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostFileError {
    /// The file, when read from one.
    pub path: Option<PathBuf>,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// The field (dotted, scripts counted from 1: `script[1].command[2].header`), when known.
    pub field: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for HostFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.path {
            Some(path) => write!(f, "{}", path.display())?,
            None => f.write_str("host file")?,
        }
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if let Some(field) = &self.field {
            write!(f, ": {field}")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for HostFileError {}

/// The host file as TOML gives it; every field spanned for its line.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    mode: Spanned<String>,
    imk_ac: Option<Spanned<String>>,
    imk_smi: Option<Spanned<String>>,
    imk_smc: Option<Spanned<String>>,
    derivation: Option<Spanned<String>>,
    session_key: Option<Spanned<String>>,
    arqc_input: Option<Spanned<ArqcInput>>,
    arpc_method: Option<Spanned<i64>>,
    card_status_update: Option<Spanned<String>>,
    proprietary_authentication_data: Option<Spanned<String>>,
    arc: Option<Spanned<String>>,
    approve: Option<Spanned<bool>>,
    decline_arc: Option<Spanned<String>>,
    script: Option<Vec<RawScript>>,
    issuer_authentication_data: Option<Spanned<String>>,
    scripts: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum ArqcInput {
    Preset(String),
    Parts(Vec<String>),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScript {
    template: Spanned<i64>,
    identifier: Option<Spanned<String>>,
    command: Vec<RawCommand>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCommand {
    header: Spanned<String>,
    #[serde(default)]
    data: Option<Spanned<String>>,
}

/// Reads the host file at `path`. A file in mode `keys` holds issuer master keys:
/// on Unix it is refused when other users may read it.
pub fn load(path: &Path) -> Result<Host, HostFileError> {
    let text = std::fs::read_to_string(path).map_err(|e| HostFileError {
        path: Some(path.to_path_buf()),
        line: None,
        field: None,
        message: e.to_string(),
    })?;
    let parsed = parse(&text);
    wipe(text);
    let host = parsed.map_err(|mut e| {
        e.path = Some(path.to_path_buf());
        e
    })?;
    if matches!(host, Host::Keys(_)) {
        check_private(path)?;
    }
    Ok(host)
}

/// On Unix: a keys file readable by others is refused.
fn check_private(path: &Path) -> Result<(), HostFileError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path)
            .map(|m| m.permissions().mode())
            .unwrap_or(0);
        if mode & 0o004 != 0 {
            return Err(HostFileError {
                path: Some(path.to_path_buf()),
                line: None,
                field: None,
                message: format!(
                    "holds issuer master keys but every user may read it (mode {:04o}): chmod 600 it",
                    mode & 0o7777
                ),
            });
        }
    }
    let _ = path;
    Ok(())
}

/// Overwrites text that held keys before it is freed.
fn wipe(text: String) {
    let mut bytes = text.into_bytes();
    bytes.fill(0);
}

/// Parses host file text.
pub fn parse(text: &str) -> Result<Host, HostFileError> {
    let raw: RawFile = toml::from_str(text).map_err(|e| syntax_error(text, &e))?;
    let at = |span: std::ops::Range<usize>, field: &str, message: String| HostFileError {
        path: None,
        line: Some(line_of(text, span.start)),
        field: Some(field.to_owned()),
        message,
    };
    let mode = raw.mode.get_ref().as_str();
    match mode {
        "keys" => keys_host(raw, &at),
        "fixed" => {
            let present = [
                ("imk_ac", raw.imk_ac.as_ref().map(Spanned::span)),
                ("imk_smi", raw.imk_smi.as_ref().map(Spanned::span)),
                ("imk_smc", raw.imk_smc.as_ref().map(Spanned::span)),
                ("derivation", raw.derivation.as_ref().map(Spanned::span)),
                ("session_key", raw.session_key.as_ref().map(Spanned::span)),
                ("arqc_input", raw.arqc_input.as_ref().map(Spanned::span)),
                ("arpc_method", raw.arpc_method.as_ref().map(Spanned::span)),
                (
                    "card_status_update",
                    raw.card_status_update.as_ref().map(Spanned::span),
                ),
                (
                    "proprietary_authentication_data",
                    raw.proprietary_authentication_data
                        .as_ref()
                        .map(Spanned::span),
                ),
                ("decline_arc", raw.decline_arc.as_ref().map(Spanned::span)),
            ];
            if let Some((name, Some(span))) = present.into_iter().find(|(_, s)| s.is_some()) {
                return Err(at(
                    span,
                    name,
                    "only with mode = \"keys\" (this file has mode = \"fixed\")".to_owned(),
                ));
            }
            if let Some(first) = raw.script.as_ref().and_then(|s| s.first()) {
                return Err(at(
                    first.template.span(),
                    "script",
                    "[[script]] is for mode = \"keys\"; in mode \"fixed\" give the templates as `scripts` in hex".to_owned(),
                ));
            }
            fixed_host(raw, &at)
        }
        _ => Err(at(
            raw.mode.span(),
            "mode",
            "expected \"keys\" or \"fixed\"".to_owned(),
        )),
    }
}

type At<'a> = dyn Fn(std::ops::Range<usize>, &str, String) -> HostFileError + 'a;

fn keys_host(raw: RawFile, at: &At<'_>) -> Result<Host, HostFileError> {
    if let Some(field) = [
        (
            "issuer_authentication_data",
            &raw.issuer_authentication_data,
        ),
        ("scripts", &raw.scripts),
    ]
    .into_iter()
    .find_map(|(name, value)| value.as_ref().map(|v| (name, v.span())))
    {
        return Err(at(
            field.1,
            field.0,
            "only with mode = \"fixed\" (a keys host computes it)".to_owned(),
        ));
    }
    let missing = |field: &str| HostFileError {
        path: None,
        line: None,
        field: Some(field.to_owned()),
        message: "missing (needed with mode = \"keys\")".to_owned(),
    };
    let application_cryptogram = key(raw.imk_ac.ok_or_else(|| missing("imk_ac"))?, "imk_ac", at)?;
    let secure_messaging_integrity = key(
        raw.imk_smi.ok_or_else(|| missing("imk_smi"))?,
        "imk_smi",
        at,
    )?;
    let secure_messaging_confidentiality = match raw.imk_smc {
        Some(value) => Some(key(value, "imk_smc", at)?),
        None => None,
    };
    let derivation = match &raw.derivation {
        None => MasterKeyDerivation::OptionA,
        Some(value) => match value.get_ref().as_str() {
            "option-a" => MasterKeyDerivation::OptionA,
            "option-b" => MasterKeyDerivation::OptionB,
            _ => {
                return Err(at(
                    value.span(),
                    "derivation",
                    "expected \"option-a\" or \"option-b\" (Book 2, A1.4)".to_owned(),
                ))
            }
        },
    };
    let session_key = raw
        .session_key
        .as_ref()
        .ok_or_else(|| missing("session_key"))?;
    let session_key = match session_key.get_ref().as_str() {
        "emv-common" => SessionKeyMethod::EmvCommon,
        "atc" => SessionKeyMethod::AtcOnly,
        "master-key" => SessionKeyMethod::MasterKey,
        _ => {
            return Err(at(
                session_key.span(),
                "session_key",
                "expected \"emv-common\" (R = ATC || 0000 || UN), \"atc\" (R = ATC || 00..00, the test cards) or \"master-key\" (no session key)".to_owned(),
            ))
        }
    };
    let arqc_input = raw
        .arqc_input
        .as_ref()
        .ok_or_else(|| missing("arqc_input"))?;
    let arqc_input = input_parts(arqc_input.get_ref())
        .map_err(|message| at(arqc_input.span(), "arqc_input", message))?;
    let arpc = match &raw.arpc_method {
        None => ArpcMethod::Method1,
        Some(method) if *method.get_ref() == 1 => ArpcMethod::Method1,
        Some(method) if *method.get_ref() == 2 => {
            let csu = raw
                .card_status_update
                .as_ref()
                .ok_or_else(|| missing("card_status_update"))?;
            let card_status_update = fixed_hex::<4>(csu, "card_status_update", at)?;
            let proprietary = match &raw.proprietary_authentication_data {
                Some(value) => {
                    let bytes = hex_field(value, "proprietary_authentication_data", at)?;
                    if bytes.len() > 8 {
                        return Err(at(
                            value.span(),
                            "proprietary_authentication_data",
                            format!("{} bytes; at most 8 (Book 2, 8.2.2)", bytes.len()),
                        ));
                    }
                    bytes
                }
                None => Vec::new(),
            };
            ArpcMethod::Method2 {
                card_status_update,
                proprietary,
            }
        }
        Some(method) => {
            return Err(at(
                method.span(),
                "arpc_method",
                "expected 1 or 2 (Book 2, 8.2.1 and 8.2.2)".to_owned(),
            ))
        }
    };
    if matches!(arpc, ArpcMethod::Method1) {
        if let Some((name, span)) = [
            ("card_status_update", &raw.card_status_update),
            (
                "proprietary_authentication_data",
                &raw.proprietary_authentication_data,
            ),
        ]
        .into_iter()
        .find_map(|(name, v)| v.as_ref().map(|v| (name, v.span())))
        {
            return Err(at(span, name, "only with arpc_method = 2".to_owned()));
        }
    }
    let arc = match &raw.arc {
        Some(value) => arc_field(value, "arc", at)?,
        None => *b"00",
    };
    let decline_arc = match &raw.decline_arc {
        Some(value) => arc_field(value, "decline_arc", at)?,
        None => *b"05",
    };
    let approve = raw
        .approve
        .as_ref()
        .map(|v| *v.get_ref())
        .unwrap_or_else(|| arc_approves(arc));
    let mut scripts = Vec::new();
    for (index, script) in raw.script.iter().flatten().enumerate() {
        scripts.push(read_script(script, index + 1, at)?);
    }
    let keys = IssuerKeys {
        application_cryptogram,
        secure_messaging_integrity,
        secure_messaging_confidentiality,
    };
    let scheme = Scheme {
        derivation,
        session_key,
        arqc_input,
        arpc,
    };
    Ok(Host::Keys(KeysHost {
        issuer: Issuer::new(keys, scheme),
        arc,
        approve,
        decline_arc,
        scripts,
    }))
}

fn fixed_host(raw: RawFile, at: &At<'_>) -> Result<Host, HostFileError> {
    let arc = raw.arc.as_ref().ok_or_else(|| HostFileError {
        path: None,
        line: None,
        field: Some("arc".to_owned()),
        message: "missing (needed with mode = \"fixed\")".to_owned(),
    })?;
    let arc = arc_field(arc, "arc", at)?;
    let approve = raw
        .approve
        .as_ref()
        .map(|v| *v.get_ref())
        .unwrap_or_else(|| arc_approves(arc));
    let issuer_authentication_data = match &raw.issuer_authentication_data {
        Some(value) => {
            let bytes = hex_field(value, "issuer_authentication_data", at)?;
            // Book 3, Annex A: Issuer Authentication Data is 8 to 16 bytes; a
            // fixed host may send other lengths on purpose, to test the terminal.
            if bytes.len() > 255 {
                return Err(at(
                    value.span(),
                    "issuer_authentication_data",
                    "more than 255 bytes".to_owned(),
                ));
            }
            Some(bytes)
        }
        None => None,
    };
    let scripts = match &raw.scripts {
        Some(value) => hex_field(value, "scripts", at)?,
        None => Vec::new(),
    };
    Ok(Host::Fixed(FixedHost {
        arc,
        approve,
        issuer_authentication_data,
        scripts,
    }))
}

fn read_script(script: &RawScript, number: usize, at: &At<'_>) -> Result<Script, HostFileError> {
    let name = |field: &str| format!("script[{number}].{field}");
    let template = match *script.template.get_ref() {
        71 => ScriptTemplate::Before,
        72 => ScriptTemplate::After,
        _ => {
            return Err(at(
                script.template.span(),
                &name("template"),
                "expected 71 (before the final GENERATE AC) or 72 (after)".to_owned(),
            ))
        }
    };
    let identifier = match &script.identifier {
        Some(value) => Some(fixed_hex::<4>(value, &name("identifier"), at)?),
        None => None,
    };
    if script.command.is_empty() {
        return Err(at(
            script.template.span(),
            &name("command"),
            "a script needs at least one [[script.command]]".to_owned(),
        ));
    }
    let mut commands = Vec::new();
    for (index, command) in script.command.iter().enumerate() {
        let field = |f: &str| format!("script[{number}].command[{}].{f}", index + 1);
        let header = fixed_hex::<4>(&command.header, &field("header"), at)?;
        let data = match &command.data {
            Some(value) => {
                let data = hex_field(value, &field("data"), at)?;
                // Lc covers the data and the 4-byte MAC.
                if data.len() > 251 {
                    return Err(at(
                        value.span(),
                        &field("data"),
                        format!("{} bytes; at most 251 with the 4-byte MAC", data.len()),
                    ));
                }
                data
            }
            None => Vec::new(),
        };
        commands.push((header, data));
    }
    Ok(Script {
        template,
        identifier,
        commands,
    })
}

/// `"test-cards"`, `"cdol1"`, or a list of `cdol1`, `aip`, `atc`, `iad:N-M`.
fn input_parts(input: &ArqcInput) -> Result<Vec<InputPart>, String> {
    let expected = "expected \"test-cards\" or a list of \"cdol1\", \"aip\", \"atc\", \"iad:N-M\" (bytes N to M of the Issuer Application Data, from 1)";
    match input {
        ArqcInput::Preset(name) if name == "test-cards" => Ok(TEST_CARDS_ARQC_INPUT.to_vec()),
        ArqcInput::Preset(name) if name == "cdol1" => Ok(vec![InputPart::Cdol1]),
        ArqcInput::Preset(_) => Err(expected.to_owned()),
        ArqcInput::Parts(parts) if parts.is_empty() => Err(expected.to_owned()),
        ArqcInput::Parts(parts) => parts
            .iter()
            .map(|part| match part.as_str() {
                "cdol1" => Ok(InputPart::Cdol1),
                "aip" => Ok(InputPart::Aip),
                "atc" => Ok(InputPart::Atc),
                other => other
                    .strip_prefix("iad:")
                    .and_then(|range| range.split_once('-'))
                    .and_then(|(a, b)| Some((a.parse::<usize>().ok()?, b.parse::<usize>().ok()?)))
                    .filter(|(first, last)| *first >= 1 && first <= last && *last <= 32)
                    .map(|(first, last)| InputPart::Iad { first, last })
                    .ok_or_else(|| expected.to_owned()),
            })
            .collect(),
    }
}

/// A 16-byte key in 32 hex digits, the text wiped after decoding.
fn key(value: Spanned<String>, field: &str, at: &At<'_>) -> Result<MasterKey, HostFileError> {
    let span = value.span();
    let text = value.into_inner();
    let digits: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    wipe(text);
    let decoded = hex::decode(&digits);
    wipe(digits);
    match decoded {
        Ok(mut bytes) if bytes.len() == 16 => {
            let mut key = [0u8; 16];
            key.copy_from_slice(&bytes);
            bytes.fill(0);
            let master = MasterKey::new(key);
            key.fill(0);
            Ok(master)
        }
        Ok(mut bytes) => {
            let length = bytes.len();
            bytes.fill(0);
            Err(at(
                span,
                field,
                format!("expected a double-length key, 32 hex digits (found {length} bytes)"),
            ))
        }
        Err(_) => Err(at(
            span,
            field,
            "expected a double-length key, 32 hex digits (found other characters)".to_owned(),
        )),
    }
}

fn hex_field(value: &Spanned<String>, field: &str, at: &At<'_>) -> Result<Vec<u8>, HostFileError> {
    let text: String = value
        .get_ref()
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    hex::decode(text).map_err(|_| {
        at(
            value.span(),
            field,
            "expected hex digits, in pairs".to_owned(),
        )
    })
}

fn fixed_hex<const N: usize>(
    value: &Spanned<String>,
    field: &str,
    at: &At<'_>,
) -> Result<[u8; N], HostFileError> {
    let bytes = hex_field(value, field, at)?;
    <[u8; N]>::try_from(bytes.as_slice()).map_err(|_| {
        at(
            value.span(),
            field,
            format!(
                "expected {N} bytes ({} hex digits), found {}",
                2 * N,
                bytes.len()
            ),
        )
    })
}

/// An Authorisation Response Code: two characters (an 2, e.g. `"00"`, `"05"`), or 4 hex digits.
fn arc_field(value: &Spanned<String>, field: &str, at: &At<'_>) -> Result<[u8; 2], HostFileError> {
    let text = value.get_ref();
    if let Ok(arc) = <[u8; 2]>::try_from(text.as_bytes()) {
        if arc.iter().all(u8::is_ascii_alphanumeric) {
            return Ok(arc);
        }
    }
    if text.len() == 4 {
        if let Ok(bytes) = hex::decode(text) {
            if let Ok(arc) = <[u8; 2]>::try_from(bytes.as_slice()) {
                return Ok(arc);
            }
        }
    }
    Err(at(
        value.span(),
        field,
        "expected two characters like \"00\" or \"05\" (or 4 hex digits for other bytes)"
            .to_owned(),
    ))
}

/// The 1-based line of byte `offset`.
fn line_of(text: &str, offset: usize) -> usize {
    1 + text.get(..offset).unwrap_or(text).matches('\n').count()
}

/// A TOML or type error, with its line and the field written on that line;
/// anything quoted in the message is left out (it could be a key).
fn syntax_error(text: &str, error: &toml::de::Error) -> HostFileError {
    let line = error.span().map(|span| line_of(text, span.start));
    let field = line.and_then(|line| field_on_line(text, line));
    HostFileError {
        path: None,
        line,
        field,
        message: redact(error.message()),
    }
}

/// The key written on `line` (left of `=`), prefixed by its table header.
fn field_on_line(text: &str, line: usize) -> Option<String> {
    let lines: Vec<&str> = text.lines().collect();
    let here = lines.get(line.checked_sub(1)?)?;
    let key = here.split_once('=')?.0.trim();
    if key.is_empty() || key.starts_with('#') {
        return None;
    }
    let table = lines
        .get(..line - 1)?
        .iter()
        .rev()
        .map(|l| l.trim())
        .find(|l| l.starts_with('['))
        .map(|l| l.trim_matches(|c| c == '[' || c == ']').trim().to_owned());
    Some(match table {
        Some(table) => format!("{table}.{key}"),
        None => key.to_owned(),
    })
}

/// Replaces quoted text (`"..."` and `` `...` `` after "string") in a parser message.
fn redact(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut quote: Option<char> = None;
    for c in message.chars() {
        match quote {
            Some(q) if c == q => {
                out.push_str("...");
                out.push(c);
                quote = None;
            }
            Some(_) => {}
            None if c == '"' => {
                out.push(c);
                quote = Some(c);
            }
            None => out.push(c),
        }
    }
    if quote.is_some() {
        out.push_str("...");
    }
    out.trim_end().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEYS: &str = r#"
mode = "keys"
imk_ac = "0E1F2C3D4A5B68798697A4B5C2D3E0F1"
imk_smi = "F1E0D3C2B5A4978679685B4A3D2C1F0E"
session_key = "atc"
arqc_input = "test-cards"
"#;

    fn error(text: &str) -> HostFileError {
        match parse(text) {
            Ok(_) => panic!("parsed: {text}"),
            Err(e) => e,
        }
    }

    #[test]
    fn a_keys_file_with_defaults() {
        let Host::Keys(host) = parse(KEYS).unwrap() else {
            panic!("not keys")
        };
        assert_eq!(host.arc, *b"00");
        assert!(host.approve);
        assert_eq!(host.decline_arc, *b"05");
        assert_eq!(host.issuer.scheme(), &Scheme::test_cards());
        assert!(host.scripts.is_empty());
    }

    #[test]
    fn method_2_scripts_and_input_parts() {
        let text = format!(
            "{KEYS}arpc_method = 2\ncard_status_update = \"00820000\"\nproprietary_authentication_data = \"A1B2\"\narc = \"05\"\n\
             [[script]]\ntemplate = 71\nidentifier = \"11223344\"\n[[script.command]]\nheader = \"841E0000\"\n\
             [[script]]\ntemplate = 72\n[[script.command]]\nheader = \"04DA9F14\"\ndata = \"05\"\n"
        )
        .replace("\"test-cards\"", "[\"cdol1\", \"aip\", \"atc\", \"iad:3-6\"]");
        let Host::Keys(host) = parse(&text).unwrap() else {
            panic!("not keys")
        };
        assert_eq!(
            host.issuer.scheme().arpc,
            ArpcMethod::Method2 {
                card_status_update: [0x00, 0x82, 0, 0],
                proprietary: vec![0xA1, 0xB2]
            }
        );
        assert_eq!(host.issuer.scheme().arqc_input, TEST_CARDS_ARQC_INPUT);
        assert!(!host.approve, "ARC 05 declines");
        assert_eq!(host.scripts.len(), 2);
        assert_eq!(host.scripts[0].template, ScriptTemplate::Before);
        assert_eq!(host.scripts[0].identifier, Some([0x11, 0x22, 0x33, 0x44]));
        assert_eq!(host.scripts[1].commands, [([4, 0xDA, 0x9F, 0x14], vec![5])]);
    }

    #[test]
    fn a_fixed_file() {
        let text = "mode = \"fixed\"\narc = \"05\"\nissuer_authentication_data = \"0011223344556677 3030\"\nscripts = \"7206860400000000\"\n";
        let Host::Fixed(host) = parse(text).unwrap() else {
            panic!("not fixed")
        };
        assert_eq!(host.arc, *b"05");
        assert!(!host.approve);
        assert_eq!(
            host.issuer_authentication_data.as_ref().map(Vec::len),
            Some(10)
        );
        assert_eq!(host.scripts.len(), 8);
    }

    #[test]
    fn errors_name_line_and_field_but_never_the_value() {
        // A key one digit short, on line 3.
        let e = error(&KEYS.replace(
            "0E1F2C3D4A5B68798697A4B5C2D3E0F1",
            "0E1F2C3D4A5B68798697A4B5C2D3E0F",
        ));
        assert_eq!((e.line, e.field.as_deref()), (Some(3), Some("imk_ac")));
        assert!(!e.to_string().contains("0E1F2C"), "{e}");
        // A key where a number is expected: the type error hides the string.
        let e = error(&format!(
            "{KEYS}arpc_method = \"0E1F2C3D4A5B68798697A4B5C2D3E0F1\"\n"
        ));
        assert_eq!(
            (e.line, e.field.as_deref()),
            (Some(7), Some("arpc_method")),
            "{e}"
        );
        assert!(!e.to_string().contains("0E1F2C"), "{e}");
        // Unknown field.
        let e = error(&format!("{KEYS}imk_acc = \"00\"\n"));
        assert_eq!(e.line, Some(7), "{e}");
        assert!(e.message.contains("imk_acc"), "{e}");
        // Missing field, mode mismatch, bad choices.
        let e = error(&KEYS.replace("session_key = \"atc\"\n", ""));
        assert_eq!(e.field.as_deref(), Some("session_key"));
        let e = error("mode = \"fixed\"\narc = \"00\"\nimk_ac = \"00\"\n");
        assert_eq!((e.line, e.field.as_deref()), (Some(3), Some("imk_ac")));
        let e = error(&KEYS.replace("\"atc\"", "\"atc2\""));
        assert_eq!((e.line, e.field.as_deref()), (Some(5), Some("session_key")));
        let e = error(&KEYS.replace("\"test-cards\"", "[\"iad:0-3\"]"));
        assert_eq!((e.line, e.field.as_deref()), (Some(6), Some("arqc_input")));
        let e = error(&format!("{KEYS}arpc_method = 2\n"));
        assert_eq!(e.field.as_deref(), Some("card_status_update"));
        let e = error(&format!("{KEYS}card_status_update = \"00000000\"\n"));
        assert_eq!(
            (e.line, e.field.as_deref()),
            (Some(7), Some("card_status_update"))
        );
        let e = error(&format!(
            "{KEYS}[[script]]\ntemplate = 72\n[[script.command]]\nheader = \"04DA9F\"\n"
        ));
        assert_eq!(
            (e.line, e.field.as_deref()),
            (Some(10), Some("script[1].command[1].header"))
        );
        let e = error(&format!(
            "{KEYS}[[script]]\ntemplate = 73\n[[script.command]]\nheader = \"04DA9F14\"\n"
        ));
        assert_eq!(
            (e.line, e.field.as_deref()),
            (Some(8), Some("script[1].template"))
        );
        let e = error("mode = \"fixed\"\narc = \"000\"\n");
        assert_eq!((e.line, e.field.as_deref()), (Some(2), Some("arc")));
        let e = error("mode = \"fixed\"\narc = \"00\"\nscripts = \"7G\"\n");
        assert_eq!((e.line, e.field.as_deref()), (Some(3), Some("scripts")));
        let e = error("mode = \"other\"\n");
        assert_eq!((e.line, e.field.as_deref()), (Some(1), Some("mode")));
        // Broken TOML: the line, and the quoted text left out.
        let e = error("mode = \"keys\"\nimk_ac = \"0E1F2C3D4A5B68798697A4B5C2D3E0F1\n");
        assert_eq!(e.line, Some(2), "{e}");
        assert!(!e.to_string().contains("0E1F2C"), "{e}");
    }

    #[test]
    fn debug_output_hides_the_keys() {
        let host = parse(KEYS).unwrap();
        let shown = format!("{host:?}");
        assert!(
            !shown.contains("14, 31") && !shown.contains("0E1F"),
            "{shown}"
        );
        assert!(shown.contains("MasterKey(..)"));
    }

    #[cfg(unix)]
    #[test]
    fn a_world_readable_keys_file_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("host.toml");
        std::fs::write(&path, KEYS).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let e = load(&path).unwrap_err();
        assert!(e.message.contains("chmod 600"), "{e}");
        assert_eq!(e.path.as_deref(), Some(path.as_path()));
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert!(matches!(load(&path), Ok(Host::Keys(_))));
        // A fixed answer holds no keys: readable is fine.
        std::fs::write(&path, "mode = \"fixed\"\narc = \"05\"\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(matches!(load(&path), Ok(Host::Fixed(_))));
    }
}
