//! The terminal transport layer (TTL) of EMV Book 1, section 9.3.
//!
//! The kernel sends one command APDU and expects one complete response APDU
//! (data followed by SW1 SW2). Between the two, a card on T=0 may ask for a
//! GET RESPONSE (`61xx`), ask for the command again with the right length
//! (`6Cxx`), or report a warning before its data is fetched. This module hides
//! all of that behind [`exchange`], over any [`RawTransport`] that sends one
//! command and returns what the reader received, with no interpretation.
//!
//! It is pure logic: the unit tests below drive it with a scripted card, and
//! [`crate::PcscCard`] drives it over a real PC/SC reader.

use emv_kernel::transport::{MAX_COMMAND_APDU, MAX_RESPONSE_APDU};

/// Most raw exchanges one command may take: the command itself, a few `6Cxx`
/// retries and a chain of GET RESPONSEs. Real cards need at most three; the
/// bound stops a card that answers `61xx` forever.
pub const MAX_TTL_EXCHANGES: usize = 32;

/// Largest raw response the layer accepts from the reader in one exchange: a
/// short response APDU (256 data bytes + SW1 SW2).
pub const RAW_RESPONSE_CAPACITY: usize = MAX_RESPONSE_APDU;

/// The transmission protocol the reader and the card agreed on at reset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Protocol {
    /// Character protocol: Book 1, 9.2.2 and the APDU mapping of 9.3.1.
    T0,
    /// Block protocol: Book 1, 9.2.4; APDUs travel whole.
    T1,
}

impl core::fmt::Display for Protocol {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Protocol::T0 => f.write_str("T=0"),
            Protocol::T1 => f.write_str("T=1"),
        }
    }
}

/// One exchange with the card exactly as given, without the transport rules.
pub trait RawTransport {
    /// Why the reader could not complete the exchange.
    type Error;

    /// Sends `command` unchanged and writes what came back (data, then the
    /// status bytes) into `response`, returning its length.
    fn transmit_raw(&mut self, command: &[u8], response: &mut [u8]) -> Result<usize, Self::Error>;
}

/// Why [`exchange`] could not produce a response APDU.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TtlError<E> {
    /// The raw transport failed (card removed, reader gone, ...).
    Raw(E),
    /// Caller misuse: the command is not a short command APDU of case 1 to 4
    /// (ISO/IEC 7816-3, 12.1.3).
    MalformedCommand,
    /// Caller misuse: the response buffer cannot even hold SW1 SW2.
    ResponseBufferTooSmall,
    /// The card answered with fewer than the two status bytes.
    NoStatusWords {
        /// How many bytes did come back.
        received: usize,
    },
    /// The card kept asking for GET RESPONSE or a new Le beyond
    /// [`MAX_TTL_EXCHANGES`].
    TooManyExchanges,
    /// The response data does not fit in the caller's buffer (or the reader
    /// returned more than a short response).
    ResponseTooLong,
}

/// The four command cases of ISO/IEC 7816-3, 12.1.3 (short form only).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Case {
    /// `CLA INS P1 P2`: no data either way.
    One,
    /// `CLA INS P1 P2 Le`: data from the card.
    Two,
    /// `CLA INS P1 P2 Lc data`: data to the card.
    Three,
    /// `CLA INS P1 P2 Lc data Le`: data both ways.
    Four,
}

/// Finds the case of a short command APDU from its length and byte C5.
fn classify(command: &[u8]) -> Option<Case> {
    match command.len() {
        0..=3 => None,
        4 => Some(Case::One),
        5 => Some(Case::Two),
        len => {
            let lc = usize::from(*command.get(4)?);
            if lc == 0 || len > MAX_COMMAND_APDU {
                None
            } else if len == 5 + lc {
                Some(Case::Three)
            } else if len == 6 + lc {
                Some(Case::Four)
            } else {
                None
            }
        }
    }
}

/// The next command the layer sends, kept in a fixed buffer.
struct Outgoing {
    bytes: [u8; MAX_COMMAND_APDU],
    len: usize,
    /// Whether the last byte is an Le that a `6Cxx` may correct.
    has_le: bool,
}

impl Outgoing {
    /// Book 1, 9.3.1.1: the command as first sent. On T=0 a case 4 command
    /// goes without its Le (as a case 3 TPDU); the data comes back through
    /// `61xx` and GET RESPONSE.
    fn first(command: &[u8], case: Case, protocol: Protocol) -> Option<Self> {
        let send = match (case, protocol) {
            (Case::Four, Protocol::T0) => command.split_last().map(|(_le, rest)| rest)?,
            _ => command,
        };
        let has_le = matches!(
            (case, protocol),
            (Case::Two, _) | (Case::Four, Protocol::T1)
        );
        let mut bytes = [0u8; MAX_COMMAND_APDU];
        bytes.get_mut(..send.len())?.copy_from_slice(send);
        Some(Outgoing {
            bytes,
            len: send.len(),
            has_le,
        })
    }

    /// Book 1, 9.3.1.3: GET RESPONSE (`00 C0 00 00 Le`) asking for `le` bytes.
    fn get_response(le: u8) -> Self {
        let mut bytes = [0u8; MAX_COMMAND_APDU];
        let header = [0x00, 0xC0, 0x00, 0x00, le];
        for (slot, byte) in bytes.iter_mut().zip(header) {
            *slot = byte;
        }
        Outgoing {
            bytes,
            len: header.len(),
            has_le: true,
        }
    }

    /// Replaces the Le byte with the length the card asked for with `6Cxx`.
    fn set_le(&mut self, le: u8) {
        if let Some(last) = self.len.checked_sub(1).and_then(|i| self.bytes.get_mut(i)) {
            *last = le;
        }
    }

    fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..self.len).unwrap_or(&[])
    }
}

/// Book 1, 9.3.1.1 (case 4): status bytes that report a warning or an
/// application-related condition (`62xx`, `63xx`, `9xxx` other than `9000`).
/// On T=0 the data of such a case 4 command is still fetched with GET
/// RESPONSE, and these status bytes are the ones the kernel sees.
pub fn is_warning(sw1: u8, sw2: u8) -> bool {
    sw1 == 0x62 || sw1 == 0x63 || (sw1 & 0xF0 == 0x90 && !(sw1 == 0x90 && sw2 == 0x00))
}

/// Sends one command APDU and writes the complete response APDU (data, then
/// SW1 SW2) into `response`, returning its length.
///
/// Book 1, 9.3.1 (T=0) and 9.3.2 (T=1), Annex A:
/// - T=0, case 4: the command is sent without Le;
/// - `61xx` (either protocol): GET RESPONSE with Le = `xx`, repeated while
///   the card answers `61xx`, the data concatenated;
/// - `6Cxx` to a command that carried an Le: the same command again with
///   Le = `xx` (the data of the `6Cxx` answer, if any, is dropped);
/// - T=0, case 4, a warning ([`is_warning`]) with no data: GET RESPONSE with
///   Le = `00`, and the warning is returned as the final status bytes;
/// - anything else: returned to the kernel as it came.
///
/// Every loop is bounded by [`MAX_TTL_EXCHANGES`]; no input panics.
pub fn exchange<R: RawTransport>(
    raw: &mut R,
    protocol: Protocol,
    command: &[u8],
    response: &mut [u8],
) -> Result<usize, TtlError<R::Error>> {
    let case = classify(command).ok_or(TtlError::MalformedCommand)?;
    if response.len() < 2 {
        return Err(TtlError::ResponseBufferTooSmall);
    }
    let mut outgoing =
        Outgoing::first(command, case, protocol).ok_or(TtlError::MalformedCommand)?;
    let mut received = [0u8; RAW_RESPONSE_CAPACITY];
    let mut data_len = 0usize;
    let mut warning: Option<[u8; 2]> = None;
    let mut fetching = false;

    for _ in 0..MAX_TTL_EXCHANGES {
        let count = raw
            .transmit_raw(outgoing.as_bytes(), &mut received)
            .map_err(TtlError::Raw)?;
        let reply = received.get(..count).ok_or(TtlError::ResponseTooLong)?;
        let status_at = count
            .checked_sub(2)
            .ok_or(TtlError::NoStatusWords { received: count })?;
        let (data, status) = reply
            .split_at_checked(status_at)
            .ok_or(TtlError::NoStatusWords { received: count })?;
        let (sw1, sw2) = match status {
            [sw1, sw2] => (*sw1, *sw2),
            _ => return Err(TtlError::NoStatusWords { received: count }),
        };

        if sw1 == 0x61 {
            data_len = append(response, data_len, data)?;
            outgoing = Outgoing::get_response(sw2);
            fetching = true;
            continue;
        }
        if sw1 == 0x6C && outgoing.has_le {
            outgoing.set_le(sw2);
            continue;
        }
        if protocol == Protocol::T0
            && case == Case::Four
            && !fetching
            && data.is_empty()
            && is_warning(sw1, sw2)
        {
            warning = Some([sw1, sw2]);
            outgoing = Outgoing::get_response(0x00);
            fetching = true;
            continue;
        }

        data_len = append(response, data_len, data)?;
        let [final_sw1, final_sw2] = warning.unwrap_or([sw1, sw2]);
        let trailer = response
            .get_mut(data_len..data_len + 2)
            .ok_or(TtlError::ResponseTooLong)?;
        trailer.copy_from_slice(&[final_sw1, final_sw2]);
        return Ok(data_len + 2);
    }
    Err(TtlError::TooManyExchanges)
}

/// Appends `data` after the `filled` bytes of `response`, keeping room for
/// SW1 SW2; returns the new fill.
fn append<E>(response: &mut [u8], filled: usize, data: &[u8]) -> Result<usize, TtlError<E>> {
    let end = filled
        .checked_add(data.len())
        .filter(|end| end.saturating_add(2) <= response.len())
        .ok_or(TtlError::ResponseTooLong)?;
    response
        .get_mut(filled..end)
        .ok_or(TtlError::ResponseTooLong)?
        .copy_from_slice(data);
    Ok(end)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A card that expects exactly the listed commands and gives the listed
    /// answers; any other command fails the test.
    struct ScriptedCard {
        steps: Vec<(Vec<u8>, Vec<u8>)>,
        next: usize,
    }

    impl ScriptedCard {
        fn new(steps: &[(&str, &str)]) -> Self {
            ScriptedCard {
                steps: steps
                    .iter()
                    .map(|(c, r)| (hex::decode(c).unwrap(), hex::decode(r).unwrap()))
                    .collect(),
                next: 0,
            }
        }

        fn finished(&self) -> bool {
            self.next == self.steps.len()
        }
    }

    #[derive(Debug, PartialEq)]
    struct OffScript;

    impl RawTransport for ScriptedCard {
        type Error = OffScript;
        fn transmit_raw(
            &mut self,
            command: &[u8],
            response: &mut [u8],
        ) -> Result<usize, OffScript> {
            let (expected, answer) = self.steps.get(self.next).ok_or(OffScript)?;
            assert_eq!(
                hex::encode_upper(command),
                hex::encode_upper(expected),
                "command #{}",
                self.next
            );
            self.next += 1;
            response[..answer.len()].copy_from_slice(answer);
            Ok(answer.len())
        }
    }

    fn run(
        protocol: Protocol,
        command: &str,
        steps: &[(&str, &str)],
    ) -> Result<String, TtlError<OffScript>> {
        let mut card = ScriptedCard::new(steps);
        let mut response = [0u8; MAX_RESPONSE_APDU];
        let n = exchange(
            &mut card,
            protocol,
            &hex::decode(command).unwrap(),
            &mut response,
        )?;
        assert!(card.finished(), "card script not fully used");
        Ok(hex::encode_upper(&response[..n]))
    }

    const SELECT_PSE: &str = "00A404000E315041592E5359532E444446303100";
    const SELECT_PSE_NO_LE: &str = "00A404000E315041592E5359532E4444463031";

    /// Book 1, Annex A (case 4 on T=0): sent without Le, 61xx, GET RESPONSE.
    #[test]
    fn t0_case4_strips_le_and_fetches_with_get_response() {
        let out = run(
            Protocol::T0,
            SELECT_PSE,
            &[(SELECT_PSE_NO_LE, "6104"), ("00C0000004", "6F0284009000")],
        );
        assert_eq!(out.unwrap(), "6F0284009000");
    }

    /// Book 1, 9.3.1.3: 61xx chains are followed until the final status.
    #[test]
    fn get_response_chain_is_concatenated() {
        let out = run(
            Protocol::T0,
            "00B2010C00",
            &[
                ("00B2010C00", "6103"),
                ("00C0000003", "7001AA6102"),
                ("00C0000002", "BBCC9000"),
            ],
        );
        assert_eq!(out.unwrap(), "7001AABBCC9000");
    }

    /// Book 1, Annex A (case 2): 6Cxx means re-send with the exact Le.
    #[test]
    fn wrong_length_is_retried_with_corrected_le() {
        let out = run(
            Protocol::T0,
            "00B2010C00",
            &[("00B2010C00", "6C05"), ("00B2010C05", "70030102039000")],
        );
        assert_eq!(out.unwrap(), "70030102039000");
    }

    /// 6Cxx answering a GET RESPONSE corrects the GET RESPONSE's Le.
    #[test]
    fn wrong_length_on_get_response() {
        let out = run(
            Protocol::T0,
            SELECT_PSE,
            &[
                (SELECT_PSE_NO_LE, "6100"),
                ("00C0000000", "6C02"),
                ("00C0000002", "AABB9000"),
            ],
        );
        assert_eq!(out.unwrap(), "AABB9000");
    }

    /// Book 1, Annex A7: case 4 with a warning and no data: GET RESPONSE Le=00,
    /// then the warning is what the kernel sees.
    #[test]
    fn t0_case4_warning_keeps_warning_status() {
        let out = run(
            Protocol::T0,
            SELECT_PSE,
            &[(SELECT_PSE_NO_LE, "6283"), ("00C0000000", "6F0284009000")],
        );
        assert_eq!(out.unwrap(), "6F0284006283");
    }

    /// The warning survives a GET RESPONSE that needs a 6Cxx correction.
    #[test]
    fn t0_case4_warning_then_wrong_length() {
        let out = run(
            Protocol::T0,
            SELECT_PSE,
            &[
                (SELECT_PSE_NO_LE, "6310"),
                ("00C0000000", "6C03"),
                ("00C0000003", "0102039000"),
            ],
        );
        assert_eq!(out.unwrap(), "0102036310");
    }

    /// A warning followed by a GET RESPONSE the card refuses: the warning is
    /// returned with no data.
    #[test]
    fn t0_case4_warning_when_get_response_fails() {
        let out = run(
            Protocol::T0,
            SELECT_PSE,
            &[(SELECT_PSE_NO_LE, "6283"), ("00C0000000", "6A88")],
        );
        assert_eq!(out.unwrap(), "6283");
    }

    /// Errors (not warnings) to a case 4 command are final at once.
    #[test]
    fn t0_case4_error_is_final() {
        let out = run(Protocol::T0, SELECT_PSE, &[(SELECT_PSE_NO_LE, "6A82")]);
        assert_eq!(out.unwrap(), "6A82");
    }

    /// On T=1 the APDU travels whole and a warning with no data is final.
    #[test]
    fn t1_sends_whole_apdu_and_keeps_warning() {
        let out = run(Protocol::T1, SELECT_PSE, &[(SELECT_PSE, "6283")]);
        assert_eq!(out.unwrap(), "6283");
    }

    /// Some T=1 cards still answer 61xx; the same GET RESPONSE rule applies.
    #[test]
    fn t1_61xx_is_answered_too() {
        let out = run(
            Protocol::T1,
            SELECT_PSE,
            &[(SELECT_PSE, "6F016104"), ("00C0000004", "010203049000")],
        );
        assert_eq!(out.unwrap(), "6F01010203049000");
    }

    /// 6Cxx on T=1 for case 4: the trailing Le is replaced.
    #[test]
    fn t1_case4_wrong_length() {
        let out = run(
            Protocol::T1,
            "80A8000002830000",
            &[
                ("80A8000002830000", "6C04"),
                ("80A8000002830004", "800200009000"),
            ],
        );
        assert_eq!(out.unwrap(), "800200009000");
    }

    /// A case 3 command (no Le) cannot be corrected: 6Cxx goes to the kernel.
    #[test]
    fn case3_6cxx_is_final() {
        let out = run(
            Protocol::T0,
            "0020008008241234FFFFFFFFFF",
            &[("0020008008241234FFFFFFFFFF", "6C08")],
        );
        assert_eq!(out.unwrap(), "6C08");
    }

    /// Case 1 goes through unchanged.
    #[test]
    fn case1_passes_through() {
        let out = run(Protocol::T0, "00700000", &[("00700000", "9000")]);
        assert_eq!(out.unwrap(), "9000");
    }

    /// A card that answers 61xx forever is stopped by the bound.
    #[test]
    fn endless_61xx_is_bounded() {
        struct Endless(usize);
        impl RawTransport for Endless {
            type Error = ();
            fn transmit_raw(&mut self, _: &[u8], response: &mut [u8]) -> Result<usize, ()> {
                self.0 += 1;
                response[..2].copy_from_slice(&[0x61, 0x00]);
                Ok(2)
            }
        }
        let mut card = Endless(0);
        let mut response = [0u8; MAX_RESPONSE_APDU];
        let result = exchange(
            &mut card,
            Protocol::T0,
            &[0, 0xB2, 1, 0x0C, 0],
            &mut response,
        );
        assert_eq!(result, Err(TtlError::TooManyExchanges));
        assert_eq!(card.0, MAX_TTL_EXCHANGES);
    }

    /// A card that answers 6Cxx forever is stopped by the bound.
    #[test]
    fn endless_6cxx_is_bounded() {
        struct Endless;
        impl RawTransport for Endless {
            type Error = ();
            fn transmit_raw(&mut self, _: &[u8], response: &mut [u8]) -> Result<usize, ()> {
                response[..2].copy_from_slice(&[0x6C, 0x10]);
                Ok(2)
            }
        }
        let mut response = [0u8; MAX_RESPONSE_APDU];
        let result = exchange(
            &mut Endless,
            Protocol::T0,
            &[0, 0xB2, 1, 0x0C, 0],
            &mut response,
        );
        assert_eq!(result, Err(TtlError::TooManyExchanges));
    }

    /// More chained data than the caller's buffer holds is an error, not an
    /// overflow.
    #[test]
    fn chained_data_beyond_buffer_is_rejected() {
        let mut steps = vec![("00B2010C00".to_string(), "6100".to_string())];
        let chunk = format!("{}6100", "AB".repeat(256));
        steps.push(("00C0000000".to_string(), chunk.clone()));
        let borrowed: Vec<(&str, &str)> = steps
            .iter()
            .map(|(a, b)| (a.as_str(), b.as_str()))
            .collect();
        let mut card = ScriptedCard::new(&borrowed);
        let mut response = [0u8; MAX_RESPONSE_APDU];
        // 256 bytes fit; the card then offers more: the next GET RESPONSE is
        // sent and its data does not fit.
        card.steps.push((
            hex::decode("00C0000000").unwrap(),
            hex::decode(&chunk).unwrap(),
        ));
        let result = exchange(
            &mut card,
            Protocol::T0,
            &hex::decode("00B2010C00").unwrap(),
            &mut response,
        );
        assert_eq!(result, Err(TtlError::ResponseTooLong));
    }

    /// Answers shorter than SW1 SW2 are reported, not indexed.
    #[test]
    fn short_answers_are_reported() {
        assert_eq!(
            run(Protocol::T0, "00B2010C00", &[("00B2010C00", "90")]),
            Err(TtlError::NoStatusWords { received: 1 })
        );
        assert_eq!(
            run(Protocol::T0, "00B2010C00", &[("00B2010C00", "")]),
            Err(TtlError::NoStatusWords { received: 0 })
        );
    }

    /// Commands that are not short APDUs are refused before anything is sent.
    #[test]
    fn malformed_commands_are_refused() {
        for command in [
            "",
            "00A4",
            "00A404",
            "00A4040002AA",
            "00A4040001AABBCC",
            "00A4040000AA",
        ] {
            assert_eq!(
                run(Protocol::T0, command, &[]),
                Err(TtlError::MalformedCommand),
                "{command}"
            );
        }
    }

    #[test]
    fn warning_classes() {
        assert!(is_warning(0x62, 0x83));
        assert!(is_warning(0x63, 0xC2));
        assert!(is_warning(0x91, 0x00));
        assert!(!is_warning(0x90, 0x00));
        assert!(!is_warning(0x6A, 0x82));
        assert!(!is_warning(0x69, 0x85));
    }

    proptest::proptest! {
        /// Hostile card: any sequence of answers, to any command, on either
        /// protocol, ends in a response or an error within the bound, and a
        /// response always fits the buffer and carries SW1 SW2.
        #[test]
        fn any_card_answers_end_within_the_bound(
            t0 in proptest::bool::ANY,
            command in proptest::collection::vec(proptest::num::u8::ANY, 0..270),
            answers in proptest::collection::vec(
                proptest::collection::vec(proptest::num::u8::ANY, 0..300),
                1..40,
            ),
            buffer in 0usize..300,
        ) {
            struct Hostile { answers: Vec<Vec<u8>>, calls: usize }
            impl RawTransport for Hostile {
                type Error = ();
                fn transmit_raw(&mut self, command: &[u8], response: &mut [u8]) -> Result<usize, ()> {
                    assert!(command.len() <= MAX_COMMAND_APDU);
                    let answer = self.answers.get(self.calls % self.answers.len()).ok_or(())?;
                    self.calls += 1;
                    let n = answer.len().min(response.len());
                    response[..n].copy_from_slice(&answer[..n]);
                    Ok(answer.len())
                }
            }
            let mut card = Hostile { answers, calls: 0 };
            let mut response = vec![0u8; buffer];
            let protocol = if t0 { Protocol::T0 } else { Protocol::T1 };
            let result = exchange(&mut card, protocol, &command, &mut response);
            proptest::prop_assert!(card.calls <= MAX_TTL_EXCHANGES);
            if let Ok(n) = result {
                proptest::prop_assert!(n >= 2 && n <= buffer);
            }
        }
    }
}
