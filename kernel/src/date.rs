//! Calendar dates as EMV carries them: numeric (BCD) `YYMMDD`.
//!
//! Used for the Transaction Date (9A), Application Effective Date (5F25) and
//! Application Expiration Date (5F24). Book 4, Annex A (format `n 6`): the
//! year has two digits; Book 3, 10.4.3 and the EMV year rule read `YY` below
//! 50 as 20YY and 50 or above as 19YY.

/// A calendar date decoded from BCD `YYMMDD`, ordered by year, month, day.
///
/// The derived ordering compares the full year first, so dates on both sides
/// of 2000 compare correctly.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    /// Full year, 1950..=2049.
    pub year: u16,
    /// Month, 1..=12.
    pub month: u8,
    /// Day of the month, 1..=31 (not checked against the month's length).
    pub day: u8,
}

/// Why three bytes are not a `YYMMDD` date.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DateError {
    /// The value is not exactly 3 bytes long.
    Length,
    /// A nibble is not a decimal digit (A-F).
    NotBcd,
    /// Month outside 01..=12 or day outside 01..=31.
    OutOfRange,
}

impl core::fmt::Display for DateError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            DateError::Length => "a YYMMDD date is exactly 3 bytes",
            DateError::NotBcd => "date digit is not decimal (BCD nibble A-F)",
            DateError::OutOfRange => "month outside 01 to 12 or day outside 01 to 31",
        })
    }
}

impl core::error::Error for DateError {}

/// Decodes one BCD byte (two decimal digits) to its value 0..=99.
fn bcd_byte(byte: u8) -> Result<u8, DateError> {
    let high = byte >> 4;
    let low = byte & 0x0F;
    if high > 9 || low > 9 {
        return Err(DateError::NotBcd);
    }
    Ok(high * 10 + low)
}

impl Date {
    /// Decodes BCD `YYMMDD` (3 bytes) with the EMV year rule (YY < 50 is 20YY).
    pub fn from_bcd(bytes: &[u8]) -> Result<Self, DateError> {
        let [yy, mm, dd] = bytes else {
            return Err(DateError::Length);
        };
        let yy = bcd_byte(*yy)?;
        let month = bcd_byte(*mm)?;
        let day = bcd_byte(*dd)?;
        if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
            return Err(DateError::OutOfRange);
        }
        let year = if yy < 50 { 2000 } else { 1900 } + u16::from(yy);
        Ok(Date { year, month, day })
    }

    /// Encodes back to BCD `YYMMDD`.
    pub fn to_bcd(self) -> [u8; 3] {
        let yy = (self.year % 100) as u8;
        let enc = |v: u8| ((v / 10) << 4) | (v % 10);
        [enc(yy), enc(self.month % 100), enc(self.day % 100)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn year_rule_and_round_trip() {
        let d = Date::from_bcd(&[0x49, 0x12, 0x31]).unwrap();
        assert_eq!((d.year, d.month, d.day), (2049, 12, 31));
        let d = Date::from_bcd(&[0x50, 0x01, 0x01]).unwrap();
        assert_eq!(d.year, 1950);
        assert_eq!(d.to_bcd(), [0x50, 0x01, 0x01]);
        assert!(
            Date::from_bcd(&[0x99, 0x12, 0x31]).unwrap()
                < Date::from_bcd(&[0x00, 0x01, 0x01]).unwrap()
        );
    }

    #[test]
    fn rejects_bad_values() {
        assert_eq!(Date::from_bcd(&[0x25, 0x01]), Err(DateError::Length));
        assert_eq!(Date::from_bcd(&[0x2A, 0x01, 0x01]), Err(DateError::NotBcd));
        assert_eq!(
            Date::from_bcd(&[0x25, 0x13, 0x01]),
            Err(DateError::OutOfRange)
        );
        assert_eq!(
            Date::from_bcd(&[0x25, 0x00, 0x01]),
            Err(DateError::OutOfRange)
        );
        assert_eq!(
            Date::from_bcd(&[0x25, 0x01, 0x00]),
            Err(DateError::OutOfRange)
        );
        assert_eq!(
            Date::from_bcd(&[0x25, 0x01, 0x32]),
            Err(DateError::OutOfRange)
        );
    }
}
