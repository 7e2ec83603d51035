//! Card traces through a real pcscd (docs/traces.md):
//! - every `test-cards` profile is served into the virtual reader over vpcd,
//!   recorded with the trace recorder through the PC/SC adapter, and the
//!   (masked) trace must replay cleanly and hold the same commands as the
//!   in-process recording of the same fresh card;
//! - a transaction run by another PC/SC program (a small C program that
//!   sends the kernel's command sequence) is logged with pcsc-lite's
//!   `pcsc-spy`, imported, and must replay cleanly with the same outcome as
//!   the in-process run.
//!
//! Needs pcscd with vsmartcard-vpcd: run through `scripts/test.sh`, or
//! `scripts/pcscd.sh start` and `EMV_PCSCD=1`. Without it each test prints
//! "skipped: set EMV_PCSCD=1" and passes. The pcsc-spy test also needs
//! `pcsc-spy`, `libpcscspy.so.0` (package libpcsclite-dev) and a C compiler,
//! and says which is missing when it skips.
//!
//! Why a C program and not `emv-terminal` under the spy: the `pcsc` crate
//! calls `SCardTransmit` with a null `pioRecvPci`, which the spy library of
//! pcsc-lite 1.9.9 dereferences (segmentation fault).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use emv_config::Settings;
use emv_kernel::config::TransactionInputs;
use emv_kernel::crypto::RingCrypto;
use emv_kernel::driver::{self, Cardholder, Host};
use emv_kernel::online::HostResponse;
use emv_kernel::select::Candidate;
use emv_kernel::transaction::{PinEntry, PinKind, TerminalContext, Transaction};
use emv_kernel::transport::CardTransport;
use emv_pcsc::{ConnectOptions, Pcsc, ReaderSelector};
use emv_test_cards::profiles::{self, Profile};
use emv_test_cards::vpcd::{ServedCard, VPCD_PORT_1};
use emv_test_cards::vpcd_card::VpcdCard;
use emv_test_cards::TEST_INPUTS;
use emv_trace::format::{CapkSource, ConfigSource};
use emv_trace::record::{Header, Recorder};
use emv_trace::replay::{self, Environment, Style};
use emv_trace::{spy, Event, PinResult, Trace};

/// The second virtual reader, so these tests do not queue behind the other
/// pcscd tests on the first one.
const READER: &str = "Virtual PCD 00 01";

static READER_LOCK: Mutex<()> = Mutex::new(());

fn pcscd() -> Option<MutexGuard<'static, ()>> {
    if std::env::var("EMV_PCSCD").as_deref() != Ok("1") {
        eprintln!("skipped: set EMV_PCSCD=1 (scripts/test.sh starts pcscd and sets it)");
        return None;
    }
    Some(READER_LOCK.lock().unwrap_or_else(|p| p.into_inner()))
}

fn inputs() -> TransactionInputs {
    TransactionInputs {
        random_selection_number: 99,
        ..TEST_INPUTS
    }
}

/// First candidate; the test cards' PIN once, then bypass.
struct Person<'r> {
    recorder: &'r Recorder,
    pin_offered: bool,
}

impl Cardholder for Person<'_> {
    fn choose_application(&mut self, _: &[Candidate], _: bool) -> Option<usize> {
        self.recorder.application_chosen(Some(0));
        Some(0)
    }
    fn enter_pin(&mut self, _: PinKind, _: Option<u8>) -> PinEntry<'_> {
        if self.pin_offered {
            self.recorder.pin(PinResult::Bypassed);
            return PinEntry::Bypassed;
        }
        self.pin_offered = true;
        self.recorder.pin(PinResult::Entered);
        PinEntry::Digits(b"1234")
    }
}

/// No host: every ARQC goes unanswered.
struct Unreachable<'r>(&'r Recorder);

impl Host for Unreachable<'_> {
    fn authorise(&mut self, icc_data: &[u8]) -> HostResponse<'_> {
        self.0.online(icc_data, &HostResponse::UNREACHABLE);
        HostResponse::UNREACHABLE
    }
}

/// Runs one transaction on `card` with the recorder in the loop and returns its trace.
fn record<T: CardTransport>(card: &mut T, source: &str, masked: bool) -> Trace {
    let settings = Settings::default();
    let keys = emv_test_cards::pki::ca_key_store();
    let revocations = settings.revocation_list();
    let exception_file: Vec<&[u8]> = settings.exception_file.iter().map(Vec::as_slice).collect();
    let context = TerminalContext {
        config: &settings.terminal,
        ca_keys: &keys,
        revocations: &revocations,
        exception_file: &exception_file,
    };
    let recorder = Recorder::new();
    let mut transaction = Box::new(
        Transaction::new(context, recorder.crypto(RingCrypto::new()), inputs()).expect("inputs"),
    );
    let mut person = Person {
        recorder: &recorder,
        pin_offered: false,
    };
    let outcome = driver::run(
        &mut transaction,
        &mut recorder.transport(card),
        &mut person,
        &mut Unreachable(&recorder),
    )
    .expect("driver");
    let header = Header {
        source: source.to_owned(),
        config: ConfigSource::Builtin,
        capk: CapkSource::Builtin,
    };
    recorder.finish(header, inputs(), &outcome, &keys, masked)
}

fn commands(trace: &Trace) -> Vec<Vec<u8>> {
    trace
        .events
        .iter()
        .filter_map(|e| match e {
            Event::Command { apdu, .. } => Some(apdu.clone()),
            _ => None,
        })
        .collect()
}

fn assert_replays(trace: &Trace, what: &str) -> replay::Replayed {
    let replayed = replay::replay(trace, &Environment::default());
    if let Some(failure) = &replayed.failure {
        panic!(
            "{what} does not replay:\n{}",
            replay::render_failure(failure, Style { color: false })
        );
    }
    replayed
}

/// Puts a fresh card of `profile` into the virtual reader and waits until
/// pcscd sees it.
fn insert(profile: &Profile) -> ServedCard {
    let served = ServedCard::insert(
        VPCD_PORT_1,
        VpcdCard::new(profile.card()),
        Duration::from_secs(5),
    )
    .expect("vpcd reachable");
    Pcsc::establish()
        .expect("pcscd")
        .wait_for_card(
            &ReaderSelector::Exact(READER.into()),
            Duration::from_secs(5),
        )
        .expect("card appears in the virtual reader");
    served
}

fn wait_empty() {
    let pcsc = Pcsc::establish().expect("pcscd");
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        let readers = pcsc.readers().expect("readers");
        if readers.iter().any(|r| r.name == READER && !r.card_present) {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("reader still holds a card");
}

#[test]
fn record_and_replay_every_profile_through_pcscd() {
    let Some(_reader) = pcscd() else { return };
    for profile in profiles::all() {
        let in_process = record(&mut profile.card(), "in-process", true);
        let served = insert(profile);
        let pcsc = Pcsc::establish().expect("pcscd");
        let mut card = pcsc
            .connect(READER, &ConnectOptions::default())
            .expect("connect");
        let through_pcscd = record(&mut card, READER, true);
        drop(card);
        served.remove();
        wait_empty();
        assert_replays(
            &through_pcscd,
            &format!("{} recorded through pcscd", profile.name),
        );
        assert_eq!(
            commands(&through_pcscd),
            commands(&in_process),
            "{}: the kernel sent other commands through pcscd",
            profile.name
        );
        assert_eq!(
            through_pcscd.expected, in_process.expected,
            "{}",
            profile.name
        );
    }
}

/// Sends hex command APDUs (one per line on stdin) to a PC/SC reader with
/// SCardTransmit, as any PC/SC program would.
const APDU_PROGRAM: &str = r#"
#include <stdio.h>
#include <winscard.h>
int main(int argc, char **argv) {
    SCARDCONTEXT context; SCARDHANDLE card; DWORD protocol;
    if (argc != 2) return 2;
    if (SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &context) != SCARD_S_SUCCESS) return 1;
    if (SCardConnect(context, argv[1], SCARD_SHARE_EXCLUSIVE, SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1,
                     &card, &protocol) != SCARD_S_SUCCESS) return 1;
    const SCARD_IO_REQUEST *send_pci = protocol == SCARD_PROTOCOL_T0 ? SCARD_PCI_T0 : SCARD_PCI_T1;
    char line[1024];
    while (fgets(line, sizeof line, stdin)) {
        unsigned char command[300], response[300];
        DWORD length = 0, received = sizeof response;
        for (char *p = line; p[0] && p[1] && length < sizeof command; p += 2) {
            unsigned int byte;
            if (sscanf(p, "%2x", &byte) != 1) break;
            command[length++] = (unsigned char)byte;
        }
        if (length < 4) continue;
        SCARD_IO_REQUEST recv_pci = { protocol, sizeof(SCARD_IO_REQUEST) };
        if (SCardTransmit(card, send_pci, command, length, &recv_pci, response, &received) != SCARD_S_SUCCESS)
            return 1;
    }
    SCardDisconnect(card, SCARD_LEAVE_CARD);
    SCardReleaseContext(context);
    return 0;
}
"#;

const SPY_LIBRARY: &str = "/usr/lib/x86_64-linux-gnu/libpcscspy.so.0";

fn missing_spy_tools() -> Option<String> {
    if !Path::new(SPY_LIBRARY).exists() {
        return Some(format!("{SPY_LIBRARY} (package libpcsclite-dev)"));
    }
    for tool in ["pcsc-spy", "cc", "mkfifo"] {
        let found = Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .output()
            .is_ok_and(|o| o.status.success());
        if !found {
            return Some(tool.to_owned());
        }
    }
    None
}

fn run(command: &mut Command) -> std::process::Output {
    let output = command.output().expect("start");
    assert!(
        output.status.success(),
        "{command:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

#[test]
fn pcsc_spy_log_of_a_transaction_through_pcscd_imports_and_replays() {
    let Some(_reader) = pcscd() else { return };
    if let Some(missing) = missing_spy_tools() {
        eprintln!("skipped: {missing} not found");
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let work: PathBuf = dir.path().to_path_buf();
    std::fs::write(work.join("apdus.c"), APDU_PROGRAM).expect("write");
    run(Command::new("cc")
        .arg("-I/usr/include/PCSC")
        .arg(work.join("apdus.c"))
        .arg("-o")
        .arg(work.join("apdus"))
        .arg("-lpcsclite"));

    // The kernel's command sequence for the cda card, in process.
    let profile = profiles::find("cda").expect("cda profile");
    let in_process = record(&mut profile.card(), "in-process", false);
    let script: String = commands(&in_process)
        .iter()
        .map(|c| hex::encode_upper(c) + "\n")
        .collect();

    // The other program runs it through pcscd under the spy.
    let home = work.join("home");
    std::fs::create_dir(&home).expect("home");
    let fifo = home.join("pcsc-spy");
    run(Command::new("mkfifo").arg(&fifo));
    let raw = std::fs::File::create(work.join("spy.raw")).expect("raw log");
    let mut reader = Command::new("cat")
        .arg(&fifo)
        .stdout(raw)
        .spawn()
        .expect("cat");
    let served = insert(profile);
    let mut program = Command::new(work.join("apdus"))
        .arg(READER)
        .env("HOME", &home)
        .env("LD_PRELOAD", SPY_LIBRARY)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("apdus");
    std::io::Write::write_all(&mut program.stdin.take().expect("stdin"), script.as_bytes())
        .expect("send script");
    assert!(
        program.wait().expect("apdus").success(),
        "the PC/SC program failed"
    );
    let _ = reader.wait();
    served.remove();
    wait_empty();
    let log = run(Command::new("pcsc-spy").arg("-n").arg(work.join("spy.raw"))).stdout;
    let log = String::from_utf8_lossy(&log);

    // Import, mask (from a replay's crypto calls), replay.
    let exchanges = spy::parse_log(&log).expect("pcsc-spy log parses");
    assert_eq!(exchanges.len(), commands(&in_process).len());
    let overrides = spy::InputOverrides {
        random_selection_number: 99,
        ..spy::InputOverrides::default()
    };
    let (mut imported, _notes) = spy::to_trace(&exchanges, &overrides, "pcsc-spy log");
    let prepared = replay::prepare(&imported, &Environment::default()).expect("prepare");
    let recorder = Recorder::new();
    replay::replay_with(
        &imported,
        &prepared,
        recorder.crypto(replay::ReplayCrypto::new(Vec::new())),
    );
    recorder.mask(&mut imported);
    assert!(imported.masked);
    let replayed = assert_replays(&imported, "the imported pcsc-spy log");
    // Inputs read back from the GPO and GENERATE AC data give the same outcome.
    let differences = replay::compare_expected(&in_process.expected, &replayed.actual);
    assert!(
        differences.is_empty(),
        "imported outcome differs: {differences:?}"
    );
}
