//! Recording: the transaction loop hands its card transport and crypto
//! provider to a [`Recorder`], tells it the cardholder's and the host's
//! answers, and at the end turns the log into a [`Trace`] (masked by
//! default) and writes it.
//!
//! PIN data is never kept: VERIFY command data is withheld as it passes, and
//! the crypto log (which sees the PIN block of an enciphered PIN) lives only
//! in memory and is wiped when the recorder is dropped.

use std::cell::RefCell;
use std::path::Path;
use std::rc::Rc;

use emv_kernel::crypto::{
    CryptoError, CryptoProvider, EccCurve, RingCrypto, SHA1_LEN, SHA256_LEN, SHA512_LEN,
};
use emv_kernel::oda::{CaKeyLookup, CaPublicKey};
use emv_kernel::online::HostResponse;
use emv_kernel::outcome::{Decision, Outcome};
use emv_kernel::tlv::{self, Tag};
use emv_kernel::transport::CardTransport;

use super::format::{
    self, CaKeyUse, CapkSource, ConfigSource, Event, Expected, HostAnswer, PinResult, Trace,
};
use super::mask::{self, CryptoCall};

#[derive(Default)]
struct Log {
    events: Vec<Event>,
    calls: Vec<CryptoCall>,
}

impl Drop for Log {
    fn drop(&mut self) {
        for call in &mut self.calls {
            call.wipe();
        }
    }
}

/// Collects one transaction's exchanges, answers and crypto calls.
#[derive(Clone, Default)]
pub struct Recorder {
    log: Rc<RefCell<Log>>,
}

/// A card transport that records every exchange through a [`Recorder`].
pub struct RecordingTransport<'t, T> {
    inner: &'t mut T,
    log: Rc<RefCell<Log>>,
}

/// A crypto provider that records SHA-1 and RSA calls (for masking only).
pub struct RecordingCrypto<C> {
    inner: C,
    log: Rc<RefCell<Log>>,
}

/// Whether a command is VERIFY (its data is a PIN block, never recorded).
pub fn is_verify(command: &[u8]) -> bool {
    command.get(1) == Some(&0x20)
}

impl<T: CardTransport> CardTransport for RecordingTransport<'_, T> {
    type Error = T::Error;

    fn transmit(&mut self, command: &[u8], response: &mut [u8]) -> Result<usize, Self::Error> {
        let event = if is_verify(command) && command.len() > 5 {
            Event::Command {
                apdu: command.get(..5).unwrap_or(command).to_vec(),
                withheld: true,
            }
        } else {
            Event::Command {
                apdu: command.to_vec(),
                withheld: false,
            }
        };
        self.log.borrow_mut().events.push(event);
        let result = self.inner.transmit(command, response);
        let answer = match &result {
            Ok(length) => Event::Response(response.get(..*length).unwrap_or(&[]).to_vec()),
            Err(_) => Event::TransportError,
        };
        self.log.borrow_mut().events.push(answer);
        result
    }
}

impl<C: CryptoProvider> CryptoProvider for RecordingCrypto<C> {
    fn sha1(&self, parts: &[&[u8]]) -> [u8; SHA1_LEN] {
        let output = self.inner.sha1(parts);
        self.log.borrow_mut().calls.push(CryptoCall::Sha1 {
            input: parts.concat(),
            output,
        });
        output
    }

    fn sha256(&self, parts: &[&[u8]]) -> [u8; SHA256_LEN] {
        let output = self.inner.sha256(parts);
        self.log.borrow_mut().calls.push(CryptoCall::Sha2 {
            input: parts.concat(),
            output: output.to_vec(),
        });
        output
    }

    fn sha512(&self, parts: &[&[u8]]) -> Result<[u8; SHA512_LEN], CryptoError> {
        let output = self.inner.sha512(parts)?;
        self.log.borrow_mut().calls.push(CryptoCall::Sha2 {
            input: parts.concat(),
            output: output.to_vec(),
        });
        Ok(output)
    }

    fn ec_sdsa_verify(
        &self,
        curve: EccCurve,
        public_key_x: &[u8],
        message: &[&[u8]],
        signature: &[u8],
    ) -> Result<bool, CryptoError> {
        let result = self
            .inner
            .ec_sdsa_verify(curve, public_key_x, message, signature);
        if let Ok(valid) = result {
            self.log.borrow_mut().calls.push(CryptoCall::EcSdsa {
                message: message.concat(),
                signature: signature.to_vec(),
                valid,
            });
        }
        result
    }

    fn ecc_check_point(&self, curve: EccCurve, x: &[u8]) -> Result<(), CryptoError> {
        self.inner.ecc_check_point(curve, x)
    }

    fn rsa_public(
        &self,
        modulus: &[u8],
        exponent: &[u8],
        input: &[u8],
        output: &mut [u8],
    ) -> Result<(), CryptoError> {
        let result = self.inner.rsa_public(modulus, exponent, input, output);
        if result.is_ok() {
            self.log.borrow_mut().calls.push(CryptoCall::Rsa {
                input: input.to_vec(),
                output: output.to_vec(),
            });
        }
        result
    }

    fn random(&self, out: &mut [u8]) -> Result<(), CryptoError> {
        self.inner.random(out)
    }

    /// Not recorded: its output goes only into VERIFY data, which traces never hold.
    fn ecc_ephemeral_agreement(
        &self,
        curve: EccCurve,
        peer_x: &[u8],
        ephemeral_x: &mut [u8],
        shared_x: &mut [u8],
    ) -> Result<(), CryptoError> {
        self.inner
            .ecc_ephemeral_agreement(curve, peer_x, ephemeral_x, shared_x)
    }

    fn aes128_encrypt_block(
        &self,
        key: &[u8; 16],
        block: &mut [u8; 16],
    ) -> Result<(), CryptoError> {
        self.inner.aes128_encrypt_block(key, block)
    }

    fn aes128_cmac(&self, key: &[u8; 16], parts: &[&[u8]]) -> Result<[u8; 16], CryptoError> {
        self.inner.aes128_cmac(key, parts)
    }
}

/// What the trace says about the terminal besides the exchanges.
#[derive(Clone, Debug)]
pub struct Header {
    /// `simulated card cda`, `reader ...`.
    pub source: String,
    /// The configuration as given.
    pub config: ConfigSource,
    /// The CA key file as given.
    pub capk: CapkSource,
}

impl Recorder {
    /// A recorder with an empty log.
    pub fn new() -> Self {
        Recorder::default()
    }

    /// Wraps the card transport.
    pub fn transport<'t, T: CardTransport>(&self, inner: &'t mut T) -> RecordingTransport<'t, T> {
        RecordingTransport {
            inner,
            log: Rc::clone(&self.log),
        }
    }

    /// Wraps the crypto provider given to the transaction.
    pub fn crypto<C: CryptoProvider>(&self, inner: C) -> RecordingCrypto<C> {
        RecordingCrypto {
            inner,
            log: Rc::clone(&self.log),
        }
    }

    /// The cardholder's application choice (0-based, `None` cancelled).
    pub fn application_chosen(&self, choice: Option<usize>) {
        self.log.borrow_mut().events.push(Event::Choose(choice));
    }

    /// The PIN entry result (never the digits).
    pub fn pin(&self, result: PinResult) {
        self.log.borrow_mut().events.push(Event::Pin(result));
    }

    /// The answer to the kernel's transaction log lookup (Book 3, 10.6.1).
    pub fn recent_amount(&self, amount: u64) {
        self.log
            .borrow_mut()
            .events
            .push(Event::RecentAmount(amount));
    }

    /// The attendant's voice referral after an issuer referral (Book 4, 6.5.2).
    pub fn referral(&self, approved: bool) {
        self.log.borrow_mut().events.push(Event::Referral(approved));
    }

    /// The authorisation request and the host's answer to it.
    pub fn online(&self, icc_data: &[u8], answer: &HostResponse<'_>) {
        let host = if answer.reachable {
            HostAnswer::Answered {
                approved: answer.approved,
                authorisation_response_code: answer.authorisation_response_code,
                issuer_authentication_data: answer.issuer_authentication_data.map(<[u8]>::to_vec),
                scripts: answer.scripts.to_vec(),
            }
        } else {
            HostAnswer::Unreachable
        };
        let mut log = self.log.borrow_mut();
        log.events.push(Event::Online(icc_data.to_vec()));
        log.events.push(Event::Host(host));
    }

    /// The trace of the transaction so far with `outcome` expected, masked
    /// when `masked`. `ca_keys` gives the checksum of the CA key used.
    pub fn finish(
        &self,
        header: Header,
        inputs: emv_kernel::config::TransactionInputs,
        outcome: &Outcome,
        ca_keys: &[CaPublicKey],
        masked: bool,
    ) -> Trace {
        let log = self.log.borrow();
        let mut trace = Trace::new(inputs);
        trace.source = Some(header.source);
        trace.config = header.config;
        trace.capk = header.capk;
        trace.events = log.events.clone();
        trace.expected = expected_from(outcome);
        trace.ca_keys = ca_key_used(&trace, outcome, ca_keys);
        drop(log);
        if masked {
            self.mask(&mut trace);
        }
        trace
    }

    /// Masks `trace` with the crypto calls this recorder saw (from the live
    /// transaction, or from a replay of the unmasked trace).
    pub fn mask(&self, trace: &mut Trace) {
        let log = self.log.borrow();
        let responses: Vec<&[u8]> = trace.responses().collect();
        let crypto = RingCrypto::new();
        let masking = mask::plan(
            &responses,
            &log.calls,
            |data| crypto.sha1(&[data]),
            |data| crypto.sha256(&[data]),
        );
        drop(responses);
        apply_masking(trace, &masking);
    }
}

/// Applies a masking plan to every recorded byte of `trace`.
pub fn apply_masking(trace: &mut Trace, masking: &mask::Masking) {
    let subs = &masking.substitutions;
    for event in &mut trace.events {
        match event {
            Event::Command { apdu, .. } => *apdu = subs.apply(apdu),
            Event::Response(bytes) | Event::Online(bytes) => *bytes = subs.apply(bytes),
            _ => {}
        }
    }
    if let ConfigSource::Inline(text) = &trace.config {
        let masked = subs.apply(text.as_bytes());
        trace.config = ConfigSource::Inline(String::from_utf8_lossy(&masked).into_owned());
    }
    let fields = std::mem::take(&mut trace.expected.0);
    trace.expected.0 = fields
        .into_iter()
        .map(|(name, value)| {
            let value = match parse_hex_field(&value) {
                Some(bytes) if name == "clearing-data" => format::hex_upper(&subs.apply(&bytes)),
                _ => value,
            };
            (name, value)
        })
        .collect();
    trace.stand_ins = masking.stand_ins.clone();
    trace.masked = true;
}

fn parse_hex_field(value: &str) -> Option<Vec<u8>> {
    format::parse_hex(value)
}

/// The CA key the card referred to (RID of the selected AID, index 8F), if
/// the terminal holds it.
fn ca_key_used(trace: &Trace, outcome: &Outcome, ca_keys: &[CaPublicKey]) -> Vec<CaKeyUse> {
    let Some(rid) = outcome
        .aid
        .get(..5)
        .and_then(|r| <[u8; 5]>::try_from(r).ok())
    else {
        return Vec::new();
    };
    let index = trace.responses().find_map(|response| {
        let data = response
            .get(..response.len().saturating_sub(2))
            .unwrap_or(&[]);
        tlv::find(data, Tag(0x8F)).and_then(|v| v.first().copied())
    });
    let crypto = RingCrypto::new();
    index
        .and_then(|index| ca_keys.find_key(&rid, index))
        .map(|key| CaKeyUse {
            rid: key.rid,
            index: key.index,
            checksum: key.checksum(&crypto),
        })
        .into_iter()
        .collect()
}

/// The outcome fields a trace expects, as text.
pub fn expected_from(outcome: &Outcome) -> Expected {
    let hex_or_none =
        |bytes: Option<&[u8]>| bytes.map_or_else(|| "none".to_owned(), format::hex_upper);
    let decision = match outcome.decision {
        Decision::Approved => "approved".to_owned(),
        Decision::Declined => "declined".to_owned(),
        Decision::Terminated(reason) => format!("terminated {reason:?}"),
    };
    let cryptogram_type = match outcome.cryptogram_type {
        Some(emv_kernel::outcome::CryptogramType::Tc) => "tc",
        Some(emv_kernel::outcome::CryptogramType::Arqc) => "arqc",
        Some(emv_kernel::outcome::CryptogramType::Aac) => "aac",
        None => "none",
    };
    let oda = format!("{:?} {:?}", outcome.oda_method, outcome.oda_result).to_lowercase();
    let fields = [
        ("outcome", decision),
        (
            "online",
            if outcome.online { "yes" } else { "no" }.to_owned(),
        ),
        (
            "arc",
            outcome
                .authorisation_response_code
                .map_or_else(|| "none".to_owned(), format::arc_text),
        ),
        ("cryptogram-type", cryptogram_type.to_owned()),
        (
            "cryptogram",
            hex_or_none(outcome.cryptogram.as_ref().map(|c| &c[..])),
        ),
        ("atc", hex_or_none(outcome.atc.as_ref().map(|c| &c[..]))),
        ("tvr", format::hex_upper(&outcome.tvr.0)),
        ("tsi", format::hex_upper(&outcome.tsi.0)),
        (
            "cvm-results",
            format::hex_upper(outcome.cvm_results.as_ref()),
        ),
        ("oda", oda),
        (
            "oda-failure",
            outcome
                .oda_failure
                .map_or_else(|| "none".to_owned(), |f| format!("{f:?}")),
        ),
        ("aid", hex_or_none(Some(&outcome.aid))),
        (
            "masked-pan",
            String::from_utf8_lossy(&outcome.masked_pan).into_owned(),
        ),
        ("script-results", hex_or_none(Some(&outcome.script_results))),
        ("clearing-data", hex_or_none(Some(&outcome.clearing_data))),
    ];
    Expected(
        fields
            .into_iter()
            .map(|(name, value)| {
                (
                    name.to_owned(),
                    if value.is_empty() {
                        "none".to_owned()
                    } else {
                        value
                    },
                )
            })
            .collect(),
    )
}

/// Writes `trace` to `path` (created or replaced).
pub fn save(trace: &Trace, path: &Path) -> std::io::Result<()> {
    std::fs::write(path, format::write(trace))
}
