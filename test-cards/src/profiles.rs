//! The named test cards. Each drives a correct terminal down one path of
//! EMV Books 1-4; `expected` says what that terminal gets with the default
//! terminal configuration of `PROFILES.md` (terminal type 22, capabilities
//! E0F8C8, country 0250, currency 0978, floor limit 100.00, amount 10.00,
//! purchase, TAC-Denial 0010000000, TAC-Online DC4084F900, TAC-Default
//! DC4000A900, random selection off).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use crate::card::Card;
use crate::image::CardImage;
use crate::spec::{
    AppSpec, CardRisk, CardSpec, Faults, Hostile, Oda, T0_ATR, TEST_AID_CREDIT, TEST_AID_DEBIT,
    TEST_AID_PREPAID,
};

/// One documented card.
#[derive(Debug, Clone, Copy)]
pub struct Profile {
    /// Name used by `emv-terminal card serve --profile NAME` and tests.
    pub name: &'static str,
    /// The PAN (5A) of each application, in the order of [`CardSpec::apps`]: every
    /// profile has its own (`67999901 0000 NN A C`: profile number NN, application
    /// A, Luhn check digit C), so that a journal shared by several runs never
    /// changes one profile's split-sales check (Book 3, 10.6.1) through another's
    /// approvals.
    pub pans: &'static [&'static str],
    /// The path it exercises.
    pub exercises: &'static str,
    /// Outcome for a correct terminal with the default configuration.
    pub expected: &'static str,
    /// TVR after the first GENERATE AC for that terminal (hex), or `-` when no
    /// transaction starts. SDA cards have byte 1 b2 (`02`, SDA selected) set.
    pub tvr: &'static str,
    build: fn() -> CardSpec,
}

impl Profile {
    /// The card description, each application with its PAN from [`Profile::pans`].
    pub fn spec(&self) -> CardSpec {
        let mut spec = (self.build)();
        for (app, pan) in spec.apps.iter_mut().zip(self.pans) {
            app.pan = pan;
        }
        spec
    }

    /// The PAN of the first application (the one a terminal selects unless the
    /// profile says otherwise).
    pub fn pan(&self) -> &'static str {
        self.pans.first().copied().unwrap_or_default()
    }

    /// The personalised image, built once per process and shared.
    pub fn image(&self) -> Arc<CardImage> {
        static CACHE: OnceLock<Mutex<HashMap<&'static str, Arc<CardImage>>>> = OnceLock::new();
        let cache = CACHE.get_or_init(|| Mutex::new(HashMap::new()));
        if let Some(image) = cache.lock().ok().and_then(|c| c.get(self.name).cloned()) {
            return image;
        }
        let image = match CardImage::build(&self.spec()) {
            Ok(image) => Arc::new(image),
            // Profiles use committed keys of fitting sizes; failure is a fixture bug.
            Err(e) => panic!("profile {} does not personalise: {e}", self.name),
        };
        if let Ok(mut c) = cache.lock() {
            c.insert(self.name, Arc::clone(&image));
        }
        image
    }

    /// A fresh card of this profile (personalisation state).
    pub fn card(&self) -> Card {
        Card::new(self.image())
    }
}

/// The profile table of `PROFILES.md` (Markdown), generated from [`all`].
pub fn markdown_table() -> String {
    let mut out = String::from(
        "| Profile | PAN | Exercises | Expected with the default terminal | TVR |\n|---|---|---|---|---|\n",
    );
    for p in PROFILES {
        out.push_str(&format!(
            "| `{}` | {} | {} | {} | {} |\n",
            p.name,
            p.pans.join(", "),
            p.exercises,
            p.expected,
            p.tvr
        ));
    }
    out
}

/// Looks a profile up by name.
pub fn find(name: &str) -> Option<&'static Profile> {
    PROFILES.iter().find(|p| p.name == name)
}

/// All profiles, in the order of `PROFILES.md`.
pub fn all() -> &'static [Profile] {
    PROFILES
}

fn app(oda: Oda) -> AppSpec {
    match oda {
        Oda::None => AppSpec::default(),
        Oda::Sda => AppSpec {
            oda,
            ca_index: 0x01,
            ca_key: "ca-01",
            issuer_key: "issuer-1024",
            ..AppSpec::default()
        },
        Oda::Dda => AppSpec {
            oda,
            ca_index: 0x04,
            ca_key: "ca-04",
            issuer_key: "issuer-1408",
            icc_key: "icc-1024-f4",
            ..AppSpec::default()
        },
        Oda::Cda => AppSpec {
            oda,
            ca_index: 0x02,
            ca_key: "ca-02",
            issuer_key: "issuer-1152",
            icc_key: "icc-1024",
            ..AppSpec::default()
        },
        // EMV 4.4 XDA: ECC CA 10 (P-256). Its issuer puts "XDA signature
        // verification failed" (TVR byte 4 b1) in its IAC-Default and
        // IAC-Online, so that a failed XDA goes online as a failed CDA does
        // under the default TACs (which predate XDA).
        Oda::Xda => AppSpec {
            oda,
            ca_index: 0x10,
            iac_default: [0xDC, 0x40, 0x00, 0xA9, 0x00],
            iac_online: [0xDC, 0x40, 0x84, 0xF9, 0x00],
            ..AppSpec::default()
        },
    }
}

/// The XDA profiles' TVR at the XDA terminal (9F33 `E0F8CC`,
/// `docs/terminal.xda.toml`): "XDA selected" (byte 1 b1); at the default
/// terminal, which predates XDA: "ODA not performed".
const TVR_XDA: &str = "0100000000 (9F33 E0F8CC) / 8000000000 (E0F8C8)";
/// XDA failed at a certificate: "XDA selected" and "XDA signature
/// verification failed" (byte 4 b1).
const TVR_XDA_FAILED: &str = "0100000100 (9F33 E0F8CC) / 8000000000 (E0F8C8)";

fn one(app: AppSpec) -> CardSpec {
    CardSpec {
        apps: vec![app],
        ..CardSpec::default()
    }
}

fn cvm(rules: &[u8], x: u32) -> Vec<u8> {
    let mut list = x.to_be_bytes().to_vec();
    list.extend_from_slice(&[0, 0, 0, 0]);
    list.extend_from_slice(rules);
    list
}

fn hostile(kind: Hostile) -> CardSpec {
    let spec = one(AppSpec {
        hostile: Some(kind),
        ..app(Oda::None)
    });
    match kind {
        Hostile::T0Sequences | Hostile::EndlessGetResponse => CardSpec {
            atr: T0_ATR.to_vec(),
            ..spec
        },
        _ => spec,
    }
}

const TVR_CLEAN: &str = "0000000000";

static PROFILES: &[Profile] = &[
    Profile {
        name: "sda",
        pans: &["6799990100000110"],
        exercises: "SDA only (CA 01 and issuer key both 1024-bit, issuer key remainder), GPO format 1, signature CVM",
        expected: "SDA succeeds; TC requested and returned: approved offline",
        tvr: "0200000000",
        build: || one(AppSpec { gpo_format1: true, ..app(Oda::Sda) }),
    },
    Profile {
        name: "dda",
        pans: &["6799990100000219"],
        exercises: "DDA (CA 04, 1984-bit e=65537), INTERNAL AUTHENTICATE format 1",
        expected: "DDA succeeds; TC: approved offline",
        tvr: TVR_CLEAN,
        build: || one(AppSpec { response_format1: true, ..app(Oda::Dda) }),
    },
    Profile {
        name: "cda",
        pans: &["6799990100000318"],
        exercises: "CDA (CA 02, 1408-bit, ICC key remainder), signature in GENERATE AC",
        expected: "CDA succeeds on the TC: approved offline",
        tvr: TVR_CLEAN,
        build: || one(app(Oda::Cda)),
    },
    Profile {
        name: "no-oda",
        pans: &["6799990100000417"],
        exercises: "no ODA method in the AIP",
        expected: "ODA not performed matches TAC/IAC-Online: ARQC, online",
        tvr: "8000000000",
        build: || one(app(Oda::None)),
    },
    Profile {
        name: "multi-app-pse",
        pans: &["6799990100000516", "6799990100000524", "6799990100000532"],
        exercises: "PSE with three applications, priorities, cardholder confirmation on the first",
        expected: "candidates TEST DEBIT (prio 1, confirm), TEST CREDIT (2), TEST PREPAID (3); each SDA, TC offline",
        tvr: "0200000000",
        build: || CardSpec {
            apps: vec![
                AppSpec { priority: Some(0x02), ..app(Oda::Sda) },
                AppSpec {
                    aid: TEST_AID_DEBIT.to_vec(),
                    label: "TEST DEBIT",
                    priority: Some(0x81),
                    ..app(Oda::Sda)
                },
                AppSpec {
                    aid: TEST_AID_PREPAID.to_vec(),
                    label: "TEST PREPAID",
                    priority: Some(0x03),
                    ..app(Oda::Sda)
                },
            ],
            ppse: true,
            ..CardSpec::default()
        },
    },
    Profile {
        name: "no-pse",
        pans: &["6799990100000615", "6799990100000623"],
        exercises: "no PSE (6A82): list of AIDs, partial AID match, SELECT next occurrence",
        expected: "terminal AID A0000009991010 matches A000000999101001 and A000000999101002 (select next); TC",
        tvr: "0200000000",
        build: || CardSpec {
            pse: false,
            apps: vec![
                AppSpec { aid: [&TEST_AID_CREDIT[..], &[0x01]].concat(), ..app(Oda::Sda) },
                AppSpec {
                    aid: [&TEST_AID_CREDIT[..], &[0x02]].concat(),
                    label: "TEST CREDIT 2",
                    priority: Some(0x02),
                    ..app(Oda::Sda)
                },
            ],
            ..CardSpec::default()
        },
    },
    Profile {
        name: "pse-unsupported-aid",
        pans: &["6799990100000714", "6799990100000722"],
        exercises: "PSE listing an application the terminal does not support (A0000009994040, priority 1) before TEST CREDIT",
        expected: "only TEST CREDIT is a candidate; SDA, TC offline",
        tvr: "0200000000",
        build: || CardSpec {
            apps: vec![
                AppSpec {
                    aid: vec![0xA0, 0x00, 0x00, 0x09, 0x99, 0x40, 0x40],
                    label: "TEST LOYALTY",
                    priority: Some(0x01),
                    ..app(Oda::Sda)
                },
                AppSpec {
                    priority: Some(0x02),
                    ..app(Oda::Sda)
                },
            ],
            ..CardSpec::default()
        },
    },
    Profile {
        name: "app-blocked",
        pans: &["6799990100000813"],
        exercises: "blocked application: final SELECT answers 6283",
        expected: "application not added to the candidate list; no candidate: transaction not possible",
        tvr: "-",
        build: || one(AppSpec { blocked: true, ..app(Oda::Sda) }),
    },
    Profile {
        name: "card-blocked",
        pans: &["6799990100000912"],
        exercises: "blocked card: every SELECT answers 6A81",
        expected: "Book 1, 12.3.2: card blocked, terminate (no list-of-AIDs fallback)",
        tvr: "-",
        build: || CardSpec { blocked: true, ..one(app(Oda::Sda)) },
    },
    Profile {
        name: "expired",
        pans: &["6799990100001019"],
        exercises: "expired application (5F24 = 231231)",
        expected: "expired application matches TAC-Online: ARQC",
        tvr: "0240000000",
        build: || one(AppSpec { expiry: [0x23, 0x12, 0x31], ..app(Oda::Sda) }),
    },
    Profile {
        name: "not-yet-effective",
        pans: &["6799990100001118"],
        exercises: "application not yet effective (5F25 = 491201)",
        expected: "bit not in any action code: TC offline",
        tvr: "0220000000",
        build: || one(AppSpec { effective: [0x49, 0x12, 0x01], ..app(Oda::Sda) }),
    },
    Profile {
        name: "wrong-version",
        pans: &["6799990100001217"],
        exercises: "application version 0099 differs from the terminal's 0002",
        expected: "bit not in any action code: TC offline",
        tvr: "0280000000",
        build: || one(AppSpec { version: [0x00, 0x99], ..app(Oda::Sda) }),
    },
    Profile {
        name: "auc-domestic-only",
        pans: &["6799990100001316"],
        exercises: "AUC A980 (domestic only), issuer country 0840 vs terminal 0250",
        expected: "requested service not allowed matches TAC-Denial: AAC, declined offline",
        tvr: "0210000000",
        build: || {
            one(AppSpec { usage_control: [0xA9, 0x80], issuer_country: [0x08, 0x40], ..app(Oda::Sda) })
        },
    },
    Profile {
        name: "auc-no-cash",
        pans: &["6799990100001415"],
        exercises: "AUC 3D00: goods and services only, no cash, no cashback",
        expected: "purchase: TC offline; cash (9C 01): service not allowed, AAC",
        tvr: "0200000000 (purchase) / 0210000000 (cash)",
        build: || one(AppSpec { usage_control: [0x3D, 0x00], ..app(Oda::Sda) }),
    },
    Profile {
        name: "cvm-offline-pin",
        pans: &["6799990100001514"],
        exercises: "CVM list 0100: offline plaintext PIN (PIN 1234, 3 tries)",
        expected: "VERIFY 9000, CVM results 010002; TC offline",
        tvr: "0200000000",
        build: || one(AppSpec { cvm_list: cvm(&[0x01, 0x00], 0), ..app(Oda::Sda) }),
    },
    Profile {
        name: "cvm-enciphered-pin",
        pans: &["6799990100001613"],
        exercises: "CVM list 0400: offline enciphered PIN with a separate ICC PIN key (9F2D), DDA",
        expected: "GET CHALLENGE, VERIFY P2 88 9000, CVM results 040002; TC offline",
        tvr: TVR_CLEAN,
        build: || {
            one(AppSpec { cvm_list: cvm(&[0x04, 0x00], 0), pin_key: true, ..app(Oda::Dda) })
        },
    },
    Profile {
        name: "cvm-enciphered-pin-icc-key",
        pans: &["6799990100001712"],
        exercises: "CVM list 0400: offline enciphered PIN with the ICC key (no 9F2D), CDA",
        expected: "PIN enciphered with the ICC public key; VERIFY P2 88 9000, CVM results 040002; TC offline",
        tvr: TVR_CLEAN,
        build: || {
            one(AppSpec {
                cvm_list: cvm(&[0x04, 0x00], 0),
                ..app(Oda::Cda)
            })
        },
    },
    Profile {
        name: "cvm-online-pin",
        pans: &["6799990100001811"],
        exercises: "CVM list 0200: online enciphered PIN",
        expected: "online PIN entered matches TAC-Online: ARQC",
        tvr: "0200040000",
        build: || one(AppSpec { cvm_list: cvm(&[0x02, 0x00], 0), ..app(Oda::Sda) }),
    },
    Profile {
        name: "cvm-signature",
        pans: &["6799990100001910"],
        exercises: "CVM list 1E00: signature",
        expected: "CVM results 1E0000 (unknown); TC offline, receipt needs a signature",
        tvr: "0200000000",
        build: || one(AppSpec { cvm_list: cvm(&[0x1E, 0x00], 0), ..app(Oda::Sda) }),
    },
    Profile {
        name: "cvm-no-cvm",
        pans: &["6799990100002017"],
        exercises: "CVM list 1F00: no CVM required",
        expected: "CVM results 1F0002; TC offline",
        tvr: "0200000000",
        build: || one(AppSpec { cvm_list: cvm(&[0x1F, 0x00], 0), ..app(Oda::Sda) }),
    },
    Profile {
        name: "pin-try-limit-exceeded",
        pans: &["6799990100002116"],
        exercises: "offline PIN with PIN Try Counter 0 (GET DATA 9F17 = 00, VERIFY 6983)",
        expected: "PIN try limit exceeded and CVM not successful; 80 in TAC-Online byte 3: ARQC",
        tvr: "0200A00000",
        build: || {
            one(AppSpec { cvm_list: cvm(&[0x01, 0x00], 0), pin_try_counter: 0, ..app(Oda::Sda) })
        },
    },
    Profile {
        name: "cvm-amount-conditions",
        pans: &["6799990100002215"],
        exercises: "CVM list with X = 50.00: PIN (4107) or signature (1E07) over X, no CVM (1F06) under X",
        expected: "amount 10.00: CVM results 1F0602, TC; amount 75.00: offline PIN 1234, 410702, TC",
        tvr: "0200000000",
        build: || {
            one(AppSpec {
                cvm_list: cvm(&[0x41, 0x07, 0x1E, 0x07, 0x1F, 0x06], 5000),
                ..app(Oda::Sda)
            })
        },
    },
    Profile {
        name: "velocity-lcol",
        pans: &["6799990100002314"],
        exercises: "ATC 0021 after GPO, Last Online ATC 0018: 9 > LCOL 5, <= UCOL 10",
        expected: "LCOL exceeded matches TAC-Online: ARQC",
        tvr: "0200004000",
        build: || one(AppSpec { atc: 0x0020, last_online_atc: 0x0018, ..app(Oda::Sda) }),
    },
    Profile {
        name: "velocity-ucol",
        pans: &["6799990100002413"],
        exercises: "ATC 0031 after GPO, Last Online ATC 0018: 25 > UCOL 10",
        expected: "LCOL and UCOL exceeded: ARQC; unable to go online: TAC-Default byte 4 20 gives AAC",
        tvr: "0200006000",
        build: || one(AppSpec { atc: 0x0030, last_online_atc: 0x0018, ..app(Oda::Sda) }),
    },
    Profile {
        name: "new-card",
        pans: &["6799990100002512"],
        exercises: "Last Online ATC Register 0000 (never online), ATC 0002 after GPO",
        expected: "new card bit set, in no action code: TC offline",
        tvr: "0208000000",
        build: || one(AppSpec { atc: 0x0001, last_online_atc: 0x0000, ..app(Oda::Sda) }),
    },
    Profile {
        name: "sda-bad-ssad",
        pans: &["6799990100002611"],
        exercises: "SDA where a signed record was changed after signing (hash mismatch)",
        expected: "SDA failed matches TAC-Online: ARQC",
        tvr: "4200000000",
        build: || {
            one(AppSpec {
                faults: Faults { tamper_signed_record: true, ..Faults::default() },
                ..app(Oda::Sda)
            })
        },
    },
    Profile {
        name: "bad-issuer-cert",
        pans: &["6799990100002710"],
        exercises: "SDA with a corrupted issuer public key certificate (recovery fails)",
        expected: "SDA failed: ARQC",
        tvr: "4200000000",
        build: || {
            one(AppSpec {
                faults: Faults { corrupt_issuer_certificate: true, ..Faults::default() },
                ..app(Oda::Sda)
            })
        },
    },
    Profile {
        name: "expired-issuer-cert",
        pans: &["6799990100002819"],
        exercises: "SDA with an issuer certificate that expired 12/23",
        expected: "SDA failed: ARQC",
        tvr: "4200000000",
        build: || one(AppSpec { issuer_cert_expiry: [0x12, 0x23], ..app(Oda::Sda) }),
    },
    Profile {
        name: "revoked-issuer-cert",
        pans: &["6799990100002918"],
        exercises: "SDA with issuer certificate serial 123456 under CA A000000999/01, on the terminal's revocation list",
        expected: "SDA failed: ARQC",
        tvr: "4200000000",
        build: || one(AppSpec { issuer_cert_serial: [0x12, 0x34, 0x56], ..app(Oda::Sda) }),
    },
    Profile {
        name: "unknown-ca-index",
        pans: &["6799990100003015"],
        exercises: "DDA card naming CA index 07, which capk.txt does not have",
        expected: "DDA failed (no CA key): ARQC",
        tvr: "0800000000",
        build: || one(AppSpec { ca_index: 0x07, ..app(Oda::Dda) }),
    },
    Profile {
        name: "dda-bad-signature",
        pans: &["6799990100003114"],
        exercises: "DDA whose signature hashes other terminal data than the DDOL data sent",
        expected: "DDA failed: ARQC",
        tvr: "0800000000",
        build: || {
            one(AppSpec {
                faults: Faults { bad_dda_signature: true, ..Faults::default() },
                ..app(Oda::Dda)
            })
        },
    },
    Profile {
        name: "cda-bad-signature",
        pans: &["6799990100003213"],
        exercises: "CDA whose transaction data hash leaves out the PDOL data",
        expected: "CDA failed on the TC: the terminal declines (AAC)",
        tvr: "0400000000",
        build: || {
            one(AppSpec {
                faults: Faults { bad_cda_signature: true, ..Faults::default() },
                ..app(Oda::Cda)
            })
        },
    },
    Profile {
        name: "icc-cert-pan-mismatch",
        pans: &["6799990100003312"],
        exercises: "DDA with an ICC certificate for PAN 6799990200000010",
        expected: "DDA failed: ARQC",
        tvr: "0800000000",
        build: || {
            one(AppSpec {
                faults: Faults { icc_certificate_pan: Some("6799990200000010"), ..Faults::default() },
                ..app(Oda::Dda)
            })
        },
    },
    Profile {
        name: "card-declines",
        pans: &["6799990100003411"],
        exercises: "card risk management answers every GENERATE AC with an AAC",
        expected: "TC requested, AAC returned: declined offline",
        tvr: "0200000000",
        build: || {
            one(AppSpec { risk: CardRisk { always_decline: true, ..CardRisk::default() }, ..app(Oda::Sda) })
        },
    },
    Profile {
        name: "card-online",
        pans: &["6799990100003510"],
        exercises: "card risk management answers a TC request with an ARQC",
        expected: "TC requested, ARQC returned: online; second GENERATE AC TC after approval",
        tvr: "0200000000",
        build: || {
            one(AppSpec { risk: CardRisk { always_online: true, ..CardRisk::default() }, ..app(Oda::Sda) })
        },
    },
    Profile {
        name: "issuer-scripts",
        pans: &["6799990100003619"],
        exercises: "CDA card going online with issuer authentication (EXTERNAL AUTHENTICATE, ARPC method 1) and MACed scripts",
        expected: "ARQC; host ARPC verifies (9000); scripts 9000; second GENERATE AC TC; TSI issuer authentication and script processing performed",
        tvr: TVR_CLEAN,
        build: || {
            one(AppSpec {
                issuer_authentication: true,
                risk: CardRisk { always_online: true, ..CardRisk::default() },
                ..app(Oda::Cda)
            })
        },
    },
    Profile {
        name: "no-pdol-format1",
        pans: &["6799990100003718"],
        exercises: "no PDOL (GPO with 83 00), format 1 GPO and GENERATE AC responses, DDA",
        expected: "DDA succeeds; TC offline",
        tvr: TVR_CLEAN,
        build: || {
            one(AppSpec { pdol: Vec::new(), gpo_format1: true, response_format1: true, ..app(Oda::Dda) })
        },
    },
    Profile {
        name: "hostile-lying-length",
        pans: &["6799990100003817"],
        exercises: "record 2 claims 200 bytes with 17 present; its PAN claims 32 bytes",
        expected: "record is malformed: terminate the transaction (no panic, no over-read)",
        tvr: "-",
        build: || hostile(Hostile::LyingLength),
    },
    Profile {
        name: "hostile-truncated-record",
        pans: &["6799990100003916"],
        exercises: "record 1 cut 7 bytes short inside its last data object",
        expected: "record is malformed: terminate",
        tvr: "-",
        build: || hostile(Hostile::TruncatedRecord),
    },
    Profile {
        name: "hostile-recursive-template",
        pans: &["6799990100004013"],
        exercises: "record 2 nests 64 A5 templates",
        expected: "nesting beyond the kernel's depth limit: terminate, bounded recursion",
        tvr: "-",
        build: || hostile(Hostile::RecursiveTemplate),
    },
    Profile {
        name: "hostile-afl-loop",
        pans: &["6799990100004112"],
        exercises: "AFL repeating the same entry 60 times (240 bytes)",
        expected: "records read again bring duplicate data objects: terminate, no loop",
        tvr: "-",
        build: || hostile(Hostile::AflLoop),
    },
    Profile {
        name: "hostile-afl-200-records",
        pans: &["6799990100004211"],
        exercises: "AFL entry SFI 3 records 1-200, each a distinct 100-byte object (20 KB of card data)",
        expected: "the kernel's data store fills: terminate at its capacity, no overflow, no 200 reads",
        tvr: "-",
        build: || hostile(Hostile::Afl200Records),
    },
    Profile {
        name: "hostile-t0-sequences",
        pans: &["6799990100004310"],
        exercises: "T=0 answers: 61xx after every case 4 command, GET RESPONSE in 32-byte pieces, 6Cxx for wrong Le",
        expected: "transport resolves the sequences; transaction as no-oda (ARQC)",
        tvr: "8000000000",
        build: || hostile(Hostile::T0Sequences),
    },
    Profile {
        name: "hostile-endless-get-response",
        pans: &["6799990100004419"],
        exercises: "T=0 card whose GET RESPONSE always answers 61 10 with 16 more bytes",
        expected: "the transport gives up after a bounded number of exchanges: terminate",
        tvr: "-",
        build: || hostile(Hostile::EndlessGetResponse),
    },
    Profile {
        name: "hostile-oversized-response",
        pans: &["6799990100004518"],
        exercises: "READ RECORD answer of 300 data bytes (beyond a short response APDU)",
        expected: "transport error or rejected record: terminate",
        tvr: "-",
        build: || hostile(Hostile::OversizedResponse),
    },
    Profile {
        name: "xda",
        pans: &["6799990100006018"],
        exercises: "EMV 4.4 XDA on P-256: ECC CA 10, ECC issuer and ICC certificates, EC-SDSA signature on GENERATE AC",
        expected: "with 9F33 E0F8CC (docs/terminal.xda.toml): XDA succeeds on the TC, approved offline; default terminal: no ODA, ARQC",
        tvr: TVR_XDA,
        build: || one(app(Oda::Xda)),
    },
    Profile {
        name: "xda-p521",
        pans: &["6799990100006117"],
        exercises: "XDA on P-521 with SHA-512: ECC CA 11, issuer and ICC keys on P-521",
        expected: "with 9F33 E0F8CC (docs/terminal.xda.toml): XDA succeeds on the TC, approved offline; default terminal: no ODA, ARQC",
        tvr: TVR_XDA,
        build: || {
            one(AppSpec {
                ca_index: 0x11,
                ecc_curve: emv_kernel::crypto::EccCurve::P521,
                ..app(Oda::Xda)
            })
        },
    },
    Profile {
        name: "xda-bad-signature",
        pans: &["6799990100006216"],
        exercises: "XDA card whose GENERATE AC signature leaves out the PDOL data",
        expected: "with 9F33 E0F8CC (docs/terminal.xda.toml): dynamic_signature.signature, the TC is treated as an AAC: declined offline; default terminal: no ODA, ARQC",
        tvr: TVR_XDA,
        build: || {
            one(AppSpec {
                faults: Faults { bad_xda_signature: true, ..Faults::default() },
                ..app(Oda::Xda)
            })
        },
    },
    Profile {
        name: "xda-expired-issuer-cert",
        pans: &["6799990100006315"],
        exercises: "XDA with an Issuer ECC certificate that expired on 2024-12-31",
        expected: "with 9F33 E0F8CC (docs/terminal.xda.toml): issuer_certificate.expired, ARQC; default terminal: no ODA, ARQC",
        tvr: TVR_XDA_FAILED,
        build: || one(AppSpec { issuer_cert_expiry: [0x12, 0x24], ..app(Oda::Xda) }),
    },
    Profile {
        name: "xda-wrong-issuer-identifier",
        pans: &["6799990100006414"],
        exercises: "XDA with an Issuer Identifier (999999) that is not the PAN's first digits",
        expected: "with 9F33 E0F8CC (docs/terminal.xda.toml): issuer_certificate.issuer_identifier, ARQC; default terminal: no ODA, ARQC",
        tvr: TVR_XDA_FAILED,
        build: || {
            one(AppSpec {
                faults: Faults { issuer_identifier: Some("999999"), ..Faults::default() },
                ..app(Oda::Xda)
            })
        },
    },
    Profile {
        name: "xda-pan-mismatch",
        pans: &["6799990100006513"],
        exercises: "XDA whose ICC certificate's ICCD hash covers another PAN (6799990100006612) than the card's 5A",
        expected: "with 9F33 E0F8CC (docs/terminal.xda.toml): icc_certificate.iccd_hash, ARQC; default terminal: no ODA, ARQC",
        tvr: TVR_XDA_FAILED,
        build: || {
            one(AppSpec {
                faults: Faults { icc_certificate_pan: Some("6799990100006612"), ..Faults::default() },
                ..app(Oda::Xda)
            })
        },
    },
    Profile {
        name: "xda-unknown-ca-index",
        pans: &["6799990100006711"],
        exercises: "XDA card naming ECC CA index 1F, which capk.txt does not have",
        expected: "with 9F33 E0F8CC (docs/terminal.xda.toml): ca_key_not_found, ARQC; default terminal: no ODA, ARQC",
        tvr: TVR_XDA_FAILED,
        build: || one(AppSpec { ca_index: 0x1F, ..app(Oda::Xda) }),
    },
    Profile {
        name: "xda-revoked-issuer-cert",
        pans: &["6799990100006810"],
        exercises: "XDA with Issuer ECC certificate serial 654321 under CA A000000999/10, on the terminal's revocation list",
        expected: "with 9F33 E0F8CC (docs/terminal.xda.toml): issuer_certificate.revoked, ARQC; default terminal: no ODA, ARQC",
        tvr: TVR_XDA_FAILED,
        build: || one(AppSpec { issuer_cert_serial: [0x65, 0x43, 0x21], ..app(Oda::Xda) }),
    },
    Profile {
        name: "xda-tampered-record",
        pans: &["6799990100006919"],
        exercises: "XDA card whose signed record 1 was changed after the ICCD hash was made",
        expected: "with 9F33 E0F8CC (docs/terminal.xda.toml): icc_certificate.iccd_hash, ARQC; default terminal: no ODA, ARQC",
        tvr: TVR_XDA_FAILED,
        build: || {
            one(AppSpec {
                faults: Faults { tamper_signed_record: true, ..Faults::default() },
                ..app(Oda::Xda)
            })
        },
    },
    Profile {
        name: "xda-bad-suite",
        pans: &["6799990100007016"],
        exercises: "XDA with an Issuer ECC certificate naming suite 12 (EC-SDSA with SHA-3), which the terminal does not support",
        expected: "with 9F33 E0F8CC (docs/terminal.xda.toml): issuer_certificate.algorithm_suite, ARQC; default terminal: no ODA, ARQC",
        tvr: TVR_XDA_FAILED,
        build: || {
            one(AppSpec {
                faults: Faults { issuer_suite: Some(0x12), ..Faults::default() },
                ..app(Oda::Xda)
            })
        },
    },
    Profile {
        name: "xda-enciphered-pin",
        pans: &["6799990100007115"],
        exercises: "CVM list 0400 on an XDA card (P-256): ECC offline PIN encipherment with the ICC ECC PIN key (9F2D, suite 00), EMV 4.4 Book 2, 13",
        expected: "GET CHALLENGE, VERIFY P2 88 with 57 bytes (ephemeral x, enciphered PIN, MAC) 9000, CVM results 040002; with 9F33 E0F8CC: XDA succeeds, TC offline; default terminal: no ODA, ARQC",
        tvr: TVR_XDA,
        build: || {
            one(AppSpec { cvm_list: cvm(&[0x04, 0x00], 0), pin_key: true, ..app(Oda::Xda) })
        },
    },
    Profile {
        name: "xda-enciphered-pin-p521",
        pans: &["6799990100007214"],
        exercises: "ECC offline PIN encipherment on P-521 (9F2D, suite 01): VERIFY data of 91 bytes",
        expected: "GET CHALLENGE, VERIFY P2 88 9000, CVM results 040002; with 9F33 E0F8CC: XDA succeeds, TC offline; default terminal: no ODA, ARQC",
        tvr: TVR_XDA,
        build: || {
            one(AppSpec {
                cvm_list: cvm(&[0x04, 0x00], 0),
                pin_key: true,
                ca_index: 0x11,
                ecc_curve: emv_kernel::crypto::EccCurve::P521,
                ..app(Oda::Xda)
            })
        },
    },
    Profile {
        name: "xda-enciphered-pin-bad-certificate",
        pans: &["6799990100007313"],
        exercises: "XDA card whose ICC ECC PIN encipherment certificate (9F2D) fails its signature check",
        expected: "the PIN key cannot be recovered: enciphered PIN fails before the cardholder is asked, CVM results 040001, cardholder verification not successful; ARQC",
        tvr: "0100800000 (9F33 E0F8CC) / 8000800000 (E0F8C8)",
        build: || {
            one(AppSpec {
                cvm_list: cvm(&[0x04, 0x00], 0),
                pin_key: true,
                faults: Faults { corrupt_pin_certificate: true, ..Faults::default() },
                ..app(Oda::Xda)
            })
        },
    },
];
