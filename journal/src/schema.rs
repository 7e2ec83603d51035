//! Journal schema and its migrations, versioned with SQLite's `user_version`.
//!
//! Each entry of [`MIGRATIONS`] moves the schema one version up and runs in the same
//! transaction as the `user_version` update, so a crash mid-migration leaves the old
//! version intact. Never edit a released migration: append a new one.

use rusqlite::{Connection, TransactionBehavior};

use super::JournalError;

/// Version 1: records, metadata and key check values.
const V1: &str = "
CREATE TABLE meta (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE key_checks (
    key_id INTEGER PRIMARY KEY,
    check_value BLOB NOT NULL
);
CREATE TABLE records (
    id INTEGER PRIMARY KEY,
    idempotency_key TEXT NOT NULL UNIQUE,
    state TEXT NOT NULL
        CHECK (state IN ('pending', 'approved', 'declined', 'terminated', 'incomplete')),
    mode TEXT CHECK (mode IS NULL OR mode IN ('offline', 'online')),
    created_at INTEGER NOT NULL,
    completed_at INTEGER,
    amount_authorised INTEGER NOT NULL,
    amount_other INTEGER NOT NULL,
    currency_code INTEGER NOT NULL,
    transaction_type INTEGER NOT NULL,
    transaction_date BLOB NOT NULL,
    transaction_time BLOB NOT NULL,
    aid BLOB NOT NULL,
    masked_pan TEXT NOT NULL,
    pan_sequence_number INTEGER,
    key_id INTEGER NOT NULL,
    nonce BLOB NOT NULL,
    sealed BLOB NOT NULL,
    atc INTEGER,
    authorisation_response_code BLOB,
    cryptogram_information_data INTEGER,
    application_cryptogram BLOB,
    tvr BLOB,
    tsi BLOB,
    cvm_results BLOB,
    icc_data BLOB NOT NULL DEFAULT x'',
    forced_online_reason TEXT,
    chain_seq INTEGER UNIQUE,
    mac BLOB
);
";

/// Version 2: sync bookkeeping, and an index for the offline-limit and sync queries.
const V2: &str = "
ALTER TABLE records ADD COLUMN sync_state TEXT NOT NULL DEFAULT 'unsynced'
    CHECK (sync_state IN ('unsynced', 'synced', 'not-required'));
ALTER TABLE records ADD COLUMN synced_at INTEGER;
UPDATE records SET sync_state = 'not-required' WHERE state IN ('declined', 'terminated', 'incomplete');
CREATE INDEX records_by_sync_state ON records (sync_state, state, id);
";

/// Version 3: a keyed lookup index of the PAN for split-sales detection (Book 3, 10.6.1),
/// so the journal finds earlier approvals of the same card without storing its PAN in
/// clear. Records written before this version have none; `pan_index_from` is the first
/// record id that must carry one.
const V3: &str = "
ALTER TABLE records ADD COLUMN pan_index BLOB;
CREATE INDEX records_by_pan_index ON records (pan_index, transaction_date, id)
    WHERE pan_index IS NOT NULL;
INSERT INTO meta (name, value)
    SELECT 'pan_index_from', MAX(
        COALESCE((SELECT MAX(id) FROM records), 0) + 1,
        COALESCE((SELECT CAST(value AS INTEGER) FROM meta WHERE name = 'next_record_id'), 1));
";

/// Version 4: every state transition under a MAC. `state_mac` authenticates all fields of
/// a record together with its sync state and receipt (the chain link only covers the
/// record as completed); `receipt` holds the acquirer's signed acknowledgement. Records
/// marked synced before this version carry no proof: they go back to `unsynced`, so the
/// next sync re-sends them (the acquirer recognises their idempotency keys) and obtains a
/// verifiable receipt. `state_mac_from` is the first record id that must carry a state MAC.
const V4: &str = "
ALTER TABLE records ADD COLUMN receipt TEXT;
ALTER TABLE records ADD COLUMN state_mac BLOB;
UPDATE records SET sync_state = 'unsynced', synced_at = NULL
    WHERE sync_state = 'synced' AND state = 'approved';
INSERT INTO meta (name, value)
    SELECT 'state_mac_from', MAX(
        COALESCE((SELECT MAX(id) FROM records), 0) + 1,
        COALESCE((SELECT CAST(value AS INTEGER) FROM meta WHERE name = 'next_record_id'), 1));
";

/// Version 5: the "shown" confirmation. `transact` commits an approval before showing it
/// and marks it shown after (`shown = 'merchant'`); an approval left without the mark
/// (a crash, a power cut or a closed output between the commit and the display) is
/// reported until it is reconciled (`shown = 'reconciliation'`). Both are under the
/// record's state MAC. Older programs did not record it: `shown_from` is the first record
/// id that must carry the mark, earlier approvals count as shown.
const V5: &str = "
ALTER TABLE records ADD COLUMN shown TEXT
    CHECK (shown IS NULL OR shown IN ('merchant', 'reconciliation'));
ALTER TABLE records ADD COLUMN shown_at INTEGER;
INSERT INTO meta (name, value)
    SELECT 'shown_from', MAX(
        COALESCE((SELECT MAX(id) FROM records), 0) + 1,
        COALESCE((SELECT CAST(value AS INTEGER) FROM meta WHERE name = 'next_record_id'), 1));
";

/// The migrations in order; index `i` moves version `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[V1, V2, V3, V4, V5];

/// The schema version this program writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Brings the database to [`SCHEMA_VERSION`]; refuses a database from a newer program.
pub(crate) fn migrate(conn: &mut Connection) -> Result<(), JournalError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let found: i64 = tx.query_row("PRAGMA user_version", [], |row| row.get(0))?;
    if found > SCHEMA_VERSION {
        return Err(JournalError::SchemaTooNew {
            found,
            supported: SCHEMA_VERSION,
        });
    }
    let start = usize::try_from(found).unwrap_or(0);
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(start) {
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", index as i64 + 1)?;
    }
    tx.commit()?;
    Ok(())
}

/// Reads the schema version of an open database.
pub(crate) fn version(conn: &Connection) -> Result<i64, JournalError> {
    Ok(conn.query_row("PRAGMA user_version", [], |row| row.get(0))?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrates_a_version_one_database_keeping_its_rows() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(V1).unwrap();
        conn.pragma_update(None, "user_version", 1).unwrap();
        conn.execute(
            "INSERT INTO records (id, idempotency_key, state, created_at, amount_authorised, amount_other,
             currency_code, transaction_type, transaction_date, transaction_time, aid, masked_pan, key_id,
             nonce, sealed) VALUES (1, 'k', 'declined', 0, 1, 0, 978, 0, x'', x'', x'', '', 1, x'', x'')",
            [],
        )
        .unwrap();
        migrate(&mut conn).unwrap();
        assert_eq!(version(&conn).unwrap(), SCHEMA_VERSION);
        let sync: String = conn
            .query_row("SELECT sync_state FROM records WHERE id = 1", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(sync, "not-required");
        let (index, from): (Option<Vec<u8>>, String) = conn
            .query_row(
                "SELECT pan_index, (SELECT value FROM meta WHERE name = 'pan_index_from')
                 FROM records WHERE id = 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!((index, from.as_str()), (None, "2"));
    }

    #[test]
    fn refuses_a_newer_schema() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
            .unwrap();
        assert!(matches!(
            migrate(&mut conn),
            Err(JournalError::SchemaTooNew { .. })
        ));
    }
}
