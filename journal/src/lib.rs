//! The offline journal: durable store-and-forward of EMV transactions in one SQLite file,
//! and the client that forwards approvals to the acquirer ([`sync`]).
//!
//! The kernel stays free of storage; a terminal drives the journal around the kernel's
//! GENERATE AC: the record is durable as *pending* before the first GENERATE AC is sent,
//! and *complete* before an approval is shown. A crash in between leaves a pending record
//! that the next writer marks incomplete and reports ([`Journal::recovered`]), never drops.
//!
//! ```no_run
//! use std::time::SystemTime;
//!
//! use emv_journal::sync::{self, SyncConfig};
//! use emv_journal::{Completion, Journal, KeySource, Mode, OfflineLimits, Outcome, PendingTransaction};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // Open (or create) the journal; a new key file is created with mode 0600 on first use.
//! let mut journal = Journal::open(
//!     "journal.db".as_ref(),
//!     &KeySource::create_if_missing("journal.key"),
//! )?;
//! for record in journal.recovered() {
//!     eprintln!("record {} was left pending by a crash: now incomplete", record.id);
//! }
//!
//! // Before the transaction: would one more offline approval break a cap?
//! let limits = OfflineLimits { max_offline_approvals: Some(50), ..OfflineLimits::default() };
//! let now = SystemTime::now();
//! if let Some(reason) = journal.offline_limits_reached(&limits, now, 1250)? {
//!     // set "merchant forced transaction online" (TVR byte 4 bit 4) in the kernel inputs
//!     eprintln!("{reason}");
//! }
//!
//! // Durable before the first GENERATE AC: what the card and the terminal said so far
//! // (PAN, track 2 and expiry date are sealed with the journal key).
//! let pending = PendingTransaction {
//!     amount_authorised: 1250,
//!     amount_other: 0,
//!     currency_code: 978,
//!     transaction_type: 0x00,
//!     transaction_date: [0x26, 0x11, 0x25],
//!     transaction_time: [0x10, 0x30, 0x00],
//!     aid: vec![0xA0, 0x00, 0x00, 0x00, 0x04, 0x10, 0x10],
//!     pan: vec![0x54, 0x13, 0x33, 0x00, 0x89, 0x01, 0x06, 0x08],
//!     pan_sequence_number: Some(1),
//!     track2_equivalent: None,
//!     expiry_date: [0x27, 0x12, 0x31],
//! };
//! let id = journal.begin_pending(&pending, now)?;
//!
//! // ... GENERATE AC, online authorisation, second GENERATE AC ...
//!
//! // Durable before an approval is shown: the outcome of the last GENERATE AC.
//! let completion = Completion {
//!     outcome: Outcome::Approved,
//!     mode: Mode::Offline,
//!     authorisation_response_code: Some(*b"Y1"),
//!     cryptogram_information_data: Some(0x40),
//!     application_cryptogram: Some([0x12, 0x34, 0x56, 0x78, 0x9A, 0xBC, 0xDE, 0xF0]),
//!     atc: Some(42),
//!     tvr: [0; 5],
//!     tsi: [0xE8, 0x00],
//!     cvm_results: [0x1F, 0x03, 0x02],
//!     icc_data: Vec::new(), // field 55, from the kernel's outcome
//!     forced_online_reason: None,
//! };
//! journal.complete(id, &completion, SystemTime::now())?;
//! // ... show the outcome to the merchant, then confirm it was shown:
//! journal.mark_shown(id, SystemTime::now())?;
//!
//! // Later: forward the approvals to the acquirer, exactly once (idempotency keys,
//! // retries with backoff; a record is marked synced only once acknowledged).
//! let config = SyncConfig {
//!     ca: Some("acquirer-ca.pem".into()),
//!     ..SyncConfig::new("https://127.0.0.1:8443")
//! };
//! let report = sync::sync_once(&mut journal, &config, &mut |done, total| {
//!     eprintln!("{done}/{total}");
//! })?;
//! println!("{} acknowledged, {} left", report.acknowledged, report.remaining);
//! # Ok(())
//! # }
//! ```
//!
//! Every write is one SQLite transaction in WAL mode with `synchronous=FULL`, so a record
//! that `complete` returned for survives a crash or power loss. Sensitive fields (PAN,
//! track 2 equivalent data, expiry date) are sealed with AES-256-GCM ([`crypto`]); every
//! finished record carries an HMAC chained over the previous one ([`Journal::verify`]).
//! [`backup`] copies and restores a journal with its checks, [`export`] writes CSV or JSON
//! with masked PANs only. The file format, the keys and the acquirer protocol are described
//! in `docs/journal.md`.

pub mod backup;
pub mod crypto;
pub mod export;
pub mod identity;
pub mod limits;
pub mod private;
mod record;
mod schema;
mod store;
pub mod sync;

use std::path::PathBuf;

pub use limits::{LimitReason, OfflineLimits};
pub use record::{
    mask_pan, Completion, Mode, Outcome, PendingTransaction, Record, RecordId, Sensitive, ShownBy,
    State, SyncState,
};
pub use schema::SCHEMA_VERSION;
pub use store::{
    BrokenLink, ChainReport, Journal, JournalStatus, KeySource, OpenOptions, PruneReport,
    UnshownApproval, UNSHOWN_LISTED,
};

/// Environment variable naming the journal key file when `--journal-key` is not given.
pub const KEY_FILE_ENV: &str = "EMV_JOURNAL_KEY_FILE";

/// Everything that can go wrong with the journal; card behaviour is never an error here.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    /// SQLite reported an error.
    #[error("journal database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file concerned.
        path: PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// The key file may be read or written by its group or by others.
    #[error("key file {path} has mode {mode:03o}: it must be private to its owner (chmod 600)")]
    KeyFilePermissions {
        /// The key file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The key file does not exist.
    #[error("key file {path} not found")]
    KeyFileMissing {
        /// The key file looked for.
        path: PathBuf,
    },
    /// The journal already holds records but no key file was found for it.
    #[error("journal {journal} already holds data sealed with a key, but key file {key} does not exist; refusing to create a new key (restore the key file or pass --journal-key)")]
    KeyRequired {
        /// The journal file.
        journal: PathBuf,
        /// The key file looked for.
        key: PathBuf,
    },
    /// A key file line is not `key <id> <64 hex digits>` (line 0: no key at all).
    #[error("key file {path}: malformed at line {line} (expected `key <id> <64 hex digits>`)")]
    KeyFileMalformed {
        /// The key file.
        path: PathBuf,
        /// 1-based line number, 0 when the file holds no key.
        line: usize,
    },
    /// The key file holds a key with this id, but not the one the journal was written with.
    #[error(
        "wrong key: key {key_id} in the key file is not the key this journal was written with"
    )]
    WrongKey {
        /// The key id whose bytes differ.
        key_id: u32,
    },
    /// The journal uses a key id the key file does not hold.
    #[error("key {key_id} used by this journal is missing from the key file")]
    MissingKey {
        /// The missing key id.
        key_id: u32,
    },
    /// A sealed field did not authenticate.
    #[error("record {record_id}: sealed data does not authenticate (tampered, or wrong key)")]
    Decrypt {
        /// The record concerned.
        record_id: i64,
    },
    /// The cryptographic library failed (random generator or key setup).
    #[error("cryptographic operation failed")]
    Crypto,
    /// No record has this id.
    #[error("no record with id {0}")]
    UnknownRecord(i64),
    /// The record is not in the state the operation needs.
    #[error("record {id} is {state}, expected {expected}")]
    InvalidState {
        /// The record.
        id: i64,
        /// Its current state.
        state: State,
        /// The state the operation needs.
        expected: State,
    },
    /// The journal was written by a newer version of this program.
    #[error("journal schema version {found} is newer than this program supports ({supported})")]
    SchemaTooNew {
        /// Version found in the file.
        found: i64,
        /// Highest version this program knows.
        supported: i64,
    },
    /// SQLite did not accept WAL mode or `synchronous=FULL`.
    #[error("journal durability settings not in effect: {0}")]
    Durability(&'static str),
    /// Another process holds the journal's writer lock.
    #[error("journal {0} is in use by another writer (transact or journal maintenance)")]
    Busy(PathBuf),
    /// A stored value is not what this program writes.
    #[error("record {record_id}: corrupt field {field}")]
    CorruptField {
        /// The record.
        record_id: i64,
        /// The column.
        field: &'static str,
    },
    /// A backup to restore failed its checks; nothing was replaced.
    #[error("restore refused: {0}")]
    RestoreRefused(String),
    /// The chain metadata does not authenticate; nothing more is written to this journal.
    #[error("journal chain is broken: {0} (run `journal verify`)")]
    ChainBroken(String),
    /// The journal file is not the one the key file's head record knows for this path
    /// (replaced by an empty, truncated, foreign or older file).
    #[error("journal identity: {0}")]
    Identity(String),
    /// The record is not an approval committed and waiting to be confirmed as shown.
    #[error("record {0} is not an approval waiting for reconciliation (it is shown, reconciled, or not an approval)")]
    NotUnshown(i64),
    /// A caller-supplied value is out of range.
    #[error("invalid input: {0}")]
    InvalidInput(&'static str),
}

/// Default journal file: `$XDG_DATA_HOME/emv-terminal/journal.db`, else
/// `~/.local/share/emv-terminal/journal.db`, else `./emv-journal.db`.
pub fn default_journal_path() -> PathBuf {
    if let Some(dir) = std::env::var_os("XDG_DATA_HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir).join("emv-terminal/journal.db");
    }
    if let Some(home) = std::env::var_os("HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(home).join(".local/share/emv-terminal/journal.db");
    }
    PathBuf::from("emv-journal.db")
}

/// Default key file when neither `--journal-key` nor `EMV_JOURNAL_KEY_FILE` is given:
/// `$XDG_CONFIG_HOME/emv-terminal/journal.key`, else `~/.config/emv-terminal/journal.key`,
/// else the journal path with extension `.key`.
pub fn default_key_path(journal: &std::path::Path) -> PathBuf {
    if let Some(dir) = std::env::var_os("XDG_CONFIG_HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir).join("emv-terminal/journal.key");
    }
    if let Some(home) = std::env::var_os("HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(home).join(".config/emv-terminal/journal.key");
    }
    journal.with_extension("key")
}

/// Resolves the key file: the explicit option, else `EMV_JOURNAL_KEY_FILE`, else the default.
pub fn resolve_key_path(explicit: Option<&std::path::Path>, journal: &std::path::Path) -> PathBuf {
    if let Some(path) = explicit {
        return path.to_path_buf();
    }
    if let Some(env) = std::env::var_os(KEY_FILE_ENV).filter(|v| !v.is_empty()) {
        return PathBuf::from(env);
    }
    default_key_path(journal)
}
