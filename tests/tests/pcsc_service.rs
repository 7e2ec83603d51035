//! pcscd stops in the middle of a session: the adapter reports
//! `ServiceStopped` at once, never hangs.
//!
//! This test kills the pcscd that `scripts/pcscd.sh start` launched (found by
//! its pid file), so it runs only with `EMV_PCSCD=1 EMV_PCSCD_STOP_TEST=1`;
//! `scripts/test.sh` runs it last, after every other test.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use emv_kernel::transport::CardTransport;
use emv_pcsc::{ConnectOptions, Pcsc, PcscError, ReaderSelector};
use emv_test_cards::profiles;
use emv_test_cards::vpcd::{ServedCard, VPCD_PORT_0};
use emv_test_cards::vpcd_card::VpcdCard;

/// An ATR offering only T=0.
const ATR_T0_ONLY: [u8; 4] = [0x3B, 0x02, 0x14, 0x50];

fn pid_file() -> PathBuf {
    match std::env::var_os("EMV_PCSCD_DIR") {
        Some(dir) => PathBuf::from(dir).join("pcscd.pid"),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/pcscd/pcscd.pid"),
    }
}

#[test]
fn pcscd_stopped_mid_session() {
    let enabled = |name: &str| std::env::var(name).as_deref() == Ok("1");
    if !enabled("EMV_PCSCD") || !enabled("EMV_PCSCD_STOP_TEST") {
        eprintln!("skipped: set EMV_PCSCD=1 EMV_PCSCD_STOP_TEST=1 (scripts/test.sh runs it last)");
        return;
    }
    let pid = std::fs::read_to_string(pid_file())
        .expect("pid file of the pcscd started by scripts/pcscd.sh")
        .trim()
        .to_owned();

    let card = VpcdCard::new(profiles::find("sda").unwrap().card()).with_atr(&ATR_T0_ONLY);
    let served = ServedCard::insert(VPCD_PORT_0, card, Duration::from_secs(5)).unwrap();
    let pcsc = Pcsc::establish().unwrap();
    let reader = pcsc
        .wait_for_card(&ReaderSelector::Auto, Duration::from_secs(5))
        .unwrap();
    let mut card = pcsc
        .connect(&reader.name, &ConnectOptions::default())
        .unwrap();
    let mut response = [0u8; 258];
    // Nothing selected yet: the card answers 6985 (conditions of use not satisfied).
    let read_record = [0x00, 0xB2, 0x01, 0x0C, 0x00];
    assert_eq!(card.transmit(&read_record, &mut response), Ok(2));
    assert_eq!(response[..2], [0x69, 0x85]);

    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(killed.success());
    let deadline = Instant::now() + Duration::from_secs(5);
    while PathBuf::from(format!("/proc/{pid}")).exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }

    let started = Instant::now();
    assert_eq!(
        card.transmit(&read_record, &mut response),
        Err(PcscError::ServiceStopped)
    );
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(pcsc.readers().err(), Some(PcscError::ServiceStopped));
    assert_eq!(Pcsc::establish().err(), Some(PcscError::ServiceStopped));
    drop(card);
    served.remove();
}
