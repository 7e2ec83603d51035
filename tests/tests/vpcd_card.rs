//! A test-cards profile served into pcscd's virtual reader (vsmartcard-vpcd)
//! and read back with plain `pcsc` crate calls, as any PC/SC program would:
//! SELECT the PSE, read its directory records, SELECT the applications it
//! lists, and run GET PROCESSING OPTIONS.
//!
//! Needs pcscd with vpcd: run through `scripts/test.sh` (starts pcscd and
//! sets `EMV_PCSCD=1`). Without it the test prints "skipped: set
//! EMV_PCSCD=1" and passes.

use std::ffi::CString;
use std::time::{Duration, Instant};

use emv_test_cards::profiles;
use emv_test_cards::vpcd::{ServedCard, VPCD_PORT_0};
use emv_test_cards::vpcd_card::VpcdCard;

const READER: &str = "Virtual PCD 00 00";

fn transmit(card: &pcsc::Card, apdu: &[u8]) -> (Vec<u8>, u16) {
    let mut buf = [0u8; pcsc::MAX_BUFFER_SIZE];
    let response = card.transmit(apdu, &mut buf).expect("transmit");
    let (data, sw) = response.split_at(response.len() - 2);
    (data.to_vec(), u16::from_be_bytes([sw[0], sw[1]]))
}

/// Connects to the card in the virtual reader, waiting until pcscd sees it
/// and it answers: right after the previous card left, pcscd may still hand
/// out a connection to it that then fails (NotTransacted, RemovedCard), so
/// the first SELECT is retried on a fresh connection within the bound.
fn connect_card(context: &pcsc::Context, probe: &[u8]) -> (pcsc::Card, Vec<u8>) {
    let reader = CString::new(READER).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let attempt = context
            .connect(&reader, pcsc::ShareMode::Shared, pcsc::Protocols::ANY)
            .and_then(|card| {
                let mut buf = [0u8; pcsc::MAX_BUFFER_SIZE];
                let answer = card.transmit(probe, &mut buf)?.to_vec();
                Ok((card, answer))
            });
        match attempt {
            Ok(found) => return found,
            Err(e) if Instant::now() < deadline => {
                let _ = e;
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(e) => panic!("no answering card in {READER}: {e}"),
        }
    }
}

/// Waits (at most 5 s) until pcscd reports the virtual reader empty;
/// false when a card stays there (served by another process).
fn wait_until_removed(context: &pcsc::Context) -> bool {
    let reader = CString::new(READER).unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        match context.connect(&reader, pcsc::ShareMode::Shared, pcsc::Protocols::ANY) {
            Err(pcsc::Error::NoSmartcard) | Err(pcsc::Error::RemovedCard) => return true,
            Ok(card) => drop(card.disconnect(pcsc::Disposition::LeaveCard)),
            Err(_) => {}
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

/// The values of every `tag` object inside `data` (depth-first).
fn all_values(data: &[u8], tag: u32) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for item in emv_kernel::tlv::primitives(data) {
        let (_, tlv) = item.expect("well-formed TLV");
        if tlv.tag.0 == tag {
            out.push(tlv.value.to_vec());
        }
    }
    out
}

#[test]
fn pse_of_a_served_profile_reads_over_pcscd() {
    if std::env::var("EMV_PCSCD").as_deref() != Ok("1") {
        eprintln!("skipped: set EMV_PCSCD=1 (scripts/test.sh starts pcscd and sets it)");
        return;
    }
    let context = pcsc::Context::establish(pcsc::Scope::User).expect("pcscd");
    if !wait_until_removed(&context) {
        eprintln!("skipped: {READER} already holds a card served by another process");
        return;
    }
    let profile = profiles::find("multi-app-pse").expect("profile");
    let served = ServedCard::insert(
        VPCD_PORT_0,
        VpcdCard::new(profile.card()),
        Duration::from_secs(10),
    )
    .expect("vpcd listens");

    let (reader_card, answer) = connect_card(&context, b"\x00\xA4\x04\x00\x0E1PAY.SYS.DDF01\x00");
    let (fci, sw) = answer.split_at(answer.len() - 2);
    assert_eq!(sw, [0x90, 0x00]);
    assert_eq!(
        all_values(fci, 0x88),
        vec![vec![0x01]],
        "PSE directory is SFI 1"
    );
    let mut aids = Vec::new();
    for record in 1..=10u8 {
        let (data, sw) = transmit(&reader_card, &[0x00, 0xB2, record, 0x0C, 0x00]);
        if sw == 0x6A83 {
            break;
        }
        assert_eq!(sw, 0x9000);
        aids.extend(all_values(&data, 0x4F));
    }
    assert_eq!(
        aids,
        vec![
            hex_bytes("A0000009991010"),
            hex_bytes("A0000009992020"),
            hex_bytes("A0000009993030")
        ]
    );
    for aid in &aids {
        let mut select = vec![0x00, 0xA4, 0x04, 0x00, aid.len() as u8];
        select.extend_from_slice(aid);
        select.push(0x00);
        let (fci, sw) = transmit(&reader_card, &select);
        assert_eq!(sw, 0x9000);
        assert_eq!(all_values(&fci, 0x84), vec![aid.clone()]);
    }
    // GPO on the last selected application: PDOL 9F1A02 9F3303 -> 5 bytes.
    let (gpo, sw) = transmit(
        &reader_card,
        &[
            0x80, 0xA8, 0x00, 0x00, 0x07, 0x83, 0x05, 0x02, 0x50, 0xE0, 0xF8, 0xC8, 0x00,
        ],
    );
    assert_eq!(sw, 0x9000);
    assert_eq!(
        all_values(&gpo, 0x82),
        vec![vec![0x58, 0x00]],
        "AIP: SDA, CVM, TRM"
    );

    // Round-trip figure (printed, not asserted): 500 READ RECORDs through pcscd.
    let mut times: Vec<Duration> = (0..500)
        .map(|_| {
            let start = Instant::now();
            let (_, sw) = transmit(&reader_card, &[0x00, 0xB2, 0x01, 0x0C, 0x00]);
            assert_eq!(sw, 0x9000);
            start.elapsed()
        })
        .collect();
    times.sort();
    eprintln!(
        "vpcd READ RECORD round trip: median {:?}, p99 {:?} (500 commands)",
        times[250], times[495]
    );

    reader_card
        .disconnect(pcsc::Disposition::ResetCard)
        .map_err(|(_, e)| e)
        .expect("disconnect");
    let apdus = served.apdus();
    served.remove();
    assert!(
        wait_until_removed(&context),
        "the served card leaves the reader"
    );
    assert!(apdus >= 506, "served {apdus} APDUs");
}

fn hex_bytes(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}
