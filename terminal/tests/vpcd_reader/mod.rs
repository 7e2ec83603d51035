//! The second virtual reader of pcscd, shared by the tests that serve a test
//! card into it (`transact_pcscd.rs`, `host_file_pcscd.rs`): the reader's
//! name, and the guard that gives a test the reader to itself.

use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use emv_pcsc::Pcsc;

/// pcscd's name for vsmartcard-vpcd's second reader (port `VPCD_PORT_1`).
pub const READER: &str = "Virtual PCD 00 01";

static READER_LOCK: Mutex<()> = Mutex::new(());

/// The reader to ourselves, or `None` (test skipped) without pcscd or when
/// another process already serves a card there.
pub fn pcscd() -> Option<MutexGuard<'static, ()>> {
    if std::env::var("EMV_PCSCD").as_deref() != Ok("1") {
        eprintln!("skipped: set EMV_PCSCD=1 (scripts/test.sh starts pcscd and sets it)");
        return None;
    }
    let guard = READER_LOCK
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if !wait_empty() {
        eprintln!("skipped: {READER} already holds a card served by another process");
        return None;
    }
    Some(guard)
}

/// Waits (at most 5 s) until pcscd shows the reader empty.
pub fn wait_empty() -> bool {
    let pcsc = Pcsc::establish().expect("pcscd");
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        let readers = pcsc.readers().expect("readers");
        if readers.iter().any(|r| r.name == READER && !r.card_present) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}
