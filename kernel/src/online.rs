//! Online processing: issuer authentication (Book 3, 10.9) and issuer-to-card
//! script processing (Book 3, 10.10).
//!
//! The host's answer is copied into fixed buffers (the kernel keeps it across
//! several command exchanges); scripts are walked one command at a time, and
//! each command's result goes into the Issuer Script Results (9F5B).
//!
//! The transaction's step (the host's answer, EXTERNAL AUTHENTICATE, the
//! script commands of each phase) comes after the script data types.

use crate::apdu::{build_command, Command, CommandApdu, RequestedCryptogram};
use crate::context::{Context, Step};
use crate::initiate::{Aip, AIP_ISSUER_AUTHENTICATION};
use crate::limits::{ISSUER_SCRIPT_BYTES, SCRIPT_RESULTS_BYTES};
use crate::tlv::{self, Tag};
use crate::tvr::{self, Bit};
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
    /// Of [`Self::discarded`], the templates 72: their failure is reported
    /// with the "after final GENERATE AC" TVR bit (byte 5 b5), once the
    /// final GENERATE AC is done; the others with the "before" bit (b6).
    pub discarded_after_final: usize,
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
    /// No scripts, no results (the next transaction).
    pub(crate) fn clear(&mut self) {
        let IssuerScripts {
            bytes,
            results,
            discarded,
            discarded_after_final,
        } = self;
        bytes.clear();
        results.clear();
        *discarded = 0;
        *discarded_after_final = 0;
    }

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
                if template.tag == SCRIPT_AFTER_FINAL_GENERATE_AC {
                    kept.discarded_after_final += 1;
                }
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

    /// Whether the command after `index` of `phase` belongs to another
    /// template (or there is none): `index` ends its script.
    pub fn ends_its_script(&self, phase: Tag, index: usize) -> bool {
        match (
            self.command(phase, index),
            self.command(phase, index.saturating_add(1)),
        ) {
            (Some(this), Some(next)) => next.template != this.template,
            _ => true,
        }
    }

    /// Book 3, 10.10 and Annex A (Issuer Script Results, 9F5B): one 5-byte
    /// entry per script processed. Byte 1: result in b8-b5 (`2` successful,
    /// `1` failed) and, for a failed script, the sequence number of the
    /// command that failed in b4-b1 (`F` for 15 and above; `0` for a
    /// successful script); bytes 2-5: the Issuer Script Identifier (9F18),
    /// zeros when the script had none.
    pub fn record_script_result(&mut self, identifier: [u8; 4], result: ScriptResult) {
        let first = match result {
            ScriptResult::Successful => 0x20,
            ScriptResult::FailedAt(sequence) => 0x10 | sequence.min(0x0F),
        };
        let [a, b, c, d] = identifier;
        // Results beyond the capacity are dropped; the TVR bit still reports failure.
        let _ = self.results.extend_from_slice(&[first, a, b, c, d]);
    }

    /// Issuer Script Results (9F5B) so far.
    pub fn results(&self) -> &[u8] {
        &self.results
    }
}

/// How one issuer script ended (Book 3, 10.10).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScriptResult {
    /// Every command of the script succeeded.
    Successful,
    /// The command with this 1-based sequence number failed (or could not be
    /// sent); the script's later commands were not sent.
    FailedAt(u8),
}

/// Book 3, 10.10: a script command succeeded when SW1 is `90`, `62` or `63`.
pub fn script_command_succeeded(status: u16) -> bool {
    matches!(status >> 8, 0x90 | 0x62 | 0x63)
}

/// An issuer script command (value of 86) as a short command APDU: header,
/// then nothing, Le, or Lc + data (+ Le). `None` when it is not one.
fn script_apdu(raw: &[u8]) -> Option<Command> {
    let (header, body) = raw.split_first_chunk::<4>()?;
    let [cla, ins, p1, p2] = *header;
    let (data, le) = match body {
        [] => (&[][..], None),
        [le] => (&[][..], Some(*le)),
        [lc, rest @ ..] => {
            let (data, trailer) = rest.split_at_checked(usize::from(*lc))?;
            match trailer {
                [] => (data, None),
                [le] => (data, Some(*le)),
                _ => return None,
            }
        }
    };
    CommandApdu::new(cla, ins, p1, p2, data, le).ok()
}

// ---- the transaction's step: issuer authentication and scripts ------------

/// Book 3, 10.10, after the final GENERATE AC: a template 72 that was
/// discarded (malformed or too large) fails with the "script processing
/// failed after final GENERATE AC" bit (TVR byte 5 b5), set now so that the
/// TVR sent in the final GENERATE AC does not carry it.
pub(crate) fn after_final_generate_ac(cx: &mut Context<'_>, scripts: &IssuerScripts) {
    if scripts.discarded_after_final > 0 {
        cx.set_tvr(tvr::SCRIPT_FAILED_AFTER_FINAL_GENAC);
    }
}

/// Book 3, 10.10: which scripts run, and what follows them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ScriptPhase {
    /// Template 71, before the final GENERATE AC; whether the issuer
    /// approved decides what that GENERATE AC asks for.
    BeforeFinalGenerateAc {
        /// The issuer approved the transaction.
        host_approved: bool,
    },
    /// Template 72, after the final GENERATE AC; completion follows.
    AfterFinalGenerateAc,
}

impl ScriptPhase {
    fn template(self) -> Tag {
        match self {
            ScriptPhase::BeforeFinalGenerateAc { .. } => SCRIPT_BEFORE_FINAL_GENERATE_AC,
            ScriptPhase::AfterFinalGenerateAc => SCRIPT_AFTER_FINAL_GENERATE_AC,
        }
    }

    fn failed_bit(self) -> Bit {
        match self {
            ScriptPhase::BeforeFinalGenerateAc { .. } => tvr::SCRIPT_FAILED_BEFORE_FINAL_GENAC,
            ScriptPhase::AfterFinalGenerateAc => tvr::SCRIPT_FAILED_AFTER_FINAL_GENAC,
        }
    }
}

/// What follows the scripts of a phase.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AfterScripts {
    /// Book 3, 10.9: the second GENERATE AC, asking for a TC when the issuer
    /// approved, an AAC when it declined.
    SecondGenerateAc(RequestedCryptogram),
    /// Book 3, 10.11: completion.
    Completion,
}

/// Book 3, 10.9: EXTERNAL AUTHENTICATE sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct IssuerAuthentication {
    host_approved: bool,
}

/// Book 3, 10.10: a script command sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ScriptProcessing {
    phase: ScriptPhase,
    /// The command's index among the phase's commands.
    index: usize,
    /// The template one of whose commands failed: its other commands are
    /// not sent.
    failed_template: Option<usize>,
}

/// What online processing waits for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum OnlineWait {
    /// The card's answer to EXTERNAL AUTHENTICATE.
    IssuerAuthentication(IssuerAuthentication),
    /// The card's answer to a script command.
    Script(ScriptProcessing),
}

/// Whether an Authorisation Response Code is an issuer referral: `01`
/// "refer to card issuer" or `02` "refer to card issuer's special
/// conditions" (ISO 8583:1987 response codes, which the ARC carries, Book 4,
/// Annex A6). Book 4, 6.5.2 (voice referrals): the attendant calls the
/// issuer and the terminal completes the transaction with the answer.
pub fn is_issuer_referral(authorisation_response_code: [u8; 2]) -> bool {
    matches!(&authorisation_response_code, b"01" | b"02")
}

/// Book 3, 10.9: keeps what the issuer sent, its Authorisation Response
/// Code (8A), its Issuer Authentication Data (91, for EXTERNAL AUTHENTICATE
/// or CDOL2) and its scripts (71, 72), before anything is sent to the card.
/// Returns whether EXTERNAL AUTHENTICATE is to be sent: 91 was sent and the
/// card supports issuer authentication (AIP byte 1 b3).
pub(crate) fn keep_host_response(
    cx: &mut Context<'_>,
    aip: Aip,
    scripts: &mut IssuerScripts,
    response: &HostResponse<'_>,
) -> bool {
    cx.terminal.authorisation_response_code = Some(response.authorisation_response_code);
    *scripts = IssuerScripts::from_host(response.scripts);
    if scripts.discarded > scripts.discarded_after_final {
        // Book 3, 10.10: scripts that cannot be processed count as failed;
        // a template 72 is reported after the final GENERATE AC
        // ([`after_final_generate_ac`]).
        cx.set_tvr(tvr::SCRIPT_FAILED_BEFORE_FINAL_GENAC);
    }
    let mut authenticate = false;
    if let Some(data) = response.issuer_authentication_data {
        // Kept for CDOL2, which may ask for 91.
        if cx.store.replace(Tag(0x91), data).is_err() {
            cx.set_tvr(tvr::ISSUER_AUTHENTICATION_FAILED);
        }
        authenticate = aip.has(AIP_ISSUER_AUTHENTICATION);
    }
    authenticate
}

/// Book 3, 10.9 and 10.10, once the issuer's answer is kept
/// ([`keep_host_response`]) and, after a referral, the attendant decided:
/// EXTERNAL AUTHENTICATE when `authenticate`, then the scripts before the
/// final GENERATE AC, which asks for a TC when `host_approved`.
pub(crate) fn continue_online(
    cx: &mut Context<'_>,
    scripts: &mut IssuerScripts,
    authenticate: bool,
    host_approved: bool,
) -> Step<OnlineWait, AfterScripts> {
    if authenticate {
        let mut command = Command::default();
        let data = cx.store.get(Tag(0x91)).unwrap_or(&[]);
        if build_external_authenticate(data, &mut command) {
            cx.command = command;
            return Step::Wait(OnlineWait::IssuerAuthentication(IssuerAuthentication {
                host_approved,
            }));
        }
        cx.set_tvr(tvr::ISSUER_AUTHENTICATION_FAILED);
    }
    run_scripts(
        cx,
        scripts,
        ScriptPhase::BeforeFinalGenerateAc { host_approved },
    )
}

impl IssuerAuthentication {
    /// Book 3, 10.9: EXTERNAL AUTHENTICATE was answered: TSI "Issuer
    /// authentication was performed", and TVR "Issuer authentication failed"
    /// unless `9000`. Issuer Authentication Data that only reaches the card
    /// through CDOL2 (AIP without issuer authentication) is checked by the
    /// card itself and sets neither bit.
    pub(crate) fn on_response(
        self,
        cx: &mut Context<'_>,
        scripts: &mut IssuerScripts,
        status: u16,
    ) -> Step<OnlineWait, AfterScripts> {
        cx.set_tsi(tvr::TSI_ISSUER_AUTHENTICATION_PERFORMED);
        if status != 0x9000 {
            cx.set_tvr(tvr::ISSUER_AUTHENTICATION_FAILED);
        }
        run_scripts(
            cx,
            scripts,
            ScriptPhase::BeforeFinalGenerateAc {
                host_approved: self.host_approved,
            },
        )
    }
}

/// Book 3, 10.10: runs the scripts of one phase, then continues with the
/// second GENERATE AC (before) or completion (after).
pub(crate) fn run_scripts(
    cx: &mut Context<'_>,
    scripts: &mut IssuerScripts,
    phase: ScriptPhase,
) -> Step<OnlineWait, AfterScripts> {
    send_script_command(cx, scripts, phase, 0, None)
}

fn send_script_command(
    cx: &mut Context<'_>,
    scripts: &mut IssuerScripts,
    phase: ScriptPhase,
    index: usize,
    failed_template: Option<usize>,
) -> Step<OnlineWait, AfterScripts> {
    let mut index = index;
    let mut failed_template = failed_template;
    while let Some(command) = scripts.command(phase.template(), index) {
        if failed_template == Some(command.template) {
            index += 1;
            continue;
        }
        let (template, sequence, identifier) =
            (command.template, command.sequence, command.identifier);
        let apdu = script_apdu(command.apdu);
        cx.set_tsi(tvr::TSI_SCRIPT_PROCESSING_PERFORMED);
        if let Some(apdu) = apdu {
            cx.command = apdu;
            return Step::Wait(OnlineWait::Script(ScriptProcessing {
                phase,
                index,
                failed_template,
            }));
        }
        // Book 3, 10.10: a command that cannot be sent fails its script.
        scripts.record_script_result(identifier, ScriptResult::FailedAt(sequence));
        failed_template = Some(template);
        cx.set_tvr(phase.failed_bit());
        index += 1;
    }
    Step::Done(match phase {
        ScriptPhase::BeforeFinalGenerateAc { host_approved } => {
            AfterScripts::SecondGenerateAc(if host_approved {
                RequestedCryptogram::Tc
            } else {
                RequestedCryptogram::Aac
            })
        }
        ScriptPhase::AfterFinalGenerateAc => AfterScripts::Completion,
    })
}

impl ScriptProcessing {
    /// The card's answer to the script command: its result is recorded,
    /// and the phase goes on with the next command.
    pub(crate) fn on_response(
        self,
        cx: &mut Context<'_>,
        scripts: &mut IssuerScripts,
        status: u16,
    ) -> Step<OnlineWait, AfterScripts> {
        let next = self.index.saturating_add(1);
        let Some(command) = scripts.command(self.phase.template(), self.index) else {
            return send_script_command(cx, scripts, self.phase, next, self.failed_template);
        };
        let succeeded = script_command_succeeded(status);
        let (template, sequence, identifier) =
            (command.template, command.sequence, command.identifier);
        let mut failed_template = self.failed_template;
        if !succeeded {
            scripts.record_script_result(identifier, ScriptResult::FailedAt(sequence));
            failed_template = Some(template);
            cx.set_tvr(self.phase.failed_bit());
        } else if scripts.ends_its_script(self.phase.template(), self.index) {
            scripts.record_script_result(identifier, ScriptResult::Successful);
        }
        send_script_command(cx, scripts, self.phase, next, failed_template)
    }
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
        assert!(!kept.ends_its_script(SCRIPT_BEFORE_FINAL_GENERATE_AC, 0));
        assert!(kept.ends_its_script(SCRIPT_BEFORE_FINAL_GENERATE_AC, 1));
        assert!(kept.ends_its_script(SCRIPT_AFTER_FINAL_GENERATE_AC, 0));
        // One entry per script: the two-command 71 failing at its second
        // command, then the 72 (no identifier) succeeding.
        let (id, failing, after_id) = (first.identifier, second.sequence, after.identifier);
        kept.record_script_result(id, ScriptResult::FailedAt(failing));
        kept.record_script_result(after_id, ScriptResult::Successful);
        assert_eq!(
            kept.results(),
            &[0x12, 0x11, 0x22, 0x33, 0x44, 0x20, 0x00, 0x00, 0x00, 0x00]
        );
        assert!(script_command_succeeded(0x9000) && script_command_succeeded(0x6283));
        assert!(!script_command_succeeded(0x6985));
    }

    #[test]
    fn a_discarded_72_is_counted_for_after_the_final_generate_ac() {
        // 72 whose 86 claims 5 bytes and has 1: malformed, discarded.
        let scripts = [0x72, 0x03, 0x86, 0x05, 0x84];
        let kept = IssuerScripts::from_host(&scripts);
        assert_eq!((kept.discarded, kept.discarded_after_final), (1, 1));
        let scripts = [0x71, 0x03, 0x86, 0x05, 0x84];
        let kept = IssuerScripts::from_host(&scripts);
        assert_eq!((kept.discarded, kept.discarded_after_final), (1, 0));
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

    #[test]
    fn script_apdus_are_split_into_their_cases() {
        assert_eq!(
            script_apdu(&[0x84, 0x1E, 0x00, 0x00]).unwrap().as_bytes(),
            &[0x84, 0x1E, 0x00, 0x00]
        );
        let with_data = [0x84, 0x24, 0x00, 0x00, 0x02, 0xAA, 0xBB];
        assert_eq!(script_apdu(&with_data).unwrap().as_bytes(), &with_data);
        assert!(script_apdu(&[0x84, 0x24, 0x00, 0x00, 0x05, 0xAA]).is_none());
        assert!(script_apdu(&[0x84, 0x24]).is_none());
    }
}
