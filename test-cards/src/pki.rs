//! The test PKI: committed RSA keys, EMV certificates and signatures.
//!
//! Keys live in `test-cards/keys/*.key` (generated once by
//! `cargo run -p emv-test-cards --bin gen-test-pki -- --out test-cards/keys`
//! from a fixed seed) and are parsed once per process. Certificates and
//! signatures follow EMV Book 2 with ISO/IEC 9796-2 digital signature scheme 1
//! and SHA-1: the signed block is `6A || fields || hash || BC`, the signature
//! is the raw RSA private operation on that block.

use std::sync::OnceLock;

use rsa::traits::PublicKeyParts;
use rsa::{BigUint, RsaPrivateKey, RsaPublicKey};

/// The test Registered Application Provider Identifier of our test scheme.
/// `A0 00 00 09 99` is not assigned to any payment scheme we know of.
pub const TEST_RID: [u8; 5] = [0xA0, 0x00, 0x00, 0x09, 0x99];

/// Expiry (YYMMDD) written for every test CA key in `capk.txt`.
pub const CA_KEY_EXPIRY: &str = "491231";

/// One key pair of the test PKI.
#[derive(Debug)]
pub struct KeyPair {
    /// File stem, e.g. `ca-01`.
    pub name: &'static str,
    /// The private key with CRT values precomputed.
    pub private: RsaPrivateKey,
    /// Modulus, big-endian, exact length (bits / 8).
    pub modulus: Vec<u8>,
    /// Public exponent, big-endian minimal bytes (`03` or `01 00 01`).
    pub exponent: Vec<u8>,
}

impl KeyPair {
    /// Modulus length in bytes (N_CA, N_I, N_IC in Book 2).
    pub fn len(&self) -> usize {
        self.modulus.len()
    }

    /// Always false: a key has a modulus. Present for clippy's `len` rule.
    pub fn is_empty(&self) -> bool {
        self.modulus.is_empty()
    }

    /// The raw RSA private operation on a block exactly as long as the
    /// modulus (ISO/IEC 9796-2 signing, or decrypting an enciphered PIN).
    pub fn private_op(&self, block: &[u8]) -> Result<Vec<u8>, PkiError> {
        if block.len() != self.len() {
            return Err(PkiError::BlockLength);
        }
        let m = BigUint::from_bytes_be(block);
        let s = rsa::hazmat::rsa_decrypt::<rand_chacha::ChaCha20Rng>(None, &self.private, &m)
            .map_err(|_| PkiError::Rsa)?;
        Ok(left_pad(&s.to_bytes_be(), self.len()))
    }

    /// The raw RSA public operation (signature recovery, PIN encipherment).
    pub fn public_op(&self, block: &[u8]) -> Result<Vec<u8>, PkiError> {
        let public = RsaPublicKey::from(&self.private);
        if block.len() != self.len() {
            return Err(PkiError::BlockLength);
        }
        let m = BigUint::from_bytes_be(block);
        let c = rsa::hazmat::rsa_encrypt(&public, &m).map_err(|_| PkiError::Rsa)?;
        Ok(left_pad(&c.to_bytes_be(), public.size()))
    }

    /// Builds an ISO/IEC 9796-2 scheme 1 block (`6A || body || SHA-1 || BC`)
    /// where the hash covers `body || extra` and signs it.
    pub fn sign_9796(&self, body: &[u8], extra: &[u8]) -> Result<Vec<u8>, PkiError> {
        if body.len() + 22 != self.len() {
            return Err(PkiError::BlockLength);
        }
        let mut hashed = Vec::with_capacity(body.len() + extra.len());
        hashed.extend_from_slice(body);
        hashed.extend_from_slice(extra);
        let mut block = Vec::with_capacity(self.len());
        block.push(0x6A);
        block.extend_from_slice(body);
        block.extend_from_slice(&sha1(&hashed));
        block.push(0xBC);
        self.private_op(&block)
    }
}

fn left_pad(bytes: &[u8], len: usize) -> Vec<u8> {
    let mut out = vec![0u8; len.saturating_sub(bytes.len())];
    out.extend_from_slice(bytes);
    out
}

/// SHA-1 as EMV Book 2 uses it (hash algorithm indicator `01`).
pub fn sha1(data: &[u8]) -> [u8; 20] {
    let digest = ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, data);
    let mut out = [0u8; 20];
    out.copy_from_slice(digest.as_ref());
    out
}

/// What went wrong in a PKI operation (a test-fixture bug, never card input).
#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    /// A block to sign or decrypt is not exactly the modulus length.
    #[error("block length does not match the modulus")]
    BlockLength,
    /// The RSA primitive refused the input (value not below the modulus).
    #[error("RSA operation failed")]
    Rsa,
    /// A committed key file could not be parsed.
    #[error("key file {0}: {1}")]
    KeyFile(&'static str, &'static str),
    /// A public key does not fit in the certificate of its signer.
    #[error("key too long for its certificate")]
    KeyTooLong,
}

/// A test CA key as the terminal knows it (one line of `capk.txt`).
#[derive(Debug, Clone, Copy)]
pub struct CaKeySpec {
    /// CA Public Key Index (tag 8F on the card).
    pub index: u8,
    /// File stem under `keys/`.
    pub name: &'static str,
    /// Modulus length in bits.
    pub bits: usize,
    /// Public exponent (3 or 65537).
    pub exponent: u32,
}

/// The test CA keys: 1024 to 1984 bits, exponents 3 and 65537.
pub const CA_KEYS: [CaKeySpec; 4] = [
    CaKeySpec {
        index: 0x01,
        name: "ca-01",
        bits: 1024,
        exponent: 3,
    },
    CaKeySpec {
        index: 0x02,
        name: "ca-02",
        bits: 1408,
        exponent: 65537,
    },
    CaKeySpec {
        index: 0x03,
        name: "ca-03",
        bits: 1984,
        exponent: 3,
    },
    CaKeySpec {
        index: 0x04,
        name: "ca-04",
        bits: 1984,
        exponent: 65537,
    },
];

/// Issuer and ICC key files (name, bits, exponent).
pub const OTHER_KEYS: [(&str, usize, u32); 6] = [
    ("issuer-1024", 1024, 3),
    ("issuer-1152", 1152, 3),
    ("issuer-1408", 1408, 65537),
    ("icc-1024", 1024, 3),
    ("icc-1024-f4", 1024, 65537),
    ("icc-pin-1024", 1024, 3),
];

macro_rules! key_files {
    ($($name:literal),* $(,)?) => {
        &[$(($name, include_str!(concat!("../keys/", $name, ".key")))),*]
    };
}

/// The committed key files, compiled into the crate.
const KEY_FILES: &[(&str, &str)] = key_files!(
    "ca-01",
    "ca-02",
    "ca-03",
    "ca-04",
    "issuer-1024",
    "issuer-1152",
    "issuer-1408",
    "icc-1024",
    "icc-1024-f4",
    "icc-pin-1024",
);

/// The committed terminal CA key file in the capk.txt layout.
pub const CAPK_TXT: &str = include_str!("../keys/capk.txt");

/// The terminal side of the test PKI: the CA keys of [`CAPK_TXT`], every
/// check sum verified, in a kernel key store.
pub fn ca_key_store() -> emv_kernel::oda::CaKeyStore {
    let mut store = emv_kernel::oda::CaKeyStore::new();
    let crypto = emv_kernel::crypto::RingCrypto::new();
    if let Err(error) = store.load_capk_txt(&crypto, CAPK_TXT, None, |_| {}) {
        // ok: the committed file is checked by this crate's tests.
        panic!("test-cards/keys/capk.txt: {error}");
    }
    store
}

/// The issuer certificate the terminal must treat as revoked in the test
/// PKI: RID [`TEST_RID`], CA index `01`, serial `123456` (the profile
/// `revoked-issuer-cert` presents it).
pub const REVOKED_ISSUER_CERTIFICATE: emv_kernel::oda::revocation::RevokedCertificate =
    emv_kernel::oda::revocation::RevokedCertificate {
        rid: TEST_RID,
        ca_index: 0x01,
        serial_number: [0x12, 0x34, 0x56],
    };

/// The Issuer ECC certificate the terminal must treat as revoked (XDA):
/// RID [`TEST_RID`], ECC CA index `10`, serial `654321` (the profile
/// `xda-revoked-issuer-cert` presents it).
pub const REVOKED_ECC_ISSUER_CERTIFICATE: emv_kernel::oda::revocation::RevokedCertificate =
    emv_kernel::oda::revocation::RevokedCertificate {
        rid: TEST_RID,
        ca_index: 0x10,
        serial_number: [0x65, 0x43, 0x21],
    };

/// The terminal revocation list `PROFILES.md` assumes:
/// [`REVOKED_ISSUER_CERTIFICATE`] and [`REVOKED_ECC_ISSUER_CERTIFICATE`].
pub fn revocation_list() -> emv_kernel::oda::revocation::RevocationList {
    let mut list = emv_kernel::oda::revocation::RevocationList::new();
    for entry in [REVOKED_ISSUER_CERTIFICATE, REVOKED_ECC_ISSUER_CERTIFICATE] {
        if list.insert(entry).is_err() {
            // ok: two entries in an empty list of fixed capacity.
            unreachable!("an empty revocation list holds two entries");
        }
    }
    list
}

/// Parses one key file: `key: value` lines with hex values for n, e, d, p, q.
pub fn parse_key_file(name: &'static str, text: &str) -> Result<KeyPair, PkiError> {
    let mut fields: [Option<Vec<u8>>; 5] = Default::default();
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        let Some((key, value)) = line.split_once(':') else {
            return Err(PkiError::KeyFile(name, "line without ':'"));
        };
        let slot = match key.trim() {
            "n" => 0,
            "e" => 1,
            "d" => 2,
            "p" => 3,
            "q" => 4,
            _ => continue,
        };
        let bytes = hex::decode(value.trim()).map_err(|_| PkiError::KeyFile(name, "bad hex"))?;
        fields[slot] = Some(bytes);
    }
    let [Some(n), Some(e), Some(d), Some(p), Some(q)] = fields else {
        return Err(PkiError::KeyFile(name, "missing n, e, d, p or q"));
    };
    let private = RsaPrivateKey::from_components(
        BigUint::from_bytes_be(&n),
        BigUint::from_bytes_be(&e),
        BigUint::from_bytes_be(&d),
        vec![BigUint::from_bytes_be(&p), BigUint::from_bytes_be(&q)],
    )
    .map_err(|_| PkiError::KeyFile(name, "inconsistent key"))?;
    Ok(KeyPair {
        name,
        private,
        modulus: n,
        exponent: e,
    })
}

/// Formats a key pair as a key file (used by `gen-test-pki`).
pub fn format_key_file(name: &str, key: &RsaPrivateKey) -> String {
    use rsa::traits::PrivateKeyParts;
    let primes = key.primes();
    let hexu = |v: &BigUint| hex::encode_upper(v.to_bytes_be());
    format!(
        "# {name}: {} bits, test key of the emv-test-cards PKI. NOT A REAL KEY.\nn: {}\ne: {}\nd: {}\np: {}\nq: {}\n",
        key.n().bits(),
        hexu(key.n()),
        hexu(key.e()),
        hexu(key.d()),
        hexu(&primes[0]),
        hexu(&primes[1]),
    )
}

/// All test keys, parsed once per process.
#[derive(Debug)]
pub struct TestPki {
    keys: Vec<KeyPair>,
}

impl TestPki {
    /// The process-wide parsed key set.
    pub fn get() -> &'static TestPki {
        static PKI: OnceLock<TestPki> = OnceLock::new();
        PKI.get_or_init(|| {
            let keys = KEY_FILES
                .iter()
                .map(|(name, text)| parse_key_file(name, text))
                .collect::<Result<Vec<_>, _>>();
            match keys {
                Ok(keys) => TestPki { keys },
                // The key files are compiled in; a parse failure is a build defect.
                Err(e) => panic!("committed test keys do not parse: {e}"),
            }
        })
    }

    /// A key by file stem; panics on an unknown name (fixture bug).
    pub fn key(&self, name: &str) -> &KeyPair {
        match self.keys.iter().find(|k| k.name == name) {
            Some(k) => k,
            None => panic!("no test key named {name}"),
        }
    }

    /// The CA key with this index, if the test scheme has one.
    pub fn ca(&self, index: u8) -> Option<&KeyPair> {
        CA_KEYS
            .iter()
            .find(|c| c.index == index)
            .map(|c| self.key(c.name))
    }
}

/// The capk.txt line of a CA key: `RID index expiry rsa exponent modulus sha1 checksum`,
/// bytes as colon-separated hex, checksum = SHA-1(RID || index || modulus || exponent).
pub fn capk_line(index: u8, expiry: &str, exponent: &[u8], modulus: &[u8]) -> String {
    let colon = |b: &[u8]| {
        b.iter()
            .map(|x| format!("{x:02x}"))
            .collect::<Vec<_>>()
            .join(":")
    };
    let mut hashed = TEST_RID.to_vec();
    hashed.push(index);
    hashed.extend_from_slice(modulus);
    hashed.extend_from_slice(exponent);
    format!(
        "{} {:02x} {} rsa {} {} sha1 {}",
        colon(&TEST_RID),
        index,
        expiry,
        colon(exponent),
        colon(modulus),
        colon(&sha1(&hashed))
    )
}

/// Fields of an issuer public key certificate (Book 2, 5.3, Table 6).
#[derive(Debug, Clone)]
pub struct IssuerCertFields {
    /// Leftmost 3-8 PAN digits, padded with hex F (4 bytes).
    pub issuer_identifier: [u8; 4],
    /// Certificate expiration date MMYY (BCD).
    pub expiry_mmyy: [u8; 2],
    /// Certificate serial number (3 bytes) assigned by the CA.
    pub serial: [u8; 3],
}

/// A signed public key certificate and what goes into the card beside it.
#[derive(Debug, Clone)]
pub struct Certificate {
    /// The certificate (tag 90, 9F46 or 9F2D).
    pub certificate: Vec<u8>,
    /// The part of the modulus that did not fit (tag 92, 9F48 or 9F2F); may be empty.
    pub remainder: Vec<u8>,
    /// The certified key's exponent (tag 9F32, 9F47 or 9F2E).
    pub exponent: Vec<u8>,
}

/// Book 2, 5.3 Table 6: issuer public key certificate (format 02) of `issuer` signed by `ca`.
pub fn issuer_certificate(
    ca: &KeyPair,
    issuer: &KeyPair,
    fields: &IssuerCertFields,
) -> Result<Certificate, PkiError> {
    let mut body = vec![0x02];
    body.extend_from_slice(&fields.issuer_identifier);
    body.extend_from_slice(&fields.expiry_mmyy);
    body.extend_from_slice(&fields.serial);
    cert_key_part(&mut body, ca.len() - 36, issuer)?;
    let remainder = issuer.modulus.get(ca.len() - 36..).unwrap_or(&[]).to_vec();
    let mut extra = remainder.clone();
    extra.extend_from_slice(&issuer.exponent);
    Ok(Certificate {
        certificate: ca.sign_9796(&body, &extra)?,
        remainder,
        exponent: issuer.exponent.clone(),
    })
}

/// Appends hash alg, key alg, key length, exponent length and the leftmost
/// `room` modulus bytes (padded with BB) to a certificate body.
fn cert_key_part(body: &mut Vec<u8>, room: usize, key: &KeyPair) -> Result<(), PkiError> {
    if key.len() > 248 {
        return Err(PkiError::KeyTooLong);
    }
    body.push(0x01); // hash algorithm: SHA-1
    body.push(0x01); // public key algorithm: RSA
    body.push(key.len() as u8);
    body.push(key.exponent.len() as u8);
    let take = key.len().min(room);
    body.extend_from_slice(&key.modulus[..take]);
    body.resize(body.len() + (room - take), 0xBB);
    Ok(())
}

/// Book 2, 6.4 Table 14 (and 7.1 for the PIN key): ICC public key
/// certificate (format 04) of `icc` signed by `issuer`. `static_data` is the
/// static data to be authenticated (empty for the ICC PIN encipherment key).
pub fn icc_certificate(
    issuer: &KeyPair,
    icc: &KeyPair,
    pan: [u8; 10],
    expiry_mmyy: [u8; 2],
    serial: [u8; 3],
    static_data: &[u8],
) -> Result<Certificate, PkiError> {
    let mut body = vec![0x04];
    body.extend_from_slice(&pan);
    body.extend_from_slice(&expiry_mmyy);
    body.extend_from_slice(&serial);
    cert_key_part(&mut body, issuer.len() - 42, icc)?;
    let remainder = icc.modulus.get(issuer.len() - 42..).unwrap_or(&[]).to_vec();
    let mut extra = remainder.clone();
    extra.extend_from_slice(&icc.exponent);
    extra.extend_from_slice(static_data);
    Ok(Certificate {
        certificate: issuer.sign_9796(&body, &extra)?,
        remainder,
        exponent: icc.exponent.clone(),
    })
}

/// Book 2, 5.4 Table 7: signed static application data (format 03).
pub fn signed_static_data(
    issuer: &KeyPair,
    data_authentication_code: [u8; 2],
    static_data: &[u8],
) -> Result<Vec<u8>, PkiError> {
    let mut body = vec![0x03, 0x01];
    body.extend_from_slice(&data_authentication_code);
    body.resize(issuer.len() - 22, 0xBB);
    issuer.sign_9796(&body, static_data)
}

/// Book 2, 6.5.1 Table 17 / 6.6.1 Table 22: signed dynamic application data
/// (format 05) over `icc_dynamic_data`; the hash also covers `terminal_data`
/// (the DDOL data for DDA, the unpredictable number for CDA).
pub fn signed_dynamic_data(
    icc: &KeyPair,
    icc_dynamic_data: &[u8],
    terminal_data: &[u8],
) -> Result<Vec<u8>, PkiError> {
    if icc_dynamic_data.len() + 25 > icc.len() {
        return Err(PkiError::BlockLength);
    }
    let mut body = vec![0x05, 0x01, icc_dynamic_data.len() as u8];
    body.extend_from_slice(icc_dynamic_data);
    body.resize(icc.len() - 22, 0xBB);
    icc.sign_9796(&body, terminal_data)
}

/// Recovers a 9796-2 block with the public key and checks header and trailer
/// (for tests and tools; the kernel has its own implementation).
pub fn recover(key: &KeyPair, signature: &[u8]) -> Option<Vec<u8>> {
    let block = key.public_op(signature).ok()?;
    (block.first() == Some(&0x6A) && block.last() == Some(&0xBC)).then_some(block)
}
