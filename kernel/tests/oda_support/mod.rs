//! Test PKI for the ODA tests: RSA keys from `testdata/oda`, signing with
//! `num-bigint` (independent of the kernel's RSA), and builders for the
//! certificates and signed data of EMV Book 2 with any one field altered.
#![allow(dead_code)]

use emv_kernel::crypto::{CryptoError, CryptoProvider, PortableCrypto};
use emv_kernel::oda::{
    CaKeyStore, CaPublicKey, CardData, Date, PublicKey, RevocationList, StaticData, Terminal,
};
use num_bigint::BigUint;

/// The default provider with a fixed random source (PIN padding in tests only).
type TestCrypto = PortableCrypto<fn(&mut [u8]) -> Result<(), CryptoError>>;

fn test_crypto() -> TestCrypto {
    PortableCrypto::new(|out: &mut [u8]| {
        out.fill(0xA5);
        Ok(())
    })
}

/// A test RSA key pair.
pub struct Key {
    pub n: BigUint,
    pub d: BigUint,
    pub modulus: Vec<u8>,
    pub exponent: Vec<u8>,
}

impl Key {
    /// Load a key file (`n`, `e`, `d` lines in hex).
    pub fn load(text: &str) -> Key {
        let field = |name: &str| {
            let line = text
                .lines()
                .find(|line| line.starts_with(&format!("{name} ")))
                .unwrap();
            let digits = line[name.len() + 1..].trim();
            let digits = if digits.len() % 2 == 1 {
                format!("0{digits}")
            } else {
                digits.to_string()
            };
            hex::decode(digits).unwrap()
        };
        let modulus = field("n");
        let exponent = field("e");
        Key {
            n: BigUint::from_bytes_be(&modulus),
            d: BigUint::from_bytes_be(&field("d")),
            modulus,
            exponent,
        }
    }

    pub fn len(&self) -> usize {
        self.modulus.len()
    }

    pub fn public(&self) -> PublicKey {
        PublicKey::new(&self.modulus, &self.exponent).unwrap()
    }

    /// The RSA private operation (signing, Book 2 Annex A2.1), left-padded.
    pub fn sign(&self, plaintext: &[u8]) -> Vec<u8> {
        assert_eq!(plaintext.len(), self.len());
        let value = BigUint::from_bytes_be(plaintext).modpow(&self.d, &self.n);
        left_pad(&value.to_bytes_be(), self.len())
    }

    /// The RSA public operation, for checking what the kernel enciphered.
    pub fn decrypt(&self, ciphertext: &[u8]) -> Vec<u8> {
        let value = BigUint::from_bytes_be(ciphertext).modpow(&self.d, &self.n);
        left_pad(&value.to_bytes_be(), self.len())
    }
}

pub fn left_pad(bytes: &[u8], len: usize) -> Vec<u8> {
    let mut out = vec![0u8; len - bytes.len()];
    out.extend_from_slice(bytes);
    out
}

pub fn ca_1024() -> Key {
    Key::load(include_str!("../../testdata/oda/ca_1024_e3.key"))
}
pub fn issuer_1024() -> Key {
    Key::load(include_str!("../../testdata/oda/issuer_1024_e65537.key"))
}
pub fn icc_768() -> Key {
    Key::load(include_str!("../../testdata/oda/icc_768_e3.key"))
}
pub fn issuer_704() -> Key {
    Key::load(include_str!("../../testdata/oda/issuer_704_e3.key"))
}
pub fn icc_512() -> Key {
    Key::load(include_str!("../../testdata/oda/icc_512_e3.key"))
}
pub fn ca_1984() -> Key {
    Key::load(include_str!("../../testdata/oda/ca_1984_e3.key"))
}
pub fn ca_1984_f4() -> Key {
    Key::load(include_str!("../../testdata/oda/ca_1984_e65537.key"))
}
pub fn issuer_1984() -> Key {
    Key::load(include_str!("../../testdata/oda/issuer_1984_e3.key"))
}
pub fn icc_1984() -> Key {
    Key::load(include_str!("../../testdata/oda/icc_1984_e3.key"))
}

pub fn sha1(parts: &[&[u8]]) -> [u8; 20] {
    test_crypto().sha1(parts)
}

/// The fields of a key certificate (Book 2, Tables 6 and 14), each settable.
#[derive(Clone)]
pub struct CertificateFields {
    pub header: u8,
    pub format: u8,
    /// Issuer Identifier (4 bytes) or Application PAN (10 bytes).
    pub identifier: Vec<u8>,
    pub expiration_date: [u8; 2],
    pub serial_number: [u8; 3],
    pub hash_algorithm: u8,
    pub public_key_algorithm: u8,
    /// Key length field; `None` means the true length.
    pub key_length: Option<u8>,
    /// Exponent length field; `None` means the true length.
    pub exponent_length: Option<u8>,
    pub trailer: u8,
    /// Flip a bit of the hash result.
    pub corrupt_hash: bool,
    /// Data hashed after the exponent (static data for the ICC certificate).
    pub extra_hashed: Vec<u8>,
}

impl CertificateFields {
    pub fn issuer(pan_prefix: &[u8]) -> Self {
        let mut identifier = pan_prefix.to_vec();
        identifier.resize(4, 0xFF);
        Self::new(0x02, identifier)
    }

    pub fn icc(pan: &[u8]) -> Self {
        let mut identifier = pan.to_vec();
        identifier.resize(10, 0xFF);
        Self::new(0x04, identifier)
    }

    fn new(format: u8, identifier: Vec<u8>) -> Self {
        Self {
            header: 0x6A,
            format,
            identifier,
            expiration_date: [0x12, 0x30],
            serial_number: [0x01, 0x02, 0x03],
            hash_algorithm: 0x01,
            public_key_algorithm: 0x01,
            key_length: None,
            exponent_length: None,
            trailer: 0xBC,
            corrupt_hash: false,
            extra_hashed: Vec::new(),
        }
    }
}

/// A certificate and the remainder that goes with it.
pub struct Certificate {
    pub certificate: Vec<u8>,
    pub remainder: Option<Vec<u8>>,
    pub exponent: Vec<u8>,
}

/// Certify `subject` with `signer` (Book 2, 5.3 / 6.4 from the signing side).
pub fn certify(signer: &Key, subject: &Key, fields: &CertificateFields) -> Certificate {
    let n = signer.len();
    let header_len = 2 + fields.identifier.len() + 2 + 3 + 4;
    let digits_len = n - header_len - 21;
    let (leftmost, remainder) = if subject.len() > digits_len {
        (
            subject.modulus[..digits_len].to_vec(),
            Some(subject.modulus[digits_len..].to_vec()),
        )
    } else {
        let mut padded = subject.modulus.clone();
        padded.resize(digits_len, 0xBB);
        (padded, None)
    };
    let mut signed = vec![fields.format];
    signed.extend_from_slice(&fields.identifier);
    signed.extend_from_slice(&fields.expiration_date);
    signed.extend_from_slice(&fields.serial_number);
    signed.push(fields.hash_algorithm);
    signed.push(fields.public_key_algorithm);
    signed.push(fields.key_length.unwrap_or(subject.len() as u8));
    signed.push(
        fields
            .exponent_length
            .unwrap_or(subject.exponent.len() as u8),
    );
    signed.extend_from_slice(&leftmost);
    let mut hash = sha1(&[
        &signed,
        remainder.as_deref().unwrap_or(&[]),
        &subject.exponent,
        &fields.extra_hashed,
    ]);
    if fields.corrupt_hash {
        hash[7] ^= 0x01;
    }
    let mut plaintext = vec![fields.header];
    plaintext.extend_from_slice(&signed);
    plaintext.extend_from_slice(&hash);
    plaintext.push(fields.trailer);
    Certificate {
        certificate: signer.sign(&plaintext),
        remainder,
        exponent: subject.exponent.clone(),
    }
}

/// The fields of Signed Static or Dynamic Application Data (Book 2, Tables 7
/// and 17), each settable.
#[derive(Clone)]
pub struct SignedDataFields {
    pub header: u8,
    pub format: u8,
    pub hash_algorithm: u8,
    /// For static data: the Data Authentication Code. For dynamic data: the
    /// ICC Dynamic Data (the length byte is written before it).
    pub data: Vec<u8>,
    /// Override the ICC Dynamic Data length byte (dynamic data only).
    pub data_length: Option<u8>,
    pub trailer: u8,
    pub corrupt_hash: bool,
    /// Data hashed after the pad (static data, DDOL data or UN).
    pub extra_hashed: Vec<u8>,
}

impl SignedDataFields {
    pub fn static_data(data_authentication_code: [u8; 2], static_data: Vec<u8>) -> Self {
        Self {
            header: 0x6A,
            format: 0x03,
            hash_algorithm: 0x01,
            data: data_authentication_code.to_vec(),
            data_length: None,
            trailer: 0xBC,
            corrupt_hash: false,
            extra_hashed: static_data,
        }
    }

    pub fn dynamic_data(icc_dynamic_data: Vec<u8>, terminal_data: Vec<u8>) -> Self {
        Self {
            header: 0x6A,
            format: 0x05,
            hash_algorithm: 0x01,
            data: icc_dynamic_data,
            data_length: None,
            trailer: 0xBC,
            corrupt_hash: false,
            extra_hashed: terminal_data,
        }
    }
}

/// Sign static (format 03) or dynamic (format 05) application data.
pub fn sign_data(signer: &Key, fields: &SignedDataFields, dynamic: bool) -> Vec<u8> {
    let n = signer.len();
    let mut signed = vec![fields.format, fields.hash_algorithm];
    if dynamic {
        signed.push(fields.data_length.unwrap_or(fields.data.len() as u8));
    }
    signed.extend_from_slice(&fields.data);
    signed.resize(n - 22, 0xBB);
    let mut hash = sha1(&[&signed, &fields.extra_hashed]);
    if fields.corrupt_hash {
        hash[0] ^= 0x80;
    }
    let mut plaintext = vec![fields.header];
    plaintext.extend_from_slice(&signed);
    plaintext.extend_from_slice(&hash);
    plaintext.push(fields.trailer);
    signer.sign(&plaintext)
}

pub const RID: [u8; 5] = [0xA0, 0x00, 0x00, 0x09, 0x99];
pub const CA_INDEX: u8 = 0xF1;
pub const PAN: [u8; 8] = [0x54, 0x13, 0x33, 0x00, 0x89, 0x00, 0x00, 0x39];
pub const AIP: [u8; 2] = [0x39, 0x00];

pub fn today() -> Date {
    Date {
        year: 2026,
        month: 11,
        day: 25,
    }
}

/// The static data to be authenticated of the fixture card (two records).
pub fn records() -> Vec<u8> {
    let mut records =
        hex::decode("5A0854133300890000395F24033012315F25032001019F0702FF00").unwrap();
    records.extend_from_slice(
        &hex::decode("8C159F02069F03069F1A0295055F2A029A039C019F37048D0A910A8A0295059F37049F4C08")
            .unwrap(),
    );
    records
}

/// A terminal holding the fixture CA key.
pub struct TerminalFixture {
    pub ca_keys: CaKeyStore,
    pub revocations: RevocationList,
    pub date: Date,
}

impl TerminalFixture {
    pub fn new(ca: &Key) -> Self {
        let mut ca_keys = CaKeyStore::new();
        ca_keys
            .insert(
                CaPublicKey::new(
                    &test_crypto(),
                    RID,
                    CA_INDEX,
                    &ca.modulus,
                    &ca.exponent,
                    None,
                    None,
                )
                .unwrap(),
            )
            .unwrap();
        Self {
            ca_keys,
            revocations: RevocationList::new(),
            date: today(),
        }
    }

    pub fn terminal(&self) -> Terminal<'_> {
        Terminal {
            ca_keys: &self.ca_keys,
            revocations: &self.revocations,
            transaction_date: self.date,
        }
    }
}

/// A card's ODA data objects, owned, with builders that change one thing.
pub struct CardFixture {
    pub pan: Vec<u8>,
    pub ca_index: Option<u8>,
    pub issuer: Option<Certificate>,
    pub icc: Option<Certificate>,
    pub pin: Option<Certificate>,
    pub signed_static_data: Option<Vec<u8>>,
    pub records: Vec<u8>,
    pub tag_list: Option<Vec<u8>>,
}

impl CardFixture {
    pub fn card_data(&self) -> CardData<'_> {
        CardData {
            rid: RID,
            ca_public_key_index: self.ca_index,
            issuer_public_key_certificate: self.issuer.as_ref().map(|c| &c.certificate[..]),
            issuer_public_key_remainder: self.issuer.as_ref().and_then(|c| c.remainder.as_deref()),
            issuer_public_key_exponent: self.issuer.as_ref().map(|c| &c.exponent[..]),
            application_pan: Some(&self.pan),
            signed_static_application_data: self.signed_static_data.as_deref(),
            icc_public_key_certificate: self.icc.as_ref().map(|c| &c.certificate[..]),
            icc_public_key_exponent: self.icc.as_ref().map(|c| &c.exponent[..]),
            icc_public_key_remainder: self.icc.as_ref().and_then(|c| c.remainder.as_deref()),
            icc_pin_encipherment_public_key_certificate: self
                .pin
                .as_ref()
                .map(|c| &c.certificate[..]),
            icc_pin_encipherment_public_key_exponent: self.pin.as_ref().map(|c| &c.exponent[..]),
            icc_pin_encipherment_public_key_remainder: self
                .pin
                .as_ref()
                .and_then(|c| c.remainder.as_deref()),
            aid: &[],
            pdol: None,
        }
    }

    pub fn static_data(&self) -> StaticData<'_> {
        StaticData {
            records: &self.records,
            tag_list: self.tag_list.as_deref(),
            application_interchange_profile: AIP,
        }
    }
}

/// The static data as hashed: records, then the AIP (the fixture's tag list
/// names it).
pub fn hashed_static_data() -> Vec<u8> {
    let mut data = records();
    data.extend_from_slice(&AIP);
    data
}

/// A card with an SDA, DDA and CDA capable chain: CA 1024 bits (e=3) >
/// issuer 1024 bits (e=65537, remainder 36 bytes) > ICC 768 bits (e=3,
/// remainder 10 bytes), tag list naming the AIP.
pub fn card(ca: &Key, issuer: &Key, icc: &Key) -> CardFixture {
    let issuer_certificate = certify(ca, issuer, &CertificateFields::issuer(&PAN[..3]));
    let mut icc_fields = CertificateFields::icc(&PAN);
    icc_fields.extra_hashed = hashed_static_data();
    let icc_certificate = certify(issuer, icc, &icc_fields);
    let signed_static_data = sign_data(
        issuer,
        &SignedDataFields::static_data([0xDA, 0xC1], hashed_static_data()),
        false,
    );
    CardFixture {
        pan: PAN.to_vec(),
        ca_index: Some(CA_INDEX),
        issuer: Some(issuer_certificate),
        icc: Some(icc_certificate),
        pin: None,
        signed_static_data: Some(signed_static_data),
        records: records(),
        tag_list: Some(vec![0x82]),
    }
}
