//! What the workspace's integration tests share: the path of a workspace binary
//! ([`bin`]), and the journal and sync helpers (temporary journals and keys, records, the
//! reference acquirer as a child process).
//!
//! Dev-only (`publish = false`): a dev-dependency of the test suites, never of a library.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use emv_journal::{Completion, Journal, KeySource, Mode, Outcome, PendingTransaction, RecordId};

/// A binary of the workspace (`emv-terminal`, `emv-acquirer`, ...) as cargo builds it,
/// next to the running test executable: `target/<profile>/NAME`.
///
/// An integration test can name its own package's binaries with
/// `env!("CARGO_BIN_EXE_...")`, and cargo builds them first; another package's binary is
/// built only when that package is part of the build, so this panics, saying so, when the
/// binary is missing.
pub fn bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("path of the running test executable");
    // Tests and benches run from target/<profile>/deps/; the binaries are one folder up.
    let mut dir = exe
        .parent()
        .expect("the test executable is in a folder")
        .to_path_buf();
    if dir.ends_with("deps") {
        dir.pop();
    }
    let path = dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.is_file(),
        "binary {name} not found at {}: it belongs to another package of the workspace, which \
         cargo builds only when asked; run `cargo build --workspace` (or `cargo test \
         --workspace`) first",
        path.display()
    );
    path
}

/// The `emv-terminal` binary.
pub fn terminal_bin() -> PathBuf {
    bin("emv-terminal")
}

/// The `emv-acquirer` binary (the reference acquirer).
pub fn acquirer_bin() -> PathBuf {
    bin("emv-acquirer")
}

/// A Mastercard test PAN (BCD) and its digits.
pub const PAN_BCD: [u8; 8] = [0x54, 0x13, 0x33, 0x00, 0x89, 0x01, 0x06, 0x08];
pub const PAN_DIGITS: &str = "5413330089010608";

/// Unix time `secs` as a `SystemTime`.
pub fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

/// A pending offline purchase of `amount` with the test PAN.
pub fn pending(amount: u64) -> PendingTransaction {
    PendingTransaction {
        amount_authorised: amount,
        amount_other: 0,
        currency_code: 978,
        transaction_type: 0x00,
        transaction_date: [0x26, 0x11, 0x25],
        transaction_time: [0x10, 0x30, 0x00],
        aid: vec![0xA0, 0x00, 0x00, 0x00, 0x04, 0x10, 0x10],
        pan: PAN_BCD.to_vec(),
        pan_sequence_number: Some(1),
        track2_equivalent: Some(
            [&PAN_BCD[..], &[0xD2, 0x71, 0x22, 0x01, 0x23, 0x45, 0x6F]].concat(),
        ),
        expiry_date: [0x27, 0x12, 0x31],
    }
}

/// A completion with the given outcome and mode.
pub fn completion(outcome: Outcome, mode: Mode) -> Completion {
    let approved = outcome == Outcome::Approved;
    Completion {
        outcome,
        mode,
        authorisation_response_code: Some(if approved { *b"Y1" } else { *b"Z1" }),
        cryptogram_information_data: Some(if approved { 0x40 } else { 0x00 }),
        application_cryptogram: Some([0xA1, 0xB2, 0xC3, 0xD4, 0xE5, 0xF6, 0x07, 0x18]),
        atc: Some(0x0042),
        tvr: [0x00, 0x00, 0x00, 0x00, 0x00],
        tsi: [0xE8, 0x00],
        cvm_results: [0x1F, 0x03, 0x02],
        icc_data: vec![0x9F, 0x36, 0x02, 0x00, 0x42],
        forced_online_reason: None,
    }
}

/// Journal and key paths in a fresh temporary directory.
pub struct Paths {
    pub dir: tempfile::TempDir,
    pub journal: PathBuf,
    pub key: PathBuf,
}

pub fn paths() -> Paths {
    let dir = tempfile::tempdir().expect("tempdir");
    let journal = dir.path().join("journal.db");
    let key = dir.path().join("journal.key");
    Paths { dir, journal, key }
}

impl Paths {
    pub fn open(&self) -> Journal {
        Journal::open(&self.journal, &KeySource::create_if_missing(&self.key))
            .expect("open journal")
    }

    /// Arguments naming this journal and key for the binary.
    pub fn args(&self) -> Vec<String> {
        vec![
            "--journal".into(),
            self.journal.display().to_string(),
            "--journal-key".into(),
            self.key.display().to_string(),
        ]
    }
}

/// Writes and completes one transaction at unix time `secs`.
pub fn record(
    journal: &mut Journal,
    amount: u64,
    outcome: Outcome,
    mode: Mode,
    secs: u64,
) -> RecordId {
    let id = journal
        .begin_pending(&pending(amount), at(secs))
        .expect("pending");
    journal
        .complete(id, &completion(outcome, mode), at(secs + 1))
        .expect("complete");
    id
}

/// Runs `emv-terminal` with `args`.
pub fn run(args: &[String]) -> Output {
    Command::new(terminal_bin())
        .args(args)
        .env_remove("EMV_JOURNAL_KEY_FILE")
        .output()
        .expect("run emv-terminal")
}

/// Runs `emv-terminal` and returns stdout, failing the test on a non-zero exit.
pub fn run_ok(args: &[String]) -> String {
    let out = run(args);
    assert!(
        out.status.success(),
        "emv-terminal {args:?} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// A reference acquirer child process, killed (by its pid) when dropped.
pub struct AcquirerProcess {
    child: Child,
    pub url: String,
    pub ca: PathBuf,
    pub db: PathBuf,
}

impl AcquirerProcess {
    /// Starts `emv-acquirer serve` on a free loopback port with extra (fault) arguments.
    pub fn start(db: &Path, extra: &[&str]) -> Self {
        let mut child = Command::new(acquirer_bin())
            .args(["serve", "--listen", "127.0.0.1:0", "--db"])
            .arg(db)
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn acquirer");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let mut url = String::new();
        let mut ca = PathBuf::new();
        for _ in 0..2 {
            let line = lines.next().expect("acquirer output").expect("read line");
            if let Some(rest) = line.strip_prefix("acquirer listening on ") {
                url = rest.to_string();
            } else if let Some(rest) = line.strip_prefix("ca certificate ") {
                ca = PathBuf::from(rest);
            }
        }
        assert!(url.starts_with("https://"), "acquirer did not start: {url}");
        Self {
            child,
            url,
            ca,
            db: db.to_path_buf(),
        }
    }

    /// The acquirer's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Stops the process now (SIGKILL to its pid) and reaps it.
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for AcquirerProcess {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A receipt for the record with `idempotency_key`, signed with a test acquirer key and
/// verified, as [`Journal::mark_synced`] needs: what a sync run makes of an acquirer's
/// acknowledgement.
pub fn verified_receipt(
    journal: &Journal,
    idempotency_key: &str,
) -> emv_journal::sync::VerifiedReceipt {
    use ring::signature::{Ed25519KeyPair, KeyPair};
    let signer = Ed25519KeyPair::from_seed_unchecked(&[7; 32]).expect("test key");
    let record_sha256 = "00".repeat(32);
    let stored_at = 1_700_000_000;
    let message = emv_journal::sync::receipt_message(
        journal.terminal_id(),
        idempotency_key,
        &record_sha256,
        stored_at,
    );
    let receipt = serde_json::json!({
        "alg": "ed25519",
        "terminal_id": journal.terminal_id(),
        "record_sha256": record_sha256,
        "stored_at": stored_at,
        "signature": hex::encode(signer.sign(&message)),
    });
    emv_journal::sync::ReceiptKey::from_public_key(signer.public_key().as_ref())
        .expect("32-byte key")
        .verify(
            &receipt,
            journal.terminal_id(),
            idempotency_key,
            &record_sha256,
        )
        .expect("the test receipt verifies")
}
