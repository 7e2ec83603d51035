//! The offline journal: durable store-and-forward of transactions in one SQLite file.
//!
//! The kernel stays free of storage; the `transact` command drives the journal around the
//! kernel's GENERATE AC as follows:
//!
//! ```text
//! let mut journal = Journal::open(&path, &KeySource::create_if_missing(key_path))?;
//! for record in journal.recovered() { /* report: left pending by a crash, now incomplete */ }
//! if let Some(reason) = journal.offline_limits_reached(&limits, now, amount)? {
//!     // set "merchant forced transaction online" (TVR byte 4 bit 4) in the kernel inputs
//! }
//! let id = journal.begin_pending(&pending, now)?;      // durable before the first GENERATE AC
//! /* ... GENERATE AC, online authorisation, second GENERATE AC ... */
//! journal.complete(id, &completion, now)?;              // durable before approval is shown
//! ```
//!
//! Every write is one SQLite transaction in WAL mode with `synchronous=FULL`, so a record
//! that `complete` returned for survives a crash or power loss. Sensitive fields (PAN,
//! track 2 equivalent data, expiry date) are sealed with AES-256-GCM ([`crypto`]); every
//! finished record carries an HMAC chained over the previous one ([`Journal::verify`]).

pub mod backup;
pub mod crypto;
pub mod export;
pub mod limits;
mod record;
mod schema;
mod store;

use std::path::PathBuf;

pub use limits::{LimitReason, OfflineLimits};
pub use record::{
    mask_pan, Completion, Mode, Outcome, PendingTransaction, Record, RecordId, Sensitive, State,
    SyncState,
};
pub use schema::SCHEMA_VERSION;
pub use store::{
    BrokenLink, ChainReport, Journal, JournalStatus, KeySource, OpenOptions, PruneReport,
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
