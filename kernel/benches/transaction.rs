//! Kernel time per transaction, in process, for SDA, DDA, CDA and online cards.
//!
//! The card is a replay of a recorded exchange with an `emv-test-cards`
//! profile (`benches/transcripts`), so the figure is the kernel's alone.
//! Each transaction is measured twice:
//! - `full`: with [`TestCrypto`] (RSA recoveries, SHA-1);
//! - `logic`: with the crypto results replayed from a recording of the same
//!   transaction, so crypto costs nothing and the time left is the kernel's
//!   own logic (parsing, DOLs, state machine).
//!
//! Crypto time per transaction = `full` - `logic`.
//!
//! For XDA (EMV 4.4, P-256) a third figure, `crypto-floor`, is the signature
//! work the transaction must do, measured in the same run: the EC-SDSA
//! verifications (issuer certificate, ICC certificate, GENERATE AC) and the
//! two point checks of certified keys, on the inputs the transaction gave
//! them. With ECC offline PIN encipherment (`xda-enciphered-pin`, EMV 4.4
//! Book 2, 13) the floor also holds the PIN key's certificate and point
//! check, the ephemeral Diffie-Hellman and the AES and CMAC calls.

#[path = "../tests/inputs/mod.rs"]
mod inputs;

use std::cell::{Cell, RefCell};

use criterion::{criterion_group, criterion_main, Criterion};
use emv_kernel::config::TerminalConfig;
use emv_kernel::crypto::{
    CryptoError, CryptoProvider, EccCurve, PortableCrypto, SHA1_LEN, SHA256_LEN, SHA512_LEN,
};
use emv_kernel::oda::capk::parse_capk_line;
use emv_kernel::oda::{CaKeyStore, RevocationList};
use emv_kernel::online::HostResponse;
use emv_kernel::outcome::Decision;
use emv_kernel::transaction::{PinEntry, PinKind, Request, TerminalContext, Transaction};
use inputs::TEST_INPUTS;

/// The default provider with a fixed random source (PIN padding in tests only).
type TestCrypto = PortableCrypto<fn(&mut [u8]) -> Result<(), CryptoError>>;

fn test_crypto() -> TestCrypto {
    PortableCrypto::new(|out: &mut [u8]| {
        out.fill(0xA5);
        Ok(())
    })
}

fn transcript(text: &str) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut pairs = Vec::new();
    let mut command = None;
    for line in text.lines() {
        if let Some(h) = line.strip_prefix("> ") {
            command = Some(hex::decode(h).unwrap());
        } else if let Some(h) = line.strip_prefix("< ") {
            pairs.push((command.take().unwrap(), hex::decode(h).unwrap()));
        }
    }
    pairs
}

/// Records every crypto result of a real provider.
struct Recording {
    inner: TestCrypto,
    log: RefCell<Vec<Vec<u8>>>,
    /// The elliptic-curve operations, with their inputs (the XDA floor).
    ecc: RefCell<Vec<EccCall>>,
}

/// One elliptic-curve operation of a transaction.
enum EccCall {
    Verify {
        curve: EccCurve,
        x: Vec<u8>,
        message: Vec<u8>,
        signature: Vec<u8>,
    },
    CheckPoint {
        curve: EccCurve,
        x: Vec<u8>,
    },
    /// ECC offline PIN encipherment's Diffie-Hellman (two scalar
    /// multiplications) and its AES and CMAC calls.
    Agreement {
        curve: EccCurve,
        peer_x: Vec<u8>,
    },
    Aes {
        key: [u8; 16],
        block: [u8; 16],
    },
    Cmac {
        key: [u8; 16],
        data: Vec<u8>,
    },
}

impl CryptoProvider for Recording {
    fn sha1(&self, parts: &[&[u8]]) -> [u8; SHA1_LEN] {
        let out = self.inner.sha1(parts);
        self.log.borrow_mut().push(out.to_vec());
        out
    }
    fn sha256(&self, parts: &[&[u8]]) -> [u8; SHA256_LEN] {
        let out = self.inner.sha256(parts);
        self.log.borrow_mut().push(out.to_vec());
        out
    }
    fn rsa_public(
        &self,
        modulus: &[u8],
        exponent: &[u8],
        input: &[u8],
        output: &mut [u8],
    ) -> Result<(), CryptoError> {
        self.inner.rsa_public(modulus, exponent, input, output)?;
        self.log.borrow_mut().push(output.to_vec());
        Ok(())
    }
    fn random(&self, out: &mut [u8]) -> Result<(), CryptoError> {
        self.inner.random(out)?;
        self.log.borrow_mut().push(out.to_vec());
        Ok(())
    }
    fn sha512(&self, parts: &[&[u8]]) -> Result<[u8; SHA512_LEN], CryptoError> {
        let out = self.inner.sha512(parts)?;
        self.log.borrow_mut().push(out.to_vec());
        Ok(out)
    }
    fn ec_sdsa_verify(
        &self,
        curve: EccCurve,
        public_key_x: &[u8],
        message: &[&[u8]],
        signature: &[u8],
    ) -> Result<bool, CryptoError> {
        let valid = self
            .inner
            .ec_sdsa_verify(curve, public_key_x, message, signature)?;
        self.log.borrow_mut().push(vec![u8::from(valid)]);
        self.ecc.borrow_mut().push(EccCall::Verify {
            curve,
            x: public_key_x.to_vec(),
            message: message.concat(),
            signature: signature.to_vec(),
        });
        Ok(valid)
    }
    fn ecc_check_point(&self, curve: EccCurve, x: &[u8]) -> Result<(), CryptoError> {
        self.inner.ecc_check_point(curve, x)?;
        self.ecc.borrow_mut().push(EccCall::CheckPoint {
            curve,
            x: x.to_vec(),
        });
        Ok(())
    }
    fn ecc_ephemeral_agreement(
        &self,
        curve: EccCurve,
        peer_x: &[u8],
        ephemeral_x: &mut [u8],
        shared_x: &mut [u8],
    ) -> Result<(), CryptoError> {
        self.inner
            .ecc_ephemeral_agreement(curve, peer_x, ephemeral_x, shared_x)?;
        self.log
            .borrow_mut()
            .push([&ephemeral_x[..], &shared_x[..]].concat());
        self.ecc.borrow_mut().push(EccCall::Agreement {
            curve,
            peer_x: peer_x.to_vec(),
        });
        Ok(())
    }
    fn aes128_encrypt_block(
        &self,
        key: &[u8; 16],
        block: &mut [u8; 16],
    ) -> Result<(), CryptoError> {
        let input = *block;
        self.inner.aes128_encrypt_block(key, block)?;
        self.log.borrow_mut().push(block.to_vec());
        self.ecc.borrow_mut().push(EccCall::Aes {
            key: *key,
            block: input,
        });
        Ok(())
    }
    fn aes128_cmac(&self, key: &[u8; 16], parts: &[&[u8]]) -> Result<[u8; 16], CryptoError> {
        let out = self.inner.aes128_cmac(key, parts)?;
        self.log.borrow_mut().push(out.to_vec());
        self.ecc.borrow_mut().push(EccCall::Cmac {
            key: *key,
            data: parts.concat(),
        });
        Ok(out)
    }
}

/// The transaction's elliptic-curve work alone, on its recorded inputs.
fn ecc_floor(crypto: &TestCrypto, calls: &[EccCall]) -> bool {
    calls.iter().all(|call| match call {
        EccCall::Verify {
            curve,
            x,
            message,
            signature,
        } => crypto.ec_sdsa_verify(*curve, x, &[message], signature) == Ok(true),
        EccCall::CheckPoint { curve, x } => crypto.ecc_check_point(*curve, x).is_ok(),
        EccCall::Agreement { curve, peer_x } => {
            let (mut ephemeral, mut shared) = ([0u8; 66], [0u8; 66]);
            let n = curve.field_len();
            crypto
                .ecc_ephemeral_agreement(*curve, peer_x, &mut ephemeral[..n], &mut shared[..n])
                .is_ok()
        }
        EccCall::Aes { key, block } => {
            let mut block = *block;
            crypto.aes128_encrypt_block(key, &mut block).is_ok()
        }
        EccCall::Cmac { key, data } => crypto.aes128_cmac(key, &[data]).is_ok(),
    })
}

/// Returns the recorded results in order, at no cost.
struct Replay<'a> {
    log: &'a [Vec<u8>],
    next: Cell<usize>,
}

impl Replay<'_> {
    fn take(&self) -> &[u8] {
        let i = self.next.get();
        self.next.set(i + 1);
        &self.log[i]
    }
}

impl CryptoProvider for Replay<'_> {
    fn sha1(&self, _parts: &[&[u8]]) -> [u8; SHA1_LEN] {
        self.take().try_into().unwrap()
    }
    fn sha256(&self, _parts: &[&[u8]]) -> [u8; SHA256_LEN] {
        self.take().try_into().unwrap()
    }
    fn rsa_public(
        &self,
        _m: &[u8],
        _e: &[u8],
        _input: &[u8],
        output: &mut [u8],
    ) -> Result<(), CryptoError> {
        output.copy_from_slice(self.take());
        Ok(())
    }
    fn random(&self, out: &mut [u8]) -> Result<(), CryptoError> {
        out.copy_from_slice(self.take());
        Ok(())
    }
    fn sha512(&self, _parts: &[&[u8]]) -> Result<[u8; SHA512_LEN], CryptoError> {
        Ok(self.take().try_into().unwrap())
    }
    fn ec_sdsa_verify(
        &self,
        _curve: EccCurve,
        _x: &[u8],
        _message: &[&[u8]],
        _signature: &[u8],
    ) -> Result<bool, CryptoError> {
        Ok(self.take() == [1])
    }
    fn ecc_check_point(&self, _curve: EccCurve, _x: &[u8]) -> Result<(), CryptoError> {
        Ok(())
    }
    fn ecc_ephemeral_agreement(
        &self,
        _curve: EccCurve,
        _peer_x: &[u8],
        ephemeral_x: &mut [u8],
        shared_x: &mut [u8],
    ) -> Result<(), CryptoError> {
        let (ephemeral, shared) = self.take().split_at(ephemeral_x.len());
        ephemeral_x.copy_from_slice(ephemeral);
        shared_x.copy_from_slice(shared);
        Ok(())
    }
    fn aes128_encrypt_block(
        &self,
        _key: &[u8; 16],
        block: &mut [u8; 16],
    ) -> Result<(), CryptoError> {
        block.copy_from_slice(self.take());
        Ok(())
    }
    fn aes128_cmac(&self, _key: &[u8; 16], _parts: &[&[u8]]) -> Result<[u8; 16], CryptoError> {
        Ok(self.take().try_into().unwrap())
    }
}

struct Setup {
    keys: CaKeyStore,
    revocations: RevocationList,
    config: TerminalConfig,
}

fn setup() -> Setup {
    let crypto = test_crypto();
    let mut keys = CaKeyStore::new();
    for line in include_str!("../../test-cards/keys/capk.txt").lines() {
        if let Some(key) = parse_capk_line(&crypto, line).unwrap() {
            keys.insert(key).unwrap();
        }
    }
    Setup {
        keys,
        revocations: RevocationList::new(),
        config: TerminalConfig::default(),
    }
}

/// One whole transaction against the replayed card.
fn transaction<C: CryptoProvider>(
    setup: &Setup,
    crypto: C,
    exchanges: &[(Vec<u8>, Vec<u8>)],
    issuer_data: &[u8],
) -> Decision {
    let context = TerminalContext {
        config: &setup.config,
        ca_keys: &setup.keys,
        revocations: &setup.revocations,
        exception_file: &[],
    };
    let mut transaction = Transaction::new(context, crypto, TEST_INPUTS).unwrap();
    let mut next = 0;
    loop {
        match transaction.request() {
            Request::Done(outcome) => return outcome.decision,
            Request::Transmit(_) => {
                let response = &exchanges[next].1;
                next += 1;
                transaction.on_response(response).unwrap();
            }
            Request::ChooseApplication { .. } => {
                transaction.on_application_chosen(Some(0)).unwrap()
            }
            Request::EnterPin {
                kind: PinKind::Online,
                ..
            } => transaction.on_pin(PinEntry::OnlineCaptured).unwrap(),
            Request::EnterPin { .. } => {
                transaction.on_pin(PinEntry::Digits(&[1, 2, 3, 4])).unwrap()
            }
            Request::RecentAmount { .. } => transaction.on_recent_amount(0).unwrap(),
            Request::IssuerReferral { .. } => transaction.on_referral(false).unwrap(),
            Request::GoOnline(_) => transaction
                .on_host(HostResponse {
                    reachable: true,
                    approved: true,
                    authorisation_response_code: *b"00",
                    issuer_authentication_data: Some(issuer_data),
                    scripts: &[],
                })
                .unwrap(),
        }
    }
}

fn bench(c: &mut Criterion) {
    let default_setup = self::setup();
    let cases = [
        ("sda", include_str!("transcripts/sda.txt")),
        ("dda", include_str!("transcripts/dda.txt")),
        ("cda", include_str!("transcripts/cda.txt")),
        (
            "online-cda-issuer-auth",
            include_str!("transcripts/issuer-scripts.txt"),
        ),
        ("online-no-oda", include_str!("transcripts/no-oda.txt")),
        ("xda", include_str!("transcripts/xda.txt")),
        (
            "xda-enciphered-pin",
            include_str!("transcripts/xda-enciphered-pin.txt"),
        ),
    ];
    // XDA needs a terminal that supports it (9F33 byte 3 b3).
    let mut xda_setup = self::setup();
    xda_setup.config.terminal_capabilities[2] |= emv_kernel::config::CAPABILITY_XDA;
    let mut group = c.benchmark_group("transaction");
    for (name, text) in cases {
        let setup = if name.starts_with("xda") {
            &xda_setup
        } else {
            &default_setup
        };
        let exchanges = transcript(text);
        let issuer_data: Vec<u8> = exchanges
            .iter()
            .find(|(c, _)| c.starts_with(&[0x00, 0x82]))
            .map(|(c, _)| c[5..].to_vec())
            .unwrap_or_default();
        let recording = Recording {
            inner: test_crypto(),
            log: RefCell::new(Vec::new()),
            ecc: RefCell::new(Vec::new()),
        };
        assert_eq!(
            transaction(setup, &recording, &exchanges, &issuer_data),
            Decision::Approved
        );
        let log = recording.log.into_inner();
        let ecc = recording.ecc.into_inner();
        group.bench_function(format!("{name}/full"), |b| {
            b.iter(|| transaction(setup, test_crypto(), &exchanges, &issuer_data))
        });
        if !ecc.is_empty() {
            let crypto = test_crypto();
            assert!(
                ecc_floor(&crypto, &ecc),
                "{name}: the recorded ECC work verifies"
            );
            group.bench_function(format!("{name}/crypto-floor"), |b| {
                b.iter(|| ecc_floor(&crypto, &ecc))
            });
        }
        group.bench_function(format!("{name}/logic"), |b| {
            b.iter(|| {
                transaction(
                    setup,
                    Replay {
                        log: &log,
                        next: Cell::new(0),
                    },
                    &exchanges,
                    &issuer_data,
                )
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
