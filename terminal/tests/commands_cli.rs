//! The commands `emv-terminal` offers: the reference acquirer is its own program
//! (`emv-acquirer`), and the simulated cards (`card`, `transact --card`, the host
//! simulator, the test CA keys) exist only with the default feature `simulated-cards`.

use std::path::PathBuf;
use std::process::{Command, Output};

fn terminal(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_emv-terminal"))
        .args(args)
        .output()
        .expect("run emv-terminal")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The command names of `emv-terminal --help`.
fn commands() -> Vec<String> {
    let out = terminal(&["--help"]);
    assert!(out.status.success(), "{out:?}");
    stdout(&out)
        .lines()
        .skip_while(|line| *line != "Commands:")
        .skip(1)
        .take_while(|line| !line.is_empty())
        .filter_map(|line| line.split_whitespace().next().map(str::to_owned))
        .collect()
}

fn corpus_trace(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("../tests/traces/{name}.trace"))
}

#[cfg(not(feature = "simulated-cards"))]
fn test_capk() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../test-cards/keys/capk.txt")
}

#[test]
fn the_acquirer_is_not_an_emv_terminal_command() {
    assert!(
        !commands().iter().any(|c| c == "acquirer"),
        "{:?}",
        commands()
    );
    let out = terminal(&["acquirer", "serve", "--db", "acq.db"]);
    assert_eq!(out.status.code(), Some(64), "{out:?}");
    assert!(
        stderr(&out).contains("unrecognized subcommand 'acquirer'"),
        "{}",
        stderr(&out)
    );
}

#[cfg(feature = "simulated-cards")]
#[test]
fn the_default_build_offers_the_simulated_cards() {
    assert_eq!(
        commands(),
        [
            "transact", "card", "decode", "readers", "journal", "sync", "replay", "trace",
            "generate", "help"
        ]
    );
    let help = stdout(&terminal(&["transact", "--help"]));
    for option in [
        "--card <PROFILE>",
        "--host <HOST>",
        "--issuer-script <HEADER:DATA>",
    ] {
        assert!(
            help.contains(option),
            "transact --help lacks {option}: {help}"
        );
    }
    let out = terminal(&["replay", corpus_trace("cda").to_str().expect("utf-8")]);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
}

#[cfg(not(feature = "simulated-cards"))]
#[test]
fn without_simulated_cards_there_is_a_reader_only() {
    assert_eq!(
        commands(),
        [
            "transact", "decode", "readers", "journal", "sync", "replay", "trace", "generate",
            "help"
        ]
    );
    let help = stdout(&terminal(&["transact", "--help"]));
    assert!(help.contains("--reader <NAME>"), "{help}");
    assert!(help.contains("[default: auto]"), "{help}");
    // The host file works with a reader card; the test issuer's simulator does not.
    assert!(help.contains("--host-file <FILE>"), "{help}");
    for option in ["--card", "--host <", "--issuer-script", "test CA keys ["] {
        assert!(
            !help.contains(option),
            "transact --help offers {option}: {help}"
        );
    }
    let out = terminal(&["card", "list"]);
    assert_eq!(out.status.code(), Some(64), "{out:?}");
    let out = terminal(&["transact", "--amount", "1.00", "--card", "cda"]);
    assert_eq!(out.status.code(), Some(64), "{out:?}");
    assert!(
        stderr(&out).contains("unexpected argument '--card'"),
        "{}",
        stderr(&out)
    );
    // No test CA keys to fall back on.
    let out = terminal(&["transact", "--amount", "1.00", "--no-journal"]);
    assert_eq!(out.status.code(), Some(64), "{out:?}");
    assert!(stderr(&out).contains("--capk <FILE>"), "{}", stderr(&out));
}

#[cfg(not(feature = "simulated-cards"))]
#[test]
fn without_the_test_keys_a_capk_builtin_trace_asks_for_the_key_file() {
    let trace = corpus_trace("cda");
    let out = terminal(&["replay", trace.to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let text = stdout(&out);
    assert!(text.contains("cannot replay"), "{text}");
    assert!(text.contains("`capk builtin`"), "{text}");
    assert!(text.contains("--capk FILE"), "{text}");
    assert!(text.contains("0 passed, 1 failed"), "{text}");
    let capk = test_capk();
    let out = terminal(&[
        "replay",
        "--capk",
        capk.to_str().expect("utf-8"),
        trace.to_str().expect("utf-8"),
    ]);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    assert!(
        stdout(&out).contains("1 passed, 0 failed"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn version_names_the_kernel() {
    let out = terminal(&["--version"]);
    assert!(out.status.success(), "{out:?}");
    let kernel = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../kernel/Cargo.toml"),
    )
    .expect("kernel manifest");
    let version = kernel
        .lines()
        .find_map(|l| l.strip_prefix("version = \""))
        .and_then(|v| v.split('"').next())
        .expect("kernel version");
    // ICS row 100: the kernel build's checksum, as the kernel crate computed it.
    assert_eq!(
        stdout(&out).trim(),
        format!(
            "emv-terminal {} (emv-kernel {version}, checksum {})",
            env!("CARGO_PKG_VERSION"),
            &emv_kernel::identity::CHECKSUM[..16]
        )
    );
}

#[test]
fn completions_and_man_pages_are_generated_from_the_options() {
    for (shell, marker) in [
        ("bash", "complete -F"),
        ("zsh", "#compdef emv-terminal"),
        ("fish", "complete -c emv-terminal"),
    ] {
        let out = terminal(&["generate", "completions", shell]);
        assert!(out.status.success(), "{shell}: {out:?}");
        let script = stdout(&out);
        assert!(script.contains(marker), "{shell}: {script}");
        assert!(
            script.contains("pin-stdin"),
            "{shell} completes transact's options"
        );
    }
    let out = terminal(&["generate", "completions", "tcsh"]);
    assert_eq!(
        out.status.code(),
        Some(64),
        "an unknown shell is a usage error"
    );
    let dir = tempfile::tempdir().unwrap();
    let man = dir.path().join("man1");
    let out = terminal(&["generate", "man", man.to_str().unwrap()]);
    assert!(out.status.success(), "{out:?}");
    let main = std::fs::read_to_string(man.join("emv-terminal.1")).expect("emv-terminal.1");
    assert!(
        main.starts_with(".ie") || main.contains(".TH emv-terminal"),
        "{main}"
    );
    let transact =
        std::fs::read_to_string(man.join("emv-terminal-transact.1")).expect("transact page");
    assert!(transact.contains("pin\\-stdin"), "{transact}");
    assert!(
        transact.contains("usage error"),
        "the exit statuses are in the page"
    );
    assert!(man.join("emv-terminal-journal-list.1").exists());
}
