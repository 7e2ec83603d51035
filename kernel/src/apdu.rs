//! The commands the kernel sends and the responses it reads (Book 1, 11;
//! Book 3, 6).
//!
//! Every builder returns a [`CommandApdu`] (capacity-bounded, no heap) or a
//! typed error when the data does not fit a short APDU. Responses are split
//! into data and status word without copying. Status words are classified
//! with the `iso7816` crate's [`iso7816::Status`]; the command builders are
//! our own because `iso7816::command::CommandBuilder` asserts (panics) on
//! oversized data and does not write EMV's `Le = 00` convention directly.

use crate::tlv::Tag;
use crate::transport::MAX_COMMAND_APDU;
use core::fmt;

/// A command APDU ready to send: header, optional Lc and data, optional Le.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CommandApdu {
    bytes: heapless::Vec<u8, MAX_COMMAND_APDU>,
}

impl CommandApdu {
    /// The encoded command.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The instruction byte (INS).
    pub fn ins(&self) -> u8 {
        self.bytes.get(1).copied().unwrap_or(0)
    }

    /// Builds a short APDU: `CLA INS P1 P2 [Lc data] [Le]`.
    ///
    /// `le` is the Le byte (`Some(0)` asks for up to 256 bytes); data of 256
    /// bytes or more does not fit a short APDU.
    pub fn new(
        cla: u8,
        ins: u8,
        p1: u8,
        p2: u8,
        data: &[u8],
        le: Option<u8>,
    ) -> Result<Self, ApduError> {
        let mut bytes = heapless::Vec::new();
        let header = [cla, ins, p1, p2];
        bytes
            .extend_from_slice(&header)
            .map_err(|_| ApduError::DataTooLong)?;
        if !data.is_empty() {
            let lc = u8::try_from(data.len()).map_err(|_| ApduError::DataTooLong)?;
            bytes.push(lc).map_err(|_| ApduError::DataTooLong)?;
            bytes
                .extend_from_slice(data)
                .map_err(|_| ApduError::DataTooLong)?;
        }
        if let Some(le) = le {
            bytes.push(le).map_err(|_| ApduError::DataTooLong)?;
        }
        Ok(CommandApdu { bytes })
    }
}

impl AsRef<[u8]> for CommandApdu {
    fn as_ref(&self) -> &[u8] {
        self.as_bytes()
    }
}

/// A command APDU being built or sent.
pub type Command = CommandApdu;

/// Writes a command `header [Lc data] [Le=00]` into `command`; `false` when
/// the data does not fit a short APDU.
pub(crate) fn build_command(
    command: &mut Command,
    header: [u8; 4],
    data: Option<&[u8]>,
    le: bool,
) -> bool {
    let [cla, ins, p1, p2] = header;
    match CommandApdu::new(cla, ins, p1, p2, data.unwrap_or(&[]), le.then_some(0x00)) {
        Ok(built) => {
            *command = built;
            true
        }
        Err(_) => false,
    }
}

/// The data field of a command built with Lc (bytes after the Lc byte,
/// without Le).
pub(crate) fn command_data(command: &Command) -> &[u8] {
    let bytes = command.as_bytes();
    let length = bytes.get(4).copied().map_or(0, usize::from);
    bytes.get(5..5 + length).unwrap_or(&[])
}

/// Why a command could not be built (caller misuse, not card behaviour).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ApduError {
    /// The command data is longer than 255 bytes.
    DataTooLong,
    /// A Short File Identifier outside 1..=30.
    InvalidSfi,
    /// Record number 0 (records are numbered from 1).
    InvalidRecord,
    /// A tag GET DATA cannot address (more than two bytes).
    InvalidTag,
}

impl fmt::Display for ApduError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ApduError::DataTooLong => "command data longer than 255 bytes",
            ApduError::InvalidSfi => "SFI outside 1 to 30",
            ApduError::InvalidRecord => "record number 0",
            ApduError::InvalidTag => "GET DATA tag longer than two bytes",
        })
    }
}

impl core::error::Error for ApduError {}

/// Book 1, 11.3.2: which occurrence of a partial name SELECT asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Occurrence {
    /// P2 = `00`: first or only occurrence.
    First,
    /// P2 = `02`: next occurrence.
    Next,
}

/// Book 1, 11.3: SELECT by DF name, `00 A4 04 P2 Lc name 00`.
pub fn select(name: &[u8], occurrence: Occurrence) -> Result<CommandApdu, ApduError> {
    let p2 = match occurrence {
        Occurrence::First => 0x00,
        Occurrence::Next => 0x02,
    };
    CommandApdu::new(0x00, 0xA4, 0x04, p2, name, Some(0x00))
}

/// Book 3, 6.5.11: READ RECORD, `00 B2 record (SFI<<3 | 4) 00`.
pub fn read_record(sfi: u8, record: u8) -> Result<CommandApdu, ApduError> {
    if sfi == 0 || sfi > 30 {
        return Err(ApduError::InvalidSfi);
    }
    if record == 0 {
        return Err(ApduError::InvalidRecord);
    }
    CommandApdu::new(0x00, 0xB2, record, (sfi << 3) | 0x04, &[], Some(0x00))
}

/// Book 3, 6.5.8: GET PROCESSING OPTIONS, `80 A8 00 00 Lc 83 L data 00`.
///
/// `command_template` is the whole Command Template (83), as
/// [`crate::dol::build_gpo_data`] builds it.
pub fn get_processing_options(command_template: &[u8]) -> Result<CommandApdu, ApduError> {
    CommandApdu::new(0x80, 0xA8, 0x00, 0x00, command_template, Some(0x00))
}

/// Book 3, 6.5.7: GET DATA, `80 CA P1 P2 00` for the ATC (9F36), the Last
/// Online ATC Register (9F13), the PIN Try Counter (9F17) or the Log Format
/// (9F4F).
pub fn get_data(tag: Tag) -> Result<CommandApdu, ApduError> {
    let [p1, p2] = u16::try_from(tag.0)
        .map_err(|_| ApduError::InvalidTag)?
        .to_be_bytes();
    CommandApdu::new(0x80, 0xCA, p1, p2, &[], Some(0x00))
}

/// Book 3, 6.5.9: INTERNAL AUTHENTICATE, `00 88 00 00 Lc DDOL-data 00`.
pub fn internal_authenticate(ddol_data: &[u8]) -> Result<CommandApdu, ApduError> {
    CommandApdu::new(0x00, 0x88, 0x00, 0x00, ddol_data, Some(0x00))
}

/// Book 3, 6.5.5.2, Table 12: the cryptogram GENERATE AC asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RequestedCryptogram {
    /// AAC (decline), P1 b8-b7 = 00.
    Aac,
    /// TC (approve offline), P1 b8-b7 = 01.
    Tc,
    /// ARQC (go online), P1 b8-b7 = 10.
    Arqc,
}

/// Book 3, 6.5.5: GENERATE APPLICATION CRYPTOGRAM, `80 AE P1 00 Lc data 00`;
/// P1 b5 set when a CDA signature is requested.
pub fn generate_ac(
    cryptogram: RequestedCryptogram,
    cda_signature: bool,
    cdol_data: &[u8],
) -> Result<CommandApdu, ApduError> {
    let kind = match cryptogram {
        RequestedCryptogram::Aac => 0x00,
        RequestedCryptogram::Tc => 0x40,
        RequestedCryptogram::Arqc => 0x80,
    };
    let p1 = if cda_signature { kind | 0x10 } else { kind };
    CommandApdu::new(0x80, 0xAE, p1, 0x00, cdol_data, Some(0x00))
}

/// Book 3, 6.5.12: how the PIN in VERIFY is sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PinFormat {
    /// P2 = `80`: plaintext PIN block.
    Plaintext,
    /// P2 = `88`: enciphered PIN.
    Enciphered,
}

/// Book 3, 6.5.12: VERIFY, `00 20 00 P2 Lc data` (no Le).
pub fn verify(pin_data: &[u8], format: PinFormat) -> Result<CommandApdu, ApduError> {
    let p2 = match format {
        PinFormat::Plaintext => 0x80,
        PinFormat::Enciphered => 0x88,
    };
    CommandApdu::new(0x00, 0x20, 0x00, p2, pin_data, None)
}

/// Book 3, 6.5.6: GET CHALLENGE, `00 84 00 00 00`.
pub fn get_challenge() -> CommandApdu {
    // Four header bytes and Le always fit the capacity.
    CommandApdu::new(0x00, 0x84, 0x00, 0x00, &[], Some(0x00)).unwrap_or_default()
}

/// Book 3, 6.5.4: EXTERNAL AUTHENTICATE, `00 82 00 00 Lc data` (no Le).
pub fn external_authenticate(issuer_authentication_data: &[u8]) -> Result<CommandApdu, ApduError> {
    CommandApdu::new(0x00, 0x82, 0x00, 0x00, issuer_authentication_data, None)
}

/// Book 1, 9.3.1.3 (T=0): GET RESPONSE, `00 C0 00 00 Le`, after a `61xx`.
pub fn get_response(le: u8) -> CommandApdu {
    CommandApdu::new(0x00, 0xC0, 0x00, 0x00, &[], Some(le)).unwrap_or_default()
}

/// A status word, SW1 SW2.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct StatusWord(pub u16);

impl StatusWord {
    /// `9000`: normal processing.
    pub const SUCCESS: StatusWord = StatusWord(0x9000);
    /// `6283`: selected file invalidated (a blocked application on SELECT).
    pub const SELECTED_FILE_INVALIDATED: StatusWord = StatusWord(0x6283);
    /// `6983`: authentication method blocked (PIN blocked; card blocked on
    /// SELECT of the PSE in some cards).
    pub const AUTHENTICATION_METHOD_BLOCKED: StatusWord = StatusWord(0x6983);
    /// `6984`: referenced data invalidated.
    pub const REFERENCED_DATA_INVALIDATED: StatusWord = StatusWord(0x6984);
    /// `6985`: conditions of use not satisfied (GPO: service not allowed).
    pub const CONDITIONS_OF_USE_NOT_SATISFIED: StatusWord = StatusWord(0x6985);
    /// `6A81`: function not supported (card blocked on SELECT).
    pub const FUNCTION_NOT_SUPPORTED: StatusWord = StatusWord(0x6A81);
    /// `6A82`: file or application not found.
    pub const FILE_NOT_FOUND: StatusWord = StatusWord(0x6A82);
    /// `6A83`: record not found (end of a PSE directory).
    pub const RECORD_NOT_FOUND: StatusWord = StatusWord(0x6A83);
    /// `6D00`: instruction code not supported or invalid.
    pub const INS_NOT_SUPPORTED: StatusWord = StatusWord(0x6D00);
    /// `6E00`: class not supported.
    pub const CLA_NOT_SUPPORTED: StatusWord = StatusWord(0x6E00);

    /// From the two trailing bytes of a response.
    pub const fn from_bytes(sw1: u8, sw2: u8) -> Self {
        StatusWord(((sw1 as u16) << 8) | sw2 as u16)
    }

    /// SW1.
    pub const fn sw1(self) -> u8 {
        (self.0 >> 8) as u8
    }

    /// SW2.
    pub const fn sw2(self) -> u8 {
        self.0 as u8
    }

    /// `9000`.
    pub const fn is_success(self) -> bool {
        self.0 == 0x9000
    }

    /// Book 1, 9.4.4 and Book 3, 6.3.5: a warning (`62xx` or `63xx`): the
    /// command was processed and its data may be used.
    pub const fn is_warning(self) -> bool {
        matches!(self.sw1(), 0x62 | 0x63)
    }

    /// `63Cx`: the remaining PIN tries after a failed VERIFY.
    pub const fn pin_tries_remaining(self) -> Option<u8> {
        if self.0 & 0xFFF0 == 0x63C0 {
            Some(self.sw2() & 0x0F)
        } else {
            None
        }
    }

    /// `61xx`: how many more response bytes GET RESPONSE can fetch (T=0).
    pub const fn bytes_available(self) -> Option<u8> {
        if self.sw1() == 0x61 {
            Some(self.sw2())
        } else {
            None
        }
    }

    /// `6Cxx`: the exact Le to re-send the command with (T=0).
    pub const fn correct_le(self) -> Option<u8> {
        if self.sw1() == 0x6C {
            Some(self.sw2())
        } else {
            None
        }
    }

    /// The ISO 7816-4 classification of this status word.
    pub const fn status(self) -> iso7816::Status {
        iso7816::Status::from_u16(self.0)
    }

    /// What the status word means, for logs and people.
    pub const fn meaning(self) -> &'static str {
        match self.0 {
            0x9000 => "Normal processing",
            0x6283 => "Selected file invalidated",
            0x6983 => "Authentication method blocked",
            0x6984 => "Referenced data invalidated",
            0x6985 => "Conditions of use not satisfied",
            0x6A81 => "Function not supported",
            0x6A82 => "File or application not found",
            0x6A83 => "Record not found",
            0x6D00 => "Instruction code not supported or invalid",
            0x6E00 => "Class not supported",
            0x6700 => "Wrong length",
            0x6A86 => "Incorrect parameters P1-P2",
            0x6A88 => "Referenced data not found",
            sw if sw & 0xFFF0 == 0x63C0 => "Verification failed, counter in SW2",
            sw if sw & 0xFF00 == 0x6100 => "Response bytes still available",
            sw if sw & 0xFF00 == 0x6C00 => "Wrong Le, exact length in SW2",
            sw if sw & 0xFF00 == 0x6200 || sw & 0xFF00 == 0x6300 => "Warning",
            _ => "Error",
        }
    }
}

impl fmt::Debug for StatusWord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StatusWord({:04X})", self.0)
    }
}

impl fmt::Display for StatusWord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04X} ({})", self.0, self.meaning())
    }
}

/// A response APDU: its data and the status word, borrowed from the buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Response<'a> {
    /// The response data (may be empty).
    pub data: &'a [u8],
    /// SW1 SW2.
    pub sw: StatusWord,
}

/// A response shorter than the two status bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ResponseTooShort;

impl fmt::Display for ResponseTooShort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("response shorter than SW1 SW2")
    }
}

impl core::error::Error for ResponseTooShort {}

impl<'a> Response<'a> {
    /// Splits a response into data and status word.
    pub fn parse(response: &'a [u8]) -> Result<Self, ResponseTooShort> {
        let (data, sw) = response.split_last_chunk::<2>().ok_or(ResponseTooShort)?;
        Ok(Response {
            data,
            sw: StatusWord::from_bytes(sw[0], sw[1]),
        })
    }
}

/// Splits a response APDU into data and status word; a response shorter
/// than two bytes reads as status `0000` (no valid status).
pub(crate) fn split_status(response: &[u8]) -> (&[u8], u16) {
    match response.split_last_chunk::<2>() {
        Some((data, [sw1, sw2])) => (data, u16::from_be_bytes([*sw1, *sw2])),
        None => (&[], 0x0000),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(c: &CommandApdu) -> heapless::String<600> {
        let mut s = heapless::String::new();
        for b in c.as_bytes() {
            let _ = core::fmt::write(&mut s, format_args!("{b:02X}"));
        }
        s
    }

    #[test]
    fn builds_commands() {
        let pse = select(b"1PAY.SYS.DDF01", Occurrence::First).unwrap();
        assert_eq!(hex(&pse), "00A404000E315041592E5359532E444446303100");
        let next = select(&[0xA0, 0, 0, 0, 3], Occurrence::Next).unwrap();
        assert_eq!(hex(&next), "00A4040205A00000000300");
        assert_eq!(hex(&read_record(1, 1).unwrap()), "00B2010C00");
        assert_eq!(hex(&read_record(30, 255).unwrap()), "00B2FFF400");
        assert_eq!(read_record(0, 1), Err(ApduError::InvalidSfi));
        assert_eq!(read_record(31, 1), Err(ApduError::InvalidSfi));
        assert_eq!(read_record(1, 0), Err(ApduError::InvalidRecord));
        assert_eq!(
            hex(&get_processing_options(&[0x83, 0x00]).unwrap()),
            "80A8000002830000"
        );
        assert_eq!(hex(&get_data(Tag(0x9F36)).unwrap()), "80CA9F3600");
        assert_eq!(get_data(Tag(0xDF8101)), Err(ApduError::InvalidTag));
        assert_eq!(
            hex(&internal_authenticate(&[1, 2, 3, 4]).unwrap()),
            "00880000040102030400"
        );
        assert_eq!(
            hex(&generate_ac(RequestedCryptogram::Arqc, false, &[0xAA]).unwrap()),
            "80AE800001AA00"
        );
        assert_eq!(
            hex(&generate_ac(RequestedCryptogram::Tc, true, &[0xAA]).unwrap()),
            "80AE500001AA00"
        );
        assert_eq!(
            hex(&generate_ac(RequestedCryptogram::Aac, false, &[0xAA]).unwrap()),
            "80AE000001AA00"
        );
        let pin_block = [0x24, 0x12, 0x34, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF];
        assert_eq!(
            hex(&verify(&pin_block, PinFormat::Plaintext).unwrap()),
            "0020008008241234FFFFFFFFFF"
        );
        assert_eq!(
            verify(&[0; 128], PinFormat::Enciphered).unwrap().as_bytes()[..5],
            [0x00, 0x20, 0x00, 0x88, 0x80]
        );
        assert_eq!(hex(&get_challenge()), "0084000000");
        assert_eq!(
            hex(&external_authenticate(&[0x11; 10]).unwrap()),
            "008200000A11111111111111111111"
        );
        assert_eq!(hex(&get_response(0x1C)), "00C000001C");
        assert_eq!(
            CommandApdu::new(0, 0, 0, 0, &[0; 255], Some(0))
                .unwrap()
                .as_bytes()
                .len(),
            261
        );
        assert_eq!(
            CommandApdu::new(0, 0, 0, 0, &[0; 256], None),
            Err(ApduError::DataTooLong)
        );
    }

    #[test]
    fn splits_responses() {
        let r = Response::parse(&[0x6F, 0x00, 0x90, 0x00]).unwrap();
        assert_eq!(r.data, &[0x6F, 0x00]);
        assert!(r.sw.is_success());
        assert_eq!(r.sw.status(), iso7816::Status::Success);
        let r = Response::parse(&[0x63, 0xC2]).unwrap();
        assert!(r.data.is_empty());
        assert_eq!(r.sw.pin_tries_remaining(), Some(2));
        assert!(r.sw.is_warning());
        assert_eq!(r.sw.status(), iso7816::Status::RemainingRetries(2));
        assert_eq!(StatusWord(0x6A82).status(), iso7816::Status::NotFound);
        assert_eq!(StatusWord(0x6A83).status(), iso7816::Status::RecordNotFound);
        assert_eq!(
            StatusWord(0x6985).status(),
            iso7816::Status::ConditionsOfUseNotSatisfied
        );
        assert_eq!(StatusWord(0x611C).bytes_available(), Some(0x1C));
        assert_eq!(StatusWord(0x6C10).correct_le(), Some(0x10));
        assert_eq!(StatusWord(0x9000).pin_tries_remaining(), None);
        assert_eq!(Response::parse(&[0x90]), Err(ResponseTooShort));
        assert_eq!(
            StatusWord::from_bytes(0x62, 0x83),
            StatusWord::SELECTED_FILE_INVALIDATED
        );
    }
}
