//! Processing restrictions: Book 3, 10.4.
//!
//! Decides whether the card's application may be used for this transaction
//! at this terminal today, and records each failed check as a TVR bit. It
//! never stops the transaction itself: terminal action analysis (10.7) turns
//! the bits into a decision through the action codes.
//!
//! Entry point: [`processing_restrictions`]; the transaction calls it with
//! the card's and the terminal's data through `apply`.

use crate::config::TerminalConfig;
use crate::context::Context;
use crate::date::Date;
use crate::outcome::TerminationReason;
use crate::tlv::Tag;
use crate::tvr::{self, Tvr};

/// Transaction Type (9C): the first two digits of the ISO 8583:1987
/// processing code, kept as the raw value so unknown types pass through.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TransactionType(pub u8);

impl TransactionType {
    /// `00`: purchase of goods or services.
    pub const PURCHASE: Self = Self(0x00);
    /// `01`: cash (withdrawal at an ATM or cash advance at a counter).
    pub const CASH: Self = Self(0x01);
    /// `09`: purchase with cashback.
    pub const CASHBACK: Self = Self(0x09);
    /// `17`: cash disbursement (ISO 8583 "cash advance" family).
    pub const CASH_DISBURSEMENT: Self = Self(0x17);
    /// `20`: refund.
    pub const REFUND: Self = Self(0x20);

    /// Whether the cardholder receives cash (types `01` and `17`).
    pub fn is_cash(self) -> bool {
        self == Self::CASH || self == Self::CASH_DISBURSEMENT
    }

    /// Whether this is a purchase with cashback (type `09`).
    pub fn is_cashback(self) -> bool {
        self == Self::CASHBACK
    }

    /// Whether goods or services are bought (types `00` and `09`).
    pub fn is_purchase(self) -> bool {
        self == Self::PURCHASE || self == Self::CASHBACK
    }
}

/// Terminal Type (9F35): who operates the terminal and how it is connected.
///
/// Book 4, Annex A1: first digit 1 financial institution, 2 merchant,
/// 3 cardholder; second digit 1-3 attended (online only, offline with online
/// capability, offline only), 4-6 unattended (same order).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TerminalType(pub u8);

impl TerminalType {
    /// The environment digit (second digit), 1..=6 for defined types.
    fn environment(self) -> u8 {
        self.0 & 0x0F
    }

    /// Book 4, A1: second digit 4, 5 or 6 means unattended.
    pub fn is_unattended(self) -> bool {
        matches!(self.environment(), 4..=6)
    }

    /// Book 4, A1: second digit 3 or 6 means offline only.
    pub fn is_offline_only(self) -> bool {
        matches!(self.environment(), 3 | 6)
    }

    /// Book 4, A1: second digit 1 or 4 means online only.
    pub fn is_online_only(self) -> bool {
        matches!(self.environment(), 1 | 4)
    }

    /// Book 4, A1: types 14, 15, 16 with the "Cash" transaction type
    /// capability (Additional Terminal Capabilities 9F40 byte 1 b8) are ATMs;
    /// all other terminals are not.
    pub fn is_atm(self, additional_capabilities: &AdditionalTerminalCapabilities) -> bool {
        matches!(self.0, 0x14..=0x16) && additional_capabilities.cash()
    }
}

/// Whether the terminal can go online: configured so, and not of an
/// offline-only type (Book 4, A1).
pub(crate) fn online_capable(config: &TerminalConfig) -> bool {
    connectivity(config) != Connectivity::OfflineOnly
}

/// How the terminal reaches the issuer (Book 4, Annex A1, Terminal Type
/// second digit), which decides the cryptogram terminal action analysis asks
/// for (Book 3, 10.7).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Connectivity {
    /// Types x3 and x6, or a terminal configured without online capability:
    /// the default action codes decide between TC and AAC.
    OfflineOnly,
    /// Types x2 and x5: offline with online capability; the online action
    /// codes decide between TC and ARQC.
    OfflineWithOnlineCapability,
    /// Types x1 and x4: every transaction not denied goes online (ARQC).
    OnlineOnly,
}

/// The terminal's [`Connectivity`] from its type and configuration. A
/// terminal configured with `online_capable = false` is offline only
/// whatever its type.
pub fn connectivity(config: &TerminalConfig) -> Connectivity {
    let terminal_type = TerminalType(config.terminal_type);
    if !config.online_capable || terminal_type.is_offline_only() {
        Connectivity::OfflineOnly
    } else if terminal_type.is_online_only() {
        Connectivity::OnlineOnly
    } else {
        Connectivity::OfflineWithOnlineCapability
    }
}

/// Additional Terminal Capabilities (9F40), 5 bytes. Book 4, Annex A3.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct AdditionalTerminalCapabilities(pub [u8; 5]);

impl AdditionalTerminalCapabilities {
    /// Byte 1 b8: the terminal can dispense cash.
    pub fn cash(&self) -> bool {
        self.0[0] & 0x80 != 0
    }
    /// Byte 1 b7: the terminal sells goods.
    pub fn goods(&self) -> bool {
        self.0[0] & 0x40 != 0
    }
    /// Byte 1 b6: the terminal sells services.
    pub fn services(&self) -> bool {
        self.0[0] & 0x20 != 0
    }

    /// Book 4, Annex A3 (bytes 1 and 2, the transaction types the terminal
    /// supports): whether it can run a transaction of Transaction Type
    /// `kind` (9C, ISO 8583 processing code): `00` goods (b7) or services
    /// (b6), `01` and `17` cash (b8), `09` cashback (b5), `3x` inquiry (b4),
    /// `4x` transfer (b3), `5x` payment (b2), `21` cash deposit (byte 2
    /// b8). A refund (`20`) and the other values have no bit: they are not
    /// refused here (docs/conformance.md, "Transaction types").
    pub fn supports_transaction_type(&self, kind: TransactionType) -> bool {
        let [byte1, byte2, ..] = self.0;
        match kind.0 {
            0x00 => byte1 & 0x60 != 0,
            0x01 | 0x17 => byte1 & 0x80 != 0,
            0x09 => byte1 & 0x10 != 0,
            0x21 => byte2 & 0x80 != 0,
            0x30..=0x39 => byte1 & 0x08 != 0,
            0x40..=0x49 => byte1 & 0x04 != 0,
            0x50..=0x59 => byte1 & 0x02 != 0,
            _ => true,
        }
    }

    /// Book 4, Annex A3: whether the terminal supports ISO/IEC 8859 part
    /// `table` (the Issuer Code Table Index, 9F11, 1 to 10): byte 5 b1 to b8
    /// for tables 1 to 8, byte 4 b1 and b2 for tables 9 and 10.
    pub fn supports_code_table(&self, table: u8) -> bool {
        match table {
            1..=8 => self.0[4] & (1 << (table - 1)) != 0,
            9 => self.0[3] & 0x01 != 0,
            10 => self.0[3] & 0x02 != 0,
            _ => false,
        }
    }

    /// Book 1, 12.2.4 and 12.4: the name to show for an application: the
    /// Application Preferred Name (9F12) when the card gave one together with
    /// an Issuer Code Table Index (9F11) naming a code table the terminal
    /// supports; otherwise the Application Label (50).
    pub fn application_name<'a>(
        &self,
        label: &'a [u8],
        preferred_name: Option<&'a [u8]>,
        code_table_index: Option<u8>,
    ) -> &'a [u8] {
        match (preferred_name, code_table_index) {
            (Some(name), Some(table)) if !name.is_empty() && self.supports_code_table(table) => {
                name
            }
            _ => label,
        }
    }
}

/// Application Usage Control (9F07) bits. Book 3, Annex C2.
pub mod usage_control {
    /// Byte 1 b8.
    pub const DOMESTIC_CASH: (usize, u8) = (0, 0x80);
    /// Byte 1 b7.
    pub const INTERNATIONAL_CASH: (usize, u8) = (0, 0x40);
    /// Byte 1 b6.
    pub const DOMESTIC_GOODS: (usize, u8) = (0, 0x20);
    /// Byte 1 b5.
    pub const INTERNATIONAL_GOODS: (usize, u8) = (0, 0x10);
    /// Byte 1 b4.
    pub const DOMESTIC_SERVICES: (usize, u8) = (0, 0x08);
    /// Byte 1 b3.
    pub const INTERNATIONAL_SERVICES: (usize, u8) = (0, 0x04);
    /// Byte 1 b2.
    pub const VALID_AT_ATMS: (usize, u8) = (0, 0x02);
    /// Byte 1 b1.
    pub const VALID_AT_OTHER_THAN_ATMS: (usize, u8) = (0, 0x01);
    /// Byte 2 b8.
    pub const DOMESTIC_CASHBACK: (usize, u8) = (1, 0x80);
    /// Byte 2 b7.
    pub const INTERNATIONAL_CASHBACK: (usize, u8) = (1, 0x40);
}

/// What processing restrictions read from the card (raw values, absent = `None`).
#[derive(Clone, Copy, Debug, Default)]
pub struct CardRestrictionData<'a> {
    /// Application Version Number (9F08), as read from the card.
    pub application_version: Option<&'a [u8]>,
    /// Application Usage Control (9F07), 2 bytes.
    pub application_usage_control: Option<&'a [u8]>,
    /// Issuer Country Code (5F28), 2 bytes numeric.
    pub issuer_country_code: Option<&'a [u8]>,
    /// Application Effective Date (5F25), BCD YYMMDD.
    pub effective_date: Option<&'a [u8]>,
    /// Application Expiration Date (5F24), BCD YYMMDD.
    pub expiration_date: Option<&'a [u8]>,
}

/// What processing restrictions take from the terminal and the transaction.
#[derive(Clone, Copy, Debug)]
pub struct TerminalRestrictionData {
    /// Application Version Number of the terminal for this AID (9F09).
    pub application_version: [u8; 2],
    /// Terminal Country Code (9F1A).
    pub country_code: [u8; 2],
    /// Terminal Type (9F35).
    pub terminal_type: TerminalType,
    /// Additional Terminal Capabilities (9F40).
    pub additional_capabilities: AdditionalTerminalCapabilities,
    /// Transaction Type (9C).
    pub transaction_type: TransactionType,
    /// Amount, Other (9F03): the cashback amount, 0 when none.
    pub amount_other: u64,
    /// Transaction Date (9A), from the caller's clock.
    pub transaction_date: Date,
}

/// Card data that processing restrictions cannot read: a format error.
///
/// The engine terminates the transaction, as for any malformed card data.
/// `tag` names the offending data object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CardFormatError {
    /// The tag of the malformed data object (for example `0x5F24`).
    pub tag: u16,
}

impl core::fmt::Display for CardFormatError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "card data object {:04X} is malformed", self.tag)
    }
}

impl core::error::Error for CardFormatError {}

/// Book 3, 10.4: runs the three processing-restriction checks and sets
/// their TVR bits (byte 2: different application versions, expired,
/// not yet effective, requested service not allowed).
///
/// Bits already set in `tvr` stay set. A malformed card value is returned as
/// [`CardFormatError`] before any bit is set.
pub fn processing_restrictions(
    card: &CardRestrictionData<'_>,
    terminal: &TerminalRestrictionData,
    tvr: &mut Tvr,
) -> Result<(), CardFormatError> {
    let usage_control = match card.application_usage_control {
        Some(v) => Some(<[u8; 2]>::try_from(v).map_err(|_| CardFormatError { tag: 0x9F07 })?),
        None => None,
    };
    let issuer_country = match card.issuer_country_code {
        Some(v) => Some(<[u8; 2]>::try_from(v).map_err(|_| CardFormatError { tag: 0x5F28 })?),
        None => None,
    };
    let effective = match card.effective_date {
        Some(v) => Some(Date::from_bcd(v).map_err(|_| CardFormatError { tag: 0x5F25 })?),
        None => None,
    };
    let expiration = match card.expiration_date {
        Some(v) => Some(Date::from_bcd(v).map_err(|_| CardFormatError { tag: 0x5F24 })?),
        None => None,
    };

    if application_versions_differ(card.application_version, terminal.application_version) {
        tvr.set(tvr::DIFFERENT_APPLICATION_VERSIONS);
    }
    if let Some(auc) = usage_control {
        if !usage_control_allows(auc, issuer_country, terminal) {
            tvr.set(tvr::SERVICE_NOT_ALLOWED);
        }
    }
    let dates = check_dates(effective, expiration, terminal.transaction_date);
    if dates.not_yet_effective {
        tvr.set(tvr::APPLICATION_NOT_YET_EFFECTIVE);
    }
    if dates.expired {
        tvr.set(tvr::EXPIRED_APPLICATION);
    }
    Ok(())
}

/// Book 3, 10.4 in the transaction: the checks of
/// [`processing_restrictions`] on the card's data objects and the selected
/// application's terminal data. A malformed card value (or transaction
/// date) terminates with a card data format error.
pub(crate) fn apply(cx: &mut Context<'_>) -> Result<(), TerminationReason> {
    let config = cx.terminal_context.config;
    let Ok(today) = Date::from_bcd(&cx.inputs.date) else {
        return Err(TerminationReason::CardDataFormat);
    };
    let card = CardRestrictionData {
        application_version: cx.store.get(Tag(0x9F08)),
        application_usage_control: cx.store.get(Tag(0x9F07)),
        issuer_country_code: cx.store.get(Tag(0x5F28)),
        effective_date: cx.store.get(Tag(0x5F25)),
        expiration_date: cx.store.get(Tag(0x5F24)),
    };
    let terminal = TerminalRestrictionData {
        application_version: cx.terminal.application_version,
        country_code: config.terminal_country_code,
        terminal_type: TerminalType(config.terminal_type),
        additional_capabilities: AdditionalTerminalCapabilities(
            config.additional_terminal_capabilities,
        ),
        transaction_type: TransactionType(cx.inputs.transaction_type),
        amount_other: cx.inputs.amount_other,
        transaction_date: today,
    };
    processing_restrictions(&card, &terminal, &mut cx.terminal.tvr)
        .map_err(|_| TerminationReason::CardDataFormat)
}

/// Book 3, 10.4.1: the card's Application Version Number (9F08), when
/// present, must equal the terminal's (9F09). Absent on the card: no check.
pub fn application_versions_differ(card_version: Option<&[u8]>, terminal_version: [u8; 2]) -> bool {
    match card_version {
        Some(card) => card != terminal_version.as_slice(),
        None => false,
    }
}

fn has(auc: [u8; 2], bit: (usize, u8)) -> bool {
    auc.get(bit.0).is_some_and(|b| b & bit.1 != 0)
}

/// Book 3, 10.4.2: whether Application Usage Control allows this service.
///
/// - At an ATM "Valid at ATMs" must be on; elsewhere "Valid at terminals
///   other than ATMs" must be on.
/// - Only when the Issuer Country Code is present (Table 32), with domestic
///   meaning Issuer Country Code = Terminal Country Code:
///   cash (`01`, `17`) needs domestic/international cash; a purchase (`00`,
///   `09`) needs domestic/international goods and/or services; a
///   transaction with a cashback amount (type `09` or Amount, Other > 0)
///   needs domestic/international cashback.
///
/// Goods or services: Transaction Type `00` does not say which, so the
/// terminal's Additional Terminal Capabilities decide: a terminal that
/// sells only goods checks the goods bit, only services the services bit;
/// one that sells both (or declares neither) accepts either bit.
pub fn usage_control_allows(
    auc: [u8; 2],
    issuer_country_code: Option<[u8; 2]>,
    terminal: &TerminalRestrictionData,
) -> bool {
    use usage_control as u;
    let at_atm = terminal
        .terminal_type
        .is_atm(&terminal.additional_capabilities);
    let place_ok = if at_atm {
        has(auc, u::VALID_AT_ATMS)
    } else {
        has(auc, u::VALID_AT_OTHER_THAN_ATMS)
    };
    if !place_ok {
        return false;
    }
    let Some(issuer_country) = issuer_country_code else {
        return true;
    };
    let domestic = issuer_country == terminal.country_code;
    let pick = |domestic_bit, international_bit| {
        has(
            auc,
            if domestic {
                domestic_bit
            } else {
                international_bit
            },
        )
    };
    let kind = terminal.transaction_type;
    if kind.is_cash() && !pick(u::DOMESTIC_CASH, u::INTERNATIONAL_CASH) {
        return false;
    }
    if kind.is_purchase() {
        let caps = &terminal.additional_capabilities;
        let goods = pick(u::DOMESTIC_GOODS, u::INTERNATIONAL_GOODS);
        let services = pick(u::DOMESTIC_SERVICES, u::INTERNATIONAL_SERVICES);
        let allowed = match (caps.goods(), caps.services()) {
            (true, false) => goods,
            (false, true) => services,
            _ => goods || services,
        };
        if !allowed {
            return false;
        }
    }
    let has_cashback = kind.is_cashback() || (kind.is_purchase() && terminal.amount_other > 0);
    if has_cashback && !pick(u::DOMESTIC_CASHBACK, u::INTERNATIONAL_CASHBACK) {
        return false;
    }
    true
}

/// The result of the date checks of Book 3, 10.4.3.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DateChecks {
    /// The Application Effective Date is later than today.
    pub not_yet_effective: bool,
    /// The Application Expiration Date is earlier than today.
    pub expired: bool,
}

/// Book 3, 10.4.3: effective on its effective date, valid through its
/// expiration date (both inclusive); an absent date is not checked.
pub fn check_dates(effective: Option<Date>, expiration: Option<Date>, today: Date) -> DateChecks {
    DateChecks {
        not_yet_effective: effective.is_some_and(|d| today < d),
        expired: expiration.is_some_and(|d| today > d),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_tables_are_read_from_bytes_5_and_4() {
        // 9F40 `6000F0A001`: byte 5 b1, code table 1 only.
        let caps = AdditionalTerminalCapabilities([0x60, 0x00, 0xF0, 0xA0, 0x01]);
        assert!(caps.supports_code_table(1));
        assert!(!(2..=10).any(|table| caps.supports_code_table(table)));
        let all = AdditionalTerminalCapabilities([0, 0, 0, 0x03, 0xFF]);
        assert!((1..=10).all(|table| all.supports_code_table(table)));
        assert!(!all.supports_code_table(0) && !all.supports_code_table(11));
    }

    #[test]
    fn preferred_name_only_with_a_supported_code_table() {
        // Book 1, 12.2.4: 9F12 is used only when 9F11 names a code table the
        // terminal supports; otherwise the Application Label (50).
        let caps = AdditionalTerminalCapabilities([0x60, 0x00, 0xF0, 0xA0, 0x01]);
        let (label, name) = (&b"VISA CREDIT"[..], &b"CARTE BLEUE"[..]);
        assert_eq!(caps.application_name(label, Some(name), Some(1)), name);
        assert_eq!(caps.application_name(label, Some(name), Some(2)), label);
        assert_eq!(caps.application_name(label, Some(name), None), label);
        assert_eq!(caps.application_name(label, None, Some(1)), label);
        assert_eq!(caps.application_name(label, Some(&[]), Some(1)), label);
    }
}
