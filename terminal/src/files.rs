//! Files that can hold card data (unmasked traces, journal exports): created
//! private to their owner.

use std::fs::File;
use std::io::{self, Write};
use std::path::Path;

/// Creates or truncates `path` for writing, readable and writable by its owner only
/// (mode 0600 on Unix, also when the file existed with a wider mode). On other
/// platforms the file gets the directory's default access control.
pub fn create_private(path: &Path) -> io::Result<File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    let file = emv_journal::private::private_file(&mut options).open(path)?;
    // The mode applies only to a file created now; an existing one is narrowed here.
    emv_journal::private::make_private(&file)?;
    Ok(file)
}

/// Writes `contents` to `path` through [`create_private`].
pub fn write_private(path: &Path, contents: &[u8]) -> io::Result<()> {
    let mut file = create_private(path)?;
    file.write_all(contents)?;
    file.sync_all()
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn private_files_are_0600_even_when_they_existed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("card-data");
        std::fs::write(&path, b"old").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        write_private(&path, b"new").unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(std::fs::read(&path).unwrap(), b"new");
    }
}
