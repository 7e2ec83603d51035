//! Online processing: issuer authentication (Book 3, 10.9) and issuer-to-card
//! script processing (Book 3, 10.10).
//!
//! The host's answer is copied into fixed buffers (the kernel keeps it across
//! several command exchanges); scripts are walked one command at a time, and
//! each command's result goes into the Issuer Script Results (9F5B).

use crate::apdu::{build_command, Command};
use crate::limits::{ISSUER_SCRIPT_BYTES, SCRIPT_RESULTS_BYTES};
use crate::tlv::{self, Tag};
use heapless::Vec;

/// Issuer Script Template 1 (71): performed before the final GENERATE AC.
pub const SCRIPT_BEFORE_FINAL_GENERATE_AC: Tag = Tag(0x71);
/// Issuer Script Template 2 (72): performed after the final GENERATE AC.
pub const SCRIPT_AFTER_FINAL_GENERATE_AC: Tag = Tag(0x72);
/// Issuer Script Command (86) inside a template.
const SCRIPT_COMMAND: Tag = Tag(0x86);
/// Issuer Script Identifier (9F18) inside a template.
const SCRIPT_IDENTIFIER: Tag = Tag(0x9F18);

/// The issuer's answer as the host gives it to the kernel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HostResponse<'h> {
    /// Whether the issuer (or its stand-in) answered at all.
    pub reachable: bool,
    /// Whether the issuer approved the transaction.
    pub approved: bool,
    /// Authorisation Response Code (8A) from the issuer.
    pub authorisation_response_code: [u8; 2],
    /// Issuer Authentication Data (91) value, if sent.
    pub issuer_authentication_data: Option<&'h [u8]>,
    /// Issuer scripts: templates 71 and 72, concatenated as received.
    pub scripts: &'h [u8],
}

impl HostResponse<'_> {
    /// The answer when the host could not be reached.
    pub const UNREACHABLE: HostResponse<'static> = HostResponse {
        reachable: false,
        approved: false,
        authorisation_response_code: [0, 0],
        issuer_authentication_data: None,
        scripts: &[],
    };
}

/// Writes EXTERNAL AUTHENTICATE (`00 82 00 00 Lc data`), Book 3, 6.5.4.
pub fn build_external_authenticate(
    issuer_authentication_data: &[u8],
    command: &mut Command,
) -> bool {
    build_command(
        command,
        [0x00, 0x82, 0x00, 0x00],
        Some(issuer_authentication_data),
        false,
    )
}

/// The issuer scripts kept from the host's answer.
#[derive(Clone, Debug, Default)]
pub struct IssuerScripts {
    bytes: Vec<u8, ISSUER_SCRIPT_BYTES>,
    results: Vec<u8, SCRIPT_RESULTS_BYTES>,
    /// Templates that did not fit [`ISSUER_SCRIPT_BYTES`] or were malformed.
    pub discarded: usize,
}

/// One script command to send.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScriptCommand<'a> {
    /// The command APDU (value of 86).
    pub apdu: &'a [u8],
    /// Ordinal of the template among the kept templates.
    pub template: usize,
    /// 1-based position of the command in its template.
    pub sequence: u8,
    /// Issuer Script Identifier (9F18), zeros when absent.
    pub identifier: [u8; 4],
}

impl IssuerScripts {
    /// Keeps the well-formed 71 and 72 templates of `scripts` that fit.
    pub fn from_host(scripts: &[u8]) -> Self {
        let mut kept = IssuerScripts::default();
        for template in tlv::iter(scripts) {
            let Ok(template) = template else {
                kept.discarded += 1;
                break;
            };
            let is_script = template.tag == SCRIPT_BEFORE_FINAL_GENERATE_AC
                || template.tag == SCRIPT_AFTER_FINAL_GENERATE_AC;
            if !is_script {
                continue;
            }
            let well_formed = tlv::validate(template.value).is_ok();
            if !well_formed || kept.bytes.extend_from_slice(template.raw).is_err() {
                kept.discarded += 1;
            }
        }
        kept
    }

    /// Whether any template of `phase` (71 or 72) was kept.
    pub fn has(&self, phase: Tag) -> bool {
        tlv::iter(&self.bytes)
            .map_while(Result::ok)
            .any(|t| t.tag == phase)
    }

    /// The `index`-th command (0-based, across templates) of `phase`.
    pub fn command(&self, phase: Tag, index: usize) -> Option<ScriptCommand<'_>> {
        let mut seen = 0usize;
        let templates = tlv::iter(&self.bytes).map_while(Result::ok).enumerate();
        for (ordinal, template) in templates {
            if template.tag != phase {
                continue;
            }
            let mut identifier = [0u8; 4];
            if let Some(id) = tlv::find(template.value, SCRIPT_IDENTIFIER) {
                if let Ok(id) = <[u8; 4]>::try_from(id) {
                    identifier = id;
                }
            }
            let commands = tlv::iter(template.value)
                .map_while(Result::ok)
                .filter(|t| t.tag == SCRIPT_COMMAND);
            for (position, command) in commands.enumerate() {
                if seen == index {
                    return Some(ScriptCommand {
                        apdu: command.value,
                        template: ordinal,
                        sequence: u8::try_from(position + 1).unwrap_or(u8::MAX),
                        identifier,
                    });
                }
                seen += 1;
            }
        }
        None
    }

    /// Book 3, 10.10: records one command's result in the Issuer Script
    /// Results: result nibble (1 failed, 2 successful) and sequence number
    /// (15 for 15 and above), then the script identifier.
    pub fn record_result(&mut self, sequence: u8, identifier: [u8; 4], successful: bool) {
        let result = if successful { 0x20 } else { 0x10 };
        let [a, b, c, d] = identifier;
        let entry = [result | sequence.min(0x0F), a, b, c, d];
        // Results beyond the capacity are dropped; the TVR bit still reports failure.
        let _ = self.results.extend_from_slice(&entry);
    }

    /// Issuer Script Results (9F5B) so far.
    pub fn results(&self) -> &[u8] {
        &self.results
    }
}

/// Book 3, 10.10: a script command succeeded when SW1 is `90`, `62` or `63`.
pub fn script_command_succeeded(status: u16) -> bool {
    matches!(status >> 8, 0x90 | 0x62 | 0x63)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walks_script_commands_and_records_results() {
        let scripts = [
            0x71, 0x13, 0x9F, 0x18, 0x04, 0x11, 0x22, 0x33, 0x44, 0x86, 0x04, 0x84, 0x24, 0x00,
            0x00, 0x86, 0x04, 0x84, 0x1E, 0x00, 0x00, // 71 with two commands
            0x72, 0x06, 0x86, 0x04, 0x80, 0xCA, 0x9F, 0x36, // 72 without identifier
        ];
        let mut kept = IssuerScripts::from_host(&scripts);
        assert_eq!(kept.discarded, 0);
        assert!(kept.has(SCRIPT_BEFORE_FINAL_GENERATE_AC));
        let first = kept.command(SCRIPT_BEFORE_FINAL_GENERATE_AC, 0).unwrap();
        assert_eq!(first.apdu, &[0x84, 0x24, 0x00, 0x00]);
        assert_eq!(first.identifier, [0x11, 0x22, 0x33, 0x44]);
        let second = kept.command(SCRIPT_BEFORE_FINAL_GENERATE_AC, 1).unwrap();
        assert_eq!(second.sequence, 2);
        assert!(kept.command(SCRIPT_BEFORE_FINAL_GENERATE_AC, 2).is_none());
        let after = kept.command(SCRIPT_AFTER_FINAL_GENERATE_AC, 0).unwrap();
        assert_eq!(after.template, 1);
        let (s1, s2, id) = (first.sequence, second.sequence, first.identifier);
        kept.record_result(s1, id, true);
        kept.record_result(s2, id, false);
        assert_eq!(
            kept.results(),
            &[0x21, 0x11, 0x22, 0x33, 0x44, 0x12, 0x11, 0x22, 0x33, 0x44]
        );
        assert!(script_command_succeeded(0x9000) && script_command_succeeded(0x6283));
        assert!(!script_command_succeeded(0x6985));
    }

    #[test]
    fn oversized_scripts_are_discarded() {
        let mut big = [0u8; 600];
        big[0] = 0x71;
        big[1] = 0x82;
        big[2] = 0x02;
        big[3] = 0x54;
        let kept = IssuerScripts::from_host(&big[..600]);
        assert_eq!(kept.discarded, 1);
        assert!(!kept.has(SCRIPT_BEFORE_FINAL_GENERATE_AC));
    }
}
