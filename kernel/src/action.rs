//! Terminal action analysis (Book 3, 10.7) and card action analysis
//! (Book 3, 10.8; GENERATE AC rules of Book 3, 6.5.5 and Book 2, 6.6).
//!
//! Terminal action analysis turns the TVR into the cryptogram the terminal
//! asks for: AAC (decline offline), ARQC (go online) or TC (approve offline).
//! Card action analysis reads the card's answer (Cryptogram Information Data,
//! 9F27) and turns it into the next step or the final decision with its
//! Authorisation Response Code (Book 4, Annex A6: Y1, Z1, Y3, Z3).
//!
//! Entry points: [`terminal_action_analysis`], [`unable_to_go_online`],
//! [`cda_requested`], [`first_card_action_analysis`],
//! [`second_card_action_analysis`]. The GENERATE AC command itself is built
//! by [`crate::apdu::generate_ac`]; the CID is decoded by [`render::Cid`].
//! The transaction's step (terminal action analysis, both GENERATE AC
//! commands, their answers and the CDA signature check) is at the end.

use crate::apdu::{self, RequestedCryptogram};
use crate::config::RefundPolicy;
use crate::context::Context;
use crate::crypto::CryptoProvider;
use crate::data::{DataStore, Sources};
use crate::dol;
use crate::limits::CDA_RESPONSE_MAX_OBJECTS;
use crate::oda::cda::CdaRequest;
use crate::oda::flow::{IccKey, OfflineAuthentication};
use crate::oda::{self, OdaFailure};
use crate::outcome::{Decision, OdaMethod, TerminationReason};
use crate::render::{self, Cid};
use crate::restrict::{self, Connectivity, TransactionType};
use crate::tlv::{self, Tag};
use crate::tvr::{self, Tvr};
use heapless::Vec;

/// Book 3, 6.5.5.4: the order of cryptogram types, AAC < ARQC < TC. A card
/// may answer with a lower type than requested, never a higher one.
fn rank(cryptogram: RequestedCryptogram) -> u8 {
    match cryptogram {
        RequestedCryptogram::Aac => 0,
        RequestedCryptogram::Arqc => 1,
        RequestedCryptogram::Tc => 2,
    }
}

/// The cryptogram type the card returned, from CID b8-b7, in the same
/// three-valued type the terminal requests with; `None` for the RFU value
/// `11` (see [`render::CryptogramType`] for the four-valued decoding).
pub fn returned_cryptogram(cid: Cid) -> Option<RequestedCryptogram> {
    match cid.cryptogram_type() {
        render::CryptogramType::Aac => Some(RequestedCryptogram::Aac),
        render::CryptogramType::Tc => Some(RequestedCryptogram::Tc),
        render::CryptogramType::Arqc => Some(RequestedCryptogram::Arqc),
        render::CryptogramType::Rfu => None,
    }
}

/// One set of action codes (each 5 bytes, laid out like the TVR).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ActionCodes {
    /// Denial: a TVR bit set here declines offline.
    pub denial: [u8; 5],
    /// Online: a TVR bit set here sends the transaction online.
    pub online: [u8; 5],
    /// Default: a TVR bit set here declines when online is impossible.
    pub default: [u8; 5],
}

impl ActionCodes {
    /// Book 3, 10.7: the Issuer Action Codes (9F0E denial, 9F0F online,
    /// 9F0D default) with the values used when the card omits them: an
    /// absent IAC-Denial is all zeros; an absent IAC-Online or IAC-Default
    /// is all ones.
    pub fn issuer(
        denial: Option<[u8; 5]>,
        online: Option<[u8; 5]>,
        default: Option<[u8; 5]>,
    ) -> Self {
        ActionCodes {
            denial: denial.unwrap_or([0x00; 5]),
            online: online.unwrap_or([0xFF; 5]),
            default: default.unwrap_or([0xFF; 5]),
        }
    }
}

/// Whether any bit set in the TVR is also set in the action code.
fn matches(tvr: &Tvr, code: &[u8; 5]) -> bool {
    tvr.0.iter().zip(code.iter()).any(|(t, c)| t & c != 0)
}

/// Book 3, 10.7: terminal action analysis for the first GENERATE AC.
///
/// 1. TVR against IAC-Denial and TAC-Denial: any match, AAC.
/// 2. Online-only terminal (Terminal Type x1, x4; Book 4, Annex A1): ARQC.
///    It does not approve offline; when it then cannot reach the issuer, the
///    default action codes decide ([`unable_to_go_online`]).
/// 3. Terminal with online capability (x2, x5): TVR against IAC-Online and
///    TAC-Online: any match, ARQC; otherwise TC.
/// 4. Offline-only terminal (x3, x6): TVR against IAC-Default and
///    TAC-Default (the check made when online is not possible): any match,
///    AAC; otherwise TC.
pub fn terminal_action_analysis(
    tvr: &Tvr,
    issuer: &ActionCodes,
    terminal: &ActionCodes,
    connectivity: Connectivity,
) -> RequestedCryptogram {
    if matches(tvr, &issuer.denial) || matches(tvr, &terminal.denial) {
        return RequestedCryptogram::Aac;
    }
    match connectivity {
        Connectivity::OnlineOnly => RequestedCryptogram::Arqc,
        Connectivity::OfflineWithOnlineCapability => {
            if matches(tvr, &issuer.online) || matches(tvr, &terminal.online) {
                RequestedCryptogram::Arqc
            } else {
                RequestedCryptogram::Tc
            }
        }
        Connectivity::OfflineOnly => unable_to_go_online(tvr, issuer, terminal),
    }
}

/// Book 3, 10.7 (default action codes): the decision when the terminal asked
/// for online authorisation but cannot reach the issuer, or the card asked
/// for it at an offline-only terminal: TVR against IAC-Default and
/// TAC-Default, any match AAC (Z3), otherwise TC (Y3).
pub fn unable_to_go_online(
    tvr: &Tvr,
    issuer: &ActionCodes,
    terminal: &ActionCodes,
) -> RequestedCryptogram {
    if matches(tvr, &issuer.default) || matches(tvr, &terminal.default) {
        RequestedCryptogram::Aac
    } else {
        RequestedCryptogram::Tc
    }
}

/// Book 2, 6.6 and Book 4, 6.3.2.1: whether this GENERATE AC asks for a CDA
/// signature (P1 b5, set by [`crate::apdu::generate_ac`]): CDA was selected
/// for this transaction, it has not already failed (TVR "CDA failed"), and
/// the requested cryptogram is a TC or an ARQC (an AAC is never signed).
pub fn cda_requested(cda_selected: bool, tvr: &Tvr, requested: RequestedCryptogram) -> bool {
    cda_selected && !tvr.is_set(tvr::CDA_FAILED) && requested != RequestedCryptogram::Aac
}

/// The reason/advice code in CID bits b3-b1 (Book 3, 6.5.5.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CidReason {
    /// `000`: no information given.
    NoInformation,
    /// `001`: service not allowed.
    ServiceNotAllowed,
    /// `010`: PIN Try Limit exceeded.
    PinTryLimitExceeded,
    /// `011`: issuer authentication failed.
    IssuerAuthenticationFailed,
    /// `1xx`: RFU (kept as the 3-bit value).
    Rfu(u8),
}

impl CidReason {
    /// Decodes b3-b1 of the Cryptogram Information Data (9F27).
    pub fn from_cid(cid: Cid) -> Self {
        match cid.raw & 0x07 {
            0 => CidReason::NoInformation,
            1 => CidReason::ServiceNotAllowed,
            2 => CidReason::PinTryLimitExceeded,
            3 => CidReason::IssuerAuthenticationFailed,
            other => CidReason::Rfu(other),
        }
    }
}

/// Authorisation Response Codes the terminal itself produces (Book 4, A6).
pub mod response_code {
    /// Offline approved.
    pub const OFFLINE_APPROVED: [u8; 2] = *b"Y1";
    /// Offline declined.
    pub const OFFLINE_DECLINED: [u8; 2] = *b"Z1";
    /// Unable to go online, offline approved.
    pub const UNABLE_ONLINE_APPROVED: [u8; 2] = *b"Y3";
    /// Unable to go online, offline declined.
    pub const UNABLE_ONLINE_DECLINED: [u8; 2] = *b"Z3";
}

/// A card answer that breaks the GENERATE AC rules: the engine terminates
/// the transaction (Book 3, 6.5.5.4 and 10.8).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CardActionError {
    /// CID b8-b7 = `11` (RFU).
    RfuCryptogramType,
    /// The card returned a higher cryptogram than requested (order AAC <
    /// ARQC < TC), for example a TC when an AAC was asked for.
    HigherThanRequested {
        /// What the terminal asked for.
        requested: RequestedCryptogram,
        /// What the card returned.
        returned: RequestedCryptogram,
    },
    /// An ARQC in answer to the second GENERATE AC (only TC or AAC allowed).
    ArqcInSecondGenerateAc,
}

impl core::fmt::Display for CardActionError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            CardActionError::RfuCryptogramType => {
                f.write_str("the card's CID names an RFU cryptogram type (b8-b7 = 11)")
            }
            CardActionError::HigherThanRequested { requested, returned } => write!(
                f,
                "the card returned {returned:?} where the terminal asked for {requested:?} (a higher cryptogram)"
            ),
            CardActionError::ArqcInSecondGenerateAc => {
                f.write_str("the card returned an ARQC to the second GENERATE AC (only TC or AAC allowed)")
            }
        }
    }
}

impl core::error::Error for CardActionError {}

/// What the card decided, as read from its CID.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CardDecision<T> {
    /// The step or decision that follows.
    pub next: T,
    /// The cryptogram the card returned.
    pub returned: RequestedCryptogram,
    /// CID b4: the card asks for an advice message.
    pub advice_required: bool,
    /// CID b3-b1.
    pub reason: CidReason,
}

/// What follows the first GENERATE AC (Book 3, 10.8).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AfterFirstGenerateAc {
    /// TC: approved offline, Authorisation Response Code Y1.
    OfflineApproved,
    /// AAC: declined offline, Authorisation Response Code Z1.
    OfflineDeclined,
    /// ARQC at an online-capable terminal: request online authorisation.
    GoOnline,
    /// ARQC at an offline-only terminal: decide with [`unable_to_go_online`]
    /// and issue the second GENERATE AC with Y3/Z3.
    UnableToGoOnline,
}

/// Book 3, 6.5.5.4: the card's cryptogram, rejected when RFU or higher
/// than requested.
fn read_cid(
    requested: RequestedCryptogram,
    cid: Cid,
) -> Result<RequestedCryptogram, CardActionError> {
    let returned = returned_cryptogram(cid).ok_or(CardActionError::RfuCryptogramType)?;
    if rank(returned) > rank(requested) {
        return Err(CardActionError::HigherThanRequested {
            requested,
            returned,
        });
    }
    Ok(returned)
}

/// Book 3, 10.8: card action analysis after the first GENERATE AC.
///
/// `requested` is what terminal action analysis asked for; `online_capable`
/// says whether the terminal can go online at all.
pub fn first_card_action_analysis(
    requested: RequestedCryptogram,
    cid: Cid,
    online_capable: bool,
) -> Result<CardDecision<AfterFirstGenerateAc>, CardActionError> {
    let returned = read_cid(requested, cid)?;
    let next = match returned {
        RequestedCryptogram::Tc => AfterFirstGenerateAc::OfflineApproved,
        RequestedCryptogram::Aac => AfterFirstGenerateAc::OfflineDeclined,
        RequestedCryptogram::Arqc if online_capable => AfterFirstGenerateAc::GoOnline,
        RequestedCryptogram::Arqc => AfterFirstGenerateAc::UnableToGoOnline,
    };
    Ok(CardDecision {
        next,
        returned,
        advice_required: cid.advice_required(),
        reason: CidReason::from_cid(cid),
    })
}

/// Why the second GENERATE AC is issued.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SecondGenerateAcContext {
    /// The issuer answered; the terminal asks for a TC if it approved and an
    /// AAC if it declined. The issuer's Authorisation Response Code stands.
    Online,
    /// The issuer could not be reached (or the terminal is offline-only): the
    /// terminal asks for what [`unable_to_go_online`] decided and the
    /// response code is Y3 or Z3.
    UnableToGoOnline,
}

/// The transaction's final decision after the second GENERATE AC.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FinalDecision {
    /// TC from the card: approved; AAC: declined.
    pub approved: bool,
    /// The terminal-generated response code (Y3/Z3) when online was not
    /// possible; `None` when the issuer's code applies.
    pub authorisation_response_code: Option<[u8; 2]>,
}

/// The Authorisation Response Code (8A) the terminal puts in CDOL2 when it
/// could not go online: Y3 when it asks for a TC, Z3 for an AAC (Book 4, A6).
pub fn unable_online_response_code(requested: RequestedCryptogram) -> [u8; 2] {
    if requested == RequestedCryptogram::Tc {
        response_code::UNABLE_ONLINE_APPROVED
    } else {
        response_code::UNABLE_ONLINE_DECLINED
    }
}

/// Book 3, 10.8 and 6.5.5.4: card action analysis after the second
/// GENERATE AC. The terminal asked for a TC or an AAC; the card answers TC
/// (approved) or AAC (declined), never an ARQC and never higher than asked.
pub fn second_card_action_analysis(
    requested: RequestedCryptogram,
    cid: Cid,
    context: SecondGenerateAcContext,
) -> Result<CardDecision<FinalDecision>, CardActionError> {
    let returned = read_cid(requested, cid)?;
    let approved = match returned {
        RequestedCryptogram::Tc => true,
        RequestedCryptogram::Aac => false,
        RequestedCryptogram::Arqc => return Err(CardActionError::ArqcInSecondGenerateAc),
    };
    let authorisation_response_code = match context {
        SecondGenerateAcContext::Online => None,
        SecondGenerateAcContext::UnableToGoOnline => Some(if approved {
            response_code::UNABLE_ONLINE_APPROVED
        } else {
            response_code::UNABLE_ONLINE_DECLINED
        }),
    };
    Ok(CardDecision {
        next: FinalDecision {
            approved,
            authorisation_response_code,
        },
        returned,
        advice_required: cid.advice_required(),
        reason: CidReason::from_cid(cid),
    })
}

/// The Authorisation Response Code of a decision taken at the first
/// GENERATE AC: Y1 for offline approval, Z1 for offline decline.
pub fn offline_response_code(next: AfterFirstGenerateAc) -> Option<[u8; 2]> {
    match next {
        AfterFirstGenerateAc::OfflineApproved => Some(response_code::OFFLINE_APPROVED),
        AfterFirstGenerateAc::OfflineDeclined => Some(response_code::OFFLINE_DECLINED),
        AfterFirstGenerateAc::GoOnline | AfterFirstGenerateAc::UnableToGoOnline => None,
    }
}

// ---- the transaction's step: GENERATE AC and its answers ------------------

/// Book 3, 10.8: the first GENERATE AC sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct FirstGenerateAc {
    requested: RequestedCryptogram,
    cda: bool,
    /// A refund under [`RefundPolicy::AacAtFirstGenerateAc`]: the card's
    /// AAC completes it.
    refund: bool,
}

/// Book 3, 10.8 / 10.9: the second GENERATE AC sent, with the CDOL2 data
/// its CDA signature covers (Book 2, 6.6.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct SecondGenerateAc {
    requested: RequestedCryptogram,
    cda: bool,
    context: SecondGenerateAcContext,
    cdol2_data: Vec<u8, 255>,
}

/// Where the transaction goes after the answer to the first GENERATE AC.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum AfterFirstAnswer {
    /// Decided offline; the Authorisation Response Code is set.
    Complete {
        /// Approved or declined.
        decision: Decision,
        /// The cryptogram the card returned.
        cryptogram: RequestedCryptogram,
    },
    /// Online authorisation (Book 3, 10.9).
    GoOnline,
    /// An ARQC at a terminal that cannot go online: [`issuer_unreachable`].
    UnableToGoOnline,
    /// The second GENERATE AC at once: CDA failed on an ARQC, the terminal
    /// asks for an AAC (the Authorisation Response Code is set).
    SecondGenerateAc {
        /// The cryptogram to ask for.
        requested: RequestedCryptogram,
        /// Why it is asked for.
        context: SecondGenerateAcContext,
    },
    /// The transaction ends.
    Terminate(TerminationReason),
}

/// The issuer's and the selected application's action codes.
fn action_codes(cx: &Context<'_>) -> (ActionCodes, ActionCodes) {
    let code = |tag| {
        cx.store
            .get(Tag(tag))
            .and_then(|v| <[u8; 5]>::try_from(v).ok())
    };
    let issuer = ActionCodes::issuer(code(0x9F0E), code(0x9F0F), code(0x9F0D));
    let terminal = match cx.app_config() {
        Some(app) => ActionCodes {
            denial: app.terminal_action_code_denial,
            online: app.terminal_action_code_online,
            default: app.terminal_action_code_default,
        },
        None => ActionCodes {
            denial: [0xFF; 5],
            online: [0xFF; 5],
            default: [0xFF; 5],
        },
    };
    (issuer, terminal)
}

/// Whether CDA (or XDA, whose signature is asked for the same way) was
/// selected and the ICC key for it recovered.
fn cda_selected(oda: &OfflineAuthentication) -> bool {
    matches!(oda.method, OdaMethod::Cda | OdaMethod::Xda) && oda.icc_key.is_some()
}

/// Book 3, 10.7: terminal action analysis, then the first GENERATE AC with
/// the CDOL1 data (kept in `oda` for CDA).
pub(crate) fn first_generate_ac<C: CryptoProvider>(
    cx: &mut Context<'_>,
    crypto: &C,
    oda: &mut OfflineAuthentication,
) -> Result<FirstGenerateAc, TerminationReason> {
    let (issuer, terminal) = action_codes(cx);
    let connectivity = restrict::connectivity(cx.terminal_context.config);
    let mut requested =
        terminal_action_analysis(&cx.terminal.tvr, &issuer, &terminal, connectivity);
    // ICS row 92: a refund under the "AAC at the first GENERATE AC" policy
    // asks for an AAC whatever the action codes say (the TVR is kept).
    let refund = cx.inputs.transaction_type == TransactionType::REFUND.0
        && cx.terminal_context.config.refund_policy == RefundPolicy::AacAtFirstGenerateAc;
    if refund {
        requested = RequestedCryptogram::Aac;
    }
    let mode = cx.terminal_context.config.cda_request_mode;
    let cda = cda_requested(cda_selected(oda), &cx.terminal.tvr, requested)
        && mode.allows(requested, false);
    oda.cdol1_data = send_generate_ac(cx, crypto, requested, cda, false)?;
    Ok(FirstGenerateAc {
        requested,
        cda,
        refund,
    })
}

/// Book 3, 10.7 default action: the issuer cannot be reached. The
/// Authorisation Response Code (Y3 or Z3) is set and the second GENERATE AC
/// asks for what the default action codes decide.
pub(crate) fn issuer_unreachable<C: CryptoProvider>(
    cx: &mut Context<'_>,
    crypto: &C,
    oda: &OfflineAuthentication,
) -> Result<SecondGenerateAc, TerminationReason> {
    let (issuer, terminal) = action_codes(cx);
    let requested = unable_to_go_online(&cx.terminal.tvr, &issuer, &terminal);
    cx.terminal.authorisation_response_code = Some(unable_online_response_code(requested));
    second_generate_ac(
        cx,
        crypto,
        oda,
        requested,
        SecondGenerateAcContext::UnableToGoOnline,
    )
}

/// The second GENERATE AC with the CDOL2 data.
pub(crate) fn second_generate_ac<C: CryptoProvider>(
    cx: &mut Context<'_>,
    crypto: &C,
    oda: &OfflineAuthentication,
    requested: RequestedCryptogram,
    context: SecondGenerateAcContext,
) -> Result<SecondGenerateAc, TerminationReason> {
    let mode = cx.terminal_context.config.cda_request_mode;
    let cda = cda_requested(cda_selected(oda), &cx.terminal.tvr, requested)
        && mode.allows(requested, true);
    let cdol2_data = send_generate_ac(cx, crypto, requested, cda, true)?;
    Ok(SecondGenerateAc {
        requested,
        cda,
        context,
        cdol2_data,
    })
}

/// Book 3, 5.4 and 6.5.5: builds GENERATE AC with the CDOL1 (8C) or
/// CDOL2 (8D) data, computing the TC hash value (98) first when asked.
/// Returns the CDOL data sent.
fn send_generate_ac<C: CryptoProvider>(
    cx: &mut Context<'_>,
    crypto: &C,
    requested: RequestedCryptogram,
    cda: bool,
    second: bool,
) -> Result<Vec<u8, 255>, TerminationReason> {
    let cdol_tag = if second { Tag(0x8D) } else { Tag(0x8C) };
    let cdol = cx.store.get(cdol_tag).unwrap_or(&[]);
    if dol::entries(cdol).any(|e| e.is_ok_and(|e| e.tag == Tag(0x98))) {
        compute_tc_hash(cx, crypto, cdol_tag);
    }
    let cdol = cx.store.get(cdol_tag).unwrap_or(&[]);
    let sources = Sources {
        terminal: &cx.terminal,
        card: &cx.store,
    };
    let mut data = [0u8; 255];
    let built = dol::build(cdol, &sources, &mut data)
        .ok()
        .and_then(|n| data.get(..n));
    let Some(cdol_data) = built else {
        return Err(TerminationReason::CardDataFormat);
    };
    let kept = Vec::from_slice(cdol_data).unwrap_or_default();
    match apdu::generate_ac(requested, cda, cdol_data) {
        Ok(command) => {
            cx.command = command;
            Ok(kept)
        }
        Err(_) => Err(TerminationReason::CardDataFormat),
    }
}

/// Book 3, 5.4 / 9.2.2: the TC hash value is SHA-1 over the TDOL data
/// (card TDOL 97, else the terminal default TDOL, TVR "Default TDOL used").
fn compute_tc_hash<C: CryptoProvider>(cx: &mut Context<'_>, crypto: &C, _cdol: Tag) {
    let default_tdol = cx
        .app_config()
        .map(|a| a.default_tdol.as_slice())
        .unwrap_or(&[]);
    let (tdol, default_used) = match cx.store.get(Tag(0x97)) {
        Some(tdol) => (tdol, false),
        None => (default_tdol, !default_tdol.is_empty()),
    };
    let sources = Sources {
        terminal: &cx.terminal,
        card: &cx.store,
    };
    let mut data = [0u8; 255];
    let length = dol::build(tdol, &sources, &mut data).unwrap_or(0);
    let hash = crypto.sha1(&[data.get(..length).unwrap_or(&[])]);
    cx.terminal.tc_hash_value = Some(hash);
    if default_used {
        cx.set_tvr(tvr::DEFAULT_TDOL_USED);
    }
}

/// Checks the status of a GENERATE AC response and reads it; the
/// transaction terminates (card error, or bad format) when either fails
/// (Book 3, 9.3).
fn accept_generate_ac_response<'d>(
    cx: &mut Context<'_>,
    data: &'d [u8],
    status: u16,
) -> Result<(u8, &'d [u8], bool), TerminationReason> {
    if status != 0x9000 {
        return Err(TerminationReason::CardError {
            instruction: 0xAE,
            status,
        });
    }
    read_generate_ac_response(&mut cx.store, data)
}

/// Reads a GENERATE AC response (format 1 or 2) into the data store;
/// returns the CID and the template value (for CDA).
///
/// Format 2 (Book 3, 6.5.5.4): the data objects are those directly inside
/// template 77. Every value the kernel acts on (CID for the decision, ATC,
/// cryptogram) is read from that top level, which is also what the data
/// store keeps and what the CDA check compares with the signed CID (Book 2,
/// 6.6.2 step 8), so the decision and the signature always see the same
/// copy. A primitive tag that appears twice at the top level terminates the
/// transaction as redundant data (the rule of Book 3, 10.2, applied to this
/// response; `docs/conformance.md`); objects nested in a constructed object
/// inside 77 are not read.
fn read_generate_ac_response<'d>(
    store: &mut DataStore,
    data: &'d [u8],
) -> Result<(u8, &'d [u8], bool), TerminationReason> {
    let format = TerminationReason::CardDataFormat;
    let template = tlv::parse_single(data).map_err(|_| format)?;
    match template.tag {
        Tag(0x80) => {
            let (cid, rest) = template.value.split_first().ok_or(format)?;
            let (atc, rest) = rest.split_at_checked(2).ok_or(format)?;
            let (cryptogram, iad) = rest.split_at_checked(8).ok_or(format)?;
            store.replace(Tag(0x9F27), &[*cid]).map_err(|_| format)?;
            store.replace(Tag(0x9F36), atc).map_err(|_| format)?;
            store.replace(Tag(0x9F26), cryptogram).map_err(|_| format)?;
            if !iad.is_empty() {
                store.replace(Tag(0x9F10), iad).map_err(|_| format)?;
            }
            Ok((*cid, template.value, false))
        }
        Tag(0x77) => {
            // First pass: well formed, bounded, no primitive tag twice.
            let mut seen: heapless::Vec<Tag, CDA_RESPONSE_MAX_OBJECTS> = heapless::Vec::new();
            for object in tlv::iter(template.value) {
                let object = object.map_err(|_| format)?;
                if object.tag.is_constructed() {
                    continue;
                }
                if seen.contains(&object.tag) {
                    return Err(TerminationReason::DuplicateData);
                }
                seen.push(object.tag).map_err(|_| format)?;
            }
            let top_level = |tag: Tag| {
                tlv::iter(template.value)
                    .filter_map(Result::ok)
                    .find(|object| object.tag == tag)
                    .map(|object| object.value)
            };
            let cid = *top_level(Tag(0x9F27))
                .and_then(<[u8]>::first)
                .ok_or(format)?;
            let atc_ok = top_level(Tag(0x9F36)).is_some_and(|v| v.len() == 2);
            // With CDA the cryptogram is inside the signature (Book 2, 6.6.1).
            let ac_ok = top_level(Tag(0x9F26))
                .map_or_else(|| top_level(Tag(0x9F4B)).is_some(), |v| v.len() == 8);
            if !(atc_ok && ac_ok) {
                return Err(format);
            }
            for object in tlv::iter(template.value).filter_map(Result::ok) {
                if !object.tag.is_constructed() {
                    store
                        .replace(object.tag, object.value)
                        .map_err(|_| format)?;
                }
            }
            Ok((cid, template.value, true))
        }
        _ => Err(format),
    }
}

/// Book 2, 6.6.2: verifies the CDA signature of a GENERATE AC response
/// (`cdol2_data` for the second GENERATE AC).
fn verify_cda<C: CryptoProvider>(
    cx: &mut Context<'_>,
    crypto: &C,
    oda: &mut OfflineAuthentication,
    template: &[u8],
    format2: bool,
    cdol2_data: Option<&[u8]>,
) -> bool {
    let key = match oda.icc_key.as_ref() {
        Some(IccKey::Rsa(key)) => key,
        Some(IccKey::Ecc(key)) => {
            let key = key.clone();
            return verify_xda(cx, crypto, oda, &key, template, format2, cdol2_data);
        }
        None => return false,
    };
    if !format2 {
        oda.failed(cx, OdaFailure::Missing(Tag(0x9F4B)));
        return false;
    }
    let request = CdaRequest {
        unpredictable_number: &cx.terminal.unpredictable_number,
        pdol_data: &oda.pdol_data,
        cdol1_data: &oda.cdol1_data,
        cdol2_data,
    };
    match oda::cda::verify(crypto, key, &request, template) {
        Ok(outcome) => {
            let _ = cx.store.replace(Tag(0x9F4C), &outcome.icc_dynamic_number);
            let _ = cx
                .store
                .replace(Tag(0x9F26), &outcome.application_cryptogram);
            oda.succeeded(cx);
            true
        }
        Err(failure) => {
            oda.failed(cx, failure);
            false
        }
    }
}

/// EMV 4.4 Book 2 (XDA): verifies the EC-SDSA signature of a GENERATE AC
/// response, as [`verify_cda`] does for CDA.
fn verify_xda<C: CryptoProvider>(
    cx: &mut Context<'_>,
    crypto: &C,
    oda: &mut OfflineAuthentication,
    key: &crate::oda::EccPublicKey,
    template: &[u8],
    format2: bool,
    cdol2_data: Option<&[u8]>,
) -> bool {
    if !format2 {
        oda.failed(cx, OdaFailure::Missing(Tag(0x9F4B)));
        return false;
    }
    let request = crate::oda::xda::XdaRequest {
        pdol_data: &oda.pdol_data,
        cdol1_data: &oda.cdol1_data,
        cdol2_data,
    };
    match crate::oda::xda::verify(crypto, key, &request, template) {
        Ok(()) => {
            oda.succeeded(cx);
            true
        }
        Err(failure) => {
            oda.failed(cx, failure);
            false
        }
    }
}

impl FirstGenerateAc {
    /// Book 3, 10.8: card action analysis of the answer to the first
    /// GENERATE AC, with the CDA signature check when one was asked for.
    pub(crate) fn on_response<C: CryptoProvider>(
        self,
        cx: &mut Context<'_>,
        crypto: &C,
        oda: &mut OfflineAuthentication,
        data: &[u8],
        status: u16,
    ) -> AfterFirstAnswer {
        let (cid, template, format2) = match accept_generate_ac_response(cx, data, status) {
            Ok(response) => response,
            Err(reason) => return AfterFirstAnswer::Terminate(reason),
        };
        let decision = match first_card_action_analysis(
            self.requested,
            Cid { raw: cid },
            restrict::online_capable(cx.terminal_context.config),
        ) {
            Ok(decision) => decision,
            Err(_) => return AfterFirstAnswer::Terminate(TerminationReason::InvalidCryptogram),
        };
        cx.set_tsi(tvr::TSI_CARD_RISK_MANAGEMENT_PERFORMED);
        // Book 2, 6.6.2 and Book 3, 10.8: with CDA requested, a TC or ARQC
        // whose signature fails is treated as an AAC: declined offline. The
        // card that asked to go online is closed with a second GENERATE AC
        // requesting an AAC.
        if self.cda
            && decision.returned != RequestedCryptogram::Aac
            && !verify_cda(cx, crypto, oda, template, format2, None)
        {
            cx.terminal.authorisation_response_code = Some(response_code::OFFLINE_DECLINED);
            if decision.returned == RequestedCryptogram::Arqc {
                return AfterFirstAnswer::SecondGenerateAc {
                    requested: RequestedCryptogram::Aac,
                    context: SecondGenerateAcContext::Online,
                };
            }
            return AfterFirstAnswer::Complete {
                decision: Decision::Declined,
                cryptogram: decision.returned,
            };
        }
        let (offline, code) = match decision.next {
            AfterFirstGenerateAc::OfflineApproved => {
                (Decision::Approved, response_code::OFFLINE_APPROVED)
            }
            // ICS row 92: the refund is the terminal's to complete; the
            // card's AAC goes to clearing with it.
            AfterFirstGenerateAc::OfflineDeclined if self.refund => {
                (Decision::Approved, response_code::OFFLINE_APPROVED)
            }
            AfterFirstGenerateAc::OfflineDeclined => {
                (Decision::Declined, response_code::OFFLINE_DECLINED)
            }
            AfterFirstGenerateAc::GoOnline => return AfterFirstAnswer::GoOnline,
            AfterFirstGenerateAc::UnableToGoOnline => return AfterFirstAnswer::UnableToGoOnline,
        };
        cx.terminal.authorisation_response_code = Some(code);
        AfterFirstAnswer::Complete {
            decision: offline,
            cryptogram: decision.returned,
        }
    }
}

impl SecondGenerateAc {
    /// Whether this GENERATE AC asks for the TC the issuer's approval calls
    /// for (online, issuer approved).
    pub(crate) fn issuer_approved(&self) -> bool {
        self.context == SecondGenerateAcContext::Online && self.requested == RequestedCryptogram::Tc
    }

    /// Book 3, 10.8 and 10.9: card action analysis of the answer to the
    /// second GENERATE AC, with the CDA signature check of an approval when
    /// one was asked for. Returns the final decision and the cryptogram the
    /// card returned; the Authorisation Response Code is set when the
    /// terminal decided it (Y3, Z3).
    pub(crate) fn on_response<C: CryptoProvider>(
        self,
        cx: &mut Context<'_>,
        crypto: &C,
        oda: &mut OfflineAuthentication,
        data: &[u8],
        status: u16,
    ) -> Result<(Decision, RequestedCryptogram), TerminationReason> {
        let (cid, template, format2) = accept_generate_ac_response(cx, data, status)?;
        let decision = second_card_action_analysis(self.requested, Cid { raw: cid }, self.context)
            .map_err(|_| TerminationReason::InvalidCryptogram)?;
        let mut approved = decision.next.approved;
        if self.cda
            && approved
            && !verify_cda(cx, crypto, oda, template, format2, Some(&self.cdol2_data))
        {
            approved = false;
        }
        if let Some(code) = decision.next.authorisation_response_code {
            cx.terminal.authorisation_response_code = Some(code);
        }
        let final_decision = if approved {
            Decision::Approved
        } else {
            Decision::Declined
        };
        Ok((final_decision, decision.returned))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `77` around `body`.
    fn format_2(body: &[u8]) -> heapless::Vec<u8, 128> {
        let mut out = heapless::Vec::new();
        out.extend_from_slice(&[0x77, body.len() as u8]).unwrap();
        out.extend_from_slice(body).unwrap();
        out
    }

    const ATC: [u8; 5] = [0x9F, 0x36, 0x02, 0x00, 0x07];
    const AC: [u8; 11] = [0x9F, 0x26, 0x08, 1, 2, 3, 4, 5, 6, 7, 8];

    #[test]
    fn format_2_reads_the_top_level_cid_not_a_nested_one() {
        // A constructed object before the real CID hides an AAC CID inside:
        // the decision, the data store and CDA all use the top-level TC.
        let mut body = heapless::Vec::<u8, 64>::new();
        body.extend_from_slice(&[0xE1, 0x04, 0x9F, 0x27, 0x01, 0x00])
            .unwrap();
        body.extend_from_slice(&[0x9F, 0x27, 0x01, 0x40]).unwrap();
        body.extend_from_slice(&ATC).unwrap();
        body.extend_from_slice(&AC).unwrap();
        let response = format_2(&body);
        let mut store = DataStore::new();
        let (cid, _, format2) = read_generate_ac_response(&mut store, &response).unwrap();
        assert_eq!(cid, 0x40);
        assert!(format2);
        assert_eq!(store.get(Tag(0x9F27)), Some(&[0x40][..]));
    }

    #[test]
    fn format_2_with_a_repeated_primitive_is_redundant_data() {
        for repeated in [[0x9F, 0x27, 0x01, 0x80], [0x9F, 0x36, 0x02, 0x00]] {
            let mut body = heapless::Vec::<u8, 64>::new();
            body.extend_from_slice(&[0x9F, 0x27, 0x01, 0x40]).unwrap();
            body.extend_from_slice(&ATC).unwrap();
            body.extend_from_slice(&AC).unwrap();
            body.extend_from_slice(&repeated).unwrap();
            if repeated[1] == 0x36 {
                body.push(0x08).unwrap();
            }
            let response = format_2(&body);
            let mut store = DataStore::new();
            assert_eq!(
                read_generate_ac_response(&mut store, &response),
                Err(TerminationReason::DuplicateData)
            );
            // Nothing of the refused response reaches the store.
            assert_eq!(store.get(Tag(0x9F27)), None);
        }
    }

    #[test]
    fn format_1_is_unchanged() {
        let response = [0x80, 0x0B, 0x80, 0x00, 0x07, 1, 2, 3, 4, 5, 6, 7, 8];
        let mut store = DataStore::new();
        let (cid, _, format2) = read_generate_ac_response(&mut store, &response).unwrap();
        assert_eq!((cid, format2), (0x80, false));
        assert_eq!(store.get(Tag(0x9F36)), Some(&[0x00, 0x07][..]));
    }
}
