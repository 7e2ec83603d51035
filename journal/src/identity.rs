//! Journal identity: what the key file's side knows about the journal, so that a journal
//! file replaced by an empty, truncated, foreign or older file is detected instead of being
//! taken for a new journal (a new chain started over the old one would hide every approval
//! the old file held).
//!
//! Next to the key file, one small file per journal path (`KEYFILE.head-XXXXXXXXXXXXXXXX`,
//! the suffix from SHA-256 of the journal's canonical path), mode 0600 and refused when its
//! group or others may access it, holds one line:
//!
//! ```text
//! journal-head v1 <journal id> <chain head seq> <chain head mac> <key id> <tag>
//! ```
//!
//! where the tag is an HMAC under the journal key over the path, the id and the head, so
//! it cannot be rewritten without the key. Writers update it after every commit that moves
//! the chain head; the journal may be ahead of it (a crash between the two writes), never
//! behind it, and its recorded link must still be in the chain.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use ring::digest::{digest, SHA256};

use crate::crypto::{KeyRing, MAC_LEN};
use crate::JournalError;

const HEAD_FILE_LABEL: &[u8] = b"emv-journal identity head v1";

/// What the head file last recorded for a journal path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct KnownHead {
    pub journal_id: String,
    pub seq: i64,
    pub mac: [u8; MAC_LEN],
}

/// The head file for the journal at `canonical` (its canonical path), next to the key file.
pub(crate) fn head_file_path(key_file: &Path, canonical: &Path) -> PathBuf {
    let hash = digest(&SHA256, canonical.as_os_str().as_encoded_bytes());
    let mut name = key_file.as_os_str().to_owned();
    name.push(format!(".head-{}", hex::encode(&hash.as_ref()[..8])));
    PathBuf::from(name)
}

fn tag(
    keys: &KeyRing,
    key_id: u32,
    canonical: &Path,
    head: &KnownHead,
) -> Result<[u8; MAC_LEN], JournalError> {
    keys.mac(
        key_id,
        &[
            HEAD_FILE_LABEL,
            &(canonical.as_os_str().len() as u32).to_be_bytes(),
            canonical.as_os_str().as_encoded_bytes(),
            &(head.journal_id.len() as u32).to_be_bytes(),
            head.journal_id.as_bytes(),
            &head.seq.to_be_bytes(),
            &head.mac,
        ],
    )
}

fn identity_error(file: &Path, what: &str) -> JournalError {
    JournalError::Identity(format!("{}: {what}", file.display()))
}

/// Reads the head file, `None` when there is none; a file that is not private, malformed or
/// does not authenticate under the key file is an error.
pub(crate) fn read(keys: &KeyRing, canonical: &Path) -> Result<Option<KnownHead>, JournalError> {
    let file = head_file_path(keys.path(), canonical);
    let meta = match fs::metadata(&file) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(JournalError::Io { path: file, source }),
    };
    if let Some(mode) = crate::private::shared_mode(&meta) {
        return Err(JournalError::KeyFilePermissions { path: file, mode });
    }
    let text = fs::read_to_string(&file).map_err(|source| JournalError::Io {
        path: file.clone(),
        source,
    })?;
    let bad = || identity_error(&file, "journal head record is malformed or altered");
    let words: Vec<&str> = text.split_whitespace().collect();
    let [magic, version, journal_id, seq, mac, key_id, stored_tag] = words[..] else {
        return Err(bad());
    };
    if magic != "journal-head" || version != "v1" {
        return Err(bad());
    }
    let head = KnownHead {
        journal_id: journal_id.to_string(),
        seq: seq.parse().map_err(|_| bad())?,
        mac: hex::decode(mac)
            .ok()
            .and_then(|v| v.try_into().ok())
            .ok_or_else(bad)?,
    };
    let key_id: u32 = key_id.parse().map_err(|_| bad())?;
    let expected = tag(keys, key_id, canonical, &head).map_err(|_| bad())?;
    if hex::decode(stored_tag).ok().as_deref() != Some(expected.as_slice()) {
        return Err(bad());
    }
    Ok(Some(head))
}

/// Records the journal's identity and head (atomic replace, fsynced, mode 0600).
pub(crate) fn write(
    keys: &KeyRing,
    canonical: &Path,
    head: &KnownHead,
) -> Result<(), JournalError> {
    let file = head_file_path(keys.path(), canonical);
    let key_id = keys.active_id();
    let line = format!(
        "journal-head v1 {} {} {} {key_id} {}\n",
        head.journal_id,
        head.seq,
        hex::encode(head.mac),
        hex::encode(tag(keys, key_id, canonical, head)?)
    );
    let mut tmp = file.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| JournalError::Io { path, source }
    };
    {
        let _ = fs::remove_file(&tmp);
        let mut out =
            crate::private::private_file(fs::OpenOptions::new().write(true).create_new(true))
                .open(&tmp)
                .map_err(io(&tmp))?;
        out.write_all(line.as_bytes()).map_err(io(&tmp))?;
        out.sync_all().map_err(io(&tmp))?;
    }
    fs::rename(&tmp, &file).map_err(io(&file))?;
    let parent = match file.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    fs::File::open(&parent)
        .and_then(|dir| dir.sync_all())
        .map_err(io(&parent))
}
