//! The PC/SC adapter through a real pcscd with the vpcd virtual reader:
//! protocols, the EMV Book 1 T=0 rules on the wire, and every failure as a
//! typed error within a bound (card removed, silent card, sharing violation,
//! no card).
//!
//! Needs pcscd with vsmartcard-vpcd: run through `scripts/test.sh`, or start
//! `scripts/pcscd.sh start` and set `EMV_PCSCD=1`. Without it each test
//! prints "skipped: set EMV_PCSCD=1" and passes.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use emv_kernel::transport::CardTransport;
use emv_pcsc::{
    ConnectOptions, Pcsc, PcscError, Protocol, ProtocolChoice, ProtocolFault, ReaderSelector,
    Sharing,
};
use emv_test_cards::vpcd::{ServedCard, VirtualCard, VPCD_PORT_0};

const READER: &str = "Virtual PCD 00 00";
/// The PC/SC pseudo-ATR the test cards use: offers T=0 and T=1; pcscd picks T=1.
const ATR_T1: &str = "3B8F8001804F0CA0000003060300030000000068";
/// No interface bytes, two historical bytes: T=0 only, so pcscd must use T=0.
const ATR_T0: &str = "3B021450";

/// One test at a time owns the virtual reader.
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

type Answer = Box<dyn FnMut(&[u8]) -> Vec<u8> + Send>;

/// A virtual card that answers with a closure and records what it received.
struct ScriptedCard {
    atr: Vec<u8>,
    answer: Answer,
    seen: Arc<Mutex<Vec<String>>>,
}

impl VirtualCard for ScriptedCard {
    fn atr(&self) -> Vec<u8> {
        self.atr.clone()
    }
    fn respond(&mut self, command: &[u8]) -> Vec<u8> {
        self.seen.lock().unwrap().push(hex::encode_upper(command));
        (self.answer)(command)
    }
}

/// Inserts a scripted card and waits until pcscd reports it.
fn insert(
    atr: &str,
    answer: impl FnMut(&[u8]) -> Vec<u8> + Send + 'static,
) -> (ServedCard, Arc<Mutex<Vec<String>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let card = ScriptedCard {
        atr: hex::decode(atr).unwrap(),
        answer: Box::new(answer),
        seen: Arc::clone(&seen),
    };
    let served =
        ServedCard::insert(VPCD_PORT_0, card, Duration::from_secs(5)).expect("vpcd reachable");
    let pcsc = Pcsc::establish().unwrap();
    pcsc.wait_for_card(
        &ReaderSelector::Exact(READER.into()),
        Duration::from_secs(5),
    )
    .expect("card appears in the virtual reader");
    (served, seen)
}

fn h(text: &str) -> Vec<u8> {
    hex::decode(text).unwrap()
}

fn send(
    card: &mut impl CardTransport<Error = PcscError>,
    command: &str,
) -> Result<String, PcscError> {
    let mut response = [0u8; 258];
    let n = card.transmit(&h(command), &mut response)?;
    Ok(hex::encode_upper(&response[..n]))
}

/// Waits until the reader is empty again, so the next test starts clean.
fn wait_empty() {
    let pcsc = Pcsc::establish().unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        let readers = pcsc.readers().unwrap();
        if readers.iter().any(|r| r.name == READER && !r.card_present) {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("reader still holds a card");
}

const SELECT_PSE: &str = "00A404000E315041592E5359532E444446303100";
const SELECT_PSE_NO_LE: &str = "00A404000E315041592E5359532E4444463031";
const FCI: &str = "6F1A840E315041592E5359532E4444463031A5088801015F2D02656E";

#[test]
fn readers_list_the_card_with_its_atr() {
    let Some(_reader) = pcscd() else { return };
    let (served, _) = insert(ATR_T1, |_| h("9000"));
    let pcsc = Pcsc::establish().unwrap();
    let readers = pcsc.readers().unwrap();
    let ours = readers
        .iter()
        .find(|r| r.name == READER)
        .expect("virtual reader listed");
    assert!(ours.card_present);
    assert_eq!(ours.atr.as_deref(), Some(h(ATR_T1).as_slice()));
    let auto = pcsc
        .wait_for_card(&ReaderSelector::Auto, Duration::ZERO)
        .unwrap();
    assert_eq!(auto.name, READER);
    let by_substring = ReaderSelector::from_arg("PCD 00 00");
    assert_eq!(by_substring.pick(&readers).unwrap().name, READER);
    served.remove();
    wait_empty();
}

/// T=1: the APDU travels whole, Le included.
#[test]
fn t1_card_gets_whole_apdus() {
    let Some(_reader) = pcscd() else { return };
    let (served, seen) = insert(ATR_T1, |_| h(&format!("{FCI}9000")));
    let pcsc = Pcsc::establish().unwrap();
    let mut card = pcsc.connect(READER, &ConnectOptions::default()).unwrap();
    assert_eq!(card.protocol(), Protocol::T1);
    assert_eq!(card.atr(), h(ATR_T1).as_slice());
    assert_eq!(send(&mut card, SELECT_PSE).unwrap(), format!("{FCI}9000"));
    assert_eq!(*seen.lock().unwrap(), vec![SELECT_PSE.to_string()]);
    assert_eq!((card.commands(), card.raw_exchanges()), (1, 1));
    card.disconnect().unwrap();
    served.remove();
    wait_empty();
}

/// Book 1, 9.3.1 and Annex A on a T=0 card through pcscd: case 4 goes
/// without Le and is completed by GET RESPONSE; 6Cxx makes the adapter
/// re-send with the corrected Le; the kernel sees one response per command.
#[test]
fn t0_card_get_response_and_wrong_length() {
    let Some(_reader) = pcscd() else { return };
    let record = "7008570611223344556F";
    let (served, seen) = insert(ATR_T0, move |command| {
        match hex::encode_upper(command).as_str() {
            SELECT_PSE_NO_LE => h(&format!("61{:02X}", FCI.len() / 2)),
            "00C000001C" => h(&format!("{FCI}9000")),
            "00B2010C00" => h(&format!("6C{:02X}", record.len() / 2)),
            "00B2010C0A" => h(&format!("{record}9000")),
            _ => h("6D00"),
        }
    });
    let pcsc = Pcsc::establish().unwrap();
    let unbounded = ConnectOptions {
        command_timeout: None,
        ..ConnectOptions::default()
    };
    for options in [ConnectOptions::default(), unbounded] {
        seen.lock().unwrap().clear();
        let mut card = pcsc.connect(READER, &options).unwrap();
        assert_eq!(
            card.protocol(),
            Protocol::T0,
            "pcscd must pick T=0 for ATR {ATR_T0}"
        );
        assert_eq!(send(&mut card, SELECT_PSE).unwrap(), format!("{FCI}9000"));
        assert_eq!(
            send(&mut card, "00B2010C00").unwrap(),
            format!("{record}9000")
        );
        assert_eq!(
            *seen.lock().unwrap(),
            vec![SELECT_PSE_NO_LE, "00C000001C", "00B2010C00", "00B2010C0A"]
        );
        assert_eq!((card.commands(), card.raw_exchanges()), (2, 4));
        card.disconnect().unwrap();
    }
    served.remove();
    wait_empty();
}

/// Book 1, Annex A7 on T=0: a warning to a case 4 command is followed by
/// GET RESPONSE (Le = 00, then the corrected Le) and the kernel gets the data
/// with the warning status.
#[test]
fn t0_case4_warning_is_kept() {
    let Some(_reader) = pcscd() else { return };
    let (served, seen) = insert(ATR_T0, move |command| {
        match hex::encode_upper(command).as_str() {
            SELECT_PSE_NO_LE => h("6283"),
            "00C0000000" => h(&format!("6C{:02X}", FCI.len() / 2)),
            "00C000001C" => h(&format!("{FCI}9000")),
            _ => h("6D00"),
        }
    });
    let pcsc = Pcsc::establish().unwrap();
    let mut card = pcsc.connect(READER, &ConnectOptions::default()).unwrap();
    assert_eq!(send(&mut card, SELECT_PSE).unwrap(), format!("{FCI}6283"));
    assert_eq!(seen.lock().unwrap().len(), 3);
    drop(card);
    served.remove();
    wait_empty();
}

/// Forcing T=1 on a T=0-only card is a typed protocol error.
#[test]
fn forced_protocol_mismatch_is_typed() {
    let Some(_reader) = pcscd() else { return };
    let (served, _) = insert(ATR_T0, |_| h("9000"));
    let pcsc = Pcsc::establish().unwrap();
    let options = ConnectOptions {
        protocol: ProtocolChoice::T1,
        ..ConnectOptions::default()
    };
    match pcsc.connect(READER, &options) {
        Err(PcscError::Protocol(ProtocolFault::NoCommonProtocol(_))) => {}
        Ok(card) => panic!("connected with {:?}", card.protocol()),
        Err(other) => panic!("unexpected {other:?}"),
    }
    let forced_t0 = ConnectOptions {
        protocol: ProtocolChoice::T0,
        ..ConnectOptions::default()
    };
    assert_eq!(
        pcsc.connect(READER, &forced_t0).unwrap().protocol(),
        Protocol::T0
    );
    served.remove();
    wait_empty();
}

/// The card leaves the reader between two commands: the next command fails
/// with `CardRemoved`, promptly, and every later one too.
#[test]
fn card_removed_mid_session() {
    let Some(_reader) = pcscd() else { return };
    let (served, _) = insert(ATR_T1, |_| h("9000"));
    let pcsc = Pcsc::establish().unwrap();
    let mut card = pcsc.connect(READER, &ConnectOptions::default()).unwrap();
    assert_eq!(send(&mut card, "00B2010C00").unwrap(), "9000");
    served.remove();
    let started = Instant::now();
    let error = send(&mut card, "00B2010C00").unwrap_err();
    assert_eq!(
        error,
        PcscError::CardRemoved,
        "after {:?}",
        started.elapsed()
    );
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(
        send(&mut card, "00B2010C00").unwrap_err(),
        PcscError::CardRemoved
    );
    drop(card);
    wait_empty();
}

/// A card that never answers: the command returns `Timeout` at the bound
/// instead of hanging.
#[test]
fn silent_card_times_out() {
    let Some(_reader) = pcscd() else { return };
    let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
    let release_rx = Mutex::new(release_rx);
    let (served, _) = insert(ATR_T1, move |_| {
        let _ = release_rx
            .lock()
            .unwrap()
            .recv_timeout(Duration::from_secs(30));
        h("9000")
    });
    let pcsc = Pcsc::establish().unwrap();
    let options = ConnectOptions {
        command_timeout: Some(Duration::from_millis(500)),
        ..ConnectOptions::default()
    };
    let mut card = pcsc.connect(READER, &options).unwrap();
    let started = Instant::now();
    assert_eq!(
        send(&mut card, "00B2010C00").unwrap_err(),
        PcscError::Timeout
    );
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(500) && waited < Duration::from_secs(3),
        "{waited:?}"
    );
    assert_eq!(
        send(&mut card, "00B2010C00").unwrap_err(),
        PcscError::Timeout
    );
    drop(card);
    let _ = release_tx.send(());
    served.remove();
    wait_empty();
}

/// Another application holds the card exclusively: `SharingViolation`.
#[test]
fn exclusive_session_blocks_a_second_one() {
    let Some(_reader) = pcscd() else { return };
    let (served, _) = insert(ATR_T1, |_| h("9000"));
    let pcsc = Pcsc::establish().unwrap();
    let first = pcsc.connect(READER, &ConnectOptions::default()).unwrap();
    let second = pcsc.connect(READER, &ConnectOptions::default());
    assert_eq!(second.err(), Some(PcscError::SharingViolation));
    let shared = ConnectOptions {
        sharing: Sharing::Shared,
        ..ConnectOptions::default()
    };
    assert_eq!(
        pcsc.connect(READER, &shared).err(),
        Some(PcscError::SharingViolation)
    );
    first.disconnect().unwrap();
    served.remove();
    wait_empty();
}

/// Waiting for a card in an empty reader ends at the bound with `Timeout`;
/// a zero wait says `NoCard`; an unknown reader is `NoReader`.
#[test]
fn waits_are_bounded() {
    let Some(_reader) = pcscd() else { return };
    wait_empty();
    let pcsc = Pcsc::establish().unwrap();
    let exact = ReaderSelector::Exact(READER.into());
    let started = Instant::now();
    assert_eq!(
        pcsc.wait_for_card(&exact, Duration::from_millis(400)),
        Err(PcscError::Timeout)
    );
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(400) && waited < Duration::from_secs(2),
        "{waited:?}"
    );
    assert_eq!(
        pcsc.wait_for_card(&exact, Duration::ZERO),
        Err(PcscError::NoCard)
    );
    assert!(matches!(
        pcsc.wait_for_card(&ReaderSelector::from_arg("no such reader"), Duration::ZERO),
        Err(PcscError::NoReader { .. })
    ));
    assert_eq!(
        pcsc.connect(READER, &ConnectOptions::default()).err(),
        Some(PcscError::NoCard)
    );
}

/// A card inserted while we wait is found before the bound.
#[test]
fn wait_sees_a_card_inserted_later() {
    let Some(_reader) = pcscd() else { return };
    wait_empty();
    let inserter = std::thread::spawn(|| {
        std::thread::sleep(Duration::from_millis(300));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let card = ScriptedCard {
            atr: h(ATR_T1),
            answer: Box::new(|_| h("9000")),
            seen,
        };
        ServedCard::insert(VPCD_PORT_0, card, Duration::from_secs(5)).unwrap()
    });
    let pcsc = Pcsc::establish().unwrap();
    let found = pcsc
        .wait_for_card(&ReaderSelector::Auto, Duration::from_secs(5))
        .unwrap();
    assert_eq!(found.name, READER);
    let mut card = pcsc
        .connect(&found.name, &ConnectOptions::default())
        .unwrap();
    card.reset().unwrap();
    assert_eq!(card.atr(), h(ATR_T1).as_slice());
    drop(card);
    inserter.join().unwrap().remove();
    wait_empty();
}
