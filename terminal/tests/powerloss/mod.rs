//! The power-loss model of `journal_powerloss.rs`: the LD_PRELOAD library of
//! `preload.c` (built here with the system C compiler) records what a power cut would
//! discard, and [`PowerModel::cut`] rolls the tracked directory back to its last durable
//! image after the processes writing it were killed. The rules (what fsync, fdatasync and a
//! directory fsync make durable, what is refused as not modelled) are in `preload.c`.

use std::collections::HashMap;
use std::fs;
use std::io;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::process::Command;

const UNDO_MAGIC: u32 = 0x3155_4c50;

/// A tracked directory, the shim's state next to it, and the built library.
pub struct PowerModel {
    /// The directory whose files lose their unsynced writes at a cut.
    pub dir: PathBuf,
    state: PathBuf,
    library: PathBuf,
}

/// What a cut threw away.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Discarded {
    /// Undo records applied (writes, truncations not made durable).
    pub writes: usize,
    /// Files whose content changed back.
    pub files: usize,
    /// Creations, renames and unlinks undone (no directory fsync after them).
    pub names: usize,
}

impl std::ops::AddAssign for Discarded {
    fn add_assign(&mut self, other: Self) {
        self.writes += other.writes;
        self.files += other.files;
        self.names += other.names;
    }
}

impl PowerModel {
    /// Builds the shim into `work` and creates `work/<tracked>` and the state directory.
    pub fn new(work: &Path, tracked: &str) -> PowerModel {
        let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/powerloss/preload.c");
        let library = work.join("libpowerloss.so");
        let compiler = std::env::var("CC").unwrap_or_else(|_| "cc".to_string());
        let out = Command::new(&compiler)
            .args([
                "-shared",
                "-fPIC",
                "-O2",
                "-Wall",
                "-Wno-format-truncation",
                "-o",
            ])
            .arg(&library)
            .arg(&source)
            .arg("-ldl")
            .output()
            .unwrap_or_else(|e| {
                panic!("{compiler}: {e} (scripts/install-deps.sh installs gcc and libc6-dev)")
            });
        assert!(
            out.status.success(),
            "building the power-loss shim failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let dir = work.join(tracked);
        let state = work.join(format!("{tracked}.powerloss"));
        for d in [&dir, &state.join("undo"), &state.join("hidden")] {
            fs::create_dir_all(d).expect("create the model's directories");
        }
        PowerModel {
            dir: fs::canonicalize(&dir).expect("canonical tracked dir"),
            state,
            library,
        }
    }

    /// Runs `command` under the model: its writes to the tracked directory are recorded.
    pub fn wrap<'a>(&self, command: &'a mut Command) -> &'a mut Command {
        command
            .env("LD_PRELOAD", &self.library)
            .env("EMV_POWERLOSS_DIR", &self.dir)
            .env("EMV_POWERLOSS_STATE", &self.state)
    }

    /// Resets the count of tracked operations and arms a cut just before operation
    /// `target` (counted from 1 across every process; `None`: no cut).
    pub fn arm(&self, target: Option<u64>) -> io::Result<()> {
        let mut bytes = [0u8; 16];
        bytes[8..].copy_from_slice(&target.unwrap_or(0).to_le_bytes());
        fs::write(self.state.join("ops"), bytes)
    }

    /// Tracked operations since the last [`PowerModel::arm`].
    pub fn operations(&self) -> u64 {
        fs::read(self.state.join("ops"))
            .ok()
            .and_then(|b| Some(u64::from_le_bytes(b.get(..8)?.try_into().ok()?)))
            .unwrap_or(0)
    }

    /// The power cut, once every process under the model is dead: every tracked file back
    /// to its last durable content, every name change since the last directory fsync
    /// undone, the (volatile) SQLite `-shm` files gone.
    pub fn cut(&self) -> io::Result<Discarded> {
        let mut discarded = Discarded::default();
        let hidden = self.state.join("hidden");
        let mut by_inode: HashMap<(u64, u64), PathBuf> = HashMap::new();
        for dir in [&self.dir, &hidden] {
            for entry in fs::read_dir(dir)? {
                let path = entry?.path();
                let meta = fs::symlink_metadata(&path)?;
                if meta.is_file() {
                    by_inode.entry((meta.dev(), meta.ino())).or_insert(path);
                }
            }
        }
        for entry in fs::read_dir(self.state.join("undo"))? {
            let log = entry?.path();
            let inode = log
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.split_once('-'))
                .and_then(|(dev, ino)| Some((dev.parse().ok()?, ino.parse().ok()?)));
            if let Some(path) = inode.and_then(|inode| by_inode.get(&inode)) {
                let applied = undo_file(path, &fs::read(&log)?)?;
                discarded.writes += applied;
                discarded.files += usize::from(applied > 0);
            }
            fs::remove_file(&log)?;
        }
        let dir_log = self.state.join("dir.log");
        match fs::read_to_string(&dir_log) {
            Ok(text) => {
                discarded.names += self.undo_names(&text)?;
                fs::remove_file(&dir_log)?;
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        for entry in fs::read_dir(&hidden)? {
            fs::remove_file(entry?.path())?;
        }
        for entry in fs::read_dir(&self.dir)? {
            let path = entry?.path();
            if path.to_string_lossy().ends_with("-shm") {
                fs::remove_file(path)?;
            }
        }
        Ok(discarded)
    }

    /// Undoes the complete lines of the directory log, newest first; returns how many.
    fn undo_names(&self, text: &str) -> io::Result<usize> {
        let hidden = self.state.join("hidden");
        // A line without its newline was cut while being written: its operation never ran.
        let complete = match text.rfind('\n') {
            Some(end) => &text[..end],
            None => "",
        };
        let mut undone = 0;
        for line in complete.lines().rev() {
            let fields: Vec<&str> = line.split('\t').collect();
            match fields[..] {
                ["C", name] => {
                    remove_if_present(&self.dir.join(name))?;
                }
                ["U", name, kept] => {
                    let path = self.dir.join(name);
                    if path.exists() {
                        // Cut between the record and the unlink: nothing to undo.
                        fs::remove_file(hidden.join(kept))?;
                    } else {
                        fs::rename(hidden.join(kept), path)?;
                    }
                }
                ["R", old, new, kept] => {
                    let (old, new) = (self.dir.join(old), self.dir.join(new));
                    if old.exists() {
                        // Cut between the record and the rename.
                        if kept != "-" {
                            fs::remove_file(hidden.join(kept))?;
                        }
                    } else {
                        fs::rename(&new, &old)?;
                        if kept != "-" {
                            fs::rename(hidden.join(kept), &new)?;
                        }
                    }
                }
                _ => {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!("directory log line {line:?}"),
                    ))
                }
            }
            undone += 1;
        }
        Ok(undone)
    }
}

fn remove_if_present(path: &Path) -> io::Result<()> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// Applies an undo log to `path`, newest record first; returns the records applied.
fn undo_file(path: &Path, log: &[u8]) -> io::Result<usize> {
    let mut records = Vec::new();
    let mut at = 0;
    while let Some(header) = log.get(at..at + 32) {
        let word = |i: usize| u64::from_le_bytes(header[i..i + 8].try_into().expect("8 bytes"));
        let magic = u32::from_le_bytes(header[..4].try_into().expect("4 bytes"));
        let (offset, old_size, length) = (word(8), word(16), word(24) as usize);
        let Some(old) = log.get(at + 32..at + 32 + length) else {
            break; // torn tail: its write never ran
        };
        if magic != UNDO_MAGIC {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("undo log of {}: bad record at {at}", path.display()),
            ));
        }
        records.push((offset, old_size, old));
        at += 32 + length;
    }
    let file = fs::OpenOptions::new().write(true).open(path)?;
    for (offset, old_size, old) in records.iter().rev() {
        file.set_len(*old_size)?;
        file.write_all_at(old, *offset)?;
    }
    Ok(records.len())
}
