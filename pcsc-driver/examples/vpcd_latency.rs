//! Round-trip time of one APDU through pcscd and vpcd.
//!
//! Serves a small virtual card into `Virtual PCD 00 00`, then sends READ
//! RECORD (answered with a 96-byte record + 9000) N times:
//! 1. through [`emv_pcsc::PcscCard`] (worker thread, transport rules), as the
//!    kernel uses it;
//! 2. the same without the worker (`command_timeout: None`);
//! 3. through a bare `pcsc::Card::transmit`, the floor.
//!
//! Needs pcscd with vsmartcard-vpcd running (`scripts/pcscd.sh start`).
//!
//! ```text
//! cargo run --release -p emv-pcsc --example vpcd_latency -- [COUNT]
//! ```

use std::ffi::CString;
use std::time::{Duration, Instant};

use emv_kernel::transport::CardTransport;
use emv_pcsc::{ConnectOptions, Pcsc, ReaderSelector};
use emv_test_cards::vpcd::{ServedCard, VirtualCard, VPCD_PORT_0};

const READER: &str = "Virtual PCD 00 00";
const READ_RECORD: [u8; 5] = [0x00, 0xB2, 0x01, 0x0C, 0x00];

/// Answers every command with a 96-byte record and 9000.
struct RecordCard;

impl VirtualCard for RecordCard {
    fn atr(&self) -> Vec<u8> {
        vec![
            0x3B, 0x8F, 0x80, 0x01, 0x80, 0x4F, 0x0C, 0xA0, 0x00, 0x00, 0x03, 0x06, 0x03, 0x00,
            0x03, 0x00, 0x00, 0x00, 0x00, 0x68,
        ]
    }

    fn respond(&mut self, _command: &[u8]) -> Vec<u8> {
        let mut record = vec![0x70, 0x5E];
        record.extend((0..94u8).map(|i| i.wrapping_mul(7)));
        record.extend([0x90, 0x00]);
        record
    }
}

fn report(label: &str, mut samples: Vec<Duration>) {
    samples.sort();
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    let total: Duration = samples.iter().sum();
    println!(
        "{label}: n={} median={:.3} ms p90={:.3} ms p99={:.3} ms max={:.3} ms mean={:.3} ms",
        samples.len(),
        at(0.5).as_secs_f64() * 1e3,
        at(0.9).as_secs_f64() * 1e3,
        at(0.99).as_secs_f64() * 1e3,
        at(1.0).as_secs_f64() * 1e3,
        total.as_secs_f64() * 1e3 / samples.len() as f64,
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
    let count: usize = std::env::args()
        .nth(1)
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(2000);
    let pcsc = Pcsc::establish()?;
    wait_empty(&pcsc)?;
    let served = ServedCard::insert(VPCD_PORT_0, RecordCard, Duration::from_secs(5))?;
    pcsc.wait_for_card(
        &ReaderSelector::Exact(READER.into()),
        Duration::from_secs(5),
    )?;

    let direct = ConnectOptions {
        command_timeout: None,
        ..ConnectOptions::default()
    };
    let modes = [
        (
            "PcscCard::transmit, bounded (worker thread)",
            ConnectOptions::default(),
        ),
        ("PcscCard::transmit, unbounded (caller thread)", direct),
    ];
    let mut response = [0u8; 258];
    for (label, options) in modes {
        let mut card = pcsc.connect(READER, &options)?;
        for _ in 0..100 {
            card.transmit(&READ_RECORD, &mut response)?;
        }
        let mut samples = Vec::with_capacity(count);
        for _ in 0..count {
            let started = Instant::now();
            let n = card.transmit(&READ_RECORD, &mut response)?;
            samples.push(started.elapsed());
            assert_eq!(n, 98);
        }
        report(&format!("{label}, {}", card.protocol()), samples);
        card.disconnect()?;
    }

    let raw = pcsc.context().connect(
        &CString::new(READER)?,
        pcsc::ShareMode::Exclusive,
        pcsc::Protocols::T0 | pcsc::Protocols::T1,
    )?;
    let mut samples = Vec::with_capacity(count);
    for _ in 0..count {
        let started = Instant::now();
        let reply = raw.transmit(&READ_RECORD, &mut response)?;
        samples.push(started.elapsed());
        assert_eq!(reply.len(), 98);
    }
    report("pcsc::Card::transmit (bare)", samples);
    raw.disconnect(pcsc::Disposition::UnpowerCard)
        .map_err(|(_, error)| error)?;
    println!("card answered {} APDUs", served.apdus());
    served.remove();
    Ok(())
}
