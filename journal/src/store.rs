//! The journal store: opening, writing pending and completed records, the HMAC chain,
//! queries for limits, sync and the `journal` commands.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rusqlite::{params, Connection, OptionalExtension, Row, Transaction, TransactionBehavior};

use super::crypto::{create_private_dir, KeyRing, Sealed, MAC_LEN};
use super::identity;
use super::limits::{self, LimitReason, OfflineExposure, OfflineLimits};
use super::record::{
    mask_pan, Completion, Mode, PendingTransaction, Record, RecordId, Sensitive, ShownBy, State,
    SyncState,
};
use super::schema;
use super::JournalError;

/// Where the journal key comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeySource {
    /// The key file.
    pub path: PathBuf,
    /// Create the key file (mode 0600) when it is missing and the journal holds no data yet.
    pub create_if_missing: bool,
}

impl KeySource {
    /// Use an existing key file; a missing one is an error.
    pub fn existing(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            create_if_missing: false,
        }
    }

    /// Use the key file, creating it on first use of a new journal.
    pub fn create_if_missing(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            create_if_missing: true,
        }
    }
}

/// How to open a journal.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OpenOptions {
    /// Open as a reader: no writer lock, pending records of a running writer left alone.
    /// Sync, status, list, show, export and verify open as readers.
    pub shared: bool,
    /// Terminal id to store when the journal is created (default: `T` + 8 random hex digits).
    pub terminal_id: Option<String>,
    /// Skip the identity check against the key file's head record. Only for a scratch copy
    /// that is checked and thrown away (restore's check of a backup), never the live journal.
    #[doc(hidden)]
    pub scratch_copy: bool,
}

/// An open journal file and its keys.
pub struct Journal {
    conn: Connection,
    keys: KeyRing,
    path: PathBuf,
    terminal_id: String,
    canonical: PathBuf,
    journal_id: String,
    scratch_copy: bool,
    recovered: Vec<Record>,
    key_created: Option<PathBuf>,
    _writer_lock: Option<Connection>,
}

impl std::fmt::Debug for Journal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Journal")
            .field("path", &self.path)
            .field("terminal_id", &self.terminal_id)
            .finish()
    }
}

/// Counts and figures for `journal status`.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct JournalStatus {
    /// Schema version of the file.
    pub schema_version: i64,
    /// Terminal id.
    pub terminal_id: String,
    /// Records in the file.
    pub records: u64,
    /// Records per state.
    pub pending: u64,
    /// Approved records.
    pub approved: u64,
    /// Declined records.
    pub declined: u64,
    /// Terminated records.
    pub terminated: u64,
    /// Incomplete records (left pending by a crash).
    pub incomplete: u64,
    /// Approved records not yet acknowledged by the acquirer.
    pub unsynced: u64,
    /// Unsynced offline exposure (what the offline limits look at).
    pub offline_exposure: OfflineExposure,
    /// Unix time of the last sync run that left nothing unsynced.
    pub last_successful_sync: Option<i64>,
    /// Key ids in the key file, the active one last.
    pub key_ids: Vec<u32>,
    /// Last chain position.
    pub chain_head: i64,
    /// Approvals committed but not confirmed as shown (see [`Journal::mark_shown`]).
    pub unshown: u64,
    /// The oldest of them, at most [`UNSHOWN_LISTED`].
    pub unshown_approvals: Vec<UnshownApproval>,
}

/// How many approvals committed but not shown `status` lists (all are counted).
pub const UNSHOWN_LISTED: usize = 100;

/// An approval committed but not confirmed as shown, as `journal status` lists it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct UnshownApproval {
    /// Record id.
    pub id: i64,
    /// Amount, Authorised (9F02), minor units.
    pub amount_authorised: u64,
    /// Amount, Other (9F03), minor units.
    pub amount_other: u64,
    /// Transaction Currency Code (5F2A), ISO 4217 numeric.
    pub currency_code: u16,
    /// The masked PAN.
    pub masked_pan: String,
    /// Unix time the approval was committed.
    pub completed_at: Option<i64>,
}

impl From<&Record> for UnshownApproval {
    fn from(record: &Record) -> Self {
        UnshownApproval {
            id: record.id.0,
            amount_authorised: record.amount_authorised,
            amount_other: record.amount_other,
            currency_code: record.currency_code,
            masked_pan: record.masked_pan.clone(),
            completed_at: record.completed_at,
        }
    }
}

/// Result of walking the HMAC chain.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ChainReport {
    /// Links checked.
    pub links_checked: u64,
    /// Chain position the walk started after (0, or the last pruned link).
    pub anchor: i64,
    /// The first broken link, if any.
    pub first_broken: Option<BrokenLink>,
}

impl ChainReport {
    /// Whether the whole chain verified.
    pub fn is_ok(&self) -> bool {
        self.first_broken.is_none()
    }
}

/// Where and why the chain broke.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct BrokenLink {
    /// Chain position of the broken link.
    pub chain_seq: i64,
    /// Record holding it (0 when the link is missing altogether).
    pub record_id: i64,
    /// What is wrong.
    pub reason: String,
}

/// What `prune` removed.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct PruneReport {
    /// Records deleted.
    pub deleted: u64,
    /// New chain anchor (last pruned link), 0 when nothing was pruned.
    pub anchor: i64,
}

const COLUMNS: &str =
    "id, idempotency_key, state, mode, created_at, completed_at, amount_authorised,
    amount_other, currency_code, transaction_type, transaction_date, transaction_time, aid,
    masked_pan, pan_sequence_number, key_id, nonce, sealed, atc, authorisation_response_code,
    cryptogram_information_data, application_cryptogram, tvr, tsi, cvm_results, icc_data,
    forced_online_reason, chain_seq, mac, sync_state, synced_at, receipt, state_mac, shown, shown_at";

const CHAIN_LABEL: &[u8] = b"emv-journal chain link v1";
const ANCHOR_LABEL: &[u8] = b"emv-journal chain anchor v1";
const HEAD_LABEL: &[u8] = b"emv-journal chain head v1";
const STATE_LABEL: &[u8] = b"emv-journal record state v1";
/// How long a writer waits for another connection's write transaction.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// Converts a time from the caller into unix seconds.
pub(crate) fn unix_seconds(time: SystemTime) -> i64 {
    match time.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_secs()).unwrap_or(i64::MAX),
    }
}

impl Journal {
    /// Opens (creating if needed) the journal for writing, as `transact` does.
    ///
    /// Runs migrations, checks the key file against the journal, takes the writer lock, and
    /// resolves records left pending by a crash: they become `incomplete` and are returned by
    /// [`Journal::recovered`], never dropped.
    pub fn open(path: &Path, key_source: &KeySource) -> Result<Self, JournalError> {
        Self::open_with(path, key_source, &OpenOptions::default())
    }

    /// Opens the journal with explicit options (see [`OpenOptions`]).
    pub fn open_with(
        path: &Path,
        key_source: &KeySource,
        options: &OpenOptions,
    ) -> Result<Self, JournalError> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            create_private_dir(parent)?;
        }
        let writer_lock = if options.shared {
            None
        } else {
            Some(acquire_writer_lock(path)?)
        };
        create_private_file(path)?;
        let mut conn = Connection::open(path)?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        let mode: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(JournalError::Durability("journal_mode is not WAL"));
        }
        conn.pragma_update(None, "synchronous", "FULL")?;
        let synchronous: i64 = conn.query_row("PRAGMA synchronous", [], |r| r.get(0))?;
        if synchronous != 2 {
            return Err(JournalError::Durability("synchronous is not FULL"));
        }
        #[cfg(feature = "test-aids")]
        if test_aids::synchronous_off() {
            conn.pragma_update(None, "synchronous", "OFF")?;
        }
        schema::migrate(&mut conn)?;
        let (keys, key_created) = load_keys(&conn, path, key_source)?;
        let canonical = std::fs::canonicalize(path).map_err(|source| JournalError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        if !options.scratch_copy {
            if let Some(known) = identity::read(&keys, &canonical)? {
                check_identity(&conn, &keys, path, &known)?;
            }
        }
        let terminal_id = ensure_terminal_id(&conn, &keys, options)?;
        let journal_id = ensure_journal_id(&conn, &keys)?;
        let mut journal = Self {
            conn,
            keys,
            path: path.to_path_buf(),
            terminal_id,
            canonical,
            journal_id,
            scratch_copy: options.scratch_copy,
            recovered: Vec::new(),
            key_created,
            _writer_lock: writer_lock,
        };
        if !options.shared {
            journal.refuse_broken_chain()?;
            journal.recovered = journal.resolve_pending(SystemTime::now())?;
            journal.note_head()?;
        }
        Ok(journal)
    }

    /// Records the journal's identity and chain head next to the key file (see
    /// [`crate::identity`]), so that a replaced or older journal file is detected.
    fn note_head(&self) -> Result<(), JournalError> {
        if self.scratch_copy {
            return Ok(());
        }
        let (seq, mac) = chain_head(&self.conn, &self.keys)?;
        identity::write(
            &self.keys,
            &self.canonical,
            &identity::KnownHead {
                journal_id: self.journal_id.clone(),
                seq,
                mac,
            },
        )
    }

    /// Walks the whole journal ([`Journal::verify`]) and turns a broken link into
    /// [`JournalError::ChainBroken`]: a writer never appends to, and sync never uploads
    /// from, a journal that does not verify.
    pub fn refuse_broken_chain(&self) -> Result<ChainReport, JournalError> {
        let report = self.verify()?;
        match &report.first_broken {
            None => Ok(report),
            Some(broken) => Err(JournalError::ChainBroken(format!(
                "record {} (chain link {}): {}",
                broken.record_id, broken.chain_seq, broken.reason
            ))),
        }
    }

    /// Checks one record before it leaves the terminal: its state MAC, its chain link
    /// against the link before it, and its sealed fields.
    pub fn verify_record(&self, record: &Record) -> Result<(), JournalError> {
        let broken =
            |reason: String| JournalError::ChainBroken(format!("record {}: {reason}", record.id));
        let from = meta_i64(&self.conn, "state_mac_from")?;
        if let Some(reason) = state_problem(&self.keys, record, from)? {
            return Err(broken(reason));
        }
        let Some(seq) = record.chain_seq else {
            return Err(broken("not linked into the chain".to_string()));
        };
        let (anchor_seq, anchor_mac) = read_anchor(&self.conn, &self.keys).map_err(broken)?;
        let prev: [u8; MAC_LEN] = if seq == anchor_seq + 1 {
            anchor_mac
        } else {
            let mac: Option<Vec<u8>> = self
                .conn
                .query_row(
                    "SELECT mac FROM records WHERE chain_seq = ?1",
                    [seq - 1],
                    |r| r.get(0),
                )
                .optional()?;
            mac.and_then(|m| m.try_into().ok())
                .ok_or_else(|| broken(format!("link {} before it is missing", seq - 1)))?
        };
        if record.mac.as_deref() != Some(link_mac(&self.keys, &prev, record)?.as_slice()) {
            return Err(broken(
                "HMAC does not match: the record was altered".to_string(),
            ));
        }
        self.sensitive(record).map(|_| ())
    }

    /// This journal's identity (random, fixed when the file is created).
    pub fn journal_id(&self) -> &str {
        &self.journal_id
    }

    /// Records that a crash had left pending, resolved as `incomplete` by this open.
    pub fn recovered(&self) -> &[Record] {
        &self.recovered
    }

    /// The key file this open created (print it for the user), if it created one.
    pub fn key_created(&self) -> Option<&Path> {
        self.key_created.as_deref()
    }

    /// The journal file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// This terminal's id, part of every idempotency key.
    pub fn terminal_id(&self) -> &str {
        &self.terminal_id
    }

    /// The keys in use.
    pub fn keys(&self) -> &KeyRing {
        &self.keys
    }

    pub(crate) fn connection(&self) -> &Connection {
        &self.conn
    }

    /// Reads a SQLite pragma as text (tests check durability settings with it).
    pub fn pragma(&self, name: &str) -> Result<String, JournalError> {
        let value: rusqlite::types::Value =
            self.conn
                .query_row(&format!("PRAGMA {name}"), [], |r| r.get(0))?;
        Ok(match value {
            rusqlite::types::Value::Integer(i) => i.to_string(),
            rusqlite::types::Value::Text(t) => t,
            other => format!("{other:?}"),
        })
    }

    /// Writes a record as pending; durable when this returns. Call before the first
    /// GENERATE AC. Returns the new record's id.
    pub fn begin_pending(
        &mut self,
        pending: &PendingTransaction,
        now: SystemTime,
    ) -> Result<RecordId, JournalError> {
        validate_pending(pending)?;
        let sensitive = Sensitive {
            pan: pending.pan.clone(),
            track2_equivalent: pending.track2_equivalent.clone(),
            expiry_date: pending.expiry_date,
        };
        let plaintext = sensitive.encode()?;
        let mut nonce = [0u8; 8];
        self.keys.random(&mut nonce)?;
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let id = next_record_id(&tx)?;
        let sealed = self.keys.seal(id, &plaintext)?;
        let pan_index = self.keys.pan_index(sealed.key_id, &pending.pan)?;
        let idempotency_key = format!("{}-{}-{}", self.terminal_id, id, hex::encode(nonce));
        tx.execute(
            "INSERT INTO records (id, idempotency_key, state, created_at, amount_authorised, amount_other,
                currency_code, transaction_type, transaction_date, transaction_time, aid, masked_pan,
                pan_sequence_number, key_id, nonce, sealed, sync_state, pan_index)
             VALUES (?1, ?2, 'pending', ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, 'unsynced', ?16)",
            params![
                id,
                idempotency_key,
                unix_seconds(now),
                to_i64(pending.amount_authorised)?,
                to_i64(pending.amount_other)?,
                pending.currency_code,
                pending.transaction_type,
                pending.transaction_date.as_slice(),
                pending.transaction_time.as_slice(),
                pending.aid,
                mask_pan(&pending.pan),
                pending.pan_sequence_number,
                sealed.key_id,
                sealed.nonce.as_slice(),
                sealed.ciphertext,
                pan_index.as_slice(),
            ],
        )?;
        let record = get_record(&tx, id)?;
        store_state_mac(&tx, &self.keys, &record)?;
        tx.execute(
            "INSERT INTO meta (name, value) VALUES ('next_record_id', ?1)
             ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            [(id + 1).to_string()],
        )?;
        tx.commit()?;
        Ok(RecordId(id))
    }

    /// Completes a pending record with the transaction's outcome and links it into the
    /// HMAC chain; durable when this returns. Call before approval is shown, and
    /// [`Journal::mark_shown`] once it was.
    pub fn complete(
        &mut self,
        id: RecordId,
        completion: &Completion,
        now: SystemTime,
    ) -> Result<(), JournalError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut record = get_record(&tx, id.0)?;
        if record.state != State::Pending {
            return Err(JournalError::InvalidState {
                id: id.0,
                state: record.state,
                expected: State::Pending,
            });
        }
        record.state = completion.outcome.state();
        record.mode = Some(completion.mode);
        record.completed_at = Some(unix_seconds(now));
        record.authorisation_response_code = completion.authorisation_response_code;
        record.cryptogram_information_data = completion.cryptogram_information_data;
        record.application_cryptogram = completion.application_cryptogram;
        record.atc = completion.atc;
        record.tvr = Some(completion.tvr);
        record.tsi = Some(completion.tsi);
        record.cvm_results = Some(completion.cvm_results);
        record.icc_data = completion.icc_data.clone();
        record.forced_online_reason = completion.forced_online_reason.clone();
        record.sync_state = if record.state == State::Approved || record.is_advice() {
            SyncState::Unsynced
        } else {
            SyncState::NotRequired
        };
        link_and_store(&tx, &self.keys, &mut record)?;
        tx.commit()?;
        // The record is durable; the head record next to the key file may lag behind it
        // (the next writer's open rewrites it), which the identity check accepts. Failing
        // here would hide a committed approval from the caller.
        let _ = self.note_head();
        Ok(())
    }

    /// Marks every pending record as incomplete (linking it into the chain) and returns them.
    fn resolve_pending(&mut self, now: SystemTime) -> Result<Vec<Record>, JournalError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let ids: Vec<i64> = {
            let mut stmt =
                tx.prepare("SELECT id FROM records WHERE state = 'pending' ORDER BY id")?;
            let rows = stmt.query_map([], |r| r.get(0))?;
            rows.collect::<Result<_, _>>()?
        };
        let mut resolved = Vec::with_capacity(ids.len());
        for id in ids {
            let mut record = get_record(&tx, id)?;
            record.state = State::Incomplete;
            record.completed_at = Some(unix_seconds(now));
            record.sync_state = SyncState::NotRequired;
            link_and_store(&tx, &self.keys, &mut record)?;
            resolved.push(record);
        }
        tx.commit()?;
        Ok(resolved)
    }

    /// The id the next record will get: increases by one per record and never goes back,
    /// even after pruning (a monotonic counter such as a Transaction Sequence Counter can
    /// be derived from it).
    pub fn next_record_id(&self) -> Result<RecordId, JournalError> {
        let stored = get_meta(&self.conn, "next_record_id")?.and_then(|v| v.parse::<i64>().ok());
        let max: Option<i64> = self
            .conn
            .query_row("SELECT MAX(id) FROM records", [], |r| r.get(0))?;
        Ok(RecordId(stored.unwrap_or(1).max(max.unwrap_or(0) + 1)))
    }

    /// Book 3, 10.6.1 (split sales): the Amount, Authorised of the most recent approved
    /// transaction (offline or online) of the card with this PAN on the same Transaction
    /// Date (9A), or 0 when there is none. The terminal adds it to the amount of the current
    /// transaction for the floor limit check.
    ///
    /// The journal keeps the day's approvals as its log of approved transactions; it finds
    /// the card by the keyed PAN index ([`crate::crypto::KeyRing::pan_index`]) under
    /// every key in the key file, so a rotation during the day does not hide earlier
    /// approvals. Records written before schema version 3 carry no index and are not found.
    pub fn recent_amount_same_card(
        &self,
        pan: &[u8],
        transaction_date: [u8; 3],
    ) -> Result<u64, JournalError> {
        let mut most_recent: Option<(i64, i64)> = None;
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, amount_authorised FROM records
             WHERE pan_index = ?1 AND transaction_date = ?2 AND state = 'approved'
             ORDER BY id DESC LIMIT 1",
        )?;
        for key_id in self.keys.key_ids() {
            let index = self.keys.pan_index(key_id, pan)?;
            let found: Option<(i64, i64)> = stmt
                .query_row(
                    params![index.as_slice(), transaction_date.as_slice()],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?;
            if let Some((id, amount)) = found {
                if most_recent.is_none_or(|(best, _)| id > best) {
                    most_recent = Some((id, amount));
                }
            }
        }
        Ok(most_recent.map_or(0, |(_, amount)| amount.max(0) as u64))
    }

    /// Reads one record.
    pub fn get(&self, id: RecordId) -> Result<Record, JournalError> {
        get_record(&self.conn, id.0)
    }

    /// Reads up to `limit` records with id greater than `after`, in id order.
    pub fn records_after(
        &self,
        after: RecordId,
        limit: usize,
    ) -> Result<Vec<Record>, JournalError> {
        let sql = format!("SELECT {COLUMNS} FROM records WHERE id > ?1 ORDER BY id LIMIT ?2");
        query_records(&self.conn, &sql, params![after.0, limit as i64])
    }

    /// Approved records, and advices (declines whose card asked for one,
    /// [`Record::is_advice`]), the acquirer has not acknowledged yet, oldest first.
    pub fn unsynced(&self, limit: usize) -> Result<Vec<Record>, JournalError> {
        self.unsynced_after(RecordId(0), limit)
    }

    /// Like [`Journal::unsynced`], starting after record `after`.
    pub fn unsynced_after(
        &self,
        after: RecordId,
        limit: usize,
    ) -> Result<Vec<Record>, JournalError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM records
             WHERE sync_state = 'unsynced' AND state IN ('approved', 'declined') AND id > ?1
             ORDER BY id LIMIT ?2"
        );
        query_records(&self.conn, &sql, params![after.0, limit as i64])
    }

    /// Number of approved records and advices not yet acknowledged.
    pub fn unsynced_count(&self) -> Result<u64, JournalError> {
        let n: i64 = self.conn.query_row(
            "SELECT COUNT(*) FROM records WHERE sync_state = 'unsynced' AND state IN ('approved', 'declined')",
            [],
            |r| r.get(0),
        )?;
        Ok(n.max(0) as u64)
    }

    /// Marks the records these receipts are for as synced, storing each receipt with its
    /// record (under the record's state MAC) as proof for disputes; returns how many
    /// changed. Only a [`crate::sync::VerifiedReceipt`], which only a signature that
    /// verifies makes, marks a record forwarded: nothing is marked synced without proof
    /// that the acquirer has it.
    ///
    /// Each record's state MAC is checked before the change (a record altered without the
    /// key is never marked synced) and rewritten over the new sync state.
    pub fn mark_synced(
        &mut self,
        receipts: &[crate::sync::VerifiedReceipt],
        now: SystemTime,
    ) -> Result<usize, JournalError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let state_mac_from = meta_i64(&tx, "state_mac_from")?;
        let mut changed = 0;
        for proof in receipts {
            let key = proof.idempotency_key();
            let sql = format!(
                "SELECT {COLUMNS} FROM records
                 WHERE idempotency_key = ?1 AND sync_state = 'unsynced' AND state IN ('approved', 'declined')"
            );
            let Some(mut record) = query_records(&tx, &sql, params![key])?.pop() else {
                continue;
            };
            if let Some(reason) = state_problem(&self.keys, &record, state_mac_from)? {
                return Err(JournalError::ChainBroken(format!(
                    "record {}: {reason}",
                    record.id
                )));
            }
            record.sync_state = SyncState::Synced;
            record.synced_at = Some(unix_seconds(now));
            record.receipt = Some(proof.receipt().to_owned());
            tx.execute(
                "UPDATE records SET sync_state = 'synced', synced_at = ?2, receipt = ?3 WHERE id = ?1",
                params![record.id.0, record.synced_at, record.receipt],
            )?;
            store_state_mac(&tx, &self.keys, &record)?;
            changed += 1;
        }
        tx.commit()?;
        Ok(changed)
    }

    /// Notes that a sync run left nothing unsynced.
    pub fn note_successful_sync(&mut self, now: SystemTime) -> Result<(), JournalError> {
        set_meta(
            &self.conn,
            "last_successful_sync",
            &unix_seconds(now).to_string(),
        )
    }

    /// Confirms that an approval's outcome was shown to the merchant: call after the
    /// display (or the output the merchant reads) took it, never before. An approval left
    /// without this mark is reported by [`Journal::unshown_approvals`] and `journal status`
    /// until it is reconciled. A state transition under the record's state MAC, checked
    /// first; marking an approval already marked changes nothing.
    pub fn mark_shown(&mut self, id: RecordId, now: SystemTime) -> Result<(), JournalError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut record = get_record(&tx, id.0)?;
        if record.state != State::Approved {
            return Err(JournalError::InvalidState {
                id: id.0,
                state: record.state,
                expected: State::Approved,
            });
        }
        if record.shown.is_some() {
            return Ok(());
        }
        set_shown(&tx, &self.keys, &mut record, ShownBy::Merchant, now)?;
        tx.commit()?;
        Ok(())
    }

    /// Approvals committed but not confirmed as shown (the transaction's process died, or
    /// its output failed, between the commit and the display), oldest first, at most
    /// `limit`. They are real money and are still forwarded by sync; the merchant should
    /// check them with the customer before retrying a sale, then [`Journal::reconcile`].
    pub fn unshown_approvals(&self, limit: usize) -> Result<Vec<Record>, JournalError> {
        let from = meta_i64(&self.conn, "shown_from")?.unwrap_or(i64::MAX);
        let sql = format!(
            "SELECT {COLUMNS} FROM records
             WHERE state = 'approved' AND shown IS NULL AND id >= ?1 ORDER BY id LIMIT ?2"
        );
        query_records(&self.conn, &sql, params![from, limit as i64])
    }

    /// How many approvals are committed but not confirmed as shown.
    pub fn unshown_count(&self) -> Result<u64, JournalError> {
        let from = meta_i64(&self.conn, "shown_from")?.unwrap_or(i64::MAX);
        let n: i64 = self.conn.query_row(
            "SELECT COUNT(*) FROM records WHERE state = 'approved' AND shown IS NULL AND id >= ?1",
            [from],
            |r| r.get(0),
        )?;
        Ok(n.max(0) as u64)
    }

    /// Acknowledges approvals that were never shown, after reconciliation with the merchant
    /// or customer: each is marked shown by reconciliation (under its state MAC), in one
    /// transaction. Every id must be one of [`Journal::unshown_approvals`]
    /// ([`JournalError::NotUnshown`] otherwise, and nothing is marked). Returns the ids.
    pub fn reconcile(
        &mut self,
        ids: &[RecordId],
        now: SystemTime,
    ) -> Result<Vec<RecordId>, JournalError> {
        let from = meta_i64(&self.conn, "shown_from")?.unwrap_or(i64::MAX);
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        for id in ids {
            let mut record = match get_record(&tx, id.0) {
                Err(JournalError::UnknownRecord(_)) => return Err(JournalError::NotUnshown(id.0)),
                other => other?,
            };
            if record.state != State::Approved || record.shown.is_some() || id.0 < from {
                return Err(JournalError::NotUnshown(id.0));
            }
            set_shown(&tx, &self.keys, &mut record, ShownBy::Reconciliation, now)?;
        }
        tx.commit()?;
        Ok(ids.to_vec())
    }

    /// [`Journal::reconcile`] for every approval committed but not shown.
    pub fn reconcile_all(&mut self, now: SystemTime) -> Result<Vec<RecordId>, JournalError> {
        let ids: Vec<RecordId> = self
            .unshown_approvals(usize::MAX >> 1)?
            .iter()
            .map(|r| r.id)
            .collect();
        self.reconcile(&ids, now)
    }

    /// Opens a record's sealed fields.
    pub fn sensitive(&self, record: &Record) -> Result<Sensitive, JournalError> {
        let sealed = Sealed {
            key_id: record.key_id,
            nonce: record.nonce,
            ciphertext: record.sealed.clone(),
        };
        let plain = self.keys.open(record.id.0, &sealed)?;
        Sensitive::decode(record.id.0, &plain)
    }

    /// The unsynced offline exposure the offline limits are checked against.
    pub fn offline_exposure(&self) -> Result<OfflineExposure, JournalError> {
        let (count, total, oldest): (i64, i64, Option<i64>) = self.conn.query_row(
            "SELECT COUNT(*), COALESCE(SUM(amount_authorised), 0), MIN(created_at) FROM records
             WHERE sync_state = 'unsynced' AND state = 'approved' AND mode = 'offline'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )?;
        Ok(OfflineExposure {
            count: count.max(0) as u64,
            total_amount: total.max(0) as u64,
            oldest_created_at: oldest,
        })
    }

    /// Whether one more offline approval of `amount` at `now` would break an offline cap.
    ///
    /// When it returns a reason, `transact` sets "merchant forced transaction online" and
    /// goes online if it can, or declines offline if it cannot, and reports the reason.
    pub fn offline_limits_reached(
        &self,
        limits: &OfflineLimits,
        now: SystemTime,
        amount: u64,
    ) -> Result<Option<LimitReason>, JournalError> {
        if !limits.any() {
            return Ok(None);
        }
        let exposure = self.offline_exposure()?;
        Ok(limits::check(limits, &exposure, unix_seconds(now), amount))
    }

    /// Figures for `journal status`.
    pub fn status(&self) -> Result<JournalStatus, JournalError> {
        let mut status = JournalStatus {
            schema_version: schema::version(&self.conn)?,
            terminal_id: self.terminal_id.clone(),
            key_ids: self.keys.key_ids(),
            ..Default::default()
        };
        let mut stmt = self
            .conn
            .prepare("SELECT state, COUNT(*) FROM records GROUP BY state")?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
        for row in rows {
            let (state, n) = row?;
            let n = n.max(0) as u64;
            status.records += n;
            match State::parse(&state) {
                Some(State::Pending) => status.pending = n,
                Some(State::Approved) => status.approved = n,
                Some(State::Declined) => status.declined = n,
                Some(State::Terminated) => status.terminated = n,
                Some(State::Incomplete) => status.incomplete = n,
                None => {}
            }
        }
        status.unsynced = self.unsynced_count()?;
        status.offline_exposure = self.offline_exposure()?;
        status.last_successful_sync =
            get_meta(&self.conn, "last_successful_sync")?.and_then(|v| v.parse().ok());
        status.chain_head = chain_head(&self.conn, &self.keys)?.0;
        status.unshown = self.unshown_count()?;
        status.unshown_approvals = self
            .unshown_approvals(UNSHOWN_LISTED)?
            .iter()
            .map(UnshownApproval::from)
            .collect();
        Ok(status)
    }

    /// Walks the HMAC chain from the anchor and reports the first broken link. Also opens
    /// every record's sealed fields (the GCM tag authenticates them), checks that every
    /// finished record is linked, that the chain ends at the recorded head, and that every
    /// record's state MAC (all fields, sync state, receipt) matches. Reads one snapshot, so
    /// a writer committing meanwhile is not mistaken for damage.
    pub fn verify(&self) -> Result<ChainReport, JournalError> {
        let snapshot = self.conn.unchecked_transaction()?;
        let mut report = self.verify_chain()?;
        if report.is_ok() {
            report.first_broken = self.verify_states()?;
        }
        drop(snapshot);
        Ok(report)
    }

    /// The first record whose state MAC does not verify, in id order.
    fn verify_states(&self) -> Result<Option<BrokenLink>, JournalError> {
        let from = meta_i64(&self.conn, "state_mac_from")?;
        let sql = format!("SELECT {COLUMNS} FROM records ORDER BY id");
        let mut stmt = self.conn.prepare(&sql)?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            let record = match record_from_row(row) {
                Ok(record) => record,
                Err(e) => {
                    return Ok(Some(BrokenLink {
                        chain_seq: 0,
                        record_id: row.get(0)?,
                        reason: e.to_string(),
                    }))
                }
            };
            if let Some(reason) = state_problem(&self.keys, &record, from)? {
                return Ok(Some(BrokenLink {
                    chain_seq: record.chain_seq.unwrap_or(0),
                    record_id: record.id.0,
                    reason,
                }));
            }
        }
        Ok(None)
    }

    fn verify_chain(&self) -> Result<ChainReport, JournalError> {
        let (anchor_seq, anchor_mac) = match read_anchor(&self.conn, &self.keys) {
            Ok(anchor) => anchor,
            Err(reason) => {
                return Ok(ChainReport {
                    first_broken: Some(BrokenLink {
                        chain_seq: 0,
                        record_id: 0,
                        reason,
                    }),
                    ..Default::default()
                })
            }
        };
        let mut report = ChainReport {
            anchor: anchor_seq,
            ..Default::default()
        };
        let mut expected = anchor_seq + 1;
        let mut prev = anchor_mac;
        let sql =
            format!("SELECT {COLUMNS} FROM records WHERE chain_seq IS NOT NULL ORDER BY chain_seq");
        let mut stmt = self.conn.prepare(&sql)?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            let record = match record_from_row(row) {
                Ok(r) => r,
                Err(e) => {
                    report.first_broken = Some(BrokenLink {
                        chain_seq: expected,
                        record_id: row.get(0)?,
                        reason: e.to_string(),
                    });
                    return Ok(report);
                }
            };
            let seq = record.chain_seq.unwrap_or(0);
            let broken = |reason: String| BrokenLink {
                chain_seq: seq,
                record_id: record.id.0,
                reason,
            };
            if seq != expected {
                report.first_broken = Some(BrokenLink {
                    chain_seq: expected,
                    record_id: 0,
                    reason: format!("link {expected} is missing (next link found is {seq}): records were deleted"),
                });
                return Ok(report);
            }
            let computed = match link_mac(&self.keys, &prev, &record) {
                Ok(mac) => mac,
                Err(e) => {
                    report.first_broken = Some(broken(e.to_string()));
                    return Ok(report);
                }
            };
            if record.mac.as_deref() != Some(computed.as_slice()) {
                report.first_broken = Some(broken(
                    "HMAC does not match: the record, or one before it, was altered".to_string(),
                ));
                return Ok(report);
            }
            let sensitive = match self.sensitive(&record) {
                Ok(sensitive) => sensitive,
                Err(e) => {
                    report.first_broken = Some(broken(e.to_string()));
                    return Ok(report);
                }
            };
            if let Some(reason) = self.pan_index_problem(&record, &sensitive)? {
                report.first_broken = Some(broken(reason));
                return Ok(report);
            }
            prev = computed;
            expected += 1;
            report.links_checked += 1;
        }
        match read_head(&self.conn, &self.keys) {
            Ok(Some((head_seq, head_mac)))
                if head_seq != expected - 1 || (head_seq > anchor_seq && head_mac != prev) =>
            {
                report.first_broken = Some(BrokenLink {
                    chain_seq: expected,
                    record_id: 0,
                    reason: format!(
                        "chain ends at link {} but the recorded head is link {head_seq}: records were deleted",
                        expected - 1
                    ),
                });
                return Ok(report);
            }
            Ok(None) if report.links_checked > 0 => {
                report.first_broken = Some(BrokenLink {
                    chain_seq: expected,
                    record_id: 0,
                    reason: "the chain head record is missing from the journal metadata"
                        .to_string(),
                });
                return Ok(report);
            }
            Ok(_) => {}
            Err(reason) => {
                report.first_broken = Some(BrokenLink {
                    chain_seq: expected,
                    record_id: 0,
                    reason,
                });
                return Ok(report);
            }
        }
        let unlinked: Option<i64> = self
            .conn
            .query_row(
                "SELECT id FROM records WHERE state != 'pending' AND chain_seq IS NULL ORDER BY id LIMIT 1",
                [],
                |r| r.get(0),
            )
            .optional()?;
        if let Some(record_id) = unlinked {
            report.first_broken = Some(BrokenLink {
                chain_seq: 0,
                record_id,
                reason: "finished record is not linked into the chain".to_string(),
            });
        }
        Ok(report)
    }

    /// Why the record's PAN index does not belong to its sealed PAN, if it does not. The
    /// index is outside the chain MAC (records written before schema version 3 lack it), so
    /// `verify` recomputes it from the opened PAN; records from `pan_index_from` on must
    /// carry one.
    fn pan_index_problem(
        &self,
        record: &Record,
        sensitive: &Sensitive,
    ) -> Result<Option<String>, JournalError> {
        let stored: Option<Vec<u8>> = self.conn.query_row(
            "SELECT pan_index FROM records WHERE id = ?1",
            [record.id.0],
            |r| r.get(0),
        )?;
        let from = get_meta(&self.conn, "pan_index_from")?
            .and_then(|v| v.parse::<i64>().ok())
            .unwrap_or(i64::MAX);
        Ok(match stored {
            None if record.id.0 >= from => Some("PAN index is missing".to_string()),
            None => None,
            Some(index) => {
                let expected = self.keys.pan_index(record.key_id, &sensitive.pan)?;
                (index != expected).then(|| {
                    "PAN index does not match the sealed PAN (altered split-sales lookup)"
                        .to_string()
                })
            }
        })
    }

    /// Deletes the longest run of oldest chain links whose records need no sync (synced
    /// before `cutoff`, or declined/terminated/incomplete and finished before `cutoff`), and
    /// moves the chain anchor past them. Unsynced and pending records are never deleted.
    ///
    /// Refuses (nothing deleted) unless the whole journal verifies, so a record whose
    /// synced state was forged is never deleted as forwarded.
    pub fn prune_before(&mut self, cutoff: SystemTime) -> Result<PruneReport, JournalError> {
        self.refuse_broken_chain()?;
        let cutoff = unix_seconds(cutoff);
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let (anchor_seq, _) = read_anchor(&tx, &self.keys).map_err(JournalError::ChainBroken)?;
        let first_keep: Option<i64> = tx.query_row(
            "SELECT MIN(chain_seq) FROM records WHERE chain_seq IS NOT NULL AND NOT (
                    (sync_state = 'synced' AND synced_at < ?1)
                    OR (sync_state = 'not-required' AND completed_at < ?1))",
            [cutoff],
            |r| r.get(0),
        )?;
        let last_prunable: Option<(i64, Vec<u8>, u32)> = tx
            .query_row(
                "SELECT chain_seq, mac, key_id FROM records WHERE chain_seq IS NOT NULL AND chain_seq < ?1
                 ORDER BY chain_seq DESC LIMIT 1",
                [first_keep.unwrap_or(i64::MAX)],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        let Some((seq, mac, _)) = last_prunable else {
            return Ok(PruneReport {
                deleted: 0,
                anchor: anchor_seq,
            });
        };
        let mac: [u8; MAC_LEN] = mac.try_into().map_err(|_| JournalError::CorruptField {
            record_id: 0,
            field: "mac",
        })?;
        let deleted = tx.execute(
            "DELETE FROM records WHERE chain_seq IS NOT NULL AND chain_seq <= ?1",
            [seq],
        )?;
        write_signed_position(&tx, &self.keys, "chain_anchor", ANCHOR_LABEL, seq, &mac)?;
        tx.commit()?;
        self.note_head()?;
        Ok(PruneReport {
            deleted: deleted as u64,
            anchor: seq,
        })
    }

    /// Adds a new key to the key file; new records are sealed with it, old ones stay readable.
    pub fn rotate_key(&mut self) -> Result<u32, JournalError> {
        let id = self.keys.rotate()?;
        register_keys(&self.conn, &self.keys)?;
        Ok(id)
    }
}

/// Testing aid of the power-loss test (`terminal/tests/journal_powerloss.rs`), compiled only
/// with the cargo feature `test-aids` (never in a shipped build): with
/// `EMV_JOURNAL_TEST_SYNCHRONOUS_OFF=1` the journal runs with `PRAGMA synchronous=OFF`, so
/// no commit is made durable, and the test shows that it detects the approvals lost.
#[cfg(feature = "test-aids")]
mod test_aids {
    /// The variable that turns the journal's fsyncs off.
    pub(super) const SYNCHRONOUS_OFF_ENV: &str = "EMV_JOURNAL_TEST_SYNCHRONOUS_OFF";

    pub(super) fn synchronous_off() -> bool {
        std::env::var_os(SYNCHRONOUS_OFF_ENV).is_some_and(|v| v == "1")
    }
}

/// Creates an empty journal file with mode 0600 when none exists, so that SQLite (which
/// gives its -wal and -shm files the main file's mode) never leaves card data readable by others.
pub(crate) fn create_private_file(path: &Path) -> Result<(), JournalError> {
    match crate::private::private_file(std::fs::OpenOptions::new().write(true).create_new(true))
        .open(path)
    {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(source) => Err(JournalError::Io {
            path: path.to_path_buf(),
            source,
        }),
    }
}

pub(crate) fn acquire_writer_lock(path: &Path) -> Result<Connection, JournalError> {
    let mut lock_path = path.as_os_str().to_owned();
    lock_path.push("-writer.lock");
    let lock_path = PathBuf::from(lock_path);
    let lock = Connection::open(&lock_path)?;
    lock.busy_timeout(Duration::from_millis(0))?;
    // In exclusive locking mode SQLite keeps the write lock until the connection closes;
    // the operating system drops it when the process dies, so a crash never leaves it held.
    lock.pragma_update(None, "locking_mode", "EXCLUSIVE")?;
    let held = lock.execute_batch(
        "CREATE TABLE IF NOT EXISTS writer (id INTEGER PRIMARY KEY, pid INTEGER);
         INSERT OR REPLACE INTO writer (id, pid) VALUES (1, 0);",
    );
    match held {
        Ok(()) => {
            lock.execute(
                "UPDATE writer SET pid = ?1 WHERE id = 1",
                [std::process::id()],
            )?;
            Ok(lock)
        }
        Err(rusqlite::Error::SqliteFailure(e, _))
            if matches!(
                e.code,
                rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
            ) =>
        {
            Err(JournalError::Busy(path.to_path_buf()))
        }
        Err(e) => Err(e.into()),
    }
}

fn load_keys(
    conn: &Connection,
    path: &Path,
    key_source: &KeySource,
) -> Result<(KeyRing, Option<PathBuf>), JournalError> {
    let used: i64 = conn.query_row(
        "SELECT (SELECT COUNT(*) FROM key_checks) + (SELECT COUNT(*) FROM records)",
        [],
        |r| r.get(0),
    )?;
    let (keys, created) = match KeyRing::load(&key_source.path) {
        Ok(keys) => (keys, None),
        Err(JournalError::KeyFileMissing { .. }) if used > 0 => {
            return Err(JournalError::KeyRequired {
                journal: path.to_path_buf(),
                key: key_source.path.clone(),
            })
        }
        Err(JournalError::KeyFileMissing { .. }) if key_source.create_if_missing => (
            KeyRing::create(&key_source.path)?,
            Some(key_source.path.clone()),
        ),
        Err(e) => return Err(e),
    };
    let checks: Vec<(u32, Vec<u8>)> = {
        let mut stmt =
            conn.prepare("SELECT key_id, check_value FROM key_checks ORDER BY key_id")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        rows.collect::<Result<_, _>>()?
    };
    for (key_id, stored) in checks {
        if keys.check_value(key_id)?.as_slice() != stored.as_slice() {
            return Err(JournalError::WrongKey { key_id });
        }
    }
    register_keys(conn, &keys)?;
    Ok((keys, created))
}

fn register_keys(conn: &Connection, keys: &KeyRing) -> Result<(), JournalError> {
    for key_id in keys.key_ids() {
        conn.execute(
            "INSERT OR IGNORE INTO key_checks (key_id, check_value) VALUES (?1, ?2)",
            params![key_id, keys.check_value(key_id)?.as_slice()],
        )?;
    }
    Ok(())
}

fn ensure_terminal_id(
    conn: &Connection,
    keys: &KeyRing,
    options: &OpenOptions,
) -> Result<String, JournalError> {
    if let Some(id) = get_meta(conn, "terminal_id")? {
        return Ok(id);
    }
    let id = match &options.terminal_id {
        Some(id) if !id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric()) => id.clone(),
        Some(_) => {
            return Err(JournalError::InvalidInput(
                "terminal id must be ASCII letters and digits",
            ))
        }
        None => {
            let mut random = [0u8; 4];
            keys.random(&mut random)?;
            format!("T{}", hex::encode_upper(random))
        }
    };
    conn.execute(
        "INSERT OR IGNORE INTO meta (name, value) VALUES ('terminal_id', ?1)",
        [&id],
    )?;
    Ok(get_meta(conn, "terminal_id")?.unwrap_or(id))
}

pub(crate) fn get_meta(conn: &Connection, name: &str) -> Result<Option<String>, JournalError> {
    Ok(conn
        .query_row("SELECT value FROM meta WHERE name = ?1", [name], |r| {
            r.get(0)
        })
        .optional()?)
}

fn set_meta(conn: &Connection, name: &str, value: &str) -> Result<(), JournalError> {
    conn.execute(
        "INSERT INTO meta (name, value) VALUES (?1, ?2) ON CONFLICT (name) DO UPDATE SET value = excluded.value",
        [name, value],
    )?;
    Ok(())
}

fn next_record_id(tx: &Transaction<'_>) -> Result<i64, JournalError> {
    let stored = get_meta(tx, "next_record_id")?.and_then(|v| v.parse::<i64>().ok());
    let max: Option<i64> = tx.query_row("SELECT MAX(id) FROM records", [], |r| r.get(0))?;
    Ok(stored.unwrap_or(1).max(max.unwrap_or(0) + 1))
}

fn to_i64(value: u64) -> Result<i64, JournalError> {
    i64::try_from(value).map_err(|_| JournalError::InvalidInput("amount too large"))
}

fn validate_pending(pending: &PendingTransaction) -> Result<(), JournalError> {
    if !(5..=16).contains(&pending.aid.len()) {
        return Err(JournalError::InvalidInput("AID must be 5 to 16 bytes"));
    }
    if pending.pan.is_empty() || pending.pan.len() > 10 {
        return Err(JournalError::InvalidInput("PAN must be 1 to 10 bytes"));
    }
    if pending
        .track2_equivalent
        .as_ref()
        .is_some_and(|t| t.len() > 19)
    {
        return Err(JournalError::InvalidInput(
            "track 2 equivalent data must be at most 19 bytes",
        ));
    }
    to_i64(pending.amount_authorised)?;
    to_i64(pending.amount_other)?;
    Ok(())
}

fn get_record(conn: &Connection, id: i64) -> Result<Record, JournalError> {
    let sql = format!("SELECT {COLUMNS} FROM records WHERE id = ?1");
    let mut records = query_records(conn, &sql, params![id])?;
    records.pop().ok_or(JournalError::UnknownRecord(id))
}

fn query_records(
    conn: &Connection,
    sql: &str,
    args: impl rusqlite::Params,
) -> Result<Vec<Record>, JournalError> {
    let mut stmt = conn.prepare_cached(sql)?;
    let mut rows = stmt.query(args)?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        out.push(record_from_row(row)?);
    }
    Ok(out)
}

fn fixed<const N: usize>(
    record_id: i64,
    field: &'static str,
    value: Option<Vec<u8>>,
) -> Result<Option<[u8; N]>, JournalError> {
    value
        .map(|v| {
            v.try_into()
                .map_err(|_| JournalError::CorruptField { record_id, field })
        })
        .transpose()
}

fn required<const N: usize>(
    record_id: i64,
    field: &'static str,
    value: Vec<u8>,
) -> Result<[u8; N], JournalError> {
    value
        .try_into()
        .map_err(|_| JournalError::CorruptField { record_id, field })
}

fn record_from_row(row: &Row<'_>) -> Result<Record, JournalError> {
    let id: i64 = row.get(0)?;
    let corrupt = |field| JournalError::CorruptField {
        record_id: id,
        field,
    };
    let state: String = row.get(2)?;
    let mode: Option<String> = row.get(3)?;
    let sync_state: String = row.get(29)?;
    let amount_authorised: i64 = row.get(6)?;
    let amount_other: i64 = row.get(7)?;
    Ok(Record {
        id: RecordId(id),
        idempotency_key: row.get(1)?,
        state: State::parse(&state).ok_or(corrupt("state"))?,
        mode: match mode {
            Some(m) => Some(Mode::parse(&m).ok_or(corrupt("mode"))?),
            None => None,
        },
        created_at: row.get(4)?,
        completed_at: row.get(5)?,
        amount_authorised: u64::try_from(amount_authorised)
            .map_err(|_| corrupt("amount_authorised"))?,
        amount_other: u64::try_from(amount_other).map_err(|_| corrupt("amount_other"))?,
        currency_code: row.get(8)?,
        transaction_type: row.get(9)?,
        transaction_date: required(id, "transaction_date", row.get(10)?)?,
        transaction_time: required(id, "transaction_time", row.get(11)?)?,
        aid: row.get(12)?,
        masked_pan: row.get(13)?,
        pan_sequence_number: row.get(14)?,
        key_id: row.get(15)?,
        nonce: required(id, "nonce", row.get(16)?)?,
        sealed: row.get(17)?,
        atc: row.get(18)?,
        authorisation_response_code: fixed(id, "authorisation_response_code", row.get(19)?)?,
        cryptogram_information_data: row.get(20)?,
        application_cryptogram: fixed(id, "application_cryptogram", row.get(21)?)?,
        tvr: fixed(id, "tvr", row.get(22)?)?,
        tsi: fixed(id, "tsi", row.get(23)?)?,
        cvm_results: fixed(id, "cvm_results", row.get(24)?)?,
        icc_data: row.get(25)?,
        forced_online_reason: row.get(26)?,
        chain_seq: row.get(27)?,
        mac: row.get(28)?,
        sync_state: SyncState::parse(&sync_state).ok_or(corrupt("sync_state"))?,
        synced_at: row.get(30)?,
        receipt: row.get(31)?,
        state_mac: row.get(32)?,
        shown: match row.get::<_, Option<String>>(33)? {
            Some(by) => Some(ShownBy::parse(&by).ok_or(corrupt("shown"))?),
            None => None,
        },
        shown_at: row.get(34)?,
    })
}

/// The bytes of a finished record that its chain link authenticates, each field
/// length-prefixed so no two records share an encoding. Sync bookkeeping is not covered.
fn canonical_bytes(record: &Record) -> Vec<u8> {
    fn put(out: &mut Vec<u8>, field: &[u8]) {
        out.extend_from_slice(&(field.len() as u32).to_be_bytes());
        out.extend_from_slice(field);
    }
    fn opt_int(value: Option<i64>) -> Vec<u8> {
        value.map_or_else(Vec::new, |v| v.to_be_bytes().to_vec())
    }
    let mut out = Vec::with_capacity(256 + record.icc_data.len() + record.sealed.len());
    put(&mut out, &record.id.0.to_be_bytes());
    put(&mut out, record.idempotency_key.as_bytes());
    put(&mut out, record.state.as_str().as_bytes());
    put(&mut out, record.mode.map_or("", Mode::as_str).as_bytes());
    put(&mut out, &record.created_at.to_be_bytes());
    put(&mut out, &opt_int(record.completed_at));
    put(&mut out, &record.amount_authorised.to_be_bytes());
    put(&mut out, &record.amount_other.to_be_bytes());
    put(&mut out, &record.currency_code.to_be_bytes());
    put(&mut out, &[record.transaction_type]);
    put(&mut out, &record.transaction_date);
    put(&mut out, &record.transaction_time);
    put(&mut out, &record.aid);
    put(&mut out, record.masked_pan.as_bytes());
    put(
        &mut out,
        &opt_int(record.pan_sequence_number.map(i64::from)),
    );
    put(&mut out, &record.key_id.to_be_bytes());
    put(&mut out, &record.nonce);
    put(&mut out, &record.sealed);
    put(&mut out, &opt_int(record.atc.map(i64::from)));
    put(
        &mut out,
        record
            .authorisation_response_code
            .as_ref()
            .map_or(&[][..], |v| &v[..]),
    );
    put(
        &mut out,
        &opt_int(record.cryptogram_information_data.map(i64::from)),
    );
    put(
        &mut out,
        record
            .application_cryptogram
            .as_ref()
            .map_or(&[][..], |v| &v[..]),
    );
    put(&mut out, record.tvr.as_ref().map_or(&[][..], |v| &v[..]));
    put(&mut out, record.tsi.as_ref().map_or(&[][..], |v| &v[..]));
    put(
        &mut out,
        record.cvm_results.as_ref().map_or(&[][..], |v| &v[..]),
    );
    put(&mut out, &record.icc_data);
    put(
        &mut out,
        record
            .forced_online_reason
            .as_deref()
            .unwrap_or("")
            .as_bytes(),
    );
    put(&mut out, &opt_int(record.chain_seq));
    out
}

fn link_mac(
    keys: &KeyRing,
    prev: &[u8; MAC_LEN],
    record: &Record,
) -> Result<[u8; MAC_LEN], JournalError> {
    keys.mac(
        record.key_id,
        &[CHAIN_LABEL, prev, &canonical_bytes(record)],
    )
}

/// Gives a finished record the next chain position and its HMAC, and stores it.
fn link_and_store(
    tx: &Transaction<'_>,
    keys: &KeyRing,
    record: &mut Record,
) -> Result<(), JournalError> {
    let (head_seq, head_mac) = chain_head(tx, keys)?;
    record.chain_seq = Some(head_seq + 1);
    let mac = link_mac(keys, &head_mac, record)?;
    record.mac = Some(mac.to_vec());
    tx.execute(
        "UPDATE records SET state = ?2, mode = ?3, completed_at = ?4, atc = ?5,
            authorisation_response_code = ?6, cryptogram_information_data = ?7,
            application_cryptogram = ?8, tvr = ?9, tsi = ?10, cvm_results = ?11, icc_data = ?12,
            forced_online_reason = ?13, chain_seq = ?14, mac = ?15, sync_state = ?16
         WHERE id = ?1",
        params![
            record.id.0,
            record.state.as_str(),
            record.mode.map(Mode::as_str),
            record.completed_at,
            record.atc,
            record
                .authorisation_response_code
                .as_ref()
                .map(|v| v.as_slice()),
            record.cryptogram_information_data,
            record.application_cryptogram.as_ref().map(|v| v.as_slice()),
            record.tvr.as_ref().map(|v| v.as_slice()),
            record.tsi.as_ref().map(|v| v.as_slice()),
            record.cvm_results.as_ref().map(|v| v.as_slice()),
            record.icc_data,
            record.forced_online_reason,
            record.chain_seq,
            mac.as_slice(),
            record.sync_state.as_str(),
        ],
    )?;
    store_state_mac(tx, keys, record)?;
    write_signed_position(tx, keys, "chain_head", HEAD_LABEL, head_seq + 1, &mac)
}

/// Stores a chain position (head or anchor) in `meta`, authenticated under the active key.
fn write_signed_position(
    conn: &Connection,
    keys: &KeyRing,
    name: &str,
    label: &[u8],
    seq: i64,
    mac: &[u8; MAC_LEN],
) -> Result<(), JournalError> {
    let key_id = keys.active_id();
    let tag = keys.mac(key_id, &[label, &seq.to_be_bytes(), mac])?;
    let value = format!("{seq} {} {key_id} {}", hex::encode(mac), hex::encode(tag));
    set_meta(conn, name, &value)
}

/// Reads a signed chain position; `Err` holds why it does not authenticate.
fn read_signed_position(
    conn: &Connection,
    keys: &KeyRing,
    name: &str,
    label: &[u8],
) -> Result<Option<(i64, [u8; MAC_LEN])>, String> {
    let value = get_meta(conn, name).map_err(|e| e.to_string())?;
    let Some(value) = value else {
        return Ok(None);
    };
    let bad = || format!("{name} record in the journal metadata is malformed or altered");
    let mut words = value.split(' ');
    let seq: i64 = words.next().and_then(|w| w.parse().ok()).ok_or_else(bad)?;
    let mac: [u8; MAC_LEN] = words
        .next()
        .and_then(|w| hex::decode(w).ok())
        .and_then(|v| v.try_into().ok())
        .ok_or_else(bad)?;
    let key_id: u32 = words.next().and_then(|w| w.parse().ok()).ok_or_else(bad)?;
    let tag = words
        .next()
        .and_then(|w| hex::decode(w).ok())
        .ok_or_else(bad)?;
    let expected = keys
        .mac(key_id, &[label, &seq.to_be_bytes(), &mac])
        .map_err(|e| e.to_string())?;
    if expected.as_slice() != tag.as_slice() {
        return Err(bad());
    }
    Ok(Some((seq, mac)))
}

fn read_anchor(conn: &Connection, keys: &KeyRing) -> Result<(i64, [u8; MAC_LEN]), String> {
    Ok(
        read_signed_position(conn, keys, "chain_anchor", ANCHOR_LABEL)?
            .unwrap_or((0, [0u8; MAC_LEN])),
    )
}

fn read_head(conn: &Connection, keys: &KeyRing) -> Result<Option<(i64, [u8; MAC_LEN])>, String> {
    read_signed_position(conn, keys, "chain_head", HEAD_LABEL)
}

/// The last chain position and its MAC, from the signed head (the anchor when nothing was
/// ever linked after it). Using the signed head rather than the last row means a deleted
/// tail shows up as a missing link instead of being silently continued.
fn chain_head(conn: &Connection, keys: &KeyRing) -> Result<(i64, [u8; MAC_LEN]), JournalError> {
    match read_head(conn, keys) {
        Ok(Some(head)) => Ok(head),
        Ok(None) => {
            let linked: i64 = conn.query_row(
                "SELECT COUNT(*) FROM records WHERE chain_seq IS NOT NULL",
                [],
                |r| r.get(0),
            )?;
            if linked > 0 {
                return Err(JournalError::ChainBroken(
                    "the chain head record is missing from the journal metadata".to_string(),
                ));
            }
            read_anchor(conn, keys).map_err(JournalError::ChainBroken)
        }
        Err(reason) => Err(JournalError::ChainBroken(reason)),
    }
}

/// The MAC over a record's every field, its chain link, sync state, sync time and receipt,
/// and (once there is one) its shown mark and time: what makes a change of state made
/// without the key (a record flipped to `synced` or `shown` with plain SQL, say) visible
/// to `verify`. The shown fields are appended only when set, so the MACs of records
/// written before schema version 5 stay valid; removing a mark changes the bytes too.
fn state_mac(keys: &KeyRing, record: &Record) -> Result<[u8; MAC_LEN], JournalError> {
    let mut out = canonical_bytes(record);
    let synced_at = record
        .synced_at
        .map_or_else(Vec::new, |t| t.to_be_bytes().to_vec());
    let shown_at = record
        .shown_at
        .map_or_else(Vec::new, |t| t.to_be_bytes().to_vec());
    let mut fields: Vec<&[u8]> = vec![
        record.mac.as_deref().unwrap_or(&[]),
        record.sync_state.as_str().as_bytes(),
        &synced_at,
        record.receipt.as_deref().unwrap_or("").as_bytes(),
    ];
    if let Some(by) = record.shown {
        fields.extend([by.as_str().as_bytes(), &shown_at[..]]);
    }
    for field in fields {
        out.extend_from_slice(&(field.len() as u32).to_be_bytes());
        out.extend_from_slice(field);
    }
    keys.mac(record.key_id, &[STATE_LABEL, &out])
}

/// Writes a record's state MAC (after any change of the record).
fn store_state_mac(conn: &Connection, keys: &KeyRing, record: &Record) -> Result<(), JournalError> {
    let mac = state_mac(keys, record)?;
    conn.execute(
        "UPDATE records SET state_mac = ?2 WHERE id = ?1",
        params![record.id.0, mac.as_slice()],
    )?;
    Ok(())
}

/// Marks a record shown (after checking its state MAC) and rewrites its state MAC.
fn set_shown(
    tx: &Transaction<'_>,
    keys: &KeyRing,
    record: &mut Record,
    by: ShownBy,
    now: SystemTime,
) -> Result<(), JournalError> {
    let state_mac_from = meta_i64(tx, "state_mac_from")?;
    if let Some(reason) = state_problem(keys, record, state_mac_from)? {
        return Err(JournalError::ChainBroken(format!(
            "record {}: {reason}",
            record.id
        )));
    }
    record.shown = Some(by);
    record.shown_at = Some(unix_seconds(now));
    tx.execute(
        "UPDATE records SET shown = ?2, shown_at = ?3 WHERE id = ?1",
        params![record.id.0, by.as_str(), record.shown_at],
    )?;
    store_state_mac(tx, keys, record)
}

/// The sync state a record has until the acquirer acknowledges it.
fn initial_sync_state(state: State) -> SyncState {
    match state {
        State::Pending | State::Approved => SyncState::Unsynced,
        State::Declined | State::Terminated | State::Incomplete => SyncState::NotRequired,
    }
}

/// Why a record's state is not authenticated, if it is not. Records from `state_mac_from`
/// on must carry a matching state MAC; older ones without one must still be in the state
/// they were completed in (their chain link covers that), never synced.
fn state_problem(
    keys: &KeyRing,
    record: &Record,
    state_mac_from: Option<i64>,
) -> Result<Option<String>, JournalError> {
    let from = state_mac_from.unwrap_or(i64::MAX);
    Ok(match &record.state_mac {
        Some(stored) => (stored.as_slice() != state_mac(keys, record)?.as_slice()).then(|| {
            format!(
                "state MAC does not match: a field or the sync state ({}) was changed without the key",
                record.sync_state.as_str()
            )
        }),
        None if record.id.0 >= from => Some("state MAC is missing".to_string()),
        None if record.sync_state != initial_sync_state(record.state)
            || record.synced_at.is_some()
            || record.receipt.is_some()
            || record.shown.is_some() =>
        {
            Some(format!(
                "sync state {} of a record written before schema version 4 is not authenticated",
                record.sync_state.as_str()
            ))
        }
        None => None,
    })
}

fn meta_i64(conn: &Connection, name: &str) -> Result<Option<i64>, JournalError> {
    Ok(get_meta(conn, name)?.and_then(|v| v.parse().ok()))
}

fn ensure_journal_id(conn: &Connection, keys: &KeyRing) -> Result<String, JournalError> {
    if let Some(id) = get_meta(conn, "journal_id")? {
        return Ok(id);
    }
    let mut random = [0u8; 16];
    keys.random(&mut random)?;
    conn.execute(
        "INSERT OR IGNORE INTO meta (name, value) VALUES ('journal_id', ?1)",
        [hex::encode(random)],
    )?;
    Ok(get_meta(conn, "journal_id")?.unwrap_or_default())
}

/// Compares the journal file with what the key file's side last recorded for this path:
/// the same journal id, a chain head at or after the recorded one, and the recorded link
/// still in the chain. Anything else means the file was replaced.
fn check_identity(
    conn: &Connection,
    keys: &KeyRing,
    path: &Path,
    known: &identity::KnownHead,
) -> Result<(), JournalError> {
    let replaced = |what: String| {
        JournalError::Identity(format!(
            "{}: {what}; the key file last recorded journal {} at chain link {}. Refusing to \
             open it (and to start a new chain over the old one): put the right journal file \
             back, or `journal restore` a backup",
            path.display(),
            known.journal_id,
            known.seq
        ))
    };
    let Some(journal_id) = get_meta(conn, "journal_id")? else {
        return Err(replaced(
            "the file holds no journal (empty, truncated or new)".to_string(),
        ));
    };
    if journal_id != known.journal_id {
        return Err(replaced(format!(
            "the file is another journal ({journal_id})"
        )));
    }
    // A chain that does not authenticate is `verify`'s to report, not a replacement.
    let Ok((seq, mac)) = chain_head(conn, keys) else {
        return Ok(());
    };
    if seq < known.seq {
        return Err(replaced(format!(
            "its chain ends at link {seq}: an older copy of the journal"
        )));
    }
    let recorded: Option<Vec<u8>> = if seq == known.seq {
        Some(mac.to_vec())
    } else {
        match read_anchor(conn, keys) {
            Ok((anchor, anchor_mac)) if anchor == known.seq => Some(anchor_mac.to_vec()),
            Ok((anchor, _)) if anchor > known.seq => return Ok(()),
            _ => conn
                .query_row(
                    "SELECT mac FROM records WHERE chain_seq = ?1",
                    [known.seq],
                    |r| r.get(0),
                )
                .optional()?,
        }
    };
    if recorded.as_deref() != Some(known.mac.as_slice()) {
        return Err(replaced(format!(
            "its link {} is not the one recorded: a different chain",
            known.seq
        )));
    }
    Ok(())
}

/// Records the head of the journal at `path` next to the key file, after a restore put
/// it there on purpose.
pub(crate) fn note_restored_head(
    conn: &Connection,
    keys: &KeyRing,
    path: &Path,
) -> Result<(), JournalError> {
    let canonical = std::fs::canonicalize(path).map_err(|source| JournalError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let (seq, mac) = chain_head(conn, keys)?;
    let journal_id = ensure_journal_id(conn, keys)?;
    identity::write(
        keys,
        &canonical,
        &identity::KnownHead {
            journal_id,
            seq,
            mac,
        },
    )
}
