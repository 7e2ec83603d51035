//! The host simulator: answers an authorisation request either with the
//! issuer's keys ([`KeysHost`]: ARQC checked, ARPC computed, scripts MACed)
//! or with a fixed answer ([`FixedHost`]), and says what it did.

use emv_kernel::tlv::{self, Tag};

use crate::issuer::{AuthorisationRequest, Issuer};

/// What the host sends back to the terminal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answer {
    /// Whether the issuer approved.
    pub approved: bool,
    /// Authorisation Response Code (8A), two characters.
    pub authorisation_response_code: [u8; 2],
    /// Issuer Authentication Data (91), when sent.
    pub issuer_authentication_data: Option<Vec<u8>>,
    /// Issuer Script Templates (71, 72), concatenated.
    pub scripts: Vec<u8>,
    /// What the host did, one line for the step output and the report.
    pub note: String,
}

/// Template 71 (scripts before the final GENERATE AC) or 72 (after), Book 3, 10.10.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScriptTemplate {
    /// Issuer Script Template 1 (71).
    Before,
    /// Issuer Script Template 2 (72).
    After,
}

impl ScriptTemplate {
    /// The template's tag byte.
    pub fn tag(self) -> u8 {
        match self {
            ScriptTemplate::Before => 0x71,
            ScriptTemplate::After => 0x72,
        }
    }
}

/// An issuer script whose commands the host MACs for each transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Script {
    /// Template 71 or 72.
    pub template: ScriptTemplate,
    /// Issuer Script Identifier (9F18), 4 bytes, when sent.
    pub identifier: Option<[u8; 4]>,
    /// The commands: 4-byte header and the data before the MAC.
    pub commands: Vec<([u8; 4], Vec<u8>)>,
}

/// A host holding the issuer's master keys.
#[derive(Clone, Debug)]
pub struct KeysHost {
    /// The keys and the scheme.
    pub issuer: Issuer,
    /// ARC when the ARQC verifies.
    pub arc: [u8; 2],
    /// Whether that ARC approves.
    pub approve: bool,
    /// ARC when the ARQC does not verify (or the request lacks a field); no ARPC then.
    pub decline_arc: [u8; 2],
    /// Scripts sent when the ARQC verifies.
    pub scripts: Vec<Script>,
}

/// A host that answers the same every time, whatever the request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FixedHost {
    /// The ARC.
    pub arc: [u8; 2],
    /// Whether it approves.
    pub approve: bool,
    /// Issuer Authentication Data (91) as sent, when any.
    pub issuer_authentication_data: Option<Vec<u8>>,
    /// Templates 71/72 as sent.
    pub scripts: Vec<u8>,
}

/// A host simulator.
#[derive(Clone, Debug)]
pub enum Host {
    /// With the issuer's keys.
    Keys(KeysHost),
    /// A fixed answer.
    Fixed(FixedHost),
}

/// ISO 8583:1987 response codes that approve: 00 approved, 08 honour with
/// identification, 10 approved for partial amount, 11 approved (VIP).
pub fn arc_approves(arc: [u8; 2]) -> bool {
    matches!(&arc, b"00" | b"08" | b"10" | b"11")
}

/// The ARC as text for the notes (`00`, or hex when not printable).
pub fn arc_text(arc: [u8; 2]) -> String {
    if arc.iter().all(|b| b.is_ascii_graphic()) {
        String::from_utf8_lossy(&arc).into_owned()
    } else {
        hex::encode_upper(arc)
    }
}

impl AuthorisationRequest {
    /// The request from the online request's ICC data (Book 4, 6.3.6 / 12.2)
    /// and the card's data (`card(tag)`), the ICC data winning; `cdol1_data` is
    /// the data of the first GENERATE AC. `Err` names the first field missing.
    pub fn from_online_request<'a>(
        icc_data: &'a [u8],
        card: impl Fn(u32) -> Option<&'a [u8]>,
        cdol1_data: Option<&[u8]>,
    ) -> Result<Self, &'static str> {
        let field = |tag: u32| tlv::find(icc_data, Tag(tag)).or_else(|| card(tag));
        let fixed = |tag: u32, name: &'static str| -> Result<&'a [u8], &'static str> {
            field(tag).ok_or(name)
        };
        let arqc = <[u8; 8]>::try_from(fixed(0x9F26, "Application Cryptogram (9F26)")?)
            .map_err(|_| "Application Cryptogram (9F26)")?;
        let atc = <[u8; 2]>::try_from(fixed(0x9F36, "ATC (9F36)")?).map_err(|_| "ATC (9F36)")?;
        let aip = <[u8; 2]>::try_from(fixed(0x82, "AIP (82)")?).map_err(|_| "AIP (82)")?;
        let pan = fixed(0x5A, "PAN (5A)")?;
        let unpredictable_number = field(0x9F37)
            .and_then(|v| <[u8; 4]>::try_from(v).ok())
            .unwrap_or_default();
        Ok(AuthorisationRequest {
            pan: pan.to_vec(),
            pan_sequence: field(0x5F34).and_then(|v| v.first().copied()).unwrap_or(0),
            atc: u16::from_be_bytes(atc),
            arqc,
            aip,
            issuer_application_data: field(0x9F10).map(<[u8]>::to_vec).unwrap_or_default(),
            unpredictable_number,
            cdol1_data: cdol1_data.ok_or("CDOL1 data (first GENERATE AC)")?.to_vec(),
        })
    }
}

impl Host {
    /// The answer to an authorisation request; `Err(field)` when the request
    /// lacked a field (a keys host then declines with its decline ARC).
    pub fn answer(&self, request: Result<&AuthorisationRequest, &str>) -> Answer {
        match self {
            Host::Keys(host) => host.answer(request),
            Host::Fixed(host) => host.answer(),
        }
    }
}

impl KeysHost {
    fn answer(&self, request: Result<&AuthorisationRequest, &str>) -> Answer {
        let decline = |why: String| Answer {
            approved: false,
            authorisation_response_code: self.decline_arc,
            issuer_authentication_data: None,
            scripts: Vec::new(),
            note: format!(
                "{why}: declined (ARC {}), no ARPC",
                arc_text(self.decline_arc)
            ),
        };
        let request = match request {
            Ok(request) => request,
            Err(missing) => return decline(format!("authorisation request without {missing}")),
        };
        if self.issuer.arqc_input(request).is_none() {
            return decline("Issuer Application Data too short for the ARQC input".to_owned());
        }
        if !self.issuer.verify_arqc(request) {
            return decline("ARQC does not verify with the host file's keys".to_owned());
        }
        let data = self.issuer.issuer_authentication_data(request, self.arc);
        let mut scripts = Vec::new();
        let mut commands = 0usize;
        for script in &self.scripts {
            let mut value = Vec::new();
            if let Some(id) = script.identifier {
                push_tlv(&mut value, &[0x9F, 0x18], &id);
            }
            for (header, command_data) in &script.commands {
                // Lengths are checked when the host file is read.
                if let Some(command) = self.issuer.script_command(
                    &request.pan,
                    request.pan_sequence,
                    request.atc,
                    request.arqc,
                    *header,
                    command_data,
                ) {
                    push_tlv(&mut value, &[0x86], &command);
                    commands += 1;
                }
            }
            push_tlv(&mut scripts, &[script.template.tag()], &value);
        }
        let method = match self.issuer.scheme().arpc {
            crate::issuer::ArpcMethod::Method1 => 1,
            crate::issuer::ArpcMethod::Method2 { .. } => 2,
        };
        let mut note = format!(
            "ARQC verified; {} (ARC {}), ARPC method {method} sent",
            if self.approve { "approved" } else { "declined" },
            arc_text(self.arc)
        );
        if !self.scripts.is_empty() {
            let templates: Vec<String> = self
                .scripts
                .iter()
                .map(|s| format!("{:02X}", s.template.tag()))
                .collect();
            note.push_str(&format!(
                ", {commands} issuer script command(s) in template(s) {}",
                templates.join(", ")
            ));
        }
        Answer {
            approved: self.approve,
            authorisation_response_code: self.arc,
            issuer_authentication_data: Some(data),
            scripts,
            note,
        }
    }
}

impl FixedHost {
    fn answer(&self) -> Answer {
        let mut note = format!(
            "fixed answer: {} (ARC {})",
            if self.approve { "approved" } else { "declined" },
            arc_text(self.arc)
        );
        match &self.issuer_authentication_data {
            Some(data) => note.push_str(&format!(
                ", Issuer Authentication Data of {} bytes",
                data.len()
            )),
            None => note.push_str(", no Issuer Authentication Data"),
        }
        if !self.scripts.is_empty() {
            note.push_str(&format!(", {} bytes of issuer scripts", self.scripts.len()));
        }
        Answer {
            approved: self.approve,
            authorisation_response_code: self.arc,
            issuer_authentication_data: self.issuer_authentication_data.clone(),
            scripts: self.scripts.clone(),
            note,
        }
    }
}

/// Appends a BER-TLV data object (Book 3, Annex B) with a definite length.
pub(crate) fn push_tlv(out: &mut Vec<u8>, tag: &[u8], value: &[u8]) {
    out.extend_from_slice(tag);
    let length = value.len();
    if length < 0x80 {
        out.push(length as u8);
    } else if length <= 0xFF {
        out.extend_from_slice(&[0x81, length as u8]);
    } else {
        let [hi, lo] = u16::try_from(length).unwrap_or(u16::MAX).to_be_bytes();
        out.extend_from_slice(&[0x82, hi, lo]);
    }
    out.extend_from_slice(value);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tlv_lengths_use_the_short_and_long_forms() {
        let mut out = Vec::new();
        push_tlv(&mut out, &[0x86], &[0xAA; 3]);
        assert_eq!(out, [0x86, 3, 0xAA, 0xAA, 0xAA]);
        let mut long = Vec::new();
        push_tlv(&mut long, &[0x72], &[0; 200]);
        assert_eq!(long[..3], [0x72, 0x81, 200]);
        assert_eq!(long.len(), 203);
    }

    use crate::issuer::{
        ArpcMethod, InputPart, IssuerKeys, MasterKey, MasterKeyDerivation, Scheme, SessionKeyMethod,
    };

    /// The host of host/vectors/host_vectors.py: EMV common session key, the ARQC over
    /// the CDOL1 data alone.
    fn keys_host(scripts: Vec<Script>) -> KeysHost {
        let key = |text: &str| {
            let mut k = [0u8; 16];
            k.copy_from_slice(&hex::decode(text).unwrap());
            MasterKey::new(k)
        };
        let keys = IssuerKeys {
            application_cryptogram: key("0123456789ABCDEFFEDCBA9876543210"),
            secure_messaging_integrity: key("FEDCBA98765432100123456789ABCDEF"),
            secure_messaging_confidentiality: None,
        };
        let scheme = Scheme {
            derivation: MasterKeyDerivation::OptionA,
            session_key: SessionKeyMethod::EmvCommon,
            arqc_input: vec![InputPart::Cdol1],
            arpc: ArpcMethod::Method1,
        };
        KeysHost {
            issuer: Issuer::new(keys, scheme),
            arc: *b"00",
            approve: true,
            decline_arc: *b"51",
            scripts,
        }
    }

    fn request() -> AuthorisationRequest {
        AuthorisationRequest {
            pan: hex::decode("5413330089600010").unwrap(),
            pan_sequence: 1,
            atc: 0x0102,
            arqc: [0xED, 0xE2, 0xCF, 0x28, 0x95, 0x02, 0xC9, 0x52],
            aip: [0x39, 0x00],
            issuer_application_data: Vec::new(),
            unpredictable_number: [0x11, 0x22, 0x33, 0x44],
            cdol1_data: hex::decode("000000001000000000000000097800000000000978250615001122334400")
                .unwrap(),
        }
    }

    #[test]
    fn a_verified_arqc_gets_the_arpc_and_the_scripts_in_their_templates() {
        let scripts = vec![
            Script {
                template: ScriptTemplate::Before,
                identifier: Some([0, 0, 0, 7]),
                commands: vec![([0x84, 0x1E, 0, 0], Vec::new())],
            },
            Script {
                template: ScriptTemplate::After,
                identifier: None,
                commands: vec![
                    ([0x04, 0xDA, 0x9F, 0x14], vec![5]),
                    ([0x04, 0xDA, 0x9F, 0x23], vec![9]),
                ],
            },
        ];
        let host = Host::Keys(keys_host(scripts));
        let answer = host.answer(Ok(&request()));
        assert!(answer.approved);
        assert_eq!(answer.authorisation_response_code, *b"00");
        assert_eq!(
            answer
                .issuer_authentication_data
                .as_deref()
                .map(hex::encode_upper),
            Some("6E7BD9AEC38ED61D3030".to_owned())
        );
        // 71 { 9F18 00000007, 86 { 841E0000 04 MAC } } then 72 { 86 {..05 MAC}, 86 {..09 MAC} }.
        let s = &answer.scripts;
        assert_eq!(s[..2], [0x71, 7 + 2 + 9]);
        assert_eq!(s[2..9], [0x9F, 0x18, 4, 0, 0, 0, 7]);
        assert_eq!(s[9..16], [0x86, 9, 0x84, 0x1E, 0, 0, 4]);
        let second = &s[20..];
        assert_eq!(second[..2], [0x72, 2 * (2 + 10)]);
        assert_eq!(second[2..9], [0x86, 10, 0x04, 0xDA, 0x9F, 0x14, 5]);
        assert_eq!(second.len(), 2 + 24);
        assert!(
            answer
                .note
                .contains("3 issuer script command(s) in template(s) 71, 72"),
            "{}",
            answer.note
        );
    }

    #[test]
    fn a_wrong_or_incomplete_request_is_declined_without_arpc() {
        let host = Host::Keys(keys_host(Vec::new()));
        let mut wrong = request();
        wrong.arqc[7] ^= 1;
        for answer in [host.answer(Ok(&wrong)), host.answer(Err("PAN (5A)"))] {
            assert!(!answer.approved);
            assert_eq!(answer.authorisation_response_code, *b"51");
            assert_eq!(answer.issuer_authentication_data, None);
            assert!(answer.scripts.is_empty());
            assert!(answer.note.contains("no ARPC"), "{}", answer.note);
        }
        assert!(host
            .answer(Err("PAN (5A)"))
            .note
            .contains("without PAN (5A)"));
    }

    #[test]
    fn the_request_comes_from_the_icc_data_then_the_card() {
        let icc =
            hex::decode("9F2608EDE2CF289502C9529F360201029F370411223344820239009F100401110000")
                .unwrap();
        let pan = hex::decode("5413330089600010").unwrap();
        let card = |tag: u32| match tag {
            0x5A => Some(pan.as_slice()),
            0x5F34 => Some(&[1u8][..]),
            _ => None,
        };
        let cdol1 = request().cdol1_data;
        let built = AuthorisationRequest::from_online_request(&icc, card, Some(&cdol1)).unwrap();
        assert_eq!(built.issuer_application_data, [1, 0x11, 0, 0]);
        let mut expected = request();
        expected.issuer_application_data = vec![1, 0x11, 0, 0];
        assert_eq!(built, expected);
        assert_eq!(
            AuthorisationRequest::from_online_request(&icc, |_| None, Some(&cdol1)),
            Err("PAN (5A)")
        );
        assert_eq!(
            AuthorisationRequest::from_online_request(&icc, card, None),
            Err("CDOL1 data (first GENERATE AC)")
        );
    }

    #[test]
    fn approval_codes() {
        assert!(arc_approves(*b"00"));
        assert!(arc_approves(*b"11"));
        assert!(!arc_approves(*b"05"));
        assert!(!arc_approves(*b"01"));
        assert_eq!(arc_text(*b"05"), "05");
        assert_eq!(arc_text([0, 1]), "0001");
    }
}
