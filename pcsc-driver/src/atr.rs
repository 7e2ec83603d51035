//! A brief decoder of the Answer To Reset (EMV Book 1, section 8.3;
//! ISO/IEC 7816-3, section 8), enough to tell a bench tester what card is in
//! the reader: convention, protocols offered, interface bytes and historical
//! bytes.

use std::fmt;

/// Longest ATR ISO/IEC 7816-3 allows (TS + 32 bytes).
pub const MAX_ATR_LEN: usize = 33;

/// Bit convention announced by TS (Book 1, 8.3.3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Convention {
    /// TS = `3B`.
    Direct,
    /// TS = `3F`.
    Inverse,
}

/// One group of interface bytes TAi, TBi, TCi, TDi (i counts from 1).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct InterfaceGroup {
    /// TAi, if present.
    pub ta: Option<u8>,
    /// TBi, if present.
    pub tb: Option<u8>,
    /// TCi, if present.
    pub tc: Option<u8>,
    /// TDi, if present (its low nibble names a protocol T).
    pub td: Option<u8>,
}

/// A decoded ATR.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Atr {
    /// TS.
    pub convention: Convention,
    /// T0, the format byte.
    pub format: u8,
    /// The interface byte groups, in order.
    pub groups: Vec<InterfaceGroup>,
    /// Protocols the card offers (values of T; T=0 when no TD1 names one).
    pub protocols: Vec<u8>,
    /// The historical bytes (T1 .. TK).
    pub historical: Vec<u8>,
    /// TCK, present when a protocol other than T=0 is offered.
    pub check: Option<u8>,
}

/// Why an ATR could not be decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AtrError {
    /// Shorter than TS T0, or cut inside the interface or historical bytes.
    #[error("ATR truncated")]
    Truncated,
    /// TS is neither `3B` nor `3F`.
    #[error("TS {0:02X} is not 3B or 3F")]
    BadTs(u8),
    /// More bytes than ISO/IEC 7816-3 allows.
    #[error("ATR longer than 33 bytes")]
    TooLong,
    /// Bytes left after the historical bytes and TCK.
    #[error("{0} unexpected byte(s) after the ATR")]
    Trailing(usize),
    /// TCK does not make the XOR of T0 .. TCK zero.
    #[error("TCK check failed")]
    BadCheck,
}

impl Atr {
    /// Decodes `bytes` (TS first).
    pub fn parse(bytes: &[u8]) -> Result<Atr, AtrError> {
        if bytes.len() > MAX_ATR_LEN {
            return Err(AtrError::TooLong);
        }
        let mut rest = bytes.iter().copied();
        let ts = rest.next().ok_or(AtrError::Truncated)?;
        let convention = match ts {
            0x3B => Convention::Direct,
            0x3F => Convention::Inverse,
            other => return Err(AtrError::BadTs(other)),
        };
        let format = rest.next().ok_or(AtrError::Truncated)?;
        let historical_len = usize::from(format & 0x0F);

        let mut groups = Vec::new();
        let mut protocols = Vec::new();
        let mut indicator = format >> 4;
        // At most 32 bytes follow TS, so at most 8 groups; the length check
        // above bounds this loop.
        loop {
            let mut group = InterfaceGroup::default();
            let mut next = |present: bool| -> Result<Option<u8>, AtrError> {
                if present {
                    rest.next().map(Some).ok_or(AtrError::Truncated)
                } else {
                    Ok(None)
                }
            };
            group.ta = next(indicator & 0x1 != 0)?;
            group.tb = next(indicator & 0x2 != 0)?;
            group.tc = next(indicator & 0x4 != 0)?;
            group.td = next(indicator & 0x8 != 0)?;
            groups.push(group);
            match group.td {
                Some(td) => {
                    let protocol = td & 0x0F;
                    if protocol != 15 && !protocols.contains(&protocol) {
                        protocols.push(protocol);
                    }
                    indicator = td >> 4;
                }
                None => break,
            }
        }
        if protocols.is_empty() {
            protocols.push(0);
        }

        let historical: Vec<u8> = rest.by_ref().take(historical_len).collect();
        if historical.len() != historical_len {
            return Err(AtrError::Truncated);
        }
        let check_expected = groups.iter().any(|g| g.td.is_some_and(|td| td & 0x0F != 0));
        let check = if check_expected {
            let tck = rest.next().ok_or(AtrError::Truncated)?;
            let xor = bytes.iter().skip(1).fold(0u8, |acc, b| acc ^ b);
            if xor != 0 {
                return Err(AtrError::BadCheck);
            }
            Some(tck)
        } else {
            None
        };
        let trailing = rest.count();
        if trailing != 0 {
            return Err(AtrError::Trailing(trailing));
        }

        Ok(Atr {
            convention,
            format,
            groups,
            protocols,
            historical,
            check,
        })
    }

    /// Whether the card offers protocol T=`t`.
    pub fn offers(&self, t: u8) -> bool {
        self.protocols.contains(&t)
    }

    /// TA1 as (Fi, Di), the clock rate conversion and baud rate adjustment
    /// factors (ISO/IEC 7816-3, tables 7 and 8), if TA1 is present and its
    /// values are defined.
    pub fn rate_factors(&self) -> Option<(u16, u8)> {
        let ta1 = self.groups.first()?.ta?;
        let fi = match ta1 >> 4 {
            0 => 372,
            1 => 372,
            2 => 558,
            3 => 744,
            4 => 1116,
            5 => 1488,
            6 => 1860,
            9 => 512,
            10 => 768,
            11 => 1024,
            12 => 1536,
            13 => 2048,
            _ => return None,
        };
        let di = match ta1 & 0x0F {
            1 => 1,
            2 => 2,
            3 => 4,
            4 => 8,
            5 => 16,
            6 => 32,
            7 => 64,
            8 => 12,
            9 => 20,
            _ => return None,
        };
        Some((fi, di))
    }
}

impl fmt::Display for Atr {
    /// One line: convention, protocols, rate factors, historical bytes.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let convention = match self.convention {
            Convention::Direct => "direct",
            Convention::Inverse => "inverse",
        };
        let protocols: Vec<String> = self.protocols.iter().map(|t| format!("T={t}")).collect();
        write!(f, "{convention} convention, {}", protocols.join(" "))?;
        if let Some((fi, di)) = self.rate_factors() {
            write!(f, ", Fi={fi} Di={di}")?;
        }
        if let Some(n) = self.groups.first().and_then(|g| g.tc) {
            write!(f, ", extra guard time {n}")?;
        }
        if self.historical.is_empty() {
            f.write_str(", no historical bytes")
        } else {
            write!(f, ", historical bytes {}", hex_upper(&self.historical))?;
            let printable: String = self
                .historical
                .iter()
                .map(|&b| {
                    if (0x20..0x7F).contains(&b) {
                        char::from(b)
                    } else {
                        '.'
                    }
                })
                .collect();
            write!(f, " \"{printable}\"")
        }
    }
}

/// Bytes as upper-case hex without separators.
pub fn hex_upper(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn atr(text: &str) -> Result<Atr, AtrError> {
        Atr::parse(&hex::decode(text).unwrap())
    }

    /// The ATR the virtual test cards present over vpcd (the PC/SC pseudo-ATR
    /// layout): TD1 = 80 names T=0, TD2 = 01 names T=1.
    #[test]
    fn dual_card_from_vpcd() {
        let a = atr("3B8F8001804F0CA0000003060300030000000068").unwrap();
        assert_eq!(a.convention, Convention::Direct);
        assert_eq!(a.protocols, vec![0, 1]);
        assert_eq!(a.historical.len(), 15);
        assert_eq!(a.check, Some(0x68));
        assert_eq!(a.groups.len(), 3);
        assert!(a.offers(1) && a.offers(0));
    }

    /// A bare T=0 ATR: no interface bytes, two historical bytes, no TCK.
    #[test]
    fn t0_card() {
        let a = atr("3B021450").unwrap();
        assert_eq!(a.protocols, vec![0]);
        assert_eq!(a.historical, vec![0x14, 0x50]);
        assert_eq!(a.check, None);
        assert_eq!(
            a.to_string(),
            "direct convention, T=0, historical bytes 1450 \".P\""
        );
    }

    /// EMV Book 1, 8.3 typical ATR offering T=0 and T=1 with TA1.
    #[test]
    fn dual_protocol_card() {
        // TS T0=E0 (TB1 TC1 TD1, 0 historical) ... built by hand:
        // 3B E0 00 FF 81 31 FE 45 TCK   -> TD1=81 (T=1, TD2 follows), TD2=31 (TA3 TB3, T=1)
        let mut bytes = hex::decode("3BE000FF8131FE45").unwrap();
        let tck = bytes[1..].iter().fold(0, |a, b| a ^ b);
        bytes.push(tck);
        let a = Atr::parse(&bytes).unwrap();
        assert_eq!(a.protocols, vec![1]);
        assert_eq!(a.groups[0].tb, Some(0x00));
        assert_eq!(a.groups[0].tc, Some(0xFF));
        assert_eq!(a.groups[2].ta, Some(0xFE));
        assert_eq!(a.check, Some(tck));

        let mut bytes = hex::decode("3B90968131FE45").unwrap();
        let tck = bytes[1..].iter().fold(0, |a, b| a ^ b);
        bytes.push(tck);
        let a = Atr::parse(&bytes).unwrap();
        assert_eq!(a.protocols, vec![1]);
        assert_eq!(a.rate_factors(), Some((512, 32)));
    }

    #[test]
    fn broken_atrs() {
        assert_eq!(atr(""), Err(AtrError::Truncated));
        assert_eq!(atr("3B"), Err(AtrError::Truncated));
        assert_eq!(atr("3A00"), Err(AtrError::BadTs(0x3A)));
        assert_eq!(atr("3B0214"), Err(AtrError::Truncated));
        assert_eq!(atr("3B10"), Err(AtrError::Truncated));
        assert_eq!(atr("3B02145000"), Err(AtrError::Trailing(1)));
        assert_eq!(
            atr("3B8F8001804F0CA0000003060300030000000069"),
            Err(AtrError::BadCheck)
        );
        assert_eq!(Atr::parse(&[0x3B; 40]), Err(AtrError::TooLong));
    }

    /// Every byte string up to 4 bytes decodes or fails without panicking.
    #[test]
    fn no_panic_on_short_inputs() {
        for a in 0..=255u8 {
            for b in 0..=255u8 {
                let _ = Atr::parse(&[0x3B, a, b]);
                let _ = Atr::parse(&[0x3B, a, b, a]);
            }
        }
    }
}
