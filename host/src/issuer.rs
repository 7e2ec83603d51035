//! The issuer's side of online processing, from its master keys alone:
//! checks the ARQC, makes the ARPC (method 1 or 2) and MACs issuer script
//! commands.
//!
//! How an issuer builds these is partly its own choice (Book 2, 8.1 leaves
//! the cryptogram's data and the session key method to the issuer and its
//! Cryptogram Version Number); a [`Scheme`] names every choice, and
//! [`Scheme::test_cards`] is what the project's simulated cards do.

use std::fmt;

use crate::symmetric::{
    ac_diversification, arpc_method1, arpc_method2, common_ac_diversification,
    derive_icc_master_key, derive_icc_master_key_option_b, derive_session_key,
    issuer_authentication_data_method1, issuer_authentication_data_method2, retail_mac,
    script_mac_input, Key16, SCRIPT_MAC_LEN,
};

/// A double-length issuer master key that is wiped on drop and never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct MasterKey(Key16);

impl MasterKey {
    /// Wraps the 16 key bytes.
    pub fn new(key: Key16) -> Self {
        MasterKey(key)
    }

    /// The key bytes, for the derivations.
    pub fn bytes(&self) -> &Key16 {
        &self.0
    }
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MasterKey(..)")
    }
}

impl Drop for MasterKey {
    fn drop(&mut self) {
        self.0.fill(0);
    }
}

/// The issuer master keys (Book 2, A1.4): for application cryptograms
/// (IMK-AC) and for secure messaging integrity (IMK-SMI, the script MACs).
#[derive(Clone, Debug)]
pub struct IssuerKeys {
    /// IMK-AC.
    pub application_cryptogram: MasterKey,
    /// IMK-SMI.
    pub secure_messaging_integrity: MasterKey,
    /// IMK-SMC (confidentiality), when the issuer enciphers script data.
    pub secure_messaging_confidentiality: Option<MasterKey>,
}

/// Book 2, A1.4: how the ICC master keys come from the issuer master keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MasterKeyDerivation {
    /// Option A (A1.4.1): the rightmost 16 digits of PAN || PSN.
    OptionA,
    /// Option B (A1.4.2): SHA-1 of PAN || PSN when longer than 16 digits, else option A.
    OptionB,
}

/// How the AC session key comes from the ICC master key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionKeyMethod {
    /// The EMV common session key, Book 2, 8.1.2 and A1.3.1 with
    /// R = ATC || 00 00 || Unpredictable Number.
    EmvCommon,
    /// A1.3.1 with R = ATC || 00 00 00 00 00 00: the project's test cards.
    AtcOnly,
    /// No session key: the ICC master key itself (some proprietary
    /// cryptogram versions do this).
    MasterKey,
}

/// One piece of the data the ARQC covers, in the order given.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InputPart {
    /// The CDOL1 data the terminal sent in the first GENERATE AC (Book 3, 9.2.1).
    Cdol1,
    /// Application Interchange Profile (82), 2 bytes.
    Aip,
    /// Application Transaction Counter (9F36), 2 bytes.
    Atc,
    /// Bytes `first..=last` (counting from 1) of the Issuer Application Data (9F10),
    /// e.g. the Card Verification Results.
    Iad {
        /// First byte, from 1.
        first: usize,
        /// Last byte, included.
        last: usize,
    },
}

/// Book 2, 8.2: the ARPC method, and what method 2 sends with it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ArpcMethod {
    /// 8.2.1: ARPC = 3DES(SK_AC)\[ARQC xor ARC || 00..00\]; 91 = ARPC || ARC.
    Method1,
    /// 8.2.2: ARPC = MAC(SK_AC)\[ARQC || CSU || PAD\]; 91 = ARPC || CSU || PAD.
    Method2 {
        /// Card Status Update, 4 bytes.
        card_status_update: [u8; 4],
        /// Proprietary Authentication Data, 0 to 8 bytes.
        proprietary: Vec<u8>,
    },
}

/// Every issuer choice the host needs to follow the card.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scheme {
    /// ICC master key derivation.
    pub derivation: MasterKeyDerivation,
    /// AC session key.
    pub session_key: SessionKeyMethod,
    /// What the ARQC covers.
    pub arqc_input: Vec<InputPart>,
    /// ARPC method.
    pub arpc: ArpcMethod,
}

/// The test cards' ARQC input: CDOL1 data || AIP || ATC || CVR, the CVR being bytes
/// 3 to 6 of their Issuer Application Data (`01 11 CVR`: DKI, CVN, CVR).
pub const TEST_CARDS_ARQC_INPUT: [InputPart; 4] = [
    InputPart::Cdol1,
    InputPart::Aip,
    InputPart::Atc,
    InputPart::Iad { first: 3, last: 6 },
];

impl Scheme {
    /// What the project's test cards implement: option A, session key with
    /// R = ATC || 00.., [`TEST_CARDS_ARQC_INPUT`], ARPC method 1.
    pub fn test_cards() -> Self {
        Scheme {
            derivation: MasterKeyDerivation::OptionA,
            session_key: SessionKeyMethod::AtcOnly,
            arqc_input: TEST_CARDS_ARQC_INPUT.to_vec(),
            arpc: ArpcMethod::Method1,
        }
    }
}

/// What the host knows of the transaction, from the authorisation request.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuthorisationRequest {
    /// Application PAN (5A), BCD with F padding.
    pub pan: Vec<u8>,
    /// PAN Sequence Number (5F34); 0 when the card has none.
    pub pan_sequence: u8,
    /// Application Transaction Counter (9F36).
    pub atc: u16,
    /// The ARQC (9F26).
    pub arqc: [u8; 8],
    /// Application Interchange Profile (82).
    pub aip: [u8; 2],
    /// Issuer Application Data (9F10), empty when absent.
    pub issuer_application_data: Vec<u8>,
    /// Unpredictable Number (9F37) the terminal sent.
    pub unpredictable_number: [u8; 4],
    /// The CDOL1 data of the first GENERATE AC.
    pub cdol1_data: Vec<u8>,
}

/// An issuer host: master keys and the scheme the cards follow.
#[derive(Clone, Debug)]
pub struct Issuer {
    keys: IssuerKeys,
    scheme: Scheme,
}

impl Issuer {
    /// An issuer with these keys following `scheme`.
    pub fn new(keys: IssuerKeys, scheme: Scheme) -> Self {
        Issuer { keys, scheme }
    }

    /// The scheme followed.
    pub fn scheme(&self) -> &Scheme {
        &self.scheme
    }

    /// The ICC master key derived from `imk` for this card (Book 2, A1.4).
    pub fn icc_master_key(&self, imk: &MasterKey, pan: &[u8], pan_sequence: u8) -> Key16 {
        match self.scheme.derivation {
            MasterKeyDerivation::OptionA => derive_icc_master_key(imk.bytes(), pan, pan_sequence),
            MasterKeyDerivation::OptionB => {
                derive_icc_master_key_option_b(imk.bytes(), pan, pan_sequence)
            }
        }
    }

    /// The ICC master key for application cryptograms.
    pub fn icc_ac_key(&self, pan: &[u8], pan_sequence: u8) -> Key16 {
        self.icc_master_key(&self.keys.application_cryptogram, pan, pan_sequence)
    }

    /// The ICC master key for script MACs.
    pub fn icc_smi_key(&self, pan: &[u8], pan_sequence: u8) -> Key16 {
        self.icc_master_key(&self.keys.secure_messaging_integrity, pan, pan_sequence)
    }

    /// The ICC master key for script confidentiality, when the issuer has IMK-SMC.
    pub fn icc_smc_key(&self, pan: &[u8], pan_sequence: u8) -> Option<Key16> {
        self.keys
            .secure_messaging_confidentiality
            .as_ref()
            .map(|imk| self.icc_master_key(imk, pan, pan_sequence))
    }

    /// SK_AC for this card and transaction ([`SessionKeyMethod`]).
    pub fn ac_session_key(
        &self,
        pan: &[u8],
        pan_sequence: u8,
        atc: u16,
        unpredictable_number: [u8; 4],
    ) -> Key16 {
        let master = self.icc_ac_key(pan, pan_sequence);
        match self.scheme.session_key {
            SessionKeyMethod::EmvCommon => derive_session_key(
                &master,
                common_ac_diversification(atc, unpredictable_number),
            ),
            SessionKeyMethod::AtcOnly => derive_session_key(&master, ac_diversification(atc)),
            SessionKeyMethod::MasterKey => master,
        }
    }

    /// The data the ARQC covers, built by [`Scheme::arqc_input`]; `None` when the Issuer
    /// Application Data is shorter than a part asks for.
    pub fn arqc_input(&self, request: &AuthorisationRequest) -> Option<Vec<u8>> {
        let mut input = Vec::with_capacity(request.cdol1_data.len() + 16);
        for part in &self.scheme.arqc_input {
            match *part {
                InputPart::Cdol1 => input.extend_from_slice(&request.cdol1_data),
                InputPart::Aip => input.extend_from_slice(&request.aip),
                InputPart::Atc => input.extend_from_slice(&request.atc.to_be_bytes()),
                InputPart::Iad { first, last } => input.extend_from_slice(
                    request
                        .issuer_application_data
                        .get(first.checked_sub(1)?..last)?,
                ),
            }
        }
        Some(input)
    }

    /// Book 2, 8.1: the cryptogram over `input` a genuine card computes:
    /// the MAC of A1.2.1 under SK_AC.
    pub fn cryptogram(
        &self,
        pan: &[u8],
        pan_sequence: u8,
        atc: u16,
        unpredictable_number: [u8; 4],
        input: &[u8],
    ) -> [u8; 8] {
        let session = self.ac_session_key(pan, pan_sequence, atc, unpredictable_number);
        retail_mac(&session, input)
    }

    /// Whether the request's ARQC is genuine.
    pub fn verify_arqc(&self, request: &AuthorisationRequest) -> bool {
        let Some(input) = self.arqc_input(request) else {
            return false;
        };
        let expected = self.cryptogram(
            &request.pan,
            request.pan_sequence,
            request.atc,
            request.unpredictable_number,
            &input,
        );
        // Not secret-dependent timing in any way that matters here: the ARQC is
        // public and the expected value is what a genuine card sends.
        expected == request.arqc
    }

    /// The Issuer Authentication Data (91) for the request's ARQC and the
    /// issuer's Authorisation Response Code, by the scheme's ARPC method (Book 2, 8.2).
    pub fn issuer_authentication_data(
        &self,
        request: &AuthorisationRequest,
        arc: [u8; 2],
    ) -> Vec<u8> {
        let session = self.ac_session_key(
            &request.pan,
            request.pan_sequence,
            request.atc,
            request.unpredictable_number,
        );
        match &self.scheme.arpc {
            ArpcMethod::Method1 => {
                issuer_authentication_data_method1(arpc_method1(&session, request.arqc, arc), arc)
            }
            ArpcMethod::Method2 {
                card_status_update,
                proprietary,
            } => issuer_authentication_data_method2(
                arpc_method2(&session, request.arqc, *card_status_update, proprietary),
                *card_status_update,
                proprietary,
            ),
        }
    }

    /// An issuer script command APDU with its MAC (Book 2, 9.2):
    /// `header || Lc || data || MAC(4)`, the MAC under SK_SMI derived with
    /// R = ARQC (A1.3.1) over `header || Lc || ATC || ARQC || data`.
    /// `None` when the data does not fit one short APDU with its MAC.
    pub fn script_command(
        &self,
        pan: &[u8],
        pan_sequence: u8,
        atc: u16,
        arqc: [u8; 8],
        header: [u8; 4],
        data: &[u8],
    ) -> Option<Vec<u8>> {
        let lc = u8::try_from(data.len() + SCRIPT_MAC_LEN).ok()?;
        let session = derive_session_key(&self.icc_smi_key(pan, pan_sequence), arqc);
        let mac = retail_mac(&session, &script_mac_input(header, lc, atc, arqc, data));
        let mut apdu = header.to_vec();
        apdu.push(lc);
        apdu.extend_from_slice(data);
        apdu.extend_from_slice(mac.get(..SCRIPT_MAC_LEN)?);
        Some(apdu)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(text: &str) -> MasterKey {
        let mut k = [0u8; 16];
        k.copy_from_slice(&hex::decode(text).unwrap());
        MasterKey::new(k)
    }

    /// The request of host/vectors/host_vectors.py: the ARQC is a MAC over the CDOL1
    /// data alone under the EMV common session key.
    fn request() -> AuthorisationRequest {
        AuthorisationRequest {
            pan: hex::decode("5413330089600010").unwrap(),
            pan_sequence: 1,
            atc: 0x0102,
            arqc: [0xED, 0xE2, 0xCF, 0x28, 0x95, 0x02, 0xC9, 0x52],
            aip: [0x39, 0x00],
            issuer_application_data: vec![0x01, 0x11, 0xA0, 0x00, 0x00, 0x00],
            unpredictable_number: [0x11, 0x22, 0x33, 0x44],
            cdol1_data: hex::decode("000000001000000000000000097800000000000978250615001122334400")
                .unwrap(),
        }
    }

    fn issuer(arpc: ArpcMethod, arqc_input: Vec<InputPart>) -> Issuer {
        let keys = IssuerKeys {
            application_cryptogram: key("0123456789ABCDEFFEDCBA9876543210"),
            secure_messaging_integrity: key("FEDCBA98765432100123456789ABCDEF"),
            secure_messaging_confidentiality: None,
        };
        Issuer::new(
            keys,
            Scheme {
                derivation: MasterKeyDerivation::OptionA,
                session_key: SessionKeyMethod::EmvCommon,
                arqc_input,
                arpc,
            },
        )
    }

    #[test]
    fn the_vector_arqc_verifies_and_gets_both_arpc_methods() {
        let one = issuer(ArpcMethod::Method1, vec![InputPart::Cdol1]);
        assert!(one.verify_arqc(&request()));
        assert_eq!(
            hex::encode_upper(one.issuer_authentication_data(&request(), *b"00")),
            "6E7BD9AEC38ED61D3030"
        );
        let two = issuer(
            ArpcMethod::Method2 {
                card_status_update: [0x00, 0x82, 0x00, 0x00],
                proprietary: vec![0xA1, 0xB2],
            },
            vec![InputPart::Cdol1],
        );
        assert_eq!(
            hex::encode_upper(two.issuer_authentication_data(&request(), *b"00")),
            "DA4F2CF300820000A1B2"
        );
    }

    #[test]
    fn the_input_layout_and_the_session_key_method_matter() {
        let mut altered = request();
        altered.unpredictable_number = [0; 4];
        let one = issuer(ArpcMethod::Method1, vec![InputPart::Cdol1]);
        assert!(
            !one.verify_arqc(&altered),
            "the common session key uses the UN"
        );
        let with_cvr = issuer(ArpcMethod::Method1, TEST_CARDS_ARQC_INPUT.to_vec());
        assert!(!with_cvr.verify_arqc(&request()));
        let input = with_cvr.arqc_input(&request()).unwrap();
        assert_eq!(input.len(), 30 + 2 + 2 + 4);
        assert_eq!(input[30..], [0x39, 0x00, 0x01, 0x02, 0xA0, 0, 0, 0]);
        // An IAD shorter than the layout asks for.
        let mut short = request();
        short.issuer_application_data.truncate(4);
        assert_eq!(with_cvr.arqc_input(&short), None);
        assert!(!with_cvr.verify_arqc(&short));
    }

    #[test]
    fn script_commands_carry_lc_and_a_four_byte_mac() {
        let one = issuer(ArpcMethod::Method1, vec![InputPart::Cdol1]);
        let r = request();
        let command = one
            .script_command(&r.pan, 1, r.atc, r.arqc, [0x04, 0xDA, 0x9F, 0x14], &[5])
            .unwrap();
        assert_eq!(command[..6], [0x04, 0xDA, 0x9F, 0x14, 5, 5]);
        assert_eq!(command.len(), 10);
        assert!(one
            .script_command(&r.pan, 1, r.atc, r.arqc, [0x04, 0xDA, 0, 0], &[0; 252])
            .is_none());
    }
}
