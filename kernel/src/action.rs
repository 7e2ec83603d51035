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

use crate::apdu::RequestedCryptogram;
use crate::render::{self, Cid};
use crate::tvr::{self, Tvr};

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
/// 2. Online-capable terminal: TVR against IAC-Online and TAC-Online: any
///    match, ARQC; otherwise TC.
/// 3. Offline-only terminal: TVR against IAC-Default and TAC-Default (the
///    check made when online is not possible): any match, AAC; otherwise TC.
pub fn terminal_action_analysis(
    tvr: &Tvr,
    issuer: &ActionCodes,
    terminal: &ActionCodes,
    online_capable: bool,
) -> RequestedCryptogram {
    if matches(tvr, &issuer.denial) || matches(tvr, &terminal.denial) {
        return RequestedCryptogram::Aac;
    }
    if online_capable {
        if matches(tvr, &issuer.online) || matches(tvr, &terminal.online) {
            RequestedCryptogram::Arqc
        } else {
            RequestedCryptogram::Tc
        }
    } else {
        unable_to_go_online(tvr, issuer, terminal)
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
