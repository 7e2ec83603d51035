//! The issuer host side: checks application cryptograms, makes ARPCs and
//! MACs issuer script commands, from the issuer master keys alone.
//!
//! The card never sees the issuer master keys: it holds ICC master keys
//! derived from them (option A). An ARQC that verifies here therefore proves
//! the card computed it with real key derivation, not a canned value.
//!
//! The cryptography is `emv-host`'s ([`emv_host::Issuer`] with
//! [`Scheme::test_cards`]), the same the host simulator of `emv-terminal
//! transact --host-file` runs; this module keeps the test issuer's keys and
//! the interface the tests use.

use emv_host::issuer::{AuthorisationRequest, IssuerKeys, MasterKey, Scheme};

use crate::symmetric::{ac_diversification, derive_session_key, retail_mac, tdes_encrypt, Key16};

/// The issuer master key for application cryptograms (IMK-AC) of the test issuer.
pub const TEST_IMK_AC: Key16 = [
    0x0E, 0x1F, 0x2C, 0x3D, 0x4A, 0x5B, 0x68, 0x79, 0x86, 0x97, 0xA4, 0xB5, 0xC2, 0xD3, 0xE0, 0xF1,
];

/// The issuer master key for secure messaging integrity (IMK-SMI) of the test issuer.
pub const TEST_IMK_SMI: Key16 = [
    0xF1, 0xE0, 0xD3, 0xC2, 0xB5, 0xA4, 0x97, 0x86, 0x79, 0x68, 0x5B, 0x4A, 0x3D, 0x2C, 0x1F, 0x0E,
];

/// The issuer master key for secure messaging confidentiality (IMK-SMC) of the test issuer.
pub const TEST_IMK_SMC: Key16 = [
    0x3C, 0x5A, 0x78, 0x96, 0xB4, 0xD2, 0xF0, 0x1E, 0x2D, 0x4B, 0x69, 0x87, 0xA5, 0xC3, 0xE1, 0x0F,
];

/// Which cryptogram a card produced (CID b8-b7, Book 3, Table 15).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CryptogramType {
    /// Application Authentication Cryptogram: declined.
    Aac,
    /// Transaction Certificate: approved.
    Tc,
    /// Authorisation Request Cryptogram: go online.
    Arqc,
}

impl CryptogramType {
    /// Reads the type from a Cryptogram Information Data byte; `None` for the
    /// reserved value `C0`.
    pub fn from_cid(cid: u8) -> Option<Self> {
        match cid & 0xC0 {
            0x00 => Some(Self::Aac),
            0x40 => Some(Self::Tc),
            0x80 => Some(Self::Arqc),
            _ => None,
        }
    }

    /// The CID bits of this type.
    pub fn cid_bits(self) -> u8 {
        match self {
            Self::Aac => 0x00,
            Self::Tc => 0x40,
            Self::Arqc => 0x80,
        }
    }
}

/// The data an application cryptogram covers in our cards (issuer-defined,
/// Book 2, 8.1.1 recommends a minimum set; we take all CDOL data):
/// CDOL-related data || AIP || ATC || Card Verification Results (4 bytes).
/// The host's [`emv_host::issuer::TEST_CARDS_ARQC_INPUT`] names the same layout.
pub fn cryptogram_input(cdol_data: &[u8], aip: [u8; 2], atc: u16, cvr: [u8; 4]) -> Vec<u8> {
    let mut input = Vec::with_capacity(cdol_data.len() + 8);
    input.extend_from_slice(cdol_data);
    input.extend_from_slice(&aip);
    input.extend_from_slice(&atc.to_be_bytes());
    input.extend_from_slice(&cvr);
    input
}

/// Computes an application cryptogram from an ICC master key (card side and issuer side share this).
pub fn application_cryptogram(icc_ac_key: &Key16, atc: u16, input: &[u8]) -> [u8; 8] {
    let session = derive_session_key(icc_ac_key, ac_diversification(atc));
    retail_mac(&session, input)
}

/// An issuer host holding the issuer master keys.
#[derive(Debug, Clone)]
pub struct Issuer {
    host: emv_host::Issuer,
}

impl Default for Issuer {
    fn default() -> Self {
        Self::test_issuer()
    }
}

impl Issuer {
    /// The issuer of every test card profile.
    pub fn test_issuer() -> Self {
        Self::with_keys(TEST_IMK_AC, TEST_IMK_SMI)
    }

    /// An issuer with other master keys (for negative tests).
    pub fn with_keys(imk_ac: Key16, imk_smi: Key16) -> Self {
        let keys = IssuerKeys {
            application_cryptogram: MasterKey::new(imk_ac),
            secure_messaging_integrity: MasterKey::new(imk_smi),
            secure_messaging_confidentiality: Some(MasterKey::new(TEST_IMK_SMC)),
        };
        Self {
            host: emv_host::Issuer::new(keys, Scheme::test_cards()),
        }
    }

    /// The `emv-host` issuer behind this one.
    pub fn host(&self) -> &emv_host::Issuer {
        &self.host
    }

    /// The ICC master key for secure messaging confidentiality of this card.
    pub fn icc_smc_key(&self, pan: &[u8], pan_sequence: u8) -> Key16 {
        self.host.icc_smc_key(pan, pan_sequence).unwrap_or_default()
    }

    /// PIN CHANGE/UNBLOCK with a new PIN (`84 24 00 02`, Book 3, 6.5.10):
    /// the new PIN as an ISO 9564 format 2 block, enciphered with 3DES under
    /// the confidentiality session key (R = ARQC, Book 2, 9.3), then MACed
    /// over the enciphered data (Book 2, 9.2).
    pub fn pin_change_command(
        &self,
        pan: &[u8],
        pan_sequence: u8,
        atc: u16,
        arqc: [u8; 8],
        new_pin: &str,
    ) -> Vec<u8> {
        let session = derive_session_key(&self.icc_smc_key(pan, pan_sequence), arqc);
        let enciphered = tdes_encrypt(&session, crate::card::format2_pin_block(new_pin));
        self.script_command(
            pan,
            pan_sequence,
            atc,
            arqc,
            [0x84, 0x24, 0x00, 0x02],
            &enciphered,
        )
    }

    /// The ICC master key for cryptograms of the card with this PAN and PSN.
    pub fn icc_ac_key(&self, pan: &[u8], pan_sequence: u8) -> Key16 {
        self.host.icc_ac_key(pan, pan_sequence)
    }

    /// The ICC master key for script MACs of the card with this PAN and PSN.
    pub fn icc_smi_key(&self, pan: &[u8], pan_sequence: u8) -> Key16 {
        self.host.icc_smi_key(pan, pan_sequence)
    }

    /// Recomputes the cryptogram a genuine card must have produced.
    pub fn expected_cryptogram(
        &self,
        pan: &[u8],
        pan_sequence: u8,
        atc: u16,
        input: &[u8],
    ) -> [u8; 8] {
        // The test cards' session key does not use the Unpredictable Number.
        self.host.cryptogram(pan, pan_sequence, atc, [0; 4], input)
    }

    /// Whether `cryptogram` is genuine for this card, ATC and cryptogram input.
    pub fn verify_cryptogram(
        &self,
        pan: &[u8],
        pan_sequence: u8,
        atc: u16,
        input: &[u8],
        cryptogram: [u8; 8],
    ) -> bool {
        self.expected_cryptogram(pan, pan_sequence, atc, input) == cryptogram
    }

    /// Book 2, 8.2.1 ARPC method 1 for an ARQC and the issuer's Authorisation Response Code.
    pub fn arpc(
        &self,
        pan: &[u8],
        pan_sequence: u8,
        atc: u16,
        arqc: [u8; 8],
        arc: [u8; 2],
    ) -> [u8; 8] {
        let data = self.issuer_authentication_data(pan, pan_sequence, atc, arqc, arc);
        let mut arpc = [0u8; 8];
        arpc.copy_from_slice(&data[..8]);
        arpc
    }

    /// The Issuer Authentication Data (91) for EXTERNAL AUTHENTICATE: ARPC || ARC.
    pub fn issuer_authentication_data(
        &self,
        pan: &[u8],
        pan_sequence: u8,
        atc: u16,
        arqc: [u8; 8],
        arc: [u8; 2],
    ) -> [u8; 10] {
        let request = AuthorisationRequest {
            pan: pan.to_vec(),
            pan_sequence,
            atc,
            arqc,
            ..AuthorisationRequest::default()
        };
        let data = self.host.issuer_authentication_data(&request, arc);
        let mut out = [0u8; 10];
        // Method 1 always gives ARPC (8) || ARC (2).
        out.copy_from_slice(&data[..10]);
        out
    }

    /// Builds an issuer script command APDU (Book 3, 6.5.x) with its MAC:
    /// `header || Lc || data || MAC(4)`, MAC under the session key derived
    /// from the ARQC (Book 2, 9.2.1 and A1.3.1 with R = ARQC).
    ///
    /// Panics when `data` is longer than 251 bytes (no short APDU holds it with the MAC).
    pub fn script_command(
        &self,
        pan: &[u8],
        pan_sequence: u8,
        atc: u16,
        arqc: [u8; 8],
        header: [u8; 4],
        data: &[u8],
    ) -> Vec<u8> {
        self.host
            .script_command(pan, pan_sequence, atc, arqc, header, data)
            .expect("script data of at most 251 bytes")
    }
}
