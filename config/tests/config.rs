//! The terminal configuration file: every documented key read into the
//! kernel configuration, defaults kept for missing keys, and invalid values
//! rejected with the key named.

use emv_config::{ConfigError, Settings, TEST_REVOKED_CERTIFICATE, TEST_REVOKED_ECC_CERTIFICATE};
use emv_kernel::config::{TerminalConfig, TEST_AID_CREDIT};
use emv_kernel::oda::revocation::RevokedCertificate;

const EXAMPLE: &str = include_str!("../../docs/terminal.example.toml");

fn rejected(text: &str) -> (String, String) {
    match Settings::from_toml(text) {
        Ok(settings) => panic!("accepted: {text}\n{settings:?}"),
        Err(error) => (error.key().unwrap_or("").to_owned(), error.to_string()),
    }
}

#[test]
fn no_file_means_the_test_card_terminal() {
    let settings = Settings::default();
    assert_eq!(settings.terminal, TerminalConfig::default());
    assert_eq!(settings.currency_code, [0x09, 0x78]);
    assert_eq!(settings.currency_exponent, 2);
    assert_eq!(
        settings.revoked,
        vec![TEST_REVOKED_CERTIFICATE, TEST_REVOKED_ECC_CERTIFICATE]
    );
    assert!(settings.exception_file.is_empty());
    assert!(!settings.offline_limits.any());
    assert_eq!(Settings::from_toml("").unwrap(), settings);
}

#[test]
fn example_file_loads_and_sets_every_key() {
    let settings = Settings::from_toml(EXAMPLE).expect("docs/terminal.example.toml loads");
    let terminal = &settings.terminal;
    assert_eq!(terminal.terminal_type, 0x22);
    assert_eq!(terminal.terminal_capabilities, [0xE0, 0xF8, 0xC8]);
    assert_eq!(
        terminal.additional_terminal_capabilities,
        [0xF0, 0x00, 0xF0, 0xA0, 0x01]
    );
    assert_eq!(terminal.terminal_country_code, [0x02, 0x50]);
    assert_eq!(settings.currency_code, [0x09, 0x78]);
    assert_eq!(settings.currency_exponent, 2);
    assert!(terminal.online_capable);
    assert_eq!(terminal.merchant_category_code, [0x59, 0x99]);
    assert_eq!(
        terminal.merchant_name_and_location.as_slice(),
        b"EMV TEST SHOP PARIS"
    );
    assert_eq!(&terminal.terminal_identification, b"TERM0042");
    assert_eq!(terminal.applications.len(), 3);
    let credit = &terminal.applications[0];
    assert_eq!(credit.aid.as_slice(), &TEST_AID_CREDIT);
    assert!(credit.partial_selection);
    assert_eq!(credit.application_version, [0x00, 0x02]);
    assert_eq!(credit.floor_limit, 10_000);
    assert_eq!(credit.random_selection_threshold, 5_000);
    assert_eq!(credit.random_selection_target_percentage, 20);
    assert_eq!(credit.random_selection_max_target_percentage, 50);
    assert_eq!(
        credit.terminal_action_code_denial,
        [0x00, 0x10, 0x00, 0x00, 0x00]
    );
    assert_eq!(
        credit.terminal_action_code_online,
        [0xDC, 0x40, 0x84, 0xF9, 0x00]
    );
    assert_eq!(
        credit.terminal_action_code_default,
        [0xDC, 0x40, 0x00, 0xA9, 0x00]
    );
    assert_eq!(credit.default_ddol.as_slice(), &[0x9F, 0x37, 0x04]);
    assert_eq!(
        credit.default_tdol.as_slice(),
        &[0x9F, 0x02, 0x06, 0x5F, 0x2A, 0x02, 0x9A, 0x03]
    );
    assert_eq!(
        settings.revoked,
        vec![
            TEST_REVOKED_CERTIFICATE,
            RevokedCertificate {
                rid: [0xA0, 0x00, 0x00, 0x09, 0x99],
                ca_index: 0x02,
                serial_number: [0x00, 0x00, 0x01],
            }
        ]
    );
    assert_eq!(
        settings.exception_file,
        vec![vec![0x67, 0x99, 0x99, 0x09, 0x99, 0x99, 0x99, 0x99]]
    );
    assert_eq!(settings.offline_limits.max_offline_approvals, Some(50));
    assert_eq!(settings.offline_limits.max_offline_amount, Some(250_000));
    assert_eq!(settings.offline_limits.max_unsynced_age_secs, Some(86_400));
}

#[test]
fn missing_keys_keep_defaults_and_applications_replace_the_list() {
    let settings = Settings::from_toml(
        r#"
        [terminal]
        country_code = "0826"

        [[application]]
        aid = "A0000000031010"
        floor_limit = 0
        "#,
    )
    .unwrap();
    let defaults = TerminalConfig::default();
    assert_eq!(settings.terminal.terminal_country_code, [0x08, 0x26]);
    assert_eq!(
        settings.terminal.terminal_capabilities,
        defaults.terminal_capabilities
    );
    assert_eq!(settings.terminal.applications.len(), 1);
    let visa = &settings.terminal.applications[0];
    assert_eq!(visa.floor_limit, 0);
    assert_eq!(
        visa.terminal_action_code_online,
        defaults.applications[0].terminal_action_code_online
    );
}

#[test]
fn short_ids_are_padded_with_spaces() {
    let settings = Settings::from_toml(
        "[terminal]\nterminal_id = \"T1\"\nmerchant_identifier = \"SHOP 9\"\nacquirer_identifier = \"123456\"",
    )
    .unwrap();
    assert_eq!(&settings.terminal.terminal_identification, b"T1      ");
    assert_eq!(&settings.terminal.merchant_identifier, b"SHOP 9         ");
    assert_eq!(
        settings.terminal.acquirer_identifier,
        [0x00, 0x00, 0x00, 0x12, 0x34, 0x56]
    );
}

#[test]
fn invalid_values_name_their_key() {
    let cases: &[(&str, &str, &str)] = &[
        ("[terminal]\ncapabilities = \"E0F8\"", "terminal.capabilities", "6 hex digits"),
        ("[terminal]\ncapabilities = \"E0F8ZZ\"", "terminal.capabilities", "not hexadecimal"),
        ("[terminal]\ncapabilities = 0xE0F8C8", "terminal.capabilities", "found integer"),
        ("[terminal]\nterminal_type = \"27\"", "terminal.terminal_type", "terminal type"),
        ("[terminal]\ncountry_code = \"250\"", "terminal.country_code", "4 decimal digits"),
        ("[terminal]\ncurrency_code = \"9780\"", "terminal.currency_code", "leading 0"),
        ("[terminal]\ncurrency_exponent = 7", "terminal.currency_exponent", "outside 0 to 4"),
        ("[terminal]\nonline_capable = \"yes\"", "terminal.online_capable", "true or false"),
        (
            "[terminal]\nterminal_type = \"23\"\nonline_capable = true",
            "terminal.online_capable",
            "offline only",
        ),
        ("[terminal]\nterminal_id = \"TERMINAL9\"", "terminal.terminal_id", "1 to 8"),
        ("[terminal]\nmerchant_name = \"\"", "terminal.merchant_name", "1 to 40"),
        ("[terminal]\ncolour = \"blue\"", "terminal.colour", "unknown key"),
        ("[terminals]\nterminal_type = \"22\"", "terminals", "unknown key"),
        ("[[application]]\nfloor_limit = 5", "application[1].aid", "missing"),
        ("[[application]]\naid = \"A000\"", "application[1].aid", "10 to 32 hex digits"),
        (
            "[[application]]\naid = \"A0000009991010\"\n[[application]]\naid = \"A0000009991010\"",
            "application[2].aid",
            "listed twice",
        ),
        (
            "[[application]]\naid = \"A0000009991010\"\ntac_online = \"DC4084F8\"",
            "application[1].tac_online",
            "10 hex digits, found 8",
        ),
        (
            "[[application]]\naid = \"A0000009991010\"\nfloor_limit = -1",
            "application[1].floor_limit",
            "outside",
        ),
        (
            "[[application]]\naid = \"A0000009991010\"\nfloor_limit = \"100.00\"",
            "application[1].floor_limit",
            "expected an integer",
        ),
        (
            "[[application]]\naid = \"A0000009991010\"\nmax_target_percentage = 100",
            "application[1].max_target_percentage",
            "outside 0 to 99",
        ),
        (
            "[[application]]\naid = \"A0000009991010\"\ntarget_percentage = 60\nmax_target_percentage = 50",
            "application[1].target_percentage",
            "above max_target_percentage",
        ),
        (
            "[[application]]\naid = \"A0000009991010\"\ndefault_ddol = \"9F37\"",
            "application[1].default_ddol",
            "not a data object list",
        ),
        (
            "[[application]]\naid = \"A0000009991010\"\nthreshhold = 5",
            "application[1].threshhold",
            "unknown key",
        ),
        ("[[revoked]]\nrid = \"A000000999\"\nindex = \"01\"", "revoked[1].serial", "missing"),
        (
            "[[revoked]]\nrid = \"A000000999\"\nindex = 1\nserial = \"123456\"",
            "revoked[1].index",
            "hex",
        ),
        ("exception_file = [\"6799 9901\"]", "exception_file[1]", "not a PAN"),
        ("exception_file = [6799990100000011]", "exception_file[1]", "as a string"),
        ("[offline_limits]\nmax_offline_approvals = -3", "offline_limits.max_offline_approvals", "outside"),
        ("[offline_limits]\nmax_offline_count = 3", "offline_limits.max_offline_count", "unknown key"),
    ];
    for (text, key, words) in cases {
        let (named, message) = rejected(text);
        assert_eq!(&named, key, "{text}: {message}");
        assert!(
            message.contains(key),
            "{text}: message {message:?} names {key}"
        );
        assert!(
            message.contains(words),
            "{text}: message {message:?} says {words:?}"
        );
    }
}

#[test]
fn toml_syntax_errors_give_the_line() {
    let error = Settings::from_toml("[terminal]\ncapabilities = \"E0F8C8\nx = 1\n").unwrap_err();
    assert!(
        matches!(error, ConfigError::Syntax { line: Some(2), .. }),
        "{error}"
    );
}

#[test]
fn load_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("terminal.toml");
    std::fs::write(&path, "[terminal]\ncapabilities = \"XYZ\"\n").unwrap();
    let message = Settings::load(&path).unwrap_err().to_string();
    assert!(
        message.starts_with(&path.display().to_string()),
        "{message}"
    );
    assert!(message.contains("terminal.capabilities"), "{message}");
    let missing = Settings::load(&dir.path().join("absent.toml")).unwrap_err();
    assert!(matches!(missing, ConfigError::Io { .. }));
}
