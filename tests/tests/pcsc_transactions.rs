//! Full transactions through a real pcscd: each `test-cards` profile is
//! served into the virtual reader over vpcd and the kernel runs on it through
//! the PC/SC adapter, exactly as on a USB reader. The outcome must be
//! identical, field for field, to the same transaction in process (same
//! fresh card, same inputs), and the card must see the same commands.
//!
//! Needs pcscd with vsmartcard-vpcd: run through `scripts/test.sh`, or
//! `scripts/pcscd.sh start` and `EMV_PCSCD=1`. Without it each test prints
//! "skipped: set EMV_PCSCD=1" and passes.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use emv_kernel::config::TerminalConfig;
use emv_kernel::crypto::{CryptoError, CryptoProvider, RingCrypto};
use emv_kernel::driver::{self, Cardholder, Host};
use emv_kernel::oda::RevocationList;
use emv_kernel::online::HostResponse;
use emv_kernel::outcome::{Decision, OdaMethod, Outcome, TerminationReason};
use emv_kernel::select::Candidate;
use emv_kernel::transaction::{PinEntry, PinKind, TerminalContext, Transaction};
use emv_kernel::transport::CardTransport;
use emv_pcsc::{ConnectOptions, Pcsc, PcscError, Protocol, ReaderSelector};
use emv_test_cards::issuer::Issuer;
use emv_test_cards::profiles::{self, Profile};
use emv_test_cards::vpcd::{ServedCard, VPCD_PORT_0};
use emv_test_cards::vpcd_card::VpcdCard;
use emv_test_cards::TEST_INPUTS;

const READER: &str = "Virtual PCD 00 00";
/// T=0 only (no TD1): pcscd must choose T=0, so case 4 commands travel
/// without Le and the card's data comes back through 61xx / GET RESPONSE.
const ATR_T0_ONLY: [u8; 4] = [0x3B, 0x02, 0x14, 0x50];

/// The PC/SC pseudo-ATR (TD1 names T=0, TD2 T=1): pcscd chooses T=1.
const ATR_T1: [u8; 20] = [
    0x3B, 0x8F, 0x80, 0x01, 0x80, 0x4F, 0x0C, 0xA0, 0x00, 0x00, 0x03, 0x06, 0x03, 0x00, 0x03, 0x00,
    0x00, 0x00, 0x00, 0x68,
];

static READER_LOCK: Mutex<()> = Mutex::new(());

fn pcscd() -> Option<MutexGuard<'static, ()>> {
    if std::env::var("EMV_PCSCD").as_deref() != Ok("1") {
        eprintln!("skipped: set EMV_PCSCD=1 (scripts/test.sh starts pcscd and sets it)");
        return None;
    }
    Some(
        READER_LOCK
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()),
    )
}

/// The default provider with a replayable random source (enciphered PIN
/// padding), so the two runs of a transaction send the same bytes.
struct ReplayCrypto(RingCrypto);

impl CryptoProvider for ReplayCrypto {
    fn sha1(&self, parts: &[&[u8]]) -> [u8; 20] {
        self.0.sha1(parts)
    }
    fn sha256(&self, parts: &[&[u8]]) -> [u8; 32] {
        self.0.sha256(parts)
    }
    fn rsa_public(
        &self,
        modulus: &[u8],
        exponent: &[u8],
        input: &[u8],
        output: &mut [u8],
    ) -> Result<(), CryptoError> {
        self.0.rsa_public(modulus, exponent, input, output)
    }
    fn sha512(&self, parts: &[&[u8]]) -> Result<[u8; 64], CryptoError> {
        self.0.sha512(parts)
    }
    fn ec_sdsa_verify(
        &self,
        curve: emv_kernel::crypto::EccCurve,
        public_key_x: &[u8],
        message: &[&[u8]],
        signature: &[u8],
    ) -> Result<bool, CryptoError> {
        self.0
            .ec_sdsa_verify(curve, public_key_x, message, signature)
    }
    fn ecc_check_point(
        &self,
        curve: emv_kernel::crypto::EccCurve,
        x: &[u8],
    ) -> Result<(), CryptoError> {
        self.0.ecc_check_point(curve, x)
    }
    fn random(&self, out: &mut [u8]) -> Result<(), CryptoError> {
        for (i, byte) in out.iter_mut().enumerate() {
            *byte = (i as u8).wrapping_mul(37).wrapping_add(11);
        }
        Ok(())
    }
}

/// Chooses the first candidate and enters the profile's PIN.
struct Cardholder1 {
    pin: Vec<u8>,
}

impl Cardholder for Cardholder1 {
    fn choose_application(
        &mut self,
        _candidates: &[Candidate],
        _confirm_only: bool,
    ) -> Option<usize> {
        Some(0)
    }
    fn enter_pin(&mut self, kind: PinKind, _tries_left: Option<u8>) -> PinEntry<'_> {
        match kind {
            PinKind::Online => PinEntry::OnlineCaptured,
            _ => PinEntry::Digits(&self.pin),
        }
    }
}

/// The test issuer: approves with ARC 00 and a genuine ARPC.
struct TestHost {
    issuer: Issuer,
    pan: Vec<u8>,
    pan_sequence: u8,
    issuer_authentication_data: Vec<u8>,
}

impl Host for TestHost {
    fn authorise(&mut self, icc_data: &[u8]) -> HostResponse<'_> {
        let value = |tag| emv_kernel::tlv::find(icc_data, emv_kernel::tlv::Tag(tag));
        let (Some(arqc), Some(atc)) = (value(0x9F26), value(0x9F36)) else {
            return HostResponse::UNREACHABLE;
        };
        let (Ok(arqc), Ok(atc)) = (<[u8; 8]>::try_from(arqc), <[u8; 2]>::try_from(atc)) else {
            return HostResponse::UNREACHABLE;
        };
        let arc = *b"00";
        self.issuer_authentication_data = self
            .issuer
            .issuer_authentication_data(
                &self.pan,
                self.pan_sequence,
                u16::from_be_bytes(atc),
                arqc,
                arc,
            )
            .to_vec();
        HostResponse {
            reachable: true,
            approved: true,
            authorisation_response_code: arc,
            issuer_authentication_data: Some(&self.issuer_authentication_data),
            scripts: &[],
        }
    }
}

/// A transport that records the commands and the first transport error.
struct Recording<T: CardTransport> {
    inner: T,
    commands: Vec<String>,
    error: Option<T::Error>,
}

impl<T: CardTransport> CardTransport for Recording<T>
where
    T::Error: Clone,
{
    type Error = T::Error;
    fn transmit(&mut self, command: &[u8], response: &mut [u8]) -> Result<usize, T::Error> {
        self.commands.push(hex::encode_upper(command));
        self.inner.transmit(command, response).inspect_err(|e| {
            self.error.get_or_insert(e.clone());
        })
    }
}

/// One transaction's result.
struct Run {
    outcome: Outcome,
    commands: Vec<String>,
    elapsed: Duration,
}

/// Runs the default transaction of the test cards on `card`.
fn transact<T: CardTransport>(profile: &Profile, card: T) -> (Run, Option<T::Error>)
where
    T::Error: Clone,
{
    let spec = profile.spec();
    let app = spec.apps.first().expect("an application");
    let keys = emv_test_cards::pki::ca_key_store();
    let revocations = RevocationList::new();
    let config = TerminalConfig::default();
    let context = TerminalContext {
        config: &config,
        ca_keys: &keys,
        revocations: &revocations,
        exception_file: &[],
    };
    let mut transaction =
        Transaction::new(context, ReplayCrypto(RingCrypto::new()), TEST_INPUTS).unwrap();
    let mut cardholder = Cardholder1 {
        pin: app.pin.bytes().collect(),
    };
    let mut host = TestHost {
        issuer: Issuer::test_issuer(),
        pan: hex::decode(app.pan.trim_end_matches('F')).unwrap_or_default(),
        pan_sequence: app.pan_sequence,
        issuer_authentication_data: Vec::new(),
    };
    let mut recording = Recording {
        inner: card,
        commands: Vec::new(),
        error: None,
    };
    let started = Instant::now();
    let outcome =
        driver::run(&mut transaction, &mut recording, &mut cardholder, &mut host).unwrap();
    let elapsed = started.elapsed();
    let run = Run {
        outcome,
        commands: recording.commands,
        elapsed,
    };
    (run, recording.error)
}

struct PcscdRun {
    run: Run,
    error: Option<PcscError>,
    protocol: Protocol,
    raw_exchanges: u64,
}

/// Serves `profile` into the virtual reader and runs the transaction on it
/// through pcscd and the adapter.
fn transact_over_pcscd(
    profile: &Profile,
    atr: Option<&[u8]>,
    pull_at_instruction: Option<u8>,
) -> PcscdRun {
    // The card answers raw (61xx/6Cxx go over the wire), with its own ATR or
    // `atr`, pulled out before `pull_at_instruction` if given.
    let mut card = VpcdCard::new(profile.card());
    if let Some(atr) = atr {
        card = card.with_atr(atr);
    }
    if let Some(instruction) = pull_at_instruction {
        card = card.pulled_before_instruction(instruction);
    }
    let served =
        ServedCard::insert(VPCD_PORT_0, card, Duration::from_secs(5)).expect("vpcd reachable");
    let pcsc = Pcsc::establish().unwrap();
    pcsc.wait_for_card(
        &ReaderSelector::Exact(READER.into()),
        Duration::from_secs(5),
    )
    .expect("card appears in the virtual reader");
    let pcsc_card = pcsc.connect(READER, &ConnectOptions::default()).unwrap();
    let protocol = pcsc_card.protocol();
    let shared = SharedCard(Arc::new(Mutex::new(pcsc_card)));
    let (run, error) = transact(profile, shared.clone());
    let raw_exchanges = shared.0.lock().unwrap().raw_exchanges();
    drop(shared);
    served.remove();
    wait_empty(&pcsc);
    PcscdRun {
        run,
        error,
        protocol,
        raw_exchanges,
    }
}

/// Lets the test read the card's counters after the driver borrowed it.
#[derive(Clone)]
struct SharedCard(Arc<Mutex<emv_pcsc::PcscCard>>);

impl CardTransport for SharedCard {
    type Error = PcscError;
    fn transmit(&mut self, command: &[u8], response: &mut [u8]) -> Result<usize, PcscError> {
        self.0.lock().unwrap().transmit(command, response)
    }
}

fn wait_empty(pcsc: &Pcsc) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if pcsc
            .readers()
            .unwrap()
            .iter()
            .any(|r| r.name == READER && !r.card_present)
        {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("reader still holds a card");
}

/// The same profile in process and through pcscd: identical outcome,
/// identical command sequence, a transport failure on both sides or none.
fn same_through_pcscd(name: &str, atr: Option<&[u8]>) -> (Run, PcscdRun) {
    let profile = profiles::find(name).unwrap_or_else(|| panic!("no profile {name}"));
    let (local, local_error) = transact(profile, profile.card());
    let remote = transact_over_pcscd(profile, atr, None);
    assert_eq!(
        remote.error.is_some(),
        local_error.is_some(),
        "{name}: transport error through pcscd {:?}, in process {:?}",
        remote.error,
        local_error
    );
    assert_eq!(
        remote.run.outcome, local.outcome,
        "{name}: outcome differs through pcscd"
    );
    assert_eq!(
        remote.run.commands, local.commands,
        "{name}: commands differ through pcscd"
    );
    println!(
        "{name:28} {} {:?}: {} commands ({} raw exchanges), in process {:.2} ms, pcscd {:.2} ms",
        remote.protocol,
        local.outcome.decision,
        local.commands.len(),
        remote.raw_exchanges,
        local.elapsed.as_secs_f64() * 1e3,
        remote.run.elapsed.as_secs_f64() * 1e3
    );
    (local, remote)
}

/// Book 2, 5: SDA card approved offline, identical through pcscd.
#[test]
fn sda_through_pcscd() {
    let Some(_reader) = pcscd() else { return };
    let (local, _) = same_through_pcscd("sda", None);
    assert_eq!(local.outcome.oda_method, OdaMethod::Sda);
}

/// Book 2, 6 (DDA with INTERNAL AUTHENTICATE), identical through pcscd.
#[test]
fn dda_through_pcscd() {
    let Some(_reader) = pcscd() else { return };
    let (local, _) = same_through_pcscd("dda", None);
    assert_eq!(local.outcome.oda_method, OdaMethod::Dda);
}

/// Book 2, 6.6 (CDA in GENERATE AC), identical through pcscd.
#[test]
fn cda_through_pcscd() {
    let Some(_reader) = pcscd() else { return };
    let (local, _) = same_through_pcscd("cda", None);
    assert_eq!(local.outcome.oda_method, OdaMethod::Cda);
}

/// Book 3, 10.5: offline plaintext PIN (VERIFY) through pcscd.
#[test]
fn offline_pin_through_pcscd() {
    let Some(_reader) = pcscd() else { return };
    let (local, _) = same_through_pcscd("cvm-offline-pin", None);
    assert_eq!(
        local.outcome.cvm_results[0] & 0x3F,
        0x01,
        "plaintext PIN by ICC performed"
    );
    assert_eq!(local.outcome.cvm_results[2], 0x02, "CVM successful");
}

/// Book 1, 12.3: PSE with several applications, chosen by priority.
#[test]
fn multi_application_pse_through_pcscd() {
    let Some(_reader) = pcscd() else { return };
    let (local, _) = same_through_pcscd("multi-app-pse", None);
    assert!(local.commands[0].starts_with("00A404000E315041592E5359532E4444463031"));
    assert!(!local.outcome.aid.is_empty());
}

/// Online authorisation with a genuine ARPC through pcscd.
#[test]
fn online_card_through_pcscd() {
    let Some(_reader) = pcscd() else { return };
    let (local, _) = same_through_pcscd("card-online", None);
    assert!(local.outcome.online);
}

/// Book 1, 9.3 / Annex A: a card answering 61xx and 6Cxx, served with a
/// T=0-only ATR so pcscd runs T=0: case 4 goes without Le, data comes back
/// through GET RESPONSE; the kernel sees the same responses as in process.
#[test]
fn t0_card_with_61xx_and_6cxx_through_pcscd() {
    let Some(_reader) = pcscd() else { return };
    let (local, remote) = same_through_pcscd("hostile-t0-sequences", Some(&ATR_T0_ONLY));
    assert_eq!(remote.protocol, Protocol::T0);
    assert!(
        remote.raw_exchanges > local.commands.len() as u64,
        "GET RESPONSEs and 6Cxx retries happened on the wire"
    );
}

/// The same 61xx/6Cxx card served with a T=1 ATR (pcscd passes 61xx through
/// on T=1 too, and the adapter answers it the same way).
#[test]
fn t0_sequences_on_t1_through_pcscd() {
    let Some(_reader) = pcscd() else { return };
    let (_, remote) = same_through_pcscd("hostile-t0-sequences", Some(&ATR_T1));
    assert_eq!(remote.protocol, Protocol::T1);
}

/// Every profile gives the same outcome through pcscd as in process.
#[test]
fn every_profile_same_through_pcscd() {
    let Some(_reader) = pcscd() else { return };
    for profile in profiles::all() {
        same_through_pcscd(profile.name, None);
    }
}

/// The card is pulled out when the first GENERATE AC is sent: the
/// transaction is terminated (transport failed), nothing is approved, and the
/// adapter names the reason: card removed.
#[test]
fn card_pulled_during_generate_ac() {
    let Some(_reader) = pcscd() else { return };
    for name in ["sda", "cda", "cvm-offline-pin"] {
        let profile = profiles::find(name).unwrap();
        let remote = transact_over_pcscd(profile, None, Some(0xAE));
        assert_eq!(
            remote.run.outcome.decision,
            Decision::Terminated(TerminationReason::TransportFailed),
            "{name}"
        );
        assert!(!remote.run.outcome.is_approved());
        assert_eq!(remote.error, Some(PcscError::CardRemoved), "{name}");
        assert!(
            remote.run.commands.last().unwrap().starts_with("80AE"),
            "{name}"
        );
    }
}

/// The card is pulled while the application data is read.
#[test]
fn card_pulled_during_read_record() {
    let Some(_reader) = pcscd() else { return };
    let profile = profiles::find("dda").unwrap();
    let remote = transact_over_pcscd(profile, None, Some(0xB2));
    assert_eq!(
        remote.run.outcome.decision,
        Decision::Terminated(TerminationReason::TransportFailed)
    );
    assert_eq!(remote.error, Some(PcscError::CardRemoved));
}
