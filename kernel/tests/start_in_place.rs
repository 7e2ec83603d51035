//! `Transaction::idle` and `Transaction::start`: the in-place path for
//! terminals with little RAM (`scripts/check-stack.sh` measures it). A
//! transaction started in the place of another, whatever that one did, goes
//! exactly as a new one: the same commands, the same outcome.

mod inputs;

use emv_kernel::config::TerminalConfig;
use emv_kernel::crypto::{CryptoError, PortableCrypto};
use emv_kernel::oda::{CaKeyStore, RevocationList};
use emv_kernel::online::HostResponse;
use emv_kernel::outcome::{Decision, Outcome, TerminationReason};
use emv_kernel::transaction::{PinEntry, PinKind, Request, TerminalContext, Transaction};
use inputs::TEST_INPUTS;

type Crypto = PortableCrypto<fn(&mut [u8]) -> Result<(), CryptoError>>;

fn crypto() -> Crypto {
    PortableCrypto::new(|out: &mut [u8]| {
        out.fill(0xA5);
        Ok(())
    })
}

const TRANSCRIPTS: [(&str, &str); 6] = [
    ("sda", include_str!("../benches/transcripts/sda.txt")),
    ("dda", include_str!("../benches/transcripts/dda.txt")),
    ("cda", include_str!("../benches/transcripts/cda.txt")),
    (
        "cvm-offline-pin",
        include_str!("../benches/transcripts/cvm-offline-pin.txt"),
    ),
    (
        "issuer-scripts",
        include_str!("../benches/transcripts/issuer-scripts.txt"),
    ),
    ("no-oda", include_str!("../benches/transcripts/no-oda.txt")),
];

fn responses(text: &str) -> Vec<Vec<u8>> {
    text.lines()
        .filter_map(|line| line.strip_prefix("< "))
        .map(|hex_text| hex::decode(hex_text).expect("transcript hex"))
        .collect()
}

fn issuer_data(text: &str) -> Vec<u8> {
    text.lines()
        .filter_map(|line| line.strip_prefix("> "))
        .find(|command| command.starts_with("0082"))
        .and_then(|command| hex::decode(command.get(10..)?).ok())
        .unwrap_or_default()
}

/// Runs the transaction against a transcript's answers: the commands sent
/// and the outcome.
fn run(transaction: &mut Transaction<'_, Crypto>, text: &str) -> (Vec<Vec<u8>>, Outcome) {
    let responses = responses(text);
    let issuer_data = issuer_data(text);
    let mut commands = Vec::new();
    let mut next = 0;
    for _ in 0..200 {
        let answered = match transaction.request() {
            Request::Done(outcome) => return (commands, outcome.clone()),
            Request::Transmit(command) => {
                commands.push(command.to_vec());
                let response = responses.get(next).cloned().unwrap_or_default();
                next += 1;
                transaction.on_response(&response)
            }
            Request::ChooseApplication { .. } => transaction.on_application_chosen(Some(0)),
            Request::EnterPin {
                kind: PinKind::Online,
                ..
            } => transaction.on_pin(PinEntry::OnlineCaptured),
            Request::EnterPin { .. } => transaction.on_pin(PinEntry::Digits(&[1, 2, 3, 4])),
            Request::RecentAmount { .. } => transaction.on_recent_amount(0),
            Request::IssuerReferral { .. } => transaction.on_referral(false),
            Request::GoOnline(_) => transaction.on_host(HostResponse {
                reachable: true,
                approved: true,
                authorisation_response_code: *b"00",
                issuer_authentication_data: Some(&issuer_data),
                scripts: &[],
            }),
        };
        answered.expect("the kernel accepts its own request's answer");
    }
    panic!("no outcome within 200 requests");
}

/// Runs `test` with the default configuration and the test CA keys.
fn with_context(test: impl FnOnce(TerminalContext<'_>)) {
    let mut keys = CaKeyStore::new();
    keys.load_capk_txt(
        &crypto(),
        include_str!("../../test-cards/keys/capk.txt"),
        None,
        |_| {},
    )
    .expect("test CA keys");
    let config = TerminalConfig::default();
    let revocations = RevocationList::new();
    test(TerminalContext {
        config: &config,
        ca_keys: &keys,
        revocations: &revocations,
        exception_file: &[],
    });
}

#[test]
fn a_transaction_started_in_place_goes_as_a_new_one() {
    with_context(started_in_place_goes_as_a_new_one);
}

fn started_in_place_goes_as_a_new_one(context: TerminalContext<'_>) {
    let fresh: Vec<_> = TRANSCRIPTS
        .iter()
        .map(|(_, text)| {
            let mut transaction = Transaction::new(context, crypto(), TEST_INPUTS).unwrap();
            run(&mut transaction, text)
        })
        .collect();
    // Not vacuous: the transcripts approve offline, with and without ODA.
    assert!(fresh
        .iter()
        .all(|(_, outcome)| outcome.decision == Decision::Approved));

    let mut transaction = Transaction::idle(context, crypto());
    assert_eq!(
        transaction.request(),
        Request::Done(&Outcome::empty(Decision::Terminated(
            TerminationReason::NotStarted
        )))
    );
    // Every transcript after every other one, and after one abandoned in
    // the middle (card data read, an answer pending).
    for (after, (_, first)) in TRANSCRIPTS.iter().enumerate() {
        for ((name, text), expected) in TRANSCRIPTS.iter().zip(&fresh) {
            transaction.start(TEST_INPUTS).unwrap();
            run(&mut transaction, first);
            transaction.start(TEST_INPUTS).unwrap();
            assert_eq!(
                &run(&mut transaction, text),
                expected,
                "{name} after #{after}"
            );
        }
        transaction.start(TEST_INPUTS).unwrap();
        for response in responses(first).iter().take(4) {
            transaction.on_response(response).unwrap();
        }
        transaction.start(TEST_INPUTS).unwrap();
        assert_eq!(&run(&mut transaction, TRANSCRIPTS[2].1), &fresh[2]);
    }
}

#[test]
fn start_checks_the_inputs_and_leaves_the_transaction_as_it_was() {
    with_context(start_checks_the_inputs);
}

fn start_checks_the_inputs(context: TerminalContext<'_>) {
    let mut transaction = Transaction::idle(context, crypto());
    transaction.start(TEST_INPUTS).unwrap();
    let before = transaction.request();
    let Request::Transmit(command) = before else {
        panic!("first SELECT expected");
    };
    let command = command.to_vec();
    let mut bad = TEST_INPUTS;
    bad.random_selection_number = 0;
    assert!(transaction.start(bad).is_err());
    bad = TEST_INPUTS;
    bad.date = [0x25, 0x13, 0x01];
    assert!(transaction.start(bad).is_err());
    assert_eq!(transaction.request(), Request::Transmit(&command));
}
