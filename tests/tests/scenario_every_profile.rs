//! Every `test-cards` profile end to end, in process (issues 4 and 5).
//!
//! One table ([`EXPECTED`]) names, for each profile and the default terminal
//! of `test-cards/PROFILES.md` (terminal type 22, capabilities E0F8C8,
//! amount 10.00, floor limit 100.00, TACs DC4000A900 / 0010000000 /
//! DC4084F900), what a correct EMV terminal ends with: the candidates offered
//! and the selected AID, the decision, the Authorisation Response Code, the
//! cryptogram type of each GENERATE AC, the TVR after the first GENERATE AC
//! (which must equal the profile's documented `tvr`; the TVR and CVM Results
//! sent in its CDOL1 data are checked too), the TVR, TSI and CVM Results at
//! the end, the ODA method, result and failure, whether the host was asked,
//! the signature line and the Issuer Script Results. A few rows repeat a
//! profile with the other inputs its documentation names (cash, 75.00, host
//! unreachable).
//!
//! For every GENERATE AC the card answered, the cryptogram is checked with the
//! test-cards `Issuer` over the CDOL data the card received (the command
//! bytes), the AIP, the ATC and the CVR of the Issuer Application Data.
//!
//! Exact APDU sequences: the commands the kernel sends must equal, byte for
//! byte and in order, the command lines of the profile's recorded trace
//! `tests/traces/<profile>.trace` (VERIFY data is withheld there: its header
//! and Lc are compared). Those traces are the golden files; after an
//! intended change in the command flow regenerate them with
//! `scripts/regen-traces.sh [profile ...]` and review `git diff tests/traces`.
//! `SCENARIO_TRACE=1` prints every exchange.
//!
//! Run: `cargo test -p emv-integration-tests --test scenario_every_profile`.

use std::collections::BTreeSet;

use emv_kernel::config::{TerminalConfig, TransactionInputs};
use emv_kernel::crypto::RingCrypto;
use emv_kernel::dol;
use emv_kernel::driver::{self, Cardholder, Host};
use emv_kernel::oda::{CertificateCheck, OdaFailure, SignatureCheck};
use emv_kernel::online::HostResponse;
use emv_kernel::outcome::{
    CryptogramType, Decision, OdaMethod, OdaResult, Outcome, TerminationReason,
};
use emv_kernel::select::Candidate;
use emv_kernel::tlv::{self, Tag};
use emv_kernel::transaction::{PinEntry, PinKind, TerminalContext, Transaction};
use emv_kernel::transport::CardTransport;
use emv_test_cards::card::Card;
use emv_test_cards::issuer::{self, Issuer};
use emv_test_cards::profiles::{self, Profile};
use emv_trace::{Event, Trace};

use emv_test_cards::TEST_INPUTS;
use CryptogramType::{Aac, Arqc, Tc};

/// What the host does with an authorisation request.
#[derive(Clone, Copy, Debug)]
enum HostPlan {
    /// Approves with ARC `00` and the ARPC of the test issuer (Issuer
    /// Authentication Data = ARPC || ARC, Book 2, 8.2.1 method 1).
    Approves,
    /// Approves, and sends these issuer script templates (tag, command
    /// header), each with one MACed command and no script identifier.
    ApprovesWithScripts(&'static [(u32, [u8; 4])]),
    /// Cannot be reached.
    Unreachable,
}

/// The expected end of one profile's transaction.
#[derive(Clone, Copy, Debug)]
struct Expect {
    profile: &'static str,
    /// Empty for the profile's default run (compared with its trace); else
    /// names the changed input.
    variant: &'static str,
    inputs: fn() -> TransactionInputs,
    /// The terminal configuration: the default one, or the XDA terminal
    /// (`docs/terminal.xda.toml`) for the `xda*` profiles.
    terminal: fn() -> TerminalConfig,
    host: HostPlan,
    /// Selected AID (hex), empty when none was selected.
    aid: &'static str,
    /// The candidates offered to the cardholder, in order (Book 1, 12.4);
    /// empty when the terminal did not ask.
    offered: &'static [&'static str],
    decision: Decision,
    arc: Option<[u8; 2]>,
    /// The cryptogram type each GENERATE AC returned, in order.
    cryptograms: &'static [CryptogramType],
    /// TVR after the first GENERATE AC (the profile's documented `tvr`), `-`
    /// when none is sent. The TVR sent in its CDOL1 data is the same without
    /// "CDA failed", which only the card's answer can set (Book 2, 6.6.2).
    tvr_first_generate_ac: &'static str,
    /// TVR, TSI and CVM Results of the outcome.
    tvr: &'static str,
    tsi: &'static str,
    cvm_results: &'static str,
    oda: (OdaMethod, OdaResult, Option<OdaFailure>),
    /// The issuer was asked.
    online: bool,
    signature_required: bool,
    /// Issuer Script Results (9F5B), hex; empty when no script was sent.
    script_results: &'static str,
}

const CREDIT: &str = "A0000009991010";
const SDA_OK: (OdaMethod, OdaResult, Option<OdaFailure>) =
    (OdaMethod::Sda, OdaResult::Succeeded, None);
const DDA_OK: (OdaMethod, OdaResult, Option<OdaFailure>) =
    (OdaMethod::Dda, OdaResult::Succeeded, None);
const CDA_OK: (OdaMethod, OdaResult, Option<OdaFailure>) =
    (OdaMethod::Cda, OdaResult::Succeeded, None);
const NO_ODA: (OdaMethod, OdaResult, Option<OdaFailure>) =
    (OdaMethod::None, OdaResult::NotPerformed, None);
const ARC_00: Option<[u8; 2]> = Some(*b"00");

/// The suite's inputs: [`TEST_INPUTS`] as a function, so an expectation can
/// name other inputs (`cash`, `amount_75`).
fn test_inputs() -> TransactionInputs {
    TEST_INPUTS
}

/// A TC requested and returned at the first GENERATE AC: approved offline,
/// ARC Y1 (Book 4, A6 / Book 3, 10.8). TSI: ODA, cardholder verification,
/// card risk management, terminal risk management performed (E8). Default
/// CVM list `5E03 1F03`: signature (the terminal supports it), result
/// unknown (Book 3, 10.5; Book 4, 6.3.4.5).
const TC_OFFLINE: Expect = Expect {
    profile: "",
    variant: "",
    inputs: test_inputs,
    terminal: TerminalConfig::default,
    host: HostPlan::Approves,
    aid: CREDIT,
    offered: &[],
    decision: Decision::Approved,
    arc: Some(*b"Y1"),
    cryptograms: &[Tc],
    tvr_first_generate_ac: "0200000000",
    tvr: "0200000000",
    tsi: "E800",
    cvm_results: "5E0300",
    oda: SDA_OK,
    online: false,
    signature_required: true,
    script_results: "",
};

/// An ARQC at the first GENERATE AC, the issuer approves with ARC 00, the
/// card answers the second GENERATE AC with a TC (Book 3, 10.9 and 10.11).
const ONLINE_APPROVED: Expect = Expect {
    arc: ARC_00,
    cryptograms: &[Arqc, Tc],
    online: true,
    ..TC_OFFLINE
};

/// The transaction ends before a GENERATE AC: no decision data.
const TERMINATED: Expect = Expect {
    aid: "",
    decision: Decision::Terminated(TerminationReason::NoApplication),
    arc: None,
    cryptograms: &[],
    tvr_first_generate_ac: "-",
    tvr: "0000000000",
    tsi: "0000",
    cvm_results: "3F0000",
    oda: NO_ODA,
    signature_required: false,
    ..TC_OFFLINE
};

fn cash() -> TransactionInputs {
    TransactionInputs {
        transaction_type: 0x01,
        ..TEST_INPUTS
    }
}

fn amount_75() -> TransactionInputs {
    TransactionInputs {
        amount_authorised: 7_500,
        ..TEST_INPUTS
    }
}

/// The XDA terminal: the default with 9F33 byte 3 b3 (docs/terminal.xda.toml).
fn xda_terminal() -> TerminalConfig {
    let mut config = TerminalConfig::default();
    config.terminal_capabilities[2] |= emv_kernel::config::CAPABILITY_XDA;
    config
}

const fn xda_failed(failure: OdaFailure) -> (OdaMethod, OdaResult, Option<OdaFailure>) {
    (OdaMethod::Xda, OdaResult::Failed, Some(failure))
}

/// XDA succeeded (EMV 4.4): TVR byte 1 b1 "XDA selected".
const XDA_OFFLINE: Expect = Expect {
    terminal: xda_terminal,
    tvr_first_generate_ac: "0100000000",
    tvr: "0100000000",
    oda: (OdaMethod::Xda, OdaResult::Succeeded, None),
    ..TC_OFFLINE
};

/// XDA failed at a certificate: "XDA selected" and "XDA signature
/// verification failed" (byte 4 b1), in the XDA card's IAC-Online: ARQC.
const XDA_FAILED_ONLINE: Expect = Expect {
    terminal: xda_terminal,
    tvr_first_generate_ac: "0100000100",
    tvr: "0100000100",
    ..ONLINE_APPROVED
};

const fn sda_failed(failure: OdaFailure) -> (OdaMethod, OdaResult, Option<OdaFailure>) {
    (OdaMethod::Sda, OdaResult::Failed, Some(failure))
}

const fn dda_failed(failure: OdaFailure) -> (OdaMethod, OdaResult, Option<OdaFailure>) {
    (OdaMethod::Dda, OdaResult::Failed, Some(failure))
}

/// The table: every profile of `test-cards`, in the order of `PROFILES.md`,
/// then the variants.
const EXPECTED: &[Expect] = &[
    // SDA (Book 2, 5): TVR byte 1 b2 "SDA selected" (Book 3, C5).
    Expect {
        profile: "sda",
        ..TC_OFFLINE
    },
    // DDA (Book 2, 6.5) with INTERNAL AUTHENTICATE: clean TVR.
    Expect {
        profile: "dda",
        tvr_first_generate_ac: "0000000000",
        tvr: "0000000000",
        oda: DDA_OK,
        ..TC_OFFLINE
    },
    // CDA (Book 2, 6.6): signature verified on the TC.
    Expect {
        profile: "cda",
        tvr_first_generate_ac: "0000000000",
        tvr: "0000000000",
        oda: CDA_OK,
        ..TC_OFFLINE
    },
    // No common ODA method: TVR byte 1 b8 "ODA not performed" is in
    // TAC-Online (DC): ARQC (Book 3, 10.7); TSI without ODA (68).
    Expect {
        profile: "no-oda",
        tvr_first_generate_ac: "8000000000",
        tvr: "8000000000",
        tsi: "6800",
        oda: NO_ODA,
        ..ONLINE_APPROVED
    },
    // Candidates in priority order (Book 1, 12.4); the cardholder takes the
    // first, TEST DEBIT (priority 1 with confirmation).
    Expect {
        profile: "multi-app-pse",
        aid: "A0000009992020",
        offered: &["A0000009992020", CREDIT, "A0000009993030"],
        ..TC_OFFLINE
    },
    // List of AIDs with partial selection (Book 1, 12.3.3): the first
    // occurrence A000000999101001 is taken.
    Expect {
        profile: "no-pse",
        aid: "A000000999101001",
        offered: &["A000000999101001", "A000000999101002"],
        ..TC_OFFLINE
    },
    Expect {
        profile: "pse-unsupported-aid",
        ..TC_OFFLINE
    },
    // Final SELECT 6283: not a candidate, none left (Book 1, 12.4).
    Expect {
        profile: "app-blocked",
        ..TERMINATED
    },
    // SELECT PSE 6A81: card blocked, terminate (Book 1, 12.3.2).
    Expect {
        profile: "card-blocked",
        decision: Decision::Terminated(TerminationReason::CardBlocked),
        ..TERMINATED
    },
    // Expired application (Book 3, 10.4.3): TVR byte 2 b7, in TAC-Online.
    Expect {
        profile: "expired",
        tvr_first_generate_ac: "0240000000",
        tvr: "0240000000",
        ..ONLINE_APPROVED
    },
    // Not yet effective: TVR byte 2 b6, in no action code: TC.
    Expect {
        profile: "not-yet-effective",
        tvr_first_generate_ac: "0220000000",
        tvr: "0220000000",
        ..TC_OFFLINE
    },
    // Different application versions: TVR byte 2 b8, in no action code.
    Expect {
        profile: "wrong-version",
        tvr_first_generate_ac: "0280000000",
        tvr: "0280000000",
        ..TC_OFFLINE
    },
    // AUC domestic only, international transaction: service not allowed
    // (byte 2 b5) in TAC-Denial: AAC, Z1 (Book 3, 10.4.2 and 10.7).
    Expect {
        profile: "auc-domestic-only",
        decision: Decision::Declined,
        arc: Some(*b"Z1"),
        cryptograms: &[Aac],
        tvr_first_generate_ac: "0210000000",
        tvr: "0210000000",
        ..TC_OFFLINE
    },
    Expect {
        profile: "auc-no-cash",
        ..TC_OFFLINE
    },
    // Offline plaintext PIN verified (Book 3, 10.5.1): CVM Results 010002.
    Expect {
        profile: "cvm-offline-pin",
        cvm_results: "010002",
        signature_required: false,
        ..TC_OFFLINE
    },
    // Offline enciphered PIN with the ICC PIN key (Book 2, 7.1), DDA card.
    Expect {
        profile: "cvm-enciphered-pin",
        tvr_first_generate_ac: "0000000000",
        tvr: "0000000000",
        cvm_results: "040002",
        oda: DDA_OK,
        signature_required: false,
        ..TC_OFFLINE
    },
    // Offline enciphered PIN with the ICC key, CDA card.
    Expect {
        profile: "cvm-enciphered-pin-icc-key",
        tvr_first_generate_ac: "0000000000",
        tvr: "0000000000",
        cvm_results: "040002",
        oda: CDA_OK,
        signature_required: false,
        ..TC_OFFLINE
    },
    // Online PIN: TVR byte 3 b3 "online PIN entered" in TAC-Online; result
    // unknown (00).
    Expect {
        profile: "cvm-online-pin",
        tvr_first_generate_ac: "0200040000",
        tvr: "0200040000",
        cvm_results: "020000",
        signature_required: false,
        ..ONLINE_APPROVED
    },
    Expect {
        profile: "cvm-signature",
        cvm_results: "1E0000",
        ..TC_OFFLINE
    },
    // No CVM required: successful (02).
    Expect {
        profile: "cvm-no-cvm",
        cvm_results: "1F0002",
        signature_required: false,
        ..TC_OFFLINE
    },
    // PIN Try Counter 0: no VERIFY, "PIN Try Limit exceeded" and
    // "cardholder verification not successful" (byte 3 b6, b8), CVM failed
    // (010001); byte 3 b8 is in TAC-Online: ARQC.
    Expect {
        profile: "pin-try-limit-exceeded",
        tvr_first_generate_ac: "0200A00000",
        tvr: "0200A00000",
        cvm_results: "010001",
        signature_required: false,
        ..ONLINE_APPROVED
    },
    // Amount 10.00 under X = 50.00: "no CVM required" rule, condition 06.
    Expect {
        profile: "cvm-amount-conditions",
        cvm_results: "1F0602",
        signature_required: false,
        ..TC_OFFLINE
    },
    // LCOL exceeded (Book 3, 10.6.3): byte 4 b7, in TAC-Online.
    Expect {
        profile: "velocity-lcol",
        tvr_first_generate_ac: "0200004000",
        tvr: "0200004000",
        ..ONLINE_APPROVED
    },
    // LCOL and UCOL exceeded: byte 4 b7 and b6.
    Expect {
        profile: "velocity-ucol",
        tvr_first_generate_ac: "0200006000",
        tvr: "0200006000",
        ..ONLINE_APPROVED
    },
    // Last Online ATC Register 0: new card (byte 2 b4), in no action code.
    Expect {
        profile: "new-card",
        tvr_first_generate_ac: "0208000000",
        tvr: "0208000000",
        ..TC_OFFLINE
    },
    // SDA failures (Book 2, 5.3 and 5.4): byte 1 b7 "SDA failed", in
    // TAC-Online: ARQC; each names the Book 2 check that failed.
    Expect {
        profile: "sda-bad-ssad",
        tvr_first_generate_ac: "4200000000",
        tvr: "4200000000",
        oda: sda_failed(OdaFailure::StaticSignature(SignatureCheck::Hash)),
        ..ONLINE_APPROVED
    },
    Expect {
        profile: "bad-issuer-cert",
        tvr_first_generate_ac: "4200000000",
        tvr: "4200000000",
        oda: sda_failed(OdaFailure::IssuerCertificate(CertificateCheck::Trailer)),
        ..ONLINE_APPROVED
    },
    Expect {
        profile: "expired-issuer-cert",
        tvr_first_generate_ac: "4200000000",
        tvr: "4200000000",
        oda: sda_failed(OdaFailure::IssuerCertificate(CertificateCheck::Expired)),
        ..ONLINE_APPROVED
    },
    Expect {
        profile: "revoked-issuer-cert",
        tvr_first_generate_ac: "4200000000",
        tvr: "4200000000",
        oda: sda_failed(OdaFailure::IssuerCertificate(CertificateCheck::Revoked)),
        ..ONLINE_APPROVED
    },
    // DDA failures (Book 2, 6.2 to 6.5): byte 1 b4 "DDA failed", in
    // TAC-Online: ARQC.
    Expect {
        profile: "unknown-ca-index",
        tvr_first_generate_ac: "0800000000",
        tvr: "0800000000",
        oda: dda_failed(OdaFailure::CaKeyNotFound),
        ..ONLINE_APPROVED
    },
    Expect {
        profile: "dda-bad-signature",
        tvr_first_generate_ac: "0800000000",
        tvr: "0800000000",
        oda: dda_failed(OdaFailure::DynamicSignature(SignatureCheck::Hash)),
        ..ONLINE_APPROVED
    },
    // CDA fails on a TC (Book 2, 6.6.2; Book 3, 10.8): "CDA failed" (byte 1
    // b3) and the TC counts as an AAC: declined offline, Z1.
    Expect {
        profile: "cda-bad-signature",
        decision: Decision::Declined,
        arc: Some(*b"Z1"),
        tvr_first_generate_ac: "0400000000",
        tvr: "0400000000",
        oda: (
            OdaMethod::Cda,
            OdaResult::Failed,
            Some(OdaFailure::DynamicSignature(
                SignatureCheck::TransactionDataHash,
            )),
        ),
        ..TC_OFFLINE
    },
    Expect {
        profile: "icc-cert-pan-mismatch",
        tvr_first_generate_ac: "0800000000",
        tvr: "0800000000",
        oda: dda_failed(OdaFailure::IccCertificate(CertificateCheck::ApplicationPan)),
        ..ONLINE_APPROVED
    },
    // Card action analysis (Book 3, 10.8): the card answers AAC to a TC.
    Expect {
        profile: "card-declines",
        decision: Decision::Declined,
        arc: Some(*b"Z1"),
        cryptograms: &[Aac],
        ..TC_OFFLINE
    },
    // The card answers ARQC to a TC: online, approved.
    Expect {
        profile: "card-online",
        ..ONLINE_APPROVED
    },
    // CDA card online with issuer authentication (EXTERNAL AUTHENTICATE,
    // Book 3, 10.9) and two scripts after the final GENERATE AC (Book 3,
    // 10.10), as recorded in its trace: TSI issuer authentication and script
    // processing performed (FC).
    Expect {
        profile: "issuer-scripts",
        host: HostPlan::ApprovesWithScripts(&[
            (0x72, [0x84, 0x24, 0x00, 0x00]),
            (0x72, [0x84, 0x1E, 0x00, 0x00]),
        ]),
        tvr_first_generate_ac: "0000000000",
        tvr: "0000000000",
        tsi: "FC00",
        oda: CDA_OK,
        // Book 3, Annex A (9F5B): one entry per script, result 2
        // (successful) with sequence number 0, then the script identifier
        // (none sent: zeros).
        script_results: "20000000002000000000",
        ..ONLINE_APPROVED
    },
    Expect {
        profile: "no-pdol-format1",
        tvr_first_generate_ac: "0000000000",
        tvr: "0000000000",
        oda: DDA_OK,
        ..TC_OFFLINE
    },
    // Malformed records (Book 3, 10.2): terminate after selection.
    Expect {
        profile: "hostile-lying-length",
        aid: CREDIT,
        decision: Decision::Terminated(TerminationReason::CardDataFormat),
        ..TERMINATED
    },
    Expect {
        profile: "hostile-truncated-record",
        aid: CREDIT,
        decision: Decision::Terminated(TerminationReason::CardDataFormat),
        ..TERMINATED
    },
    Expect {
        profile: "hostile-recursive-template",
        aid: CREDIT,
        decision: Decision::Terminated(TerminationReason::CardDataFormat),
        ..TERMINATED
    },
    Expect {
        profile: "hostile-afl-loop",
        aid: CREDIT,
        decision: Decision::Terminated(TerminationReason::DuplicateData),
        ..TERMINATED
    },
    Expect {
        profile: "hostile-afl-200-records",
        aid: CREDIT,
        decision: Decision::Terminated(TerminationReason::CapacityExceeded),
        ..TERMINATED
    },
    // T=0 sequences resolved by the transport: as no-oda.
    Expect {
        profile: "hostile-t0-sequences",
        tvr_first_generate_ac: "8000000000",
        tvr: "8000000000",
        tsi: "6800",
        oda: NO_ODA,
        ..ONLINE_APPROVED
    },
    Expect {
        profile: "hostile-endless-get-response",
        decision: Decision::Terminated(TerminationReason::TransportFailed),
        ..TERMINATED
    },
    Expect {
        profile: "hostile-oversized-response",
        aid: CREDIT,
        decision: Decision::Terminated(TerminationReason::TransportFailed),
        ..TERMINATED
    },
    // EMV 4.4 XDA at the XDA terminal (9F33 E0F8CC): ECC certificates and
    // the EC-SDSA signature of the TC.
    Expect {
        profile: "xda",
        ..XDA_OFFLINE
    },
    Expect {
        profile: "xda-p521",
        ..XDA_OFFLINE
    },
    // The TC's signature fails: treated as an AAC, declined offline, Z1.
    Expect {
        profile: "xda-bad-signature",
        decision: Decision::Declined,
        arc: Some(*b"Z1"),
        tvr: "0100000100",
        oda: xda_failed(OdaFailure::DynamicSignature(SignatureCheck::Signature)),
        ..XDA_OFFLINE
    },
    Expect {
        profile: "xda-expired-issuer-cert",
        oda: xda_failed(OdaFailure::IssuerCertificate(CertificateCheck::Expired)),
        ..XDA_FAILED_ONLINE
    },
    Expect {
        profile: "xda-wrong-issuer-identifier",
        oda: xda_failed(OdaFailure::IssuerCertificate(
            CertificateCheck::IssuerIdentifier,
        )),
        ..XDA_FAILED_ONLINE
    },
    Expect {
        profile: "xda-pan-mismatch",
        oda: xda_failed(OdaFailure::IccCertificate(CertificateCheck::IccdHash)),
        ..XDA_FAILED_ONLINE
    },
    Expect {
        profile: "xda-unknown-ca-index",
        oda: xda_failed(OdaFailure::CaKeyNotFound),
        ..XDA_FAILED_ONLINE
    },
    Expect {
        profile: "xda-revoked-issuer-cert",
        oda: xda_failed(OdaFailure::IssuerCertificate(CertificateCheck::Revoked)),
        ..XDA_FAILED_ONLINE
    },
    Expect {
        profile: "xda-tampered-record",
        oda: xda_failed(OdaFailure::IccCertificate(CertificateCheck::IccdHash)),
        ..XDA_FAILED_ONLINE
    },
    Expect {
        profile: "xda-bad-suite",
        oda: xda_failed(OdaFailure::IssuerCertificate(
            CertificateCheck::AlgorithmSuite,
        )),
        ..XDA_FAILED_ONLINE
    },
    // ECC offline PIN encipherment (EMV 4.4 Book 2, 13): the PIN enciphered
    // with the 9F2D key, verified by the card.
    Expect {
        profile: "xda-enciphered-pin",
        cvm_results: "040002",
        signature_required: false,
        ..XDA_OFFLINE
    },
    Expect {
        profile: "xda-enciphered-pin-p521",
        cvm_results: "040002",
        signature_required: false,
        ..XDA_OFFLINE
    },
    // The 9F2D certificate fails: no PIN key, the PIN method fails, CVM
    // not successful (TVR byte 3 b8), online.
    Expect {
        profile: "xda-enciphered-pin-bad-certificate",
        tvr_first_generate_ac: "0100800000",
        tvr: "0100800000",
        cvm_results: "040001",
        signature_required: false,
        oda: (OdaMethod::Xda, OdaResult::Succeeded, None),
        terminal: xda_terminal,
        ..ONLINE_APPROVED
    },
    // Variants named in the profiles' documentation.
    // Cash (9C 01) with AUC 3D00: service not allowed in TAC-Denial: AAC.
    Expect {
        profile: "auc-no-cash",
        variant: "cash",
        inputs: cash,
        decision: Decision::Declined,
        arc: Some(*b"Z1"),
        cryptograms: &[Aac],
        tvr_first_generate_ac: "0210000000",
        tvr: "0210000000",
        ..TC_OFFLINE
    },
    // 75.00 over X = 50.00: offline PIN under condition 07 (410702).
    Expect {
        profile: "cvm-amount-conditions",
        variant: "amount 75.00",
        inputs: amount_75,
        cvm_results: "410702",
        signature_required: false,
        ..TC_OFFLINE
    },
    // Unable to go online (Book 3, 10.7): TAC/IAC-Default byte 4 b6 (UCOL)
    // gives AAC in the second GENERATE AC, ARC Z3.
    // An XDA-only card at the default terminal (9F33 E0F8C8, no XDA): no
    // ODA (Book 3, 10.3), "ODA not performed" is in TAC-Online: ARQC.
    Expect {
        profile: "xda",
        variant: "default terminal",
        tvr_first_generate_ac: "8000000000",
        tvr: "8000000000",
        tsi: "6800",
        oda: NO_ODA,
        ..ONLINE_APPROVED
    },
    Expect {
        profile: "velocity-ucol",
        variant: "host unreachable",
        host: HostPlan::Unreachable,
        decision: Decision::Declined,
        arc: Some(*b"Z3"),
        cryptograms: &[Arqc, Aac],
        tvr_first_generate_ac: "0200006000",
        tvr: "0200006000",
        online: false,
        ..ONLINE_APPROVED
    },
    // Unable to go online: "ODA not performed" is in TAC-Default: AAC, Z3.
    Expect {
        profile: "no-oda",
        variant: "host unreachable",
        host: HostPlan::Unreachable,
        decision: Decision::Declined,
        arc: Some(*b"Z3"),
        cryptograms: &[Arqc, Aac],
        tvr_first_generate_ac: "8000000000",
        tvr: "8000000000",
        tsi: "6800",
        oda: NO_ODA,
        online: false,
        ..ONLINE_APPROVED
    },
];

/// A card wrapper that records every exchange.
struct Recording {
    card: Card,
    exchanges: Vec<(Vec<u8>, Vec<u8>)>,
}

impl CardTransport for Recording {
    type Error = <Card as CardTransport>::Error;
    fn transmit(&mut self, command: &[u8], response: &mut [u8]) -> Result<usize, Self::Error> {
        let result = self.card.transmit(command, response);
        let answer = match &result {
            Ok(n) => response[..*n].to_vec(),
            Err(_) => Vec::new(),
        };
        if std::env::var("SCENARIO_TRACE").is_ok() {
            println!(
                "  > {}\n  < {}",
                hex::encode_upper(command),
                hex::encode_upper(&answer)
            );
        }
        self.exchanges.push((command.to_vec(), answer));
        result
    }
}

/// Takes the first candidate and enters the profile's PIN.
struct Person {
    pin: Vec<u8>,
    offered: Vec<String>,
}

impl Cardholder for Person {
    fn choose_application(&mut self, candidates: &[Candidate], _: bool) -> Option<usize> {
        self.offered = candidates
            .iter()
            .map(|c| hex::encode_upper(&c.aid))
            .collect();
        Some(0)
    }
    fn enter_pin(&mut self, kind: PinKind, _tries_left: Option<u8>) -> PinEntry<'_> {
        match kind {
            PinKind::Online => PinEntry::OnlineCaptured,
            _ => PinEntry::Digits(&self.pin),
        }
    }
}

/// The test issuer behind the acquirer.
struct TestHost {
    plan: HostPlan,
    issuer: Issuer,
    pan: Vec<u8>,
    pan_sequence: u8,
    requests: Vec<Vec<u8>>,
    issuer_authentication_data: Vec<u8>,
    scripts: Vec<u8>,
}

fn encode(tag: u32, value: &[u8]) -> Vec<u8> {
    let mut buf = vec![0u8; value.len() + 8];
    let mut writer = tlv::Writer::new(&mut buf);
    writer.push(Tag(tag), value).expect("fits");
    writer.as_bytes().to_vec()
}

fn value(data: &[u8], tag: u32) -> Option<Vec<u8>> {
    tlv::find(data, Tag(tag)).map(<[u8]>::to_vec)
}

impl Host for TestHost {
    fn authorise(&mut self, icc_data: &[u8]) -> HostResponse<'_> {
        self.requests.push(icc_data.to_vec());
        let templates: &[(u32, [u8; 4])] = match self.plan {
            HostPlan::Unreachable => return HostResponse::UNREACHABLE,
            HostPlan::Approves => &[],
            HostPlan::ApprovesWithScripts(templates) => templates,
        };
        let (Some(arqc), Some(atc)) = (value(icc_data, 0x9F26), value(icc_data, 0x9F36)) else {
            panic!("authorisation request without 9F26/9F36: {icc_data:02X?}");
        };
        let arqc: [u8; 8] = arqc.try_into().expect("ARQC is 8 bytes");
        let atc = u16::from_be_bytes(atc.try_into().expect("ATC is 2 bytes"));
        let arc = *b"00";
        self.issuer_authentication_data = self
            .issuer
            .issuer_authentication_data(&self.pan, self.pan_sequence, atc, arqc, arc)
            .to_vec();
        self.scripts.clear();
        for (template, header) in templates {
            let command =
                self.issuer
                    .script_command(&self.pan, self.pan_sequence, atc, arqc, *header, &[]);
            self.scripts
                .extend(encode(*template, &encode(0x86, &command)));
        }
        HostResponse {
            reachable: true,
            approved: true,
            authorisation_response_code: arc,
            issuer_authentication_data: Some(&self.issuer_authentication_data),
            scripts: &self.scripts,
        }
    }
}

struct Run {
    outcome: Outcome,
    exchanges: Vec<(Vec<u8>, Vec<u8>)>,
    requests: Vec<Vec<u8>>,
    offered: Vec<String>,
    pan: Vec<u8>,
    pan_sequence: u8,
}

/// Runs the row's transaction with its terminal configuration.
fn run(profile: &Profile, row: &Expect) -> Run {
    let spec = profile.spec();
    let selected = spec
        .apps
        .iter()
        .find(|app| hex::encode_upper(&app.aid) == row.aid)
        .or(spec.apps.first())
        .expect("an application");
    let pan = hex::decode(selected.pan).expect("PAN digits");
    let keys = emv_test_cards::pki::ca_key_store();
    let revoked = emv_test_cards::pki::revocation_list();
    let config = (row.terminal)();
    let context = TerminalContext {
        config: &config,
        ca_keys: &keys,
        revocations: &revoked,
        exception_file: &[],
    };
    let mut transaction =
        Transaction::new(context, RingCrypto::new(), (row.inputs)()).expect("valid inputs");
    let mut card = Recording {
        card: profile.card(),
        exchanges: Vec::new(),
    };
    let mut person = Person {
        pin: selected.pin.bytes().collect(),
        offered: Vec::new(),
    };
    let mut host = TestHost {
        plan: row.host,
        issuer: Issuer::test_issuer(),
        pan: pan.clone(),
        pan_sequence: selected.pan_sequence,
        requests: Vec::new(),
        issuer_authentication_data: Vec::new(),
        scripts: Vec::new(),
    };
    let outcome = driver::run(&mut transaction, &mut card, &mut person, &mut host)
        .expect("the driver answers every request");
    Run {
        outcome,
        exchanges: card.exchanges,
        requests: host.requests,
        offered: person.offered,
        pan,
        pan_sequence: selected.pan_sequence,
    }
}

fn is_generate_ac(command: &[u8]) -> bool {
    command.starts_with(&[0x80, 0xAE])
}

/// The command data (Lc bytes after the header) of a case 3/4 command.
fn command_data(command: &[u8]) -> &[u8] {
    let lc = usize::from(command[4]);
    &command[5..5 + lc]
}

/// The card's CDOL1 (8C), from the records it returned.
fn cdol1(run: &Run) -> Option<Vec<u8>> {
    run.exchanges
        .iter()
        .filter(|(command, _)| command.starts_with(&[0x00, 0xB2]))
        .find_map(|(_, response)| value(&response[..response.len().saturating_sub(2)], 0x8C))
}

/// The value of `tag` in the data built from `dol`.
fn dol_field(dol_bytes: &[u8], data: &[u8], tag: u32) -> Option<Vec<u8>> {
    let mut offset = 0;
    for entry in dol::entries(dol_bytes) {
        let entry = entry.ok()?;
        if entry.tag == Tag(tag) {
            return data.get(offset..offset + entry.length).map(<[u8]>::to_vec);
        }
        offset += entry.length;
    }
    None
}

/// One GENERATE AC response, format 1 (80) or format 2 (77).
struct GenerateAcResponse {
    cid: u8,
    atc: u16,
    /// Absent in a CDA response: inside the signed dynamic data.
    cryptogram: Option<[u8; 8]>,
    issuer_application_data: Vec<u8>,
}

fn parse_generate_ac(response: &[u8]) -> Option<GenerateAcResponse> {
    let body = response.get(..response.len().checked_sub(2)?)?;
    let top = tlv::parse_single(body).ok()?;
    match top.tag {
        Tag(0x80) => {
            let v = top.value;
            Some(GenerateAcResponse {
                cid: *v.first()?,
                atc: u16::from_be_bytes(v.get(1..3)?.try_into().ok()?),
                cryptogram: Some(v.get(3..11)?.try_into().ok()?),
                issuer_application_data: v.get(11..)?.to_vec(),
            })
        }
        Tag(0x77) => Some(GenerateAcResponse {
            cid: *value(body, 0x9F27)?.first()?,
            atc: u16::from_be_bytes(value(body, 0x9F36)?.try_into().ok()?),
            cryptogram: value(body, 0x9F26).and_then(|c| c.try_into().ok()),
            issuer_application_data: value(body, 0x9F10)?,
        }),
        _ => None,
    }
}

fn cryptogram_type(cid: u8) -> Option<CryptogramType> {
    match cid & 0xC0 {
        0x00 => Some(Aac),
        0x40 => Some(Tc),
        0x80 => Some(Arqc),
        _ => None,
    }
}

fn label(row: &Expect) -> String {
    if row.variant.is_empty() {
        row.profile.to_string()
    } else {
        format!("{} ({})", row.profile, row.variant)
    }
}

/// Checks one row; returns the mismatches, each naming the field.
fn check(row: &Expect) -> Vec<String> {
    let name = label(row);
    let profile = profiles::find(row.profile).unwrap_or_else(|| panic!("no profile {name}"));
    let r = run(profile, row);
    let o = &r.outcome;
    let mut errors = Vec::new();
    let mut field = |field: &str, expected: String, actual: String| {
        if expected != actual {
            errors.push(format!(
                "{name}: {field}: expected {expected}, got {actual}"
            ));
        }
    };
    field("AID", row.aid.into(), hex::encode_upper(&o.aid));
    field(
        "candidates offered",
        format!("{:?}", row.offered),
        format!("{:?}", r.offered),
    );
    field(
        "decision",
        format!("{:?}", row.decision),
        format!("{:?}", o.decision),
    );
    field(
        "ARC",
        format!(
            "{:?}",
            row.arc.map(|c| String::from_utf8_lossy(&c).to_string())
        ),
        format!(
            "{:?}",
            o.authorisation_response_code
                .map(|c| String::from_utf8_lossy(&c).to_string())
        ),
    );
    field("TVR", row.tvr.into(), hex::encode_upper(o.tvr.0));
    field("TSI", row.tsi.into(), hex::encode_upper(o.tsi.0));
    field(
        "CVM Results",
        row.cvm_results.into(),
        hex::encode_upper(o.cvm_results),
    );
    field(
        "ODA",
        format!("{:?}", row.oda),
        format!("{:?}", (o.oda_method, o.oda_result, o.oda_failure)),
    );
    field("online", row.online.to_string(), o.online.to_string());
    field(
        "Issuer Script Results",
        row.script_results.into(),
        hex::encode_upper(&o.script_results),
    );
    field(
        "signature required",
        row.signature_required.to_string(),
        o.signature_required.to_string(),
    );
    field(
        "host asked",
        usize::from(row.cryptograms.first() == Some(&Arqc)).to_string(),
        r.requests.len().to_string(),
    );

    // The documented TVR after the first GENERATE AC equals the table's:
    // the first value for the default inputs, a listed value for a variant
    // (`0200000000 (purchase) / 0210000000 (cash)`).
    let documented: Vec<&str> = profile
        .tvr
        .split([' ', '/', '(', ')'])
        .filter(|word| word.len() == 10 || *word == "-")
        .collect();
    let listed = if row.variant.is_empty() {
        documented.first() == Some(&row.tvr_first_generate_ac)
    } else {
        documented.contains(&row.tvr_first_generate_ac)
    };
    if !listed {
        field(
            "profile.tvr (PROFILES.md) vs table",
            profile.tvr.into(),
            row.tvr_first_generate_ac.into(),
        );
    }

    let generate_acs: Vec<&(Vec<u8>, Vec<u8>)> = r
        .exchanges
        .iter()
        .filter(|(command, _)| is_generate_ac(command))
        .collect();
    let responses: Vec<Option<GenerateAcResponse>> = generate_acs
        .iter()
        .map(|(_, response)| parse_generate_ac(response))
        .collect();
    field(
        "cryptogram types",
        format!("{:?}", row.cryptograms),
        format!(
            "{:?}",
            responses
                .iter()
                .filter_map(|p| p.as_ref().and_then(|p| cryptogram_type(p.cid)))
                .collect::<Vec<_>>()
        ),
    );
    field(
        "outcome cryptogram type",
        format!("{:?}", row.cryptograms.last()),
        format!("{:?}", o.cryptogram_type.as_ref()),
    );

    // TVR and CVM Results sent in the first GENERATE AC (CDOL1 data).
    match (generate_acs.first(), cdol1(&r)) {
        (Some((command, _)), Some(cdol)) => {
            let data = command_data(command);
            let mut sent_tvr = hex::decode(row.tvr_first_generate_ac).expect("hex TVR");
            sent_tvr[0] &= !0x04;
            field(
                "TVR in the first GENERATE AC",
                hex::encode_upper(sent_tvr),
                dol_field(&cdol, data, 0x95).map_or("absent".into(), hex::encode_upper),
            );
            field(
                "CVM Results in the first GENERATE AC",
                row.cvm_results.into(),
                dol_field(&cdol, data, 0x9F34).map_or("absent".into(), hex::encode_upper),
            );
        }
        (None, _) => field(
            "TVR in the first GENERATE AC",
            row.tvr_first_generate_ac.into(),
            "-".into(),
        ),
        (Some(_), None) => field("CDOL1", "in a record".into(), "absent".into()),
    }

    // Every cryptogram verifies with the test Issuer.
    // Book 2, 6.6.2: when CDA fails the card's cryptogram is not trusted
    // and not reported.
    let cda_failed = row.oda.0 == OdaMethod::Cda && row.oda.1 == OdaResult::Failed;
    if cda_failed {
        field(
            "cryptogram after CDA failed",
            "None".into(),
            format!("{:?}", o.cryptogram),
        );
    }
    let aip: Option<[u8; 2]> = value(&o.clearing_data, 0x82).and_then(|v| v.try_into().ok());
    for (index, ((command, _), parsed)) in generate_acs.iter().zip(&responses).enumerate() {
        let Some(parsed) = parsed else {
            field(
                &format!("GENERATE AC {index} response"),
                "parsable".into(),
                "not".into(),
            );
            continue;
        };
        let last = index + 1 == generate_acs.len();
        let from_kernel = if last {
            o.cryptogram
        } else {
            r.requests
                .first()
                .and_then(|request| value(request, 0x9F26))
                .and_then(|c| c.try_into().ok())
        };
        if let (Some(from_card), Some(reported)) = (parsed.cryptogram, from_kernel) {
            field(
                &format!("cryptogram {index} reported by the kernel"),
                hex::encode_upper(from_card),
                hex::encode_upper(reported),
            );
        }
        if cda_failed && parsed.cryptogram.is_none() {
            continue;
        }
        let Some(cryptogram) = parsed.cryptogram.or(from_kernel) else {
            field(
                &format!("cryptogram {index}"),
                "known".into(),
                "unknown".into(),
            );
            continue;
        };
        let (Some(aip), Some(cvr)) = (aip, parsed.issuer_application_data.get(2..6)) else {
            field(
                &format!("cryptogram {index} input"),
                "AIP and CVR".into(),
                "missing".into(),
            );
            continue;
        };
        let input = issuer::cryptogram_input(
            command_data(command),
            aip,
            parsed.atc,
            cvr.try_into().expect("4 bytes"),
        );
        let verifies = Issuer::test_issuer().verify_cryptogram(
            &r.pan,
            r.pan_sequence,
            parsed.atc,
            &input,
            cryptogram,
        );
        field(
            &format!("cryptogram {index} verified by the Issuer"),
            "true".into(),
            verifies.to_string(),
        );
    }

    // Exact command sequence: the profile's golden trace.
    if row.variant.is_empty() {
        if let Err(mismatch) = compare_with_trace(row.profile, &r) {
            errors.push(format!("{name}: APDU sequence: {mismatch}"));
        }
    }
    errors
}

fn trace_path(profile: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("traces")
        .join(format!("{profile}.trace"))
}

/// Compares the commands sent with the command lines of the trace.
fn compare_with_trace(profile: &str, r: &Run) -> Result<(), String> {
    let path = trace_path(profile);
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let trace: Trace =
        emv_trace::format::parse(&text).map_err(|e| format!("{}: {e:?}", path.display()))?;
    let golden: Vec<(Vec<u8>, bool)> = trace
        .events
        .iter()
        .filter_map(|event| match event {
            Event::Command { apdu, withheld } => Some((apdu.clone(), *withheld)),
            _ => None,
        })
        .collect();
    let sent: Vec<&Vec<u8>> = r.exchanges.iter().map(|(command, _)| command).collect();
    for (index, ((expected, withheld), actual)) in golden.iter().zip(&sent).enumerate() {
        let compared = if *withheld {
            &actual[..actual.len().min(expected.len())]
        } else {
            &actual[..]
        };
        if compared != expected.as_slice() {
            return Err(format!(
                "command {}: expected {} (trace), sent {}",
                index + 1,
                hex::encode_upper(expected),
                hex::encode_upper(actual)
            ));
        }
    }
    if golden.len() != sent.len() {
        return Err(format!(
            "{} commands sent, the trace has {}",
            sent.len(),
            golden.len()
        ));
    }
    Ok(())
}

/// Every profile has a row with its default inputs, and only one.
#[test]
fn the_table_covers_every_profile() {
    let names: Vec<&str> = EXPECTED
        .iter()
        .filter(|row| row.variant.is_empty())
        .map(|row| row.profile)
        .collect();
    let unique: BTreeSet<&str> = names.iter().copied().collect();
    assert_eq!(unique.len(), names.len(), "a profile appears twice");
    let all: BTreeSet<&str> = profiles::all().iter().map(|p| p.name).collect();
    assert_eq!(unique, all);
}

/// Every profile end to end: the exact outcome, TVR, TSI, CVM Results, ARC,
/// cryptograms verified by the Issuer, and the exact APDU sequence.
#[test]
fn every_profile_ends_exactly_as_documented() {
    let errors: Vec<String> = EXPECTED.iter().flat_map(check).collect();
    assert!(
        errors.is_empty(),
        "{} mismatches:\n{}",
        errors.len(),
        errors.join("\n")
    );
}

/// The checks can fail: a wrong expectation in any field is reported, with
/// the profile and the field named.
#[test]
fn a_wrong_expectation_is_reported() {
    let wrong = Expect {
        profile: "dda",
        tvr: "0000000001",
        tsi: "E000",
        arc: Some(*b"00"),
        ..*EXPECTED.iter().find(|row| row.profile == "dda").unwrap()
    };
    let errors = check(&wrong);
    assert_eq!(errors.len(), 3, "{errors:?}");
    assert!(errors[0].starts_with("dda: ARC:"), "{errors:?}");
    assert!(errors[1].starts_with("dda: TVR:"), "{errors:?}");
    assert!(errors[2].starts_with("dda: TSI:"), "{errors:?}");
}

/// The APDU comparison can fail: the `cda` card's commands differ from the
/// `dda` trace (no INTERNAL AUTHENTICATE, GENERATE AC P1 50), and a changed
/// byte of the unpredictable number is found.
#[test]
fn a_different_command_sequence_is_reported() {
    let cda = EXPECTED.iter().find(|row| row.profile == "cda").unwrap();
    let profile = profiles::find("cda").unwrap();
    let mut r = run(profile, cda);
    assert_eq!(compare_with_trace("cda", &r), Ok(()));
    let mismatch = compare_with_trace("dda", &r).unwrap_err();
    assert!(mismatch.starts_with("command 11:"), "{mismatch}");
    let (last, _) = r.exchanges.last_mut().unwrap();
    let un = last.len() - 10;
    last[un] ^= 0x01;
    let mismatch = compare_with_trace("cda", &r).unwrap_err();
    assert!(mismatch.starts_with("command 13:"), "{mismatch}");
    r.exchanges.pop();
    let mismatch = compare_with_trace("cda", &r).unwrap_err();
    assert_eq!(mismatch, "12 commands sent, the trace has 13");
}
