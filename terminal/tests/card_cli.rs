//! `emv-terminal card list` and `card serve` argument handling (serving
//! itself is tested against a real pcscd in `tests/tests/vpcd_card.rs`).

use std::process::Command;

fn terminal(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_emv-terminal"))
        .args(args)
        .output()
        .expect("run emv-terminal")
}

#[test]
fn card_list_prints_one_line_per_profile() {
    let out = terminal(&["card", "list"]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), emv_test_cards::profiles::all().len());
    for (line, profile) in lines.iter().zip(emv_test_cards::profiles::all()) {
        assert!(line.starts_with(profile.name), "{line}");
        assert!(line.contains(profile.exercises), "{line}");
    }
}

#[test]
fn card_list_markdown_is_the_profiles_md_table() {
    let out = terminal(&["card", "list", "--markdown"]);
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        emv_test_cards::profiles::markdown_table()
    );
}

#[test]
fn card_serve_rejects_an_unknown_profile() {
    let out = terminal(&[
        "card",
        "serve",
        "--profile",
        "no-such-card",
        "--connect-timeout",
        "0",
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("no profile named \"no-such-card\""), "{err}");
}
