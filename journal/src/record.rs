//! What the journal stores about one transaction.

use emv_kernel::tlv::{self, Tag, Writer};

use super::JournalError;

/// Identifies one journal record; ids increase and are never reused, even after pruning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RecordId(pub i64);

impl std::fmt::Display for RecordId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// What `transact` knows when it is about to send the first GENERATE AC.
///
/// Field values are the EMV data elements as the kernel holds them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingTransaction {
    /// Amount, Authorised (9F02), in minor units of the currency.
    pub amount_authorised: u64,
    /// Amount, Other (9F03), in minor units (cashback).
    pub amount_other: u64,
    /// Transaction Currency Code (5F2A), ISO 4217 numeric, e.g. 978.
    pub currency_code: u16,
    /// Transaction Type (9C), e.g. 0x00 goods and services.
    pub transaction_type: u8,
    /// Transaction Date (9A), BCD YYMMDD.
    pub transaction_date: [u8; 3],
    /// Transaction Time (9F21), BCD HHMMSS.
    pub transaction_time: [u8; 3],
    /// The selected application's AID (4F / 84).
    pub aid: Vec<u8>,
    /// Application PAN (5A), BCD with trailing F padding; sealed at rest.
    pub pan: Vec<u8>,
    /// Application PAN Sequence Number (5F34), when the card has one.
    pub pan_sequence_number: Option<u8>,
    /// Track 2 Equivalent Data (57), when the card has it; sealed at rest.
    pub track2_equivalent: Option<Vec<u8>>,
    /// Application Expiration Date (5F24), BCD YYMMDD; sealed at rest.
    pub expiry_date: [u8; 3],
}

/// How a transaction that reached GENERATE AC ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The card returned a TC (offline or after online authorisation).
    Approved,
    /// The card returned an AAC.
    Declined,
    /// Processing stopped without a final cryptogram (card removed, card error).
    Terminated,
}

/// Whether the decision was taken with the issuer (online) or by card and terminal alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Decided without the issuer: must be forwarded to the acquirer later.
    Offline,
    /// Decided after an online authorisation.
    Online,
}

/// What `transact` knows after the last GENERATE AC; written before approval is shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completion {
    /// Approved, declined or terminated.
    pub outcome: Outcome,
    /// Offline or online decision.
    pub mode: Mode,
    /// Authorisation Response Code (8A), when one was set (online, or Y1/Z1/Y3/Z3 offline).
    pub authorisation_response_code: Option<[u8; 2]>,
    /// Cryptogram Information Data (9F27) of the final GENERATE AC.
    pub cryptogram_information_data: Option<u8>,
    /// Application Cryptogram (9F26) of the final GENERATE AC.
    pub application_cryptogram: Option<[u8; 8]>,
    /// Application Transaction Counter (9F36).
    pub atc: Option<u16>,
    /// Terminal Verification Results (95) at the end.
    pub tvr: [u8; 5],
    /// Transaction Status Information (9B) at the end.
    pub tsi: [u8; 2],
    /// CVM Results (9F34).
    pub cvm_results: [u8; 3],
    /// ICC data for clearing (ISO 8583 field 55 TLVs).
    pub icc_data: Vec<u8>,
    /// Why the terminal forced the transaction online, when an offline limit did.
    pub forced_online_reason: Option<String>,
}

/// Where a record is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Written before GENERATE AC, not completed yet.
    Pending,
    /// Completed approved.
    Approved,
    /// Completed declined.
    Declined,
    /// Completed without a final cryptogram.
    Terminated,
    /// Left pending by a crash and resolved at the next start: the outcome is unknown.
    Incomplete,
}

impl State {
    /// The name stored in the database and printed.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Pending => "pending",
            State::Approved => "approved",
            State::Declined => "declined",
            State::Terminated => "terminated",
            State::Incomplete => "incomplete",
        }
    }

    pub(crate) fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "pending" => State::Pending,
            "approved" => State::Approved,
            "declined" => State::Declined,
            "terminated" => State::Terminated,
            "incomplete" => State::Incomplete,
            _ => return None,
        })
    }
}

impl std::fmt::Display for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Outcome {
    pub(crate) fn state(self) -> State {
        match self {
            Outcome::Approved => State::Approved,
            Outcome::Declined => State::Declined,
            Outcome::Terminated => State::Terminated,
        }
    }
}

impl Mode {
    /// The name stored in the database and printed.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Offline => "offline",
            Mode::Online => "online",
        }
    }

    pub(crate) fn parse(text: &str) -> Option<Self> {
        match text {
            "offline" => Some(Mode::Offline),
            "online" => Some(Mode::Online),
            _ => None,
        }
    }
}

/// Whether a record still has to reach the acquirer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncState {
    /// Not forwarded yet (approved records and advices, and pending ones until they complete).
    Unsynced,
    /// The acquirer acknowledged this record's idempotency key.
    Synced,
    /// Nothing to forward: declined (without an advice), terminated or incomplete.
    NotRequired,
}

impl SyncState {
    /// The name stored in the database and printed.
    pub fn as_str(self) -> &'static str {
        match self {
            SyncState::Unsynced => "unsynced",
            SyncState::Synced => "synced",
            SyncState::NotRequired => "not-required",
        }
    }

    pub(crate) fn parse(text: &str) -> Option<Self> {
        match text {
            "unsynced" => Some(SyncState::Unsynced),
            "synced" => Some(SyncState::Synced),
            "not-required" => Some(SyncState::NotRequired),
            _ => None,
        }
    }
}

/// How an approval's outcome reached the merchant, once it did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShownBy {
    /// The terminal showed it (`transact` printed the outcome, then marked it).
    Merchant,
    /// It was never shown, and was acknowledged after reconciliation with the merchant or
    /// the customer (`journal reconcile`).
    Reconciliation,
}

impl ShownBy {
    /// The name stored in the database and printed.
    pub fn as_str(self) -> &'static str {
        match self {
            ShownBy::Merchant => "merchant",
            ShownBy::Reconciliation => "reconciliation",
        }
    }

    pub(crate) fn parse(text: &str) -> Option<Self> {
        match text {
            "merchant" => Some(ShownBy::Merchant),
            "reconciliation" => Some(ShownBy::Reconciliation),
            _ => None,
        }
    }
}

/// One journal record as stored (sensitive fields still sealed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Record id.
    pub id: RecordId,
    /// Idempotency key sent to the acquirer: terminal id, record id and a random nonce.
    pub idempotency_key: String,
    /// Life-cycle state.
    pub state: State,
    /// Offline or online, once completed.
    pub mode: Option<Mode>,
    /// Unix time (seconds) the record was written pending.
    pub created_at: i64,
    /// Unix time (seconds) it was completed or resolved.
    pub completed_at: Option<i64>,
    /// Amount, Authorised (9F02).
    pub amount_authorised: u64,
    /// Amount, Other (9F03).
    pub amount_other: u64,
    /// Transaction Currency Code (5F2A).
    pub currency_code: u16,
    /// Transaction Type (9C).
    pub transaction_type: u8,
    /// Transaction Date (9A) BCD YYMMDD.
    pub transaction_date: [u8; 3],
    /// Transaction Time (9F21) BCD HHMMSS.
    pub transaction_time: [u8; 3],
    /// AID.
    pub aid: Vec<u8>,
    /// PAN with all but the first six and last four digits replaced by `*`.
    pub masked_pan: String,
    /// PAN Sequence Number (5F34).
    pub pan_sequence_number: Option<u8>,
    /// Id of the key that sealed the sensitive fields.
    pub key_id: u32,
    /// AES-GCM nonce of the sealed fields.
    pub nonce: [u8; 12],
    /// Sealed sensitive fields (ciphertext and tag).
    pub sealed: Vec<u8>,
    /// Application Transaction Counter (9F36).
    pub atc: Option<u16>,
    /// Authorisation Response Code (8A).
    pub authorisation_response_code: Option<[u8; 2]>,
    /// Cryptogram Information Data (9F27).
    pub cryptogram_information_data: Option<u8>,
    /// Application Cryptogram (9F26).
    pub application_cryptogram: Option<[u8; 8]>,
    /// TVR (95).
    pub tvr: Option<[u8; 5]>,
    /// TSI (9B).
    pub tsi: Option<[u8; 2]>,
    /// CVM Results (9F34).
    pub cvm_results: Option<[u8; 3]>,
    /// ICC data for clearing (field 55).
    pub icc_data: Vec<u8>,
    /// Why an offline limit forced the transaction online.
    pub forced_online_reason: Option<String>,
    /// Position in the HMAC chain, once finished.
    pub chain_seq: Option<i64>,
    /// The chain HMAC, once finished.
    pub mac: Option<Vec<u8>>,
    /// Whether it still has to reach the acquirer.
    pub sync_state: SyncState,
    /// Unix time the acquirer acknowledged it.
    pub synced_at: Option<i64>,
    /// The acquirer's signed receipt (JSON text) that proved the record forwarded.
    pub receipt: Option<String>,
    /// HMAC over every field and the sync state: written with each state transition
    /// (pending, outcome, incomplete, synced); `None` only on records written before
    /// schema version 4 that have not changed state since.
    pub state_mac: Option<Vec<u8>>,
    /// How the approval reached the merchant (schema version 5): `None` while an approval
    /// is committed but not confirmed as shown, and on every record that is not an
    /// approval or was written before version 5.
    pub shown: Option<ShownBy>,
    /// Unix time it was marked shown or reconciled.
    pub shown_at: Option<i64>,
}

impl Record {
    /// A forced acceptance (Book 4, 6.5.4; ICS row 97): an approved record
    /// whose card answered with an AAC (CID b8-b7 `00`) and that is not a
    /// refund (9C `20`, whose AAC completes it by the refund policy). The
    /// attendant accepted the card's decline; it is forwarded like any
    /// approval, and the acquirer's record says `"forced_acceptance": true`.
    pub fn is_forced_acceptance(&self) -> bool {
        self.state == State::Approved
            && self.transaction_type != 0x20
            && self
                .cryptogram_information_data
                .is_some_and(|cid| cid & 0xC0 == 0x00)
    }

    /// An advice for the acquirer (ICS row 96): a decline whose card asked
    /// for an advice message in its last GENERATE AC (CID b4, Book 3,
    /// 6.5.5.4; Book 4, 6.3.7 and 12.2.3). It is forwarded like an approval
    /// (`sync`), and the acquirer's record says `"advice": true`.
    pub fn is_advice(&self) -> bool {
        self.state == State::Declined
            && self
                .cryptogram_information_data
                .is_some_and(|cid| cid & 0x08 != 0)
    }
}

/// The sealed fields of a record, in clear (only in memory).
#[derive(Clone, PartialEq, Eq)]
pub struct Sensitive {
    /// Application PAN (5A), BCD.
    pub pan: Vec<u8>,
    /// Track 2 Equivalent Data (57).
    pub track2_equivalent: Option<Vec<u8>>,
    /// Application Expiration Date (5F24), BCD YYMMDD.
    pub expiry_date: [u8; 3],
}

impl std::fmt::Debug for Sensitive {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sensitive { .. }")
    }
}

const TAG_PAN: Tag = Tag(0x5A);
const TAG_TRACK2: Tag = Tag(0x57);
const TAG_EXPIRY: Tag = Tag(0x5F24);

impl Sensitive {
    /// Encodes the fields as BER-TLV with their EMV tags (5A, 57, 5F24) for sealing.
    pub(crate) fn encode(&self) -> Result<Vec<u8>, JournalError> {
        let mut buf =
            vec![0u8; 16 + self.pan.len() + self.track2_equivalent.as_ref().map_or(0, Vec::len)];
        let mut writer = Writer::new(&mut buf);
        let too_long = |_| JournalError::InvalidInput("PAN or track 2 data too long");
        writer.push(TAG_PAN, &self.pan).map_err(too_long)?;
        if let Some(track2) = &self.track2_equivalent {
            writer.push(TAG_TRACK2, track2).map_err(too_long)?;
        }
        writer
            .push(TAG_EXPIRY, &self.expiry_date)
            .map_err(too_long)?;
        Ok(writer.as_bytes().to_vec())
    }

    /// Decodes what [`Sensitive::encode`] wrote.
    pub(crate) fn decode(record_id: i64, bytes: &[u8]) -> Result<Self, JournalError> {
        let corrupt = JournalError::CorruptField {
            record_id,
            field: "sealed",
        };
        tlv::validate(bytes).map_err(|_| JournalError::CorruptField {
            record_id,
            field: "sealed",
        })?;
        let pan = tlv::find(bytes, TAG_PAN).ok_or(corrupt)?.to_vec();
        let track2_equivalent = tlv::find(bytes, TAG_TRACK2).map(<[u8]>::to_vec);
        let expiry_date: [u8; 3] = tlv::find(bytes, TAG_EXPIRY)
            .and_then(|v| v.try_into().ok())
            .ok_or(JournalError::CorruptField {
                record_id,
                field: "sealed",
            })?;
        Ok(Self {
            pan,
            track2_equivalent,
            expiry_date,
        })
    }

    /// The PAN as decimal digits (BCD nibbles up to the first F pad).
    pub fn pan_digits(&self) -> String {
        bcd_digits(&self.pan)
    }
}

/// Decimal digits of a BCD field, stopping at the first F padding nibble.
pub(crate) fn bcd_digits(bytes: &[u8]) -> String {
    let mut digits = String::with_capacity(bytes.len() * 2);
    for nibble in bytes.iter().flat_map(|b| [b >> 4, b & 0x0F]) {
        match nibble {
            0..=9 => digits.push(char::from(b'0' + nibble)),
            _ => break,
        }
    }
    digits
}

/// Masks a BCD PAN for display and storage: first six and last four digits kept
/// (PCI DSS 3.4 display rule), shorter PANs keep only the last four.
pub fn mask_pan(pan_bcd: &[u8]) -> String {
    let digits = bcd_digits(pan_bcd);
    let count = digits.chars().count();
    digits
        .chars()
        .enumerate()
        .map(|(index, c)| {
            let keep_head = count >= 13 && index < 6;
            let keep_tail = index + 4 >= count;
            if keep_head || keep_tail {
                c
            } else {
                '*'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_sixteen_digit_pan() {
        assert_eq!(
            mask_pan(&[0x54, 0x13, 0x33, 0x00, 0x89, 0x01, 0x06, 0x08]),
            "541333******0608"
        );
    }

    #[test]
    fn masks_odd_length_pan_with_pad() {
        // 19 digits + F pad.
        let pan = [0x67, 0x99, 0x99, 0x89, 0x00, 0x00, 0x00, 0x00, 0x00, 0x9F];
        assert_eq!(mask_pan(&pan), "679999*********0009");
    }

    #[test]
    fn sensitive_fields_round_trip_through_tlv() {
        let s = Sensitive {
            pan: vec![0x47, 0x61, 0x73, 0x90, 0x01, 0x01, 0x01, 0x19],
            track2_equivalent: Some(vec![
                0x47, 0x61, 0x73, 0x90, 0x01, 0x01, 0x01, 0x19, 0xD2, 0x21, 0x22, 0x01,
            ]),
            expiry_date: [0x22, 0x12, 0x31],
        };
        let bytes = s.encode().unwrap();
        assert_eq!(bytes.first(), Some(&0x5A));
        assert_eq!(Sensitive::decode(1, &bytes).unwrap(), s);
        assert_eq!(s.pan_digits(), "4761739001010119");
    }
}
