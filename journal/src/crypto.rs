//! Journal keys: the key file, AES-256-GCM sealing of sensitive fields, and the HMAC chain.
//!
//! A key file holds one or more 256-bit keys, one per line as `key <id> <64 hex digits>`.
//! The key with the highest id seals new records; older keys stay in the file so records
//! sealed before a rotation remain readable. Each master key is split into an encryption
//! key and a MAC key by HMAC-SHA-256 with fixed labels, so the same bytes never serve two
//! purposes.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use ring::hmac;
use ring::rand::{SecureRandom, SystemRandom};

use super::JournalError;

/// Length in bytes of a master key in the key file.
pub const MASTER_KEY_LEN: usize = 32;
/// Length in bytes of a chain MAC (HMAC-SHA-256).
pub const MAC_LEN: usize = 32;

const LABEL_ENCRYPTION: &[u8] = b"emv-journal aes-256-gcm v1";
const LABEL_MAC: &[u8] = b"emv-journal chain hmac v1";
const LABEL_CHECK: &[u8] = b"emv-journal key check v1";
const LABEL_PAN_INDEX: &[u8] = b"emv-journal pan index v1";
const AAD_LABEL: &[u8] = b"emv-journal record v1";

/// One key of the key file, split into its working keys.
struct JournalKey {
    id: u32,
    master: [u8; MASTER_KEY_LEN],
    aead: LessSafeKey,
    mac: hmac::Key,
    pan_index: hmac::Key,
}

impl JournalKey {
    fn new(id: u32, master: [u8; MASTER_KEY_LEN]) -> Result<Self, JournalError> {
        let derive = hmac::Key::new(hmac::HMAC_SHA256, &master);
        let enc = hmac::sign(&derive, LABEL_ENCRYPTION);
        let mac = hmac::sign(&derive, LABEL_MAC);
        let pan_index = hmac::sign(&derive, LABEL_PAN_INDEX);
        let unbound =
            UnboundKey::new(&AES_256_GCM, enc.as_ref()).map_err(|_| JournalError::Crypto)?;
        Ok(Self {
            id,
            master,
            aead: LessSafeKey::new(unbound),
            mac: hmac::Key::new(hmac::HMAC_SHA256, mac.as_ref()),
            pan_index: hmac::Key::new(hmac::HMAC_SHA256, pan_index.as_ref()),
        })
    }

    /// A value stored in the journal that proves which key bytes were used, without revealing them.
    fn check_value(&self) -> [u8; MAC_LEN] {
        let derive = hmac::Key::new(hmac::HMAC_SHA256, &self.master);
        let tag = hmac::sign(&derive, LABEL_CHECK);
        let mut out = [0u8; MAC_LEN];
        out.copy_from_slice(tag.as_ref());
        out
    }
}

/// Sensitive bytes sealed under one key: what a record stores instead of the clear text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    /// Id of the key that sealed it (see the key file).
    pub key_id: u32,
    /// The fresh 96-bit AES-GCM nonce of this record.
    pub nonce: [u8; NONCE_LEN],
    /// Ciphertext followed by the 16-byte GCM tag.
    pub ciphertext: Vec<u8>,
}

/// All keys of one key file; the highest id is the active key.
pub struct KeyRing {
    path: PathBuf,
    keys: Vec<JournalKey>,
    rng: SystemRandom,
}

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyRing")
            .field("path", &self.path)
            .field("key_ids", &self.key_ids())
            .finish()
    }
}

fn io_error(path: &Path, source: std::io::Error) -> JournalError {
    JournalError::Io {
        path: path.to_path_buf(),
        source,
    }
}

impl KeyRing {
    /// Loads a key file, refusing one that its group or others may access.
    pub fn load(path: &Path) -> Result<Self, JournalError> {
        let meta = fs::metadata(path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                JournalError::KeyFileMissing {
                    path: path.to_path_buf(),
                }
            } else {
                io_error(path, e)
            }
        })?;
        if let Some(mode) = crate::private::shared_mode(&meta) {
            return Err(JournalError::KeyFilePermissions {
                path: path.to_path_buf(),
                mode,
            });
        }
        let text = fs::read_to_string(path).map_err(|e| io_error(path, e))?;
        let mut keys: Vec<JournalKey> = Vec::new();
        for (index, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let malformed = || JournalError::KeyFileMalformed {
                path: path.to_path_buf(),
                line: index + 1,
            };
            let mut words = line.split_whitespace();
            if words.next() != Some("key") {
                return Err(malformed());
            }
            let id: u32 = words
                .next()
                .and_then(|w| w.parse().ok())
                .filter(|id| *id > 0)
                .ok_or_else(malformed)?;
            let bytes = words
                .next()
                .and_then(|w| hex::decode(w).ok())
                .ok_or_else(malformed)?;
            let master: [u8; MASTER_KEY_LEN] = bytes.try_into().map_err(|_| malformed())?;
            if words.next().is_some() || keys.iter().any(|k| k.id == id) {
                return Err(malformed());
            }
            keys.push(JournalKey::new(id, master)?);
        }
        if keys.is_empty() {
            return Err(JournalError::KeyFileMalformed {
                path: path.to_path_buf(),
                line: 0,
            });
        }
        keys.sort_by_key(|k| k.id);
        Ok(Self {
            path: path.to_path_buf(),
            keys,
            rng: SystemRandom::new(),
        })
    }

    /// Creates a new key file (mode 0600, parent directory 0700 if created) holding key 1.
    ///
    /// Fails if the file already exists: an existing key is never overwritten.
    pub fn create(path: &Path) -> Result<Self, JournalError> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            create_private_dir(parent)?;
        }
        let rng = SystemRandom::new();
        let master = random_key(&rng)?;
        let text = render_key_file(&[(1, master)]);
        // Written in full to a private temporary file, then linked into place: a crash
        // leaves either no key file or a complete one, and an existing file is never replaced.
        let tmp = path.with_extension("key-create.tmp");
        let _ = fs::remove_file(&tmp);
        let mut file =
            crate::private::private_file(OpenOptions::new().write(true).create_new(true))
                .open(&tmp)
                .map_err(|e| io_error(&tmp, e))?;
        file.write_all(text.as_bytes())
            .map_err(|e| io_error(&tmp, e))?;
        file.sync_all().map_err(|e| io_error(&tmp, e))?;
        let linked = fs::hard_link(&tmp, path).map_err(|e| io_error(path, e));
        let _ = fs::remove_file(&tmp);
        linked?;
        sync_parent(path)?;
        Self::load(path)
    }

    /// Adds a fresh key with the next id to the key file and makes it the active key.
    ///
    /// The file is rewritten through a private temporary file and an atomic rename, so a
    /// crash leaves either the old or the new file, never a truncated one.
    pub fn rotate(&mut self) -> Result<u32, JournalError> {
        let next_id = self.active_id() + 1;
        let master = random_key(&self.rng)?;
        let mut all: Vec<(u32, [u8; MASTER_KEY_LEN])> =
            self.keys.iter().map(|k| (k.id, k.master)).collect();
        all.push((next_id, master));
        let text = render_key_file(&all);
        let tmp = self.path.with_extension("key-rotate.tmp");
        let _ = fs::remove_file(&tmp);
        let mut file =
            crate::private::private_file(OpenOptions::new().write(true).create_new(true))
                .open(&tmp)
                .map_err(|e| io_error(&tmp, e))?;
        file.write_all(text.as_bytes())
            .map_err(|e| io_error(&tmp, e))?;
        file.sync_all().map_err(|e| io_error(&tmp, e))?;
        fs::rename(&tmp, &self.path).map_err(|e| io_error(&self.path, e))?;
        sync_parent(&self.path)?;
        self.keys.push(JournalKey::new(next_id, master)?);
        Ok(next_id)
    }

    /// Path of the key file this ring was read from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Ids of all keys, ascending.
    pub fn key_ids(&self) -> Vec<u32> {
        self.keys.iter().map(|k| k.id).collect()
    }

    /// Id of the key that seals new records.
    pub fn active_id(&self) -> u32 {
        self.keys.last().map_or(0, |k| k.id)
    }

    fn key(&self, id: u32) -> Result<&JournalKey, JournalError> {
        self.keys
            .iter()
            .find(|k| k.id == id)
            .ok_or(JournalError::MissingKey { key_id: id })
    }

    /// The check value of key `id`, as stored in the journal to detect a wrong key file.
    pub fn check_value(&self, id: u32) -> Result<[u8; MAC_LEN], JournalError> {
        Ok(self.key(id)?.check_value())
    }

    /// Fills `out` from the system random generator.
    pub fn random(&self, out: &mut [u8]) -> Result<(), JournalError> {
        self.rng.fill(out).map_err(|_| JournalError::Crypto)
    }

    /// Seals `plaintext` for record `record_id` under the active key with a fresh nonce.
    ///
    /// The record id and key id are the associated data, so a sealed blob moved to another
    /// record does not open.
    pub fn seal(&self, record_id: i64, plaintext: &[u8]) -> Result<Sealed, JournalError> {
        let key = self.keys.last().ok_or(JournalError::Crypto)?;
        let mut nonce = [0u8; NONCE_LEN];
        self.random(&mut nonce)?;
        let mut in_out = plaintext.to_vec();
        key.aead
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(associated_data(record_id, key.id)),
                &mut in_out,
            )
            .map_err(|_| JournalError::Crypto)?;
        Ok(Sealed {
            key_id: key.id,
            nonce,
            ciphertext: in_out,
        })
    }

    /// Opens a sealed blob of record `record_id`; fails if the key, nonce, id or bytes differ.
    pub fn open(&self, record_id: i64, sealed: &Sealed) -> Result<Vec<u8>, JournalError> {
        let key = self.key(sealed.key_id)?;
        let mut in_out = sealed.ciphertext.clone();
        let plain = key
            .aead
            .open_in_place(
                Nonce::assume_unique_for_key(sealed.nonce),
                Aad::from(associated_data(record_id, sealed.key_id)),
                &mut in_out,
            )
            .map_err(|_| JournalError::Decrypt { record_id })?;
        Ok(plain.to_vec())
    }

    /// The PAN's lookup index under key `key_id`: HMAC-SHA-256, with a key derived for this
    /// purpose only, over the PAN's digits (BCD `F` padding removed). Equal PANs give equal
    /// indexes under one key; without the key the index reveals nothing about the PAN.
    pub fn pan_index(&self, key_id: u32, pan: &[u8]) -> Result<[u8; MAC_LEN], JournalError> {
        let key = self.key(key_id)?;
        let digits: Vec<u8> = pan
            .iter()
            .flat_map(|byte| [byte >> 4, byte & 0x0F])
            .take_while(|nibble| *nibble != 0x0F)
            .filter_map(|nibble| char::from_digit(u32::from(nibble), 16))
            .map(|digit| digit as u8)
            .collect();
        let tag = hmac::sign(&key.pan_index, &digits);
        let mut out = [0u8; MAC_LEN];
        out.copy_from_slice(tag.as_ref());
        Ok(out)
    }

    /// HMAC-SHA-256 under the MAC key of key `key_id` over `parts` in order.
    pub fn mac(&self, key_id: u32, parts: &[&[u8]]) -> Result<[u8; MAC_LEN], JournalError> {
        let key = self.key(key_id)?;
        let mut ctx = hmac::Context::with_key(&key.mac);
        for part in parts {
            ctx.update(part);
        }
        let tag = ctx.sign();
        let mut out = [0u8; MAC_LEN];
        out.copy_from_slice(tag.as_ref());
        Ok(out)
    }
}

fn associated_data(record_id: i64, key_id: u32) -> [u8; 33] {
    let mut aad = [0u8; 33];
    let (label, rest) = aad.split_at_mut(AAD_LABEL.len());
    label.copy_from_slice(AAD_LABEL);
    let (id, key) = rest.split_at_mut(8);
    id.copy_from_slice(&record_id.to_be_bytes());
    key.copy_from_slice(&key_id.to_be_bytes());
    aad
}

fn random_key(rng: &SystemRandom) -> Result<[u8; MASTER_KEY_LEN], JournalError> {
    let mut master = [0u8; MASTER_KEY_LEN];
    rng.fill(&mut master).map_err(|_| JournalError::Crypto)?;
    Ok(master)
}

fn render_key_file(keys: &[(u32, [u8; MASTER_KEY_LEN])]) -> String {
    let mut text = String::from(
        "# emv-terminal journal keys: keep this file private (mode 0600) and backed up apart\n\
         # from the journal. The key with the highest id seals new records; keep older keys\n\
         # so that records sealed before a rotation stay readable.\n",
    );
    for (id, master) in keys {
        text.push_str(&format!("key {id} {}\n", hex::encode(master)));
    }
    text
}

/// Creates `dir` (and parents) with mode 0700 when it does not exist yet.
pub fn create_private_dir(dir: &Path) -> Result<(), JournalError> {
    if dir.exists() {
        return Ok(());
    }
    crate::private::private_dir(fs::DirBuilder::new().recursive(true))
        .create(dir)
        .map_err(|e| io_error(dir, e))
}

fn sync_parent(path: &Path) -> Result<(), JournalError> {
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let dir = fs::File::open(parent).map_err(|e| io_error(parent, e))?;
    dir.sync_all().map_err(|e| io_error(parent, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(unix)]
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn pan_index_depends_on_pan_digits_and_key_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k");
        let mut ring = KeyRing::create(&path).unwrap();
        let pan = [0x54, 0x13, 0x33, 0x00, 0x89, 0x01, 0x06, 0x08];
        let index = ring.pan_index(1, &pan).unwrap();
        assert_eq!(index, ring.pan_index(1, &pan).unwrap());
        // Trailing F padding is not part of the PAN.
        let padded = [0x54, 0x13, 0x33, 0x00, 0x89, 0x01, 0x06, 0x08, 0xFF];
        assert_eq!(index, ring.pan_index(1, &padded).unwrap());
        let other = [0x54, 0x13, 0x33, 0x00, 0x89, 0x01, 0x06, 0x09];
        assert_ne!(index, ring.pan_index(1, &other).unwrap());
        // A 15-digit PAN differs from its 16-digit extension.
        let short = [0x37, 0x42, 0x45, 0x45, 0x54, 0x00, 0x12, 0x6F];
        let long = [0x37, 0x42, 0x45, 0x45, 0x54, 0x00, 0x12, 0x60];
        assert_ne!(
            ring.pan_index(1, &short).unwrap(),
            ring.pan_index(1, &long).unwrap()
        );
        let rotated = ring.rotate().unwrap();
        assert_ne!(index, ring.pan_index(rotated, &pan).unwrap());
        assert_ne!(
            &index[..],
            &ring.mac(1, &[b"5413330089010608"]).unwrap()[..]
        );
    }

    #[test]
    fn seal_open_round_trip_and_binding_to_record_id() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k");
        let ring = KeyRing::create(&path).unwrap();
        let sealed = ring.seal(7, b"5413330089010608").unwrap();
        assert_eq!(ring.open(7, &sealed).unwrap(), b"5413330089010608");
        assert!(matches!(
            ring.open(8, &sealed),
            Err(JournalError::Decrypt { record_id: 8 })
        ));
        let again = ring.seal(7, b"5413330089010608").unwrap();
        assert_ne!(sealed.nonce, again.nonce, "fresh nonce per record");
    }

    #[cfg(unix)]
    #[test]
    fn created_key_file_is_private_and_never_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/k");
        KeyRing::create(&path).unwrap();
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert!(KeyRing::create(&path).is_err());
    }

    #[cfg(unix)]
    #[test]
    fn group_readable_key_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k");
        KeyRing::create(&path).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).unwrap();
        assert!(matches!(
            KeyRing::load(&path),
            Err(JournalError::KeyFilePermissions { mode: 0o640, .. })
        ));
    }

    #[test]
    fn rotation_keeps_old_keys_usable() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k");
        let mut ring = KeyRing::create(&path).unwrap();
        let old = ring.seal(1, b"old").unwrap();
        assert_eq!(ring.rotate().unwrap(), 2);
        let reloaded = KeyRing::load(&path).unwrap();
        assert_eq!(reloaded.active_id(), 2);
        assert_eq!(reloaded.open(1, &old).unwrap(), b"old");
        assert_eq!(reloaded.seal(2, b"new").unwrap().key_id, 2);
    }

    #[cfg(unix)]
    #[test]
    fn malformed_lines_are_reported_with_line_number() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k");
        fs::write(&path, "# c\nkey 1 abcd\n").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
        assert!(matches!(
            KeyRing::load(&path),
            Err(JournalError::KeyFileMalformed { line: 2, .. })
        ));
    }
}
