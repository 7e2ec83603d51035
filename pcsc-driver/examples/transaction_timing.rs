//! Time per transaction through pcscd + vpcd against in process, APDUs per
//! transaction, and the share of the time spent inside the kernel.
//!
//! For each profile, the same transaction (default inputs of the test cards)
//! runs N times on one card: first in process, then with the card served into
//! `Virtual PCD 00 00` and driven through [`emv_pcsc::PcscCard`]. The loop
//! times the kernel's own calls (`Transaction::new`, `request`, `on_*`)
//! separately from the card exchanges. The card is warm-reset between
//! transactions, outside the timed part.
//!
//! Needs pcscd with vsmartcard-vpcd (`scripts/pcscd.sh start`); without it,
//! only the in-process half runs.
//!
//! ```text
//! cargo run --release -p emv-pcsc --example transaction_timing -- [RUNS]
//! ```

use std::time::{Duration, Instant};

use emv_kernel::config::TerminalConfig;
use emv_kernel::crypto::RingCrypto;
use emv_kernel::oda::{CaKeyStore, RevocationList};
use emv_kernel::online::HostResponse;
use emv_kernel::transaction::{PinEntry, PinKind, Request, TerminalContext, Transaction};
use emv_kernel::transport::CardTransport;
use emv_pcsc::{ConnectOptions, Pcsc, ReaderSelector};
use emv_test_cards::issuer::Issuer;
use emv_test_cards::profiles::{self, Profile};
use emv_test_cards::vpcd::{ServedCard, VPCD_PORT_0};
use emv_test_cards::vpcd_card::VpcdCard;
use emv_test_cards::TEST_INPUTS;

const READER: &str = "Virtual PCD 00 00";
/// The profiles measured; the last one answers 61xx/6Cxx and is served with a
/// T=0-only ATR, so pcscd runs T=0 and GET RESPONSEs travel on the wire.
const PROFILES: [(&str, Option<&[u8]>); 7] = [
    ("sda", None),
    ("dda", None),
    ("cda", None),
    ("cvm-offline-pin", None),
    ("multi-app-pse", None),
    ("card-online", None),
    ("hostile-t0-sequences", Some(&[0x3B, 0x02, 0x14, 0x50])),
];

/// What one transaction cost.
struct Sample {
    total: Duration,
    kernel: Duration,
    commands: u32,
}

/// Runs one transaction on `card`, timing the kernel's calls apart.
fn transaction(profile: &Profile, card: &mut impl CardTransport, keys: &CaKeyStore) -> Sample {
    let spec = profile.spec();
    let app = spec.apps.first().expect("an application");
    let pin: Vec<u8> = app.pin.bytes().collect();
    let pan = hex::decode(app.pan.trim_end_matches('F')).unwrap_or_default();
    let issuer = Issuer::test_issuer();
    let config = TerminalConfig::default();
    let revocations = RevocationList::new();
    let context = TerminalContext {
        config: &config,
        ca_keys: keys,
        revocations: &revocations,
        exception_file: &[],
    };
    let mut kernel = Duration::ZERO;
    let mut commands = 0;
    let started = Instant::now();
    let mut transaction = Transaction::new(context, RingCrypto::new(), TEST_INPUTS).unwrap();
    kernel += started.elapsed();
    let mut response = [0u8; 258];
    let mut issuer_data: Vec<u8>;
    loop {
        let t = Instant::now();
        let request = transaction.request();
        let step = t.elapsed();
        kernel += step;
        match request {
            Request::Done(_) => break,
            Request::Transmit(command) => {
                let command = command.to_vec();
                commands += 1;
                match card.transmit(&command, &mut response) {
                    Ok(n) => {
                        let t = Instant::now();
                        transaction.on_response(&response[..n]).unwrap();
                        kernel += t.elapsed();
                    }
                    Err(_) => transaction.on_transport_error(),
                }
            }
            Request::ChooseApplication { .. } => {
                let t = Instant::now();
                transaction.on_application_chosen(Some(0)).unwrap();
                kernel += t.elapsed();
            }
            Request::EnterPin { kind, .. } => {
                let entry = match kind {
                    PinKind::Online => PinEntry::OnlineCaptured,
                    _ => PinEntry::Digits(&pin),
                };
                let t = Instant::now();
                transaction.on_pin(entry).unwrap();
                kernel += t.elapsed();
            }
            Request::IssuerReferral { .. } => transaction.on_referral(false).unwrap(),
            Request::RecentAmount { .. } => {
                let t = Instant::now();
                transaction.on_recent_amount(0).unwrap();
                kernel += t.elapsed();
            }
            Request::GoOnline(icc_data) => {
                let value = |tag| emv_kernel::tlv::find(icc_data, emv_kernel::tlv::Tag(tag));
                let arqc: [u8; 8] = value(0x9F26).unwrap().try_into().unwrap();
                let atc: [u8; 2] = value(0x9F36).unwrap().try_into().unwrap();
                issuer_data = issuer
                    .issuer_authentication_data(
                        &pan,
                        app.pan_sequence,
                        u16::from_be_bytes(atc),
                        arqc,
                        *b"00",
                    )
                    .to_vec();
                let answer = HostResponse {
                    reachable: true,
                    approved: true,
                    authorisation_response_code: *b"00",
                    issuer_authentication_data: Some(&issuer_data),
                    scripts: &[],
                };
                let t = Instant::now();
                transaction.on_host(answer).unwrap();
                kernel += t.elapsed();
            }
        }
    }
    Sample {
        total: started.elapsed(),
        kernel,
        commands,
    }
}

fn median(mut values: Vec<Duration>) -> Duration {
    values.sort();
    values[values.len() / 2]
}

fn report(label: &str, samples: &[Sample]) {
    let total = median(samples.iter().map(|s| s.total).collect());
    let kernel = median(samples.iter().map(|s| s.kernel).collect());
    let share = samples
        .iter()
        .map(|s| s.kernel.as_secs_f64() / s.total.as_secs_f64())
        .sum::<f64>()
        / samples.len() as f64;
    println!(
        "{label:44} {:>3} APDUs  total {:>8.3} ms  kernel {:>7.1} µs  kernel share {:>5.1} %",
        samples[0].commands,
        total.as_secs_f64() * 1e3,
        kernel.as_secs_f64() * 1e6,
        share * 100.0
    );
}

/// Waits (up to 2 s) until pcscd shows the reader empty, so a card left by a
/// previous run is not taken for ours.
fn wait_empty(pcsc: &Pcsc) -> Result<(), emv_pcsc::PcscError> {
    let deadline = Instant::now() + Duration::from_secs(2);
    while Instant::now() < deadline
        && pcsc
            .readers()?
            .iter()
            .any(|r| r.name == READER && r.card_present)
    {
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let runs: usize = std::env::args()
        .nth(1)
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(100);
    let keys = emv_test_cards::pki::ca_key_store();
    let pcsc = Pcsc::establish().ok();
    for (name, atr_override) in PROFILES {
        let profile = profiles::find(name).ok_or("no such profile")?;
        let mut card = profile.card();
        let mut local = Vec::new();
        for _ in 0..runs {
            card.reset();
            local.push(transaction(profile, &mut card, &keys));
        }
        report(&format!("{name} in process"), &local);

        let Some(pcsc) = &pcsc else { continue };
        wait_empty(pcsc)?;
        // Served raw over vpcd: 61xx/6Cxx travel on the wire.
        let mut fresh = VpcdCard::new(profile.card());
        if let Some(atr) = atr_override {
            fresh = fresh.with_atr(atr);
        }
        let served = ServedCard::insert(VPCD_PORT_0, fresh, Duration::from_secs(5))?;
        pcsc.wait_for_card(
            &ReaderSelector::Exact(READER.into()),
            Duration::from_secs(10),
        )?;
        let mut reader_card = pcsc.connect(READER, &ConnectOptions::default())?;
        let mut remote = Vec::new();
        let mut raw = 0;
        for _ in 0..runs {
            reader_card.reset()?;
            let before = reader_card.raw_exchanges();
            remote.push(transaction(profile, &mut reader_card, &keys));
            raw = reader_card.raw_exchanges() - before;
        }
        report(
            &format!("{name} via pcscd ({}, {raw} raw)", reader_card.protocol()),
            &remote,
        );
        reader_card.disconnect()?;
        served.remove();
    }
    Ok(())
}
