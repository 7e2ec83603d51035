//! Book 4, 11.2 (standard messages) and 11.1 (language selection) on whole
//! transactions with the test-cards profiles: the messages the kernel emits
//! (`Transaction::next_message`), in order, at the moments the books name,
//! and the language it chose from the card's Language Preference (5F2D:
//! every test card asks for `enfr`).

use emv_kernel::config::TerminalConfig;
use emv_kernel::crypto::RingCrypto;
use emv_kernel::messages::{Language, Message};
use emv_kernel::oda::RevocationList;
use emv_kernel::online::HostResponse;
use emv_kernel::transaction::{PinEntry, Request, TerminalContext, Transaction};
use emv_kernel::transport::CardTransport;
use emv_test_cards::{pki, profiles, TEST_INPUTS};

/// Runs `profile`: PIN entries from `pins` in order, the host answering
/// with `arc` (unreachable when `None`), the referral declined. Returns the
/// messages in order and the language.
fn messages(
    profile: &str,
    config: &TerminalConfig,
    pins: &[&[u8]],
    arc: Option<[u8; 2]>,
) -> (Vec<Message>, Language) {
    let keys = pki::ca_key_store();
    let revocations = RevocationList::new();
    let context = TerminalContext {
        config,
        ca_keys: &keys,
        revocations: &revocations,
        exception_file: &[],
    };
    let mut card = profiles::find(profile).expect("profile").card();
    let mut t = Transaction::new(context, RingCrypto::new(), TEST_INPUTS).unwrap();
    let mut shown = Vec::new();
    let mut pins = pins.iter();
    for _ in 0..200 {
        while let Some(message) = t.next_message() {
            shown.push(message);
        }
        match t.request() {
            Request::Done(_) => {
                while let Some(message) = t.next_message() {
                    shown.push(message);
                }
                return (shown, t.language());
            }
            Request::Transmit(command) => {
                let mut response = [0u8; 300];
                let n = card.transmit(command, &mut response).unwrap();
                t.on_response(&response[..n]).unwrap();
            }
            Request::ChooseApplication { .. } => t.on_application_chosen(Some(0)).unwrap(),
            Request::EnterPin { .. } => {
                let pin = pins.next().expect("a PIN for every ask");
                t.on_pin(PinEntry::Digits(pin)).unwrap();
            }
            Request::RecentAmount { .. } => t.on_recent_amount(0).unwrap(),
            Request::GoOnline(_) => t
                .on_host(match arc {
                    Some(code) => HostResponse {
                        reachable: true,
                        approved: code == *b"00",
                        authorisation_response_code: code,
                        issuer_authentication_data: None,
                        scripts: &[],
                    },
                    None => HostResponse::UNREACHABLE,
                })
                .unwrap(),
            Request::IssuerReferral { .. } => t.on_referral(false).unwrap(),
        }
    }
    panic!("{profile}: no outcome");
}

/// Book 4, 11.2 with offline plaintext PIN (profile `cvm-offline-pin`, 3
/// tries): two wrong PINs, then the right one. ENTER PIN before each ask,
/// INCORRECT PIN after each wrong one, LAST PIN TRY before the last ask,
/// PIN OK once the card verified it, then APPROVED and REMOVE CARD.
#[test]
fn pin_messages_come_at_each_try() {
    let (shown, _) = messages(
        "cvm-offline-pin",
        &TerminalConfig::default(),
        &[b"0000", b"9999", b"1234"],
        None,
    );
    use Message::*;
    assert_eq!(
        shown,
        [
            EnterPin,
            IncorrectPin,
            EnterPin,
            IncorrectPin,
            LastPinTry,
            EnterPin,
            PinOk,
            Approved,
            RemoveCard
        ]
    );
}

/// Book 4, 11.2: PLEASE WAIT while the issuer is asked, CALL YOUR BANK on
/// a referral, DECLINED or APPROVED at the end; NOT ACCEPTED when no
/// application is accepted (profile `card-blocked`: the card is blocked).
#[test]
fn online_referral_and_termination_messages() {
    use Message::*;
    let config = TerminalConfig::default();
    let (shown, _) = messages("card-online", &config, &[], Some(*b"00"));
    assert_eq!(shown, [PleaseWait, Approved, RemoveCard]);
    let (shown, _) = messages("card-online", &config, &[], Some(*b"01"));
    assert_eq!(shown, [PleaseWait, CallYourBank, Declined, RemoveCard]);
    let (shown, _) = messages("card-blocked", &config, &[], None);
    assert_eq!(shown, [NotAccepted, RemoveCard]);
}

/// Book 1, 11.3.4 and Book 4, 11.1: the test cards prefer `en` then `fr`.
/// A terminal with French and German (German the merchant's) shows French;
/// one with German and Spanish has neither of the card's languages and
/// falls back to the merchant's, German; the texts follow.
#[test]
fn the_card_language_preference_picks_the_language() {
    let mut config = TerminalConfig::default();
    config.languages.clear();
    config
        .languages
        .extend([Language::GERMAN, Language::FRENCH]);
    let (shown, language) = messages("cda", &config, &[], None);
    assert_eq!(language, Language::FRENCH);
    assert_eq!(shown.first().map(|m| m.text(language)), Some("ACCEPTÉ"));

    config.languages.clear();
    config
        .languages
        .extend([Language::GERMAN, Language::SPANISH]);
    let (shown, language) = messages("cda", &config, &[], None);
    assert_eq!(language, Language::GERMAN);
    assert_eq!(shown.first().map(|m| m.text(language)), Some("GENEHMIGT"));

    let (_, language) = messages("cda", &TerminalConfig::default(), &[], None);
    assert_eq!(language, Language::ENGLISH);
}
