//! Files private to their owner, on every platform.
//!
//! On Unix a private file has mode 0600 and a private folder 0700; a file whose group or
//! others have any access is "shared" and refused where a key is read from it. Other
//! platforms have no mode bits: a file there gets the access control of the folder it is
//! created in (on Windows the user's profile folders are private to the user), and no mode
//! is checked. The journal's key files, head files, database and the command line's card
//! data files are all created through these functions.

use std::fs::{DirBuilder, Metadata, OpenOptions};

/// Makes `options` create files readable and writable by their owner only (0600 on Unix).
pub fn private_file(options: &mut OpenOptions) -> &mut OpenOptions {
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options
}

/// Makes `builder` create folders accessible to their owner only (0700 on Unix).
pub fn private_dir(builder: &mut DirBuilder) -> &mut DirBuilder {
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder
}

/// The permission bits of a file its group or others may access (`Some(mode)`), or `None`
/// when it is private to its owner (always `None` where there are no mode bits).
pub fn shared_mode(meta: &Metadata) -> Option<u32> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = meta.permissions().mode() & 0o777;
        (mode & 0o077 != 0).then_some(mode)
    }
    #[cfg(not(unix))]
    {
        let _ = meta;
        None
    }
}

/// Narrows an existing file to its owner (0600 on Unix; nothing elsewhere).
pub fn make_private(file: &std::fs::File) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))
    }
    #[cfg(not(unix))]
    {
        let _ = file;
        Ok(())
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn created_files_are_private_and_shared_ones_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret");
        private_file(OpenOptions::new().write(true).create_new(true))
            .open(&path)
            .unwrap();
        let meta = std::fs::metadata(&path).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        assert_eq!(shared_mode(&meta), None);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        assert_eq!(shared_mode(&std::fs::metadata(&path).unwrap()), Some(0o640));
        let folder = dir.path().join("a/b");
        private_dir(DirBuilder::new().recursive(true))
            .create(&folder)
            .unwrap();
        let mode = std::fs::metadata(&folder).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
    }
}
