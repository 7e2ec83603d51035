// The kernel build's checksum: shared by `build.rs` (which computes it when the kernel
// is built) and the test `kernel/tests/identity.rs` (which recomputes it from the
// sources on disk). Plain std only: it is compiled into both.

/// SHA-256 over the kernel's sources and the enabled features, as 64 hex digits.
///
/// Input, in this order: for every file under `src/` (sorted by its path relative to the
/// kernel folder, `/`-separated) and for `Cargo.toml`: the path, a NUL byte, the length
/// as 8 bytes big-endian, the contents; then `features` followed by the enabled features
/// (lowercase, sorted, comma-separated).
pub fn kernel_checksum(
    kernel_dir: &std::path::Path,
    features: &[String],
) -> std::io::Result<String> {
    use sha2::{Digest, Sha256};
    let mut files = Vec::new();
    collect(kernel_dir, &kernel_dir.join("src"), &mut files)?;
    files.sort();
    files.push("Cargo.toml".to_owned());
    let mut hash = Sha256::new();
    for relative in &files {
        let contents = std::fs::read(kernel_dir.join(relative))?;
        hash.update(relative.as_bytes());
        hash.update([0u8]);
        hash.update((contents.len() as u64).to_be_bytes());
        hash.update(&contents);
    }
    let mut features = features.to_vec();
    features.sort();
    hash.update(b"features");
    hash.update(features.join(",").as_bytes());
    Ok(hash.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

fn collect(
    root: &std::path::Path,
    folder: &std::path::Path,
    out: &mut Vec<String>,
) -> std::io::Result<()> {
    for entry in std::fs::read_dir(folder)? {
        let path = entry?.path();
        if path.is_dir() {
            collect(root, &path, out)?;
        } else if let Ok(relative) = path.strip_prefix(root) {
            let parts: Vec<String> = relative
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            out.push(parts.join("/"));
        }
    }
    Ok(())
}
