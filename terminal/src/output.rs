//! What `transact` prints: the steps as they happen, then the outcome, in
//! words (TVR and TSI decoded bit by bit) or as one JSON object.

use std::fmt::Write as _;

use emv_kernel::outcome::{
    CryptogramType, Decision, OdaMethod, OdaResult, Outcome, TerminationReason,
};
use emv_kernel::render;
use emv_kernel::tlv::Tag;
use serde::Serialize;

/// The version of the `transact --json` contract (`docs/schema/transact.schema.json`):
/// raised when a field is removed, renamed or changes type.
pub const SCHEMA_VERSION: u32 = 1;

/// A failure or termination as a stable snake_case code plus words for people.
/// A message the kernel emitted (Book 4, 11.2), as shown.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ShownMessage {
    /// The Book 4, 11.2 identifier as two hex digits (`"09"`); `None` for a
    /// message without one (LAST PIN TRY).
    pub id: Option<String>,
    /// A stable snake_case code (`enter_pin`).
    pub code: &'static str,
    /// The text in the transaction's language.
    pub text: &'static str,
}

impl ShownMessage {
    /// `message` in `language`.
    pub fn new(
        message: emv_kernel::messages::Message,
        language: emv_kernel::messages::Language,
    ) -> Self {
        ShownMessage {
            id: message.standard_id().map(|id| format!("{id:02X}")),
            code: message.code(),
            text: message.text(language),
        }
    }

    /// The step line for it: `[message 09] ENTER PIN`.
    pub fn line(&self) -> String {
        match &self.id {
            Some(id) => format!("[message {id}] {}", self.text),
            None => format!("[message] {}", self.text),
        }
    }
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Reason {
    /// Stable snake_case code (`card_blocked`, `dynamic_signature.hash`, `missing.9F46`).
    pub code: String,
    /// The same in words, with the rule it comes from when there is one.
    pub text: String,
}

/// The transaction's result as printed; field names are the `--json` contract
/// (`docs/schema/transact.schema.json`). Every field is always present; an absent value
/// is `null`, never an empty string.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Report {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The terminal's decision: `approved`, `declined` or `terminated`. The only field
    /// that says whether the purchase went through.
    pub decision: &'static str,
    /// `offline` or `online` (the issuer answered).
    pub mode: &'static str,
    /// Authorisation Response Code (8A) as its two characters (`Y1`, `Z3`, `00`).
    pub authorisation_response_code: Option<String>,
    /// The cryptogram type the card answered with (`TC`, `ARQC`, `AAC`): what the card
    /// asked for, not the decision (after a failed CDA check the decision is declined
    /// even when the card answered TC).
    pub card_cryptogram: Option<&'static str>,
    /// Application Cryptogram (9F26), 16 hex digits.
    pub application_cryptogram: Option<String>,
    /// Application Transaction Counter (9F36) as a number.
    pub atc: Option<u16>,
    /// The selected application (84), hex; `null` before selection.
    pub aid: Option<String>,
    /// Application Label or Preferred Name.
    pub application_label: Option<String>,
    /// PAN with the middle digits masked.
    pub masked_pan: Option<String>,
    /// Terminal Verification Results (95), 10 hex digits.
    pub tvr: String,
    /// Transaction Status Information (9B), 4 hex digits.
    pub tsi: String,
    /// CVM Results (9F34), 6 hex digits.
    pub cvm_results: String,
    /// `sda`, `dda`, `cda` or `none`.
    pub oda: &'static str,
    /// `ok`, `failed` or `not_performed`.
    pub oda_result: &'static str,
    /// Why offline data authentication failed, when it did (`OdaFailure::code`, Book 2).
    pub oda_failure: Option<Reason>,
    /// The CVM performed asks for the cardholder's signature on the receipt.
    pub signature_required: bool,
    /// The card asked for an advice message (CID b4).
    pub advice_required: bool,
    /// The issuer approved and the card declined at the second GENERATE AC:
    /// the host's approval must be reversed.
    pub reversal_required: bool,
    /// The issuer referred the transaction (ARC 01/02): `approved` or
    /// `declined` by the attendant's voice referral (Book 4, 6.5.2).
    pub referral: Option<&'static str>,
    /// The attendant forced acceptance of the card's decline (Book 4,
    /// 6.5.4): `decision` is `approved`, `card_cryptogram` the card's AAC.
    pub forced_acceptance: bool,
    /// ICC data for clearing (field 55), hex.
    pub icc_data: Option<String>,
    /// Issuer Script Results (9F5B), hex; `null` when no script ran.
    pub script_results: Option<String>,
    /// Why the transaction was terminated (`TerminationReason::code`).
    pub termination_reason: Option<Reason>,
    /// Why the terminal forced the transaction online (offline limit reached).
    pub forced_online_reason: Option<String>,
    /// What the host simulator did, when the transaction went online.
    pub host: Option<String>,
    /// The language messages were shown in (Book 4, 11.1), ISO 639-1.
    pub language: String,
    /// The messages the kernel emitted, in order (Book 4, 11.2).
    pub messages: Vec<ShownMessage>,
    /// Amount, Authorised in minor units.
    pub amount_authorised: u64,
    /// Amount, Other in minor units.
    pub amount_other: u64,
    /// Transaction Currency Code (5F2A), the ISO 4217 numeric code as 3 digits (`978`).
    pub currency_code: String,
    /// Journal record id, when the transaction reached GENERATE AC with a journal.
    pub journal_record: Option<i64>,
    /// Which journal was written: `null` without one.
    pub journal: Option<String>,
}

/// `Some(text)` unless `text` is empty.
fn non_empty(text: String) -> Option<String> {
    (!text.is_empty()).then_some(text)
}

/// A numeric code in BCD (`[0x09, 0x78]`) as its 3 ISO digits (`978`).
pub fn numeric_code(bcd: [u8; 2]) -> String {
    let digits = hex::encode_upper(bcd);
    digits.get(1..).unwrap_or_default().to_owned()
}

impl Report {
    /// The report of a kernel outcome; `transport_error` explains a
    /// [`TerminationReason::TransportFailed`].
    pub fn new(outcome: &Outcome, transport_error: Option<&str>) -> Report {
        let (decision, termination_reason) = match outcome.decision {
            Decision::Approved => ("approved", None),
            Decision::Declined if outcome.forced_acceptance => ("approved", None),
            Decision::Declined => ("declined", None),
            Decision::Terminated(reason) => (
                "terminated",
                Some(Reason {
                    code: reason.code().to_owned(),
                    text: termination_reason(reason, transport_error),
                }),
            ),
        };
        Report {
            schema_version: SCHEMA_VERSION,
            decision,
            mode: if outcome.online { "online" } else { "offline" },
            authorisation_response_code: outcome
                .authorisation_response_code
                .map(|code| emv_journal::export::arc_text(&code)),
            card_cryptogram: outcome.cryptogram_type.map(cryptogram_name),
            application_cryptogram: outcome.cryptogram.map(hex::encode_upper),
            atc: outcome.atc.map(u16::from_be_bytes),
            aid: non_empty(hex::encode_upper(&outcome.aid)),
            application_label: non_empty(
                String::from_utf8_lossy(&outcome.application_label).into_owned(),
            ),
            masked_pan: non_empty(String::from_utf8_lossy(&outcome.masked_pan).into_owned()),
            tvr: hex::encode_upper(outcome.tvr.0),
            tsi: hex::encode_upper(outcome.tsi.0),
            cvm_results: hex::encode_upper(outcome.cvm_results),
            oda: match outcome.oda_method {
                OdaMethod::None => "none",
                OdaMethod::Sda => "sda",
                OdaMethod::Dda => "dda",
                OdaMethod::Cda => "cda",
                OdaMethod::Xda => "xda",
            },
            oda_result: match outcome.oda_result {
                OdaResult::NotPerformed => "not_performed",
                OdaResult::Succeeded => "ok",
                OdaResult::Failed => "failed",
            },
            oda_failure: outcome.oda_failure.map(|failure| Reason {
                code: failure.code().to_string(),
                text: failure.to_string(),
            }),
            signature_required: outcome.signature_required,
            advice_required: outcome.advice_required,
            reversal_required: outcome.reversal_required,
            referral: outcome.referral.map(|r| r.code()),
            forced_acceptance: outcome.forced_acceptance,
            icc_data: non_empty(hex::encode_upper(&outcome.clearing_data)),
            script_results: non_empty(hex::encode_upper(&outcome.script_results)),
            termination_reason,
            forced_online_reason: None,
            host: None,
            language: String::from("en"),
            messages: Vec::new(),
            amount_authorised: 0,
            amount_other: 0,
            currency_code: String::new(),
            journal_record: None,
            journal: None,
        }
    }

    /// The report as one line of JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{}".to_owned())
    }

    /// The report in words, several lines.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let cryptogram = self.card_cryptogram.unwrap_or("no cryptogram");
        let _ = writeln!(
            out,
            "{} {} (card answered {cryptogram})",
            self.decision.to_uppercase(),
            self.mode
        );
        if let Some(reason) = &self.termination_reason {
            let _ = writeln!(out, "  reason:                 {}", reason.text);
        }
        if let Some(reason) = &self.forced_online_reason {
            let _ = writeln!(out, "  forced online:          {reason}");
        }
        if let Some(host) = &self.host {
            let _ = writeln!(out, "  host:                   {host}");
        }
        if let Some(code) = &self.authorisation_response_code {
            let _ = writeln!(out, "  authorisation response: {code}");
        }
        if let Some(aid) = &self.aid {
            let label = self.application_label.as_deref().unwrap_or_default();
            let _ = writeln!(out, "  application:            {aid} {label}");
        }
        if let Some(pan) = &self.masked_pan {
            let _ = writeln!(out, "  PAN:                    {pan}");
        }
        if let (Some(value), Some(atc)) = (&self.application_cryptogram, &self.atc) {
            let _ = writeln!(
                out,
                "  cryptogram:             {cryptogram} {value}, ATC {atc}"
            );
        }
        let _ = writeln!(
            out,
            "  offline data auth:      {} {}",
            self.oda.to_uppercase(),
            self.oda_result.replace('_', " ")
        );
        if let Some(failure) = &self.oda_failure {
            let _ = writeln!(
                out,
                "  ODA failure:            {} ({})",
                failure.text, failure.code
            );
        }
        detail(&mut out, "CVM results", &self.cvm_results, Tag(0x9F34));
        if self.signature_required {
            let _ = writeln!(out, "  signature:              required on the receipt");
        }
        if self.advice_required {
            let _ = writeln!(
                out,
                "  advice:                 the card asks for an advice message"
            );
        }
        if self.forced_acceptance {
            let _ = writeln!(
                out,
                "  forced acceptance:      the card declined; the attendant accepted"
            );
        }
        if let Some(referral) = self.referral {
            let _ = writeln!(
                out,
                "  issuer referral:        {referral} by the voice referral"
            );
        }
        if self.reversal_required {
            let _ = writeln!(
                out,
                "  reversal:               required (the issuer approved, the card declined)"
            );
        }
        detail(&mut out, "TVR", &self.tvr, Tag(0x95));
        detail(&mut out, "TSI", &self.tsi, Tag(0x9B));
        if let Some(results) = &self.script_results {
            let _ = writeln!(out, "  issuer script results:  {results}");
        }
        if let Some(icc_data) = &self.icc_data {
            let _ = writeln!(out, "  ICC data (field 55):    {icc_data}");
        }
        if let Some(id) = self.journal_record {
            let _ = writeln!(out, "  journal record:         {id}");
        }
        if let Some(journal) = &self.journal {
            let _ = writeln!(out, "  journal:                {journal}");
        }
        out
    }
}

/// One hex value with its decoded lines below it (`none set` for a zero bit string).
fn detail(out: &mut String, label: &str, value_hex: &str, tag: Tag) {
    let _ = writeln!(out, "  {:<23} {value_hex}", format!("{label}:"));
    let Ok(value) = hex::decode(value_hex) else {
        return;
    };
    let mut lines = 0;
    let _ = render::for_each_detail(tag, &value, |line| {
        lines += 1;
        let _ = writeln!(out, "    - {line}");
        Ok(())
    });
    if lines == 0 {
        let _ = writeln!(out, "    - no bit set");
    }
}

/// An amount in minor units written in major units: `1250` with exponent 2 is `12.50`.
pub fn format_amount(minor_units: u64, exponent: u8) -> String {
    let digits = format!("{minor_units:0>width$}", width = usize::from(exponent) + 1);
    let (whole, fraction) = digits.split_at(digits.len() - usize::from(exponent));
    if fraction.is_empty() {
        whole.to_owned()
    } else {
        format!("{whole}.{fraction}")
    }
}

/// `TC`, `ARQC` or `AAC`.
pub fn cryptogram_name(cryptogram: CryptogramType) -> &'static str {
    match cryptogram {
        CryptogramType::Aac => "AAC",
        CryptogramType::Tc => "TC",
        CryptogramType::Arqc => "ARQC",
    }
}

/// A termination reason in words, with the rule it comes from.
pub fn termination_reason(reason: TerminationReason, transport_error: Option<&str>) -> String {
    match reason {
        TerminationReason::CardBlocked => "card blocked: SELECT answered 6A81 (Book 1, 12.3.2)".to_owned(),
        TerminationReason::NoApplication => {
            "no application on the card is accepted by the terminal (Book 1, 12.4)".to_owned()
        }
        TerminationReason::ConfirmationNotSupported => {
            "the application requires cardholder confirmation, which the terminal cannot obtain (Book 1, 12.4)"
                .to_owned()
        }
        TerminationReason::Cancelled => "cancelled by the cardholder at application selection".to_owned(),
        TerminationReason::CardError { instruction, status } => {
            format!("card answered INS {instruction:02X} with status {status:04X}")
        }
        TerminationReason::CardDataFormat => "card data format error (Book 3, 10.2)".to_owned(),
        TerminationReason::InvalidAfl => "invalid Application File Locator (Book 3, 10.2)".to_owned(),
        TerminationReason::DuplicateData => {
            "a data object appears twice in the card records (Book 3, 10.2)".to_owned()
        }
        TerminationReason::MissingMandatoryData => {
            "mandatory card data missing: expiry date, PAN, CDOL1 or CDOL2 (Book 3, 10.2)".to_owned()
        }
        TerminationReason::CapacityExceeded => "card data exceeds a kernel capacity limit".to_owned(),
        TerminationReason::InvalidCryptogram => {
            "the card returned a cryptogram type not allowed here (Book 3, 9.3)".to_owned()
        }
        TerminationReason::TransportFailed => match transport_error {
            Some(error) => format!("card transport failed: {error}"),
            None => "card transport failed".to_owned(),
        },
        TerminationReason::StepLimit => "the card kept the kernel busy beyond its step bound".to_owned(),
        TerminationReason::NotStarted => "the transaction was not started".to_owned(),
    }
}

/// A command APDU's name for the step lines, from its CLA and INS.
pub fn command_name(command: &[u8]) -> &'static str {
    match (command.first(), command.get(1)) {
        (Some(0x00), Some(0xA4)) => "SELECT",
        (Some(0x00), Some(0xB2)) => "READ RECORD",
        (Some(0x80), Some(0xA8)) => "GET PROCESSING OPTIONS",
        (Some(0x80), Some(0xCA)) => "GET DATA",
        (Some(0x00), Some(0x88)) => "INTERNAL AUTHENTICATE",
        (Some(0x00), Some(0x84)) => "GET CHALLENGE",
        (Some(0x00), Some(0x20)) => "VERIFY",
        (Some(0x80), Some(0xAE)) => "GENERATE AC",
        (Some(0x00), Some(0x82)) => "EXTERNAL AUTHENTICATE",
        (Some(0x00), Some(0xC0)) => "GET RESPONSE",
        (Some(cla), _) if cla & 0x0C != 0 => "issuer script command",
        _ => "command",
    }
}

/// One step line: the kernel step, the command with its parameters, and
/// the card's status word. Never shows command data (VERIFY carries the
/// PIN block).
pub fn step_line(step: &str, command: &[u8], response: Option<&[u8]>) -> String {
    let mut line = format!("[{step}] {}", command_name(command));
    if let (Some(p1), Some(p2)) = (command.get(2), command.get(3)) {
        let _ = write!(line, " P1={p1:02X} P2={p2:02X}");
    }
    match command.get(..2) {
        // SELECT: the name selected is public (AID or 1PAY.SYS.DDF01).
        Some([0x00, 0xA4]) => {
            if let Some(name) = command.get(5..5 + usize::from(*command.get(4).unwrap_or(&0))) {
                if name.iter().all(|b| b.is_ascii_graphic()) {
                    let _ = write!(line, " {}", String::from_utf8_lossy(name));
                } else {
                    let _ = write!(line, " {}", hex::encode_upper(name));
                }
            }
        }
        // GENERATE AC: the cryptogram type asked for.
        Some([0x80, 0xAE]) => {
            let asked = match command.get(2).map(|p1| p1 & 0xC0) {
                Some(0x40) => "TC",
                Some(0x80) => "ARQC",
                _ => "AAC",
            };
            let cda = if command.get(2).is_some_and(|p1| p1 & 0x10 != 0) {
                " with CDA"
            } else {
                ""
            };
            let _ = write!(line, " ({asked}{cda})");
        }
        _ => {}
    }
    match response {
        Some(response) if response.len() >= 2 => {
            let status = &response[response.len() - 2..]; // ok: length checked just above
            let _ = write!(
                line,
                " -> {} bytes, SW {}",
                response.len() - 2,
                hex::encode_upper(status)
            );
        }
        Some(_) => line.push_str(" -> no status word"),
        None => line.push_str(" -> transport error"),
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_lines_name_commands_without_data() {
        let verify = [
            0x00, 0x20, 0x00, 0x80, 0x08, 0x24, 0x12, 0x34, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
        ];
        let line = step_line("cardholder verification", &verify, Some(&[0x90, 0x00]));
        assert_eq!(
            line,
            "[cardholder verification] VERIFY P1=00 P2=80 -> 0 bytes, SW 9000"
        );
        assert!(!line.contains("1234"));
        let select = [
            &[0x00, 0xA4, 0x04, 0x00, 0x0E][..],
            b"1PAY.SYS.DDF01",
            &[0x00],
        ]
        .concat();
        assert_eq!(
            step_line("application selection", &select, Some(&[0x6A, 0x82])),
            "[application selection] SELECT P1=04 P2=00 1PAY.SYS.DDF01 -> 0 bytes, SW 6A82"
        );
    }

    #[test]
    fn amounts_in_major_units() {
        assert_eq!(format_amount(1250, 2), "12.50");
        assert_eq!(format_amount(5, 2), "0.05");
        assert_eq!(format_amount(0, 2), "0.00");
        assert_eq!(format_amount(1000, 0), "1000");
        assert_eq!(format_amount(1, 3), "0.001");
    }

    #[test]
    fn empty_outcome_reports_terminated_with_reason() {
        let outcome = Outcome::empty(Decision::Terminated(TerminationReason::CardBlocked));
        let report = Report::new(&outcome, None);
        assert_eq!(report.decision, "terminated");
        assert_eq!(report.tvr, "0000000000");
        assert_eq!(report.cvm_results, "3F0000");
        assert_eq!(report.aid, None, "absent values are null, not empty");
        let reason = report.termination_reason.unwrap();
        assert_eq!(reason.code, "card_blocked");
        assert!(reason.text.contains("6A81"));
    }

    #[test]
    fn numeric_codes_have_three_digits() {
        assert_eq!(numeric_code([0x09, 0x78]), "978");
        assert_eq!(numeric_code([0x00, 0x56]), "056");
    }
}
