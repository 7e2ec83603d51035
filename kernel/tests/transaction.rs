//! Whole transactions through the state machine's public API, against
//! small scripted cards: reselection after GPO `6985`, the unreachable host,
//! the split-sales lookup of the transaction log, the checks of the inputs.

mod inputs;

use emv_kernel::config::{
    TerminalConfig, TransactionInputs, TEST_AID_CREDIT, TEST_AID_DEBIT, TEST_AID_PREPAID,
};
use emv_kernel::crypto::{CryptoError, PortableCrypto};
use emv_kernel::oda::{CaKeyStore, RevocationList};
use emv_kernel::online::HostResponse;
use emv_kernel::outcome::Decision;
use emv_kernel::select::Candidate;
use emv_kernel::tlv::{self, Tag};
use emv_kernel::transaction::{
    PinEntry, PinKind, Request, TerminalContext, Transaction, UsageError,
};
use emv_kernel::tvr;
use inputs::TEST_INPUTS;

/// The default provider with a fixed random source (PIN padding in tests only).
type TestCrypto = PortableCrypto<fn(&mut [u8]) -> Result<(), CryptoError>>;

fn test_crypto() -> TestCrypto {
    PortableCrypto::new(|out: &mut [u8]| {
        out.fill(0xA5);
        Ok(())
    })
}

fn tlv(tag: u32, value: &[u8]) -> heapless::Vec<u8, 256> {
    let mut buf = [0u8; 256];
    let mut writer = tlv::Writer::new(&mut buf);
    writer.push(Tag(tag), value).unwrap();
    heapless::Vec::from_slice(writer.as_bytes()).unwrap()
}

fn cat(parts: &[&[u8]]) -> heapless::Vec<u8, 258> {
    let mut out = heapless::Vec::new();
    for part in parts {
        out.extend_from_slice(part).unwrap();
    }
    out
}

fn fci(aid: &[u8]) -> heapless::Vec<u8, 258> {
    let inner = cat(&[&tlv(0x84, aid), &tlv(0xA5, &tlv(0x50, b"TEST"))]);
    cat(&[&tlv(0x6F, &inner), &[0x90, 0x00]])
}

/// Book 1, 12.3.3 and Book 3, 10.1: list of AIDs, cardholder choice, GPO
/// 6985 removes the application and the next candidate is selected; then
/// no ODA (TVR byte 1 b8), ARQC, host unreachable, default action AAC
/// with Z3 in the second GENERATE AC.
#[test]
fn gpo_6985_reselects_and_unreachable_host_declines_z3() {
    let mut config = TerminalConfig::default();
    config.selection.pse = false;
    let keys = CaKeyStore::new();
    let revocations = RevocationList::new();
    let context = TerminalContext {
        config: &config,
        ca_keys: &keys,
        revocations: &revocations,
        exception_file: &[],
    };
    let mut t = Transaction::new(context, test_crypto(), TEST_INPUTS).unwrap();
    let expect = |t: &mut Transaction<'_, TestCrypto>, command: &[u8], response: &[u8]| {
        match t.request() {
            Request::Transmit(sent) => assert_eq!(sent, command, "at step {}", t.step()),
            other => panic!("expected a command, got {other:?}"),
        }
        t.on_response(response).unwrap();
    };
    let select =
        |aid: &[u8], p2: u8| cat(&[&[0x00, 0xA4, 0x04, p2, aid.len() as u8], aid, &[0x00]]);
    expect(&mut t, &select(&TEST_AID_CREDIT, 0), &fci(&TEST_AID_CREDIT));
    expect(&mut t, &select(&TEST_AID_DEBIT, 0), &fci(&TEST_AID_DEBIT));
    expect(&mut t, &select(&TEST_AID_PREPAID, 0), &[0x6A, 0x82]);
    let Request::ChooseApplication {
        candidates,
        confirm_only,
    } = t.request()
    else {
        panic!("expected a choice");
    };
    assert_eq!((candidates.len(), confirm_only), (2, false));
    t.on_application_chosen(Some(0)).unwrap();
    expect(&mut t, &select(&TEST_AID_CREDIT, 0), &fci(&TEST_AID_CREDIT));
    expect(
        &mut t,
        &[0x80, 0xA8, 0x00, 0x00, 0x02, 0x83, 0x00, 0x00],
        &[0x69, 0x85],
    );
    // One candidate left, no confirmation needed: final selection at once.
    expect(&mut t, &select(&TEST_AID_DEBIT, 0), &fci(&TEST_AID_DEBIT));
    let gpo = [0x80, 0x06, 0x00, 0x00, 0x08, 0x01, 0x01, 0x00, 0x90, 0x00];
    expect(
        &mut t,
        &[0x80, 0xA8, 0x00, 0x00, 0x02, 0x83, 0x00, 0x00],
        &gpo,
    );
    let record = tlv(
        0x70,
        &cat(&[
            &tlv(0x5F24, &[0x30, 0x12, 0x31]),
            &tlv(0x5A, &[0x67, 0x99, 0x99, 0x01, 0x00, 0x00, 0x00, 0x11]),
            &tlv(0x8C, &[0x9F, 0x02, 0x06, 0x9F, 0x37, 0x04, 0x95, 0x05]),
            &tlv(0x8D, &[0x8A, 0x02, 0x95, 0x05]),
        ]),
    );
    expect(
        &mut t,
        &[0x00, 0xB2, 0x01, 0x0C, 0x00],
        &cat(&[&record, &[0x90, 0x00]]),
    );
    let first_cdol = [
        0x80, 0xAE, 0x80, 0x00, 0x0F, 0, 0, 0, 0, 0x10, 0x00, 0x11, 0x22, 0x33, 0x44, 0x80, 0, 0,
        0, 0, 0x00,
    ];
    let arqc = [
        0x80, 0x0B, 0x80, 0x00, 0x05, 1, 2, 3, 4, 5, 6, 7, 8, 0x90, 0x00,
    ];
    expect(&mut t, &first_cdol, &arqc);
    let Request::GoOnline(icc_data) = t.request() else {
        panic!("expected online");
    };
    assert_eq!(
        tlv::find(icc_data, Tag(0x9F26)),
        Some(&[1, 2, 3, 4, 5, 6, 7, 8][..])
    );
    assert_eq!(
        tlv::find(icc_data, Tag(0x95)),
        Some(&[0x80, 0, 0, 0, 0][..])
    );
    t.on_host(HostResponse::UNREACHABLE).unwrap();
    let second = [
        0x80, 0xAE, 0x00, 0x00, 0x07, b'Z', b'3', 0x80, 0, 0, 0, 0, 0x00,
    ];
    let aac = [
        0x80, 0x0B, 0x00, 0x00, 0x06, 8, 7, 6, 5, 4, 3, 2, 1, 0x90, 0x00,
    ];
    expect(&mut t, &second, &aac);
    let Request::Done(outcome) = t.request() else {
        panic!("expected the outcome");
    };
    assert_eq!(outcome.decision, Decision::Declined);
    assert_eq!(outcome.authorisation_response_code, Some(*b"Z3"));
    assert_eq!(outcome.tvr.0, [0x80, 0, 0, 0, 0]);
    assert_eq!(outcome.aid.as_slice(), &TEST_AID_DEBIT);
    assert_eq!(outcome.atc, Some([0x00, 0x06]));
    assert!(!outcome.online);
    // Answers that do not match the request are refused, not acted on.
    assert_eq!(t.on_response(&[0x90, 0x00]), Err(UsageError::NotExpected));
    assert_eq!(
        t.on_application_chosen(Some(0)),
        Err(UsageError::NotExpected)
    );
}

/// The `RecentAmount` requests a transaction made: PAN and PAN Sequence Number.
type LogLookups = heapless::Vec<(heapless::Vec<u8, 10>, Option<u8>), 4>;

/// A transaction of `amount_authorised` on [`split_sales_card`],
/// answering every lookup with `recent_amount`. Returns the TVR of the
/// outcome and every `RecentAmount` request seen (PAN, PAN Sequence
/// Number).
fn run_with_recent_amount(
    aip: [u8; 2],
    amount_authorised: u64,
    recent_amount: u64,
) -> (tvr::Tvr, LogLookups) {
    let mut config = TerminalConfig::default();
    config.selection.pse = false;
    let keys = CaKeyStore::new();
    let revocations = RevocationList::new();
    let context = TerminalContext {
        config: &config,
        ca_keys: &keys,
        revocations: &revocations,
        exception_file: &[],
    };
    let inputs = TransactionInputs {
        amount_authorised,
        ..TEST_INPUTS
    };
    let mut t = Transaction::new(context, test_crypto(), inputs).unwrap();
    let mut asked = LogLookups::new();
    for _ in 0..50 {
        match t.request() {
            Request::Done(outcome) => return (outcome.tvr, asked),
            Request::Transmit(command) => {
                let response = split_sales_card(aip, command);
                t.on_response(&response).unwrap();
            }
            Request::RecentAmount {
                pan,
                pan_sequence_number,
            } => {
                let pan = heapless::Vec::from_slice(pan).unwrap();
                asked.push((pan, pan_sequence_number)).unwrap();
                // Any other answer is refused while the lookup is pending.
                assert_eq!(t.on_response(&[0x90, 0x00]), Err(UsageError::NotExpected));
                t.on_recent_amount(recent_amount).unwrap();
            }
            other => panic!("unexpected request {other:?}"),
        }
    }
    panic!("no outcome");
}

/// The split-sales test card: answers by instruction. The credit AID
/// only, GPO with `aip` and one record (PAN `6799990100000011`, PAN
/// Sequence Number 07, CDOLs), GET DATA not found, every GENERATE AC an
/// AAC.
fn split_sales_card(aip: [u8; 2], command: &[u8]) -> heapless::Vec<u8, 258> {
    let pan = [0x67, 0x99, 0x99, 0x01, 0x00, 0x00, 0x00, 0x11];
    let record = tlv(
        0x70,
        &cat(&[
            &tlv(0x5F24, &[0x30, 0x12, 0x31]),
            &tlv(0x5A, &pan),
            &tlv(0x5F34, &[0x07]),
            &tlv(0x8C, &[0x9F, 0x02, 0x06, 0x95, 0x05]),
            &tlv(0x8D, &[0x8A, 0x02, 0x95, 0x05]),
        ]),
    );
    match command.get(1) {
        Some(0xA4) if command.get(5..12) == Some(&TEST_AID_CREDIT[..]) => fci(&TEST_AID_CREDIT),
        Some(0xA8) => {
            let gpo = [0x80, 0x06, aip[0], aip[1], 0x08, 0x01, 0x01, 0x00];
            cat(&[&gpo, &[0x90, 0x00]])
        }
        Some(0xB2) => cat(&[&record, &[0x90, 0x00]]),
        Some(0xAE) => cat(&[
            &[0x80, 0x0B, 0x00, 0x00, 0x01, 1, 2, 3, 4, 5, 6, 7, 8],
            &[0x90, 0x00],
        ]),
        _ => cat(&[&[0x6A, 0x82]]),
    }
}

/// `driver::run_with_log` answers the lookup from the log it is given;
/// `driver::run` answers 0.
#[test]
fn driver_answers_the_lookup_from_the_transaction_log() {
    use emv_kernel::driver::{self, Cardholder, Host, TransactionLog};
    struct Card;
    impl emv_kernel::transport::CardTransport for Card {
        type Error = ();
        fn transmit(&mut self, command: &[u8], response: &mut [u8]) -> Result<usize, ()> {
            let answer = split_sales_card([0x08, 0x00], command);
            response
                .get_mut(..answer.len())
                .ok_or(())?
                .copy_from_slice(&answer);
            Ok(answer.len())
        }
    }
    struct Person;
    impl Cardholder for Person {
        fn choose_application(&mut self, _: &[Candidate], _: bool) -> Option<usize> {
            Some(0)
        }
        fn enter_pin(&mut self, _: PinKind, _: Option<u8>) -> PinEntry<'_> {
            PinEntry::Bypassed
        }
    }
    struct Unreachable;
    impl Host for Unreachable {
        fn authorise(&mut self, _: &[u8]) -> HostResponse<'_> {
            HostResponse::UNREACHABLE
        }
    }
    /// A log holding one 40.00 approval of the test card's PAN.
    struct Log {
        asked: Option<(heapless::Vec<u8, 10>, Option<u8>)>,
    }
    impl TransactionLog for Log {
        fn recent_amount_same_card(&mut self, pan: &[u8], sequence: Option<u8>) -> u64 {
            self.asked = Some((heapless::Vec::from_slice(pan).unwrap(), sequence));
            4_000
        }
    }
    let mut config = TerminalConfig::default();
    config.selection.pse = false;
    let keys = CaKeyStore::new();
    let revocations = RevocationList::new();
    let context = TerminalContext {
        config: &config,
        ca_keys: &keys,
        revocations: &revocations,
        exception_file: &[],
    };
    let inputs = TransactionInputs {
        amount_authorised: 6_000,
        ..TEST_INPUTS
    };
    let mut log = Log { asked: None };
    let mut t = Transaction::new(context, test_crypto(), inputs).unwrap();
    let outcome =
        driver::run_with_log(&mut t, &mut Card, &mut Person, &mut Unreachable, &mut log).unwrap();
    assert!(outcome.tvr.is_set(tvr::EXCEEDS_FLOOR_LIMIT));
    let (pan, sequence) = log.asked.expect("the log was asked");
    assert_eq!(
        pan.as_slice(),
        &[0x67, 0x99, 0x99, 0x01, 0x00, 0x00, 0x00, 0x11]
    );
    assert_eq!(sequence, Some(0x07));
    let mut t = Transaction::new(context, test_crypto(), inputs).unwrap();
    let outcome = driver::run(&mut t, &mut Card, &mut Person, &mut Unreachable).unwrap();
    assert!(!outcome.tvr.is_set(tvr::EXCEEDS_FLOOR_LIMIT));
}

/// Book 3, 10.6.1 (split sales): with terminal risk management asked for
/// by the AIP (byte 1 b4), the kernel asks once for the card's most
/// recent logged amount, with its PAN and PAN Sequence Number, and the
/// floor limit check (100.00) uses the sum.
#[test]
fn floor_limit_check_adds_the_recent_amount_of_the_same_card() {
    let pan = [0x67, 0x99, 0x99, 0x01, 0x00, 0x00, 0x00, 0x11];
    let (tvr, asked) = run_with_recent_amount([0x08, 0x00], 6_000, 4_000);
    assert_eq!(asked.len(), 1);
    assert_eq!(asked[0].0.as_slice(), &pan);
    assert_eq!(asked[0].1, Some(0x07));
    assert!(tvr.is_set(tvr::EXCEEDS_FLOOR_LIMIT));
    let (tvr, asked) = run_with_recent_amount([0x08, 0x00], 6_000, 3_999);
    assert_eq!(asked.len(), 1);
    assert!(!tvr.is_set(tvr::EXCEEDS_FLOOR_LIMIT));
    let (tvr, _) = run_with_recent_amount([0x08, 0x00], 6_000, u64::MAX);
    assert!(
        tvr.is_set(tvr::EXCEEDS_FLOOR_LIMIT),
        "a huge answer saturates"
    );
}

/// Book 3, 10.6: without the AIP's terminal risk management bit there is
/// no floor limit check, so the log is not asked.
#[test]
fn no_log_lookup_without_terminal_risk_management() {
    let (tvr, asked) = run_with_recent_amount([0x00, 0x00], 20_000, 4_000);
    assert!(asked.is_empty());
    assert!(!tvr.is_set(tvr::EXCEEDS_FLOOR_LIMIT));
}

#[test]
fn inputs_are_checked() {
    let config = TerminalConfig::default();
    let keys = CaKeyStore::new();
    let revocations = RevocationList::new();
    let context = TerminalContext {
        config: &config,
        ca_keys: &keys,
        revocations: &revocations,
        exception_file: &[],
    };
    let inputs = TransactionInputs {
        random_selection_number: 0,
        ..TEST_INPUTS
    };
    assert_eq!(
        Transaction::new(context, test_crypto(), inputs).err(),
        Some(UsageError::RandomSelection)
    );
    let inputs = TransactionInputs {
        date: [0x25, 0x13, 0x01],
        ..TEST_INPUTS
    };
    assert_eq!(
        Transaction::new(context, test_crypto(), inputs).err(),
        Some(UsageError::InvalidDate)
    );
}
