//! ICS row 100: the kernel's identification for an approval letter. The checksum built
//! into the crate is the one its sources on disk give now (so it is computed from them,
//! not written down), and it changes with a source file or with the feature set.

#[path = "../checksum.rs"]
mod checksum;

use std::path::Path;

fn features() -> Vec<String> {
    emv_kernel::identity::FEATURES
        .split(',')
        .filter(|f| !f.is_empty())
        .map(str::to_owned)
        .collect()
}

#[test]
fn the_checksum_is_that_of_the_sources_and_features() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let now = checksum::kernel_checksum(dir, &features()).expect("sources readable");
    assert_eq!(emv_kernel::identity::CHECKSUM, now);
    assert_eq!(emv_kernel::identity::CHECKSUM.len(), 64);
    assert_eq!(
        emv_kernel::identity::short_checksum(),
        &emv_kernel::identity::CHECKSUM[..16]
    );
    assert_eq!(emv_kernel::identity::VERSION, env!("CARGO_PKG_VERSION"));
}

#[test]
fn the_checksum_changes_with_a_source_file_or_a_feature() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let copy = tempfile_dir();
    copy_tree(dir, &copy, "src");
    std::fs::copy(dir.join("Cargo.toml"), copy.join("Cargo.toml")).expect("copy manifest");
    let features = features();
    let same = checksum::kernel_checksum(&copy, &features).expect("copy readable");
    assert_eq!(
        same,
        emv_kernel::identity::CHECKSUM,
        "a copy gives the same"
    );
    let mut other = features.clone();
    other.push("ring-crypto-extra".into());
    assert_ne!(checksum::kernel_checksum(&copy, &other).unwrap(), same);
    let file = copy.join("src/tvr.rs");
    let mut text = std::fs::read_to_string(&file).unwrap();
    text.push('\n');
    std::fs::write(&file, text).unwrap();
    assert_ne!(checksum::kernel_checksum(&copy, &features).unwrap(), same);
    let _ = std::fs::remove_dir_all(&copy);
}

fn tempfile_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("emv-kernel-identity-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

fn copy_tree(from_root: &Path, to_root: &Path, relative: &str) {
    let from = from_root.join(relative);
    std::fs::create_dir_all(to_root.join(relative)).expect("mkdir");
    for entry in std::fs::read_dir(&from).expect("read dir") {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let child = format!("{relative}/{name}");
        if path.is_dir() {
            copy_tree(from_root, to_root, &child);
        } else {
            std::fs::copy(&path, to_root.join(&child)).expect("copy");
        }
    }
}
