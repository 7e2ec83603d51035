//! Online backup and checked restore of a journal file.
//!
//! `backup` uses SQLite's online backup API in one step, i.e. one read transaction: with WAL
//! a transacting writer is not blocked and the copy is a consistent snapshot. `restore`
//! copies the candidate to a scratch file, opens it with the key file, verifies the chain
//! and every sealed field, and only then copies it over the live journal (again through the
//! backup API, under the writer lock).

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::backup::{Backup, StepResult};
use rusqlite::{Connection, OpenFlags};

use super::store::{acquire_writer_lock, create_private_file, note_restored_head};
use super::{Journal, JournalError, KeySource, OpenOptions};

/// How long to wait between backup steps when the source is busy.
const BUSY_PAUSE: Duration = Duration::from_millis(20);
/// Give up after this many busy steps in a row.
const MAX_BUSY_STEPS: u32 = 1500;

fn io_error(path: &Path, source: std::io::Error) -> JournalError {
    JournalError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

fn remove_db_files(path: &Path) {
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let _ = fs::remove_file(sibling(path, suffix));
    }
}

/// Copies all of `source` into `dest` in one backup step (a consistent snapshot).
fn copy_database(source: &Connection, dest: &mut Connection) -> Result<(), JournalError> {
    let backup = Backup::new(source, dest)?;
    let mut busy = 0;
    loop {
        match backup.step(-1)? {
            StepResult::Done => return Ok(()),
            StepResult::More => {}
            StepResult::Busy | StepResult::Locked => {
                busy += 1;
                if busy > MAX_BUSY_STEPS {
                    return Err(rusqlite::Error::SqliteFailure(
                        rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_BUSY),
                        Some("backup source stayed busy".into()),
                    )
                    .into());
                }
                std::thread::sleep(BUSY_PAUSE);
            }
            _ => std::thread::sleep(BUSY_PAUSE),
        }
    }
}

/// Writes a consistent copy of the open journal to `dest`, which must not exist yet.
/// Safe while another process is transacting on the same journal.
pub fn backup(journal: &Journal, dest: &Path) -> Result<(), JournalError> {
    if dest.exists() {
        return Err(io_error(
            dest,
            std::io::Error::new(
                std::io::ErrorKind::AlreadyExists,
                "backup file exists; refusing to overwrite",
            ),
        ));
    }
    let tmp = sibling(dest, ".partial");
    remove_db_files(&tmp);
    {
        create_private_file(&tmp)?;
        let mut out = Connection::open(&tmp)?;
        copy_database(journal.connection(), &mut out)?;
        // A single self-contained file: fold any WAL content into the main file.
        out.query_row("PRAGMA journal_mode=DELETE", [], |r| r.get::<_, String>(0))?;
    }
    let file = fs::File::open(&tmp).map_err(|e| io_error(&tmp, e))?;
    file.sync_all().map_err(|e| io_error(&tmp, e))?;
    fs::rename(&tmp, dest).map_err(|e| io_error(dest, e))?;
    if let Some(parent) = dest.parent().filter(|p| !p.as_os_str().is_empty()) {
        if let Ok(dir) = fs::File::open(parent) {
            let _ = dir.sync_all();
        }
    }
    Ok(())
}

/// What a restore found and did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestoreReport {
    /// Records in the restored journal.
    pub records: u64,
    /// Chain links verified.
    pub links_checked: u64,
}

/// Replaces the journal at `target` with the backup `source` after checking it.
///
/// Checks, all before anything is replaced: the backup opens with the key file (no wrong
/// or missing key), its chain verifies, and every sealed field authenticates. Unless
/// `force` is set, it also refuses when the current journal holds records the backup
/// lacks (restoring would lose them).
pub fn restore(
    target: &Path,
    source: &Path,
    key_source: &KeySource,
    force: bool,
) -> Result<RestoreReport, JournalError> {
    let scratch = sibling(target, ".restore-check");
    remove_db_files(&scratch);
    let result = restore_via(target, source, &scratch, key_source, force);
    remove_db_files(&scratch);
    result
}

fn restore_via(
    target: &Path,
    source: &Path,
    scratch: &Path,
    key_source: &KeySource,
    force: bool,
) -> Result<RestoreReport, JournalError> {
    if !source.exists() {
        return Err(io_error(
            source,
            std::io::Error::new(std::io::ErrorKind::NotFound, "backup not found"),
        ));
    }
    {
        let src = Connection::open_with_flags(source, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
        create_private_file(scratch)?;
        let mut dst = Connection::open(scratch)?;
        copy_database(&src, &mut dst)?;
    }
    let check_keys = KeySource::existing(key_source.path.clone());
    let candidate = Journal::open_with(
        scratch,
        &check_keys,
        &OpenOptions {
            shared: true,
            terminal_id: None,
            scratch_copy: true,
        },
    )?;
    let report = candidate.verify()?;
    if let Some(broken) = report.first_broken {
        return Err(JournalError::RestoreRefused(format!(
            "backup chain broken at link {} (record {}): {}",
            broken.chain_seq, broken.record_id, broken.reason
        )));
    }
    let records: i64 =
        candidate
            .connection()
            .query_row("SELECT COUNT(*) FROM records", [], |r| r.get(0))?;
    let _lock = acquire_writer_lock(target)?;
    if target.exists() && !force {
        let current = Connection::open_with_flags(target, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
        current.busy_timeout(Duration::from_secs(30))?;
        let has_records: bool = current
            .query_row(
                "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'records'",
                [],
                |r| r.get::<_, i64>(0),
            )
            .map(|n| n > 0)?;
        if has_records {
            let mut stmt = current.prepare("SELECT idempotency_key FROM records")?;
            let keys = stmt.query_map([], |r| r.get::<_, String>(0))?;
            let mut lost = 0u64;
            for key in keys {
                let key = key?;
                let found: i64 = candidate.connection().query_row(
                    "SELECT COUNT(*) FROM records WHERE idempotency_key = ?1",
                    [&key],
                    |r| r.get(0),
                )?;
                if found == 0 {
                    lost += 1;
                }
            }
            if lost > 0 {
                return Err(JournalError::RestoreRefused(format!(
                    "the current journal holds {lost} record(s) that the backup lacks; restoring would lose them (use --force to restore anyway)"
                )));
            }
        }
    }
    create_private_file(target)?;
    let mut live = Connection::open(target)?;
    live.busy_timeout(Duration::from_secs(30))?;
    copy_database(candidate.connection(), &mut live)?;
    live.query_row("PRAGMA journal_mode=WAL", [], |r| r.get::<_, String>(0))?;
    note_restored_head(&live, candidate.keys(), target)?;
    Ok(RestoreReport {
        records: records.max(0) as u64,
        links_checked: report.links_checked,
    })
}
