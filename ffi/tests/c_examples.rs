//! The C examples of `examples/c`, built as a C programmer builds them: the
//! static library (`cargo build -p emv-kernel-ffi --features
//! simulated-cards`, same profile and target folder as this test), the
//! header in `include/`, the system `cc` with `-Wall -Wextra -Werror`; then
//! run, and their output checked.
//!
//! - `purchase.c`: an offline CDA purchase of 12.50 on the simulated card.
//! - `pcsc_purchase.c`: the same through pcsc-lite against
//!   `emv-terminal card serve --profile cda` in pcscd's virtual reader. It
//!   needs pcscd with vsmartcard-vpcd: run through `scripts/test.sh`, or
//!   `scripts/pcscd.sh start` and `EMV_PCSCD=1`; without it the test prints
//!   "skipped: set EMV_PCSCD=1" and passes.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;

/// The native libraries a Rust static library needs on Linux
/// (`cargo rustc -p emv-kernel-ffi --crate-type staticlib -- --print native-static-libs`).
const NATIVE_LIBS: [&str; 6] = ["-lgcc_s", "-lutil", "-lrt", "-lpthread", "-lm", "-ldl"];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("ffi/ is in the workspace")
        .to_path_buf()
}

/// `target/<profile>`: where this test's executable lives (in `deps/`).
fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let mut dir = exe.parent().expect("deps folder").to_path_buf();
    if dir.ends_with("deps") {
        dir.pop();
    }
    dir
}

fn cargo_profile(dir: &Path) -> String {
    match dir.file_name().and_then(|n| n.to_str()) {
        Some("debug") | None => "dev".to_owned(),
        Some(name) => name.to_owned(),
    }
}

fn run(command: &mut Command) -> Output {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("{command:?}: {e}"));
    assert!(
        output.status.success(),
        "{command:?} failed ({}):\n{}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// Builds a package of the workspace into this test's profile and target
/// folder, as a C programmer's build would.
fn cargo_build(args: &[&str]) {
    let dir = profile_dir();
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    run(Command::new(cargo)
        .current_dir(root())
        .arg("build")
        .arg("--quiet")
        .args(args)
        .arg("--profile")
        .arg(cargo_profile(&dir))
        .arg("--target-dir")
        .arg(dir.parent().expect("target folder")));
}

/// `libemv_kernel_ffi.a` with feature `simulated-cards`, built once.
fn static_library() -> &'static Path {
    static LIBRARY: OnceLock<PathBuf> = OnceLock::new();
    LIBRARY.get_or_init(|| {
        cargo_build(&["-p", "emv-kernel-ffi", "--features", "simulated-cards"]);
        let library = profile_dir().join("libemv_kernel_ffi.a");
        assert!(library.is_file(), "{} not built", library.display());
        library
    })
}

/// Compiles `examples/c/NAME.c` against the static library.
fn compile(name: &str, work: &Path, extra_cflags: &[String], extra_libs: &[String]) -> PathBuf {
    let program = work.join(name);
    run(Command::new("cc")
        .current_dir(root())
        .args([
            "-std=c11",
            "-D_DEFAULT_SOURCE",
            "-Wall",
            "-Wextra",
            "-Werror",
        ])
        .arg("-DEMV_SIMULATED_CARDS")
        .arg("-Iinclude")
        .args(extra_cflags)
        .arg(format!("examples/c/{name}.c"))
        .arg("-o")
        .arg(&program)
        .arg(static_library())
        .args(extra_libs)
        .args(NATIVE_LIBS));
    program
}

/// Checks an example's output: approved, a TC, the PAN masked.
fn assert_approved_with_tc(output: &Output) {
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "exit {}:\n{stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("decision: approved\n"), "{stdout}");
    assert!(stdout.contains("cryptogram: TC "), "{stdout}");
    assert!(stdout.contains("ODA: CDA, succeeded\n"), "{stdout}");
    let pan = stdout
        .lines()
        .find_map(|line| line.strip_prefix("PAN: "))
        .expect("a PAN line");
    assert!(pan.contains("******"), "the PAN is not masked: {pan}");
}

#[test]
fn purchase_c_is_approved_offline_with_a_tc() {
    let work = tempfile::tempdir().expect("temp dir");
    let program = compile("purchase", work.path(), &[], &[]);
    let output = Command::new(&program).output().expect("run purchase");
    assert_approved_with_tc(&output);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("card: simulated cda, amount 12.50"),
        "{stdout}"
    );
    assert!(stdout.contains("field 55: "), "{stdout}");
}

#[test]
fn purchase_c_links_against_the_shared_library_too() {
    static_library(); // the same build makes libemv_kernel_ffi.so
    let work = tempfile::tempdir().expect("temp dir");
    let program = work.path().join("purchase-shared");
    let lib_dir = profile_dir();
    run(Command::new("cc")
        .current_dir(root())
        .args([
            "-std=c11",
            "-D_DEFAULT_SOURCE",
            "-Wall",
            "-Wextra",
            "-Werror",
        ])
        .args([
            "-DEMV_SIMULATED_CARDS",
            "-Iinclude",
            "examples/c/purchase.c",
            "-o",
        ])
        .arg(&program)
        .arg(format!("-L{}", lib_dir.display()))
        .arg("-lemv_kernel_ffi"));
    let output = Command::new(&program)
        .env("LD_LIBRARY_PATH", &lib_dir)
        .output()
        .expect("run purchase-shared");
    assert_approved_with_tc(&output);
}

#[test]
fn purchase_c_reports_an_unknown_profile() {
    let work = tempfile::tempdir().expect("temp dir");
    let program = compile("purchase", work.path(), &[], &[]);
    let output = Command::new(&program)
        .arg("no-such-card")
        .output()
        .expect("run purchase");
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("no simulated card profile has this name"),
        "{stderr}"
    );
}

/// `emv-terminal card serve` as a child process, killed (by its own pid)
/// when dropped, also when the test fails.
struct Served(Child);

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn pkg_config(args: &[&str]) -> Vec<String> {
    let output = run(Command::new("pkg-config").args(args));
    String::from_utf8_lossy(&output.stdout)
        .split_whitespace()
        .map(str::to_owned)
        .collect()
}

#[test]
fn pcsc_purchase_c_is_approved_through_pcscd() {
    if std::env::var("EMV_PCSCD").as_deref() != Ok("1") {
        eprintln!("skipped: set EMV_PCSCD=1 (scripts/test.sh starts pcscd and sets it)");
        return;
    }
    let work = tempfile::tempdir().expect("temp dir");
    let cflags = pkg_config(&["--cflags", "libpcsclite"]);
    let libs = pkg_config(&["--libs", "libpcsclite"]);
    let program = compile("pcsc_purchase", work.path(), &cflags, &libs);

    let terminal = profile_dir().join("emv-terminal");
    if !terminal.is_file() {
        cargo_build(&["-p", "emv-terminal", "--bin", "emv-terminal"]);
    }
    let _served = Served(
        Command::new(&terminal)
            .args(["card", "serve", "--profile", "cda"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start emv-terminal card serve"),
    );
    // The program waits (10 s at most) for the card to appear in the reader.
    let output = Command::new(&program)
        .current_dir(root())
        .args(["Virtual PCD 00 00", "test-cards/keys/capk.txt"])
        .output()
        .expect("run pcsc_purchase");
    assert_approved_with_tc(&output);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("card: Virtual PCD 00 00"), "{stdout}");
}
