//! The README's "Running a transaction" commands run as written against the simulated
//! cards (the one for a real reader is skipped), in an empty home directory so none
//! of them finds or leaves a journal, and none is a usage error.

use std::path::PathBuf;
use std::process::{Command, Stdio};

/// The command lines of the first `sh` block after `## Running a transaction`.
fn readme_commands() -> Vec<Vec<String>> {
    let readme =
        std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../README.md"))
            .expect("README.md");
    let section = readme
        .split("## Running a transaction")
        .nth(1)
        .expect("the section");
    let block = section
        .split("```sh\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("an sh block");
    block
        .lines()
        .map(|line| line.split('#').next().unwrap_or_default().trim())
        .filter(|line| !line.is_empty())
        .map(|line| line.split_whitespace().map(str::to_owned).collect())
        .collect()
}

#[test]
fn the_readme_transaction_commands_run_as_written() {
    let home = tempfile::tempdir().unwrap();
    let commands = readme_commands();
    assert!(commands.len() >= 4, "{commands:?}");
    for words in commands {
        assert_eq!(words[0], "emv-terminal", "{words:?}");
        if words.iter().any(|w| w == "--reader") {
            continue; // needs a card in a PC/SC reader
        }
        let output = Command::new(env!("CARGO_BIN_EXE_emv-terminal"))
            .args(&words[1..])
            .stdin(Stdio::null())
            .env("HOME", home.path())
            .env("XDG_DATA_HOME", home.path().join("data"))
            .env("XDG_CONFIG_HOME", home.path().join("config"))
            .env_remove("EMV_JOURNAL_KEY_FILE")
            .output()
            .expect("run emv-terminal");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(0), "{words:?}: {stderr}");
    }
    let left: Vec<_> = std::fs::read_dir(home.path()).unwrap().collect();
    assert!(left.is_empty(), "files left in HOME: {left:?}");
}
