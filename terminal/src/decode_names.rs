//! Names `decode` shows beyond the kernel's EMV dictionary: the payment schemes by
//! their Registered Application Provider Identifier.

/// A payment scheme, known by the RID (the first 5 bytes of its AIDs, ISO/IEC 7816-5).
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// Visa (RID A000000003).
    Visa,
    /// Mastercard, Maestro (RID A000000004).
    Mastercard,
    /// American Express (RID A000000025).
    Amex,
    /// JCB (RID A000000065).
    Jcb,
    /// Discover, Diners Club (D-PAS, RID A000000152).
    Discover,
    /// UnionPay (RID A000000333).
    Unionpay,
}

impl Scheme {
    /// Every scheme with its RID.
    const RIDS: [(Scheme, [u8; 5]); 6] = [
        (Scheme::Visa, [0xA0, 0x00, 0x00, 0x00, 0x03]),
        (Scheme::Mastercard, [0xA0, 0x00, 0x00, 0x00, 0x04]),
        (Scheme::Amex, [0xA0, 0x00, 0x00, 0x00, 0x25]),
        (Scheme::Jcb, [0xA0, 0x00, 0x00, 0x00, 0x65]),
        (Scheme::Discover, [0xA0, 0x00, 0x00, 0x01, 0x52]),
        (Scheme::Unionpay, [0xA0, 0x00, 0x00, 0x03, 0x33]),
    ];

    /// The scheme whose RID starts `aid`, if it is one of [`Scheme::RIDS`].
    pub fn from_aid(aid: &[u8]) -> Option<Scheme> {
        let rid = aid.get(..5)?;
        Self::RIDS
            .iter()
            .find(|(_, known)| known == rid)
            .map(|(scheme, _)| *scheme)
    }

    /// The scheme's name as people write it.
    pub fn label(self) -> &'static str {
        match self {
            Scheme::Visa => "Visa",
            Scheme::Mastercard => "Mastercard",
            Scheme::Amex => "American Express",
            Scheme::Jcb => "JCB",
            Scheme::Discover => "Discover",
            Scheme::Unionpay => "UnionPay",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemes_by_rid() {
        assert_eq!(
            Scheme::from_aid(&[0xA0, 0, 0, 0, 0x03, 0x10, 0x10]),
            Some(Scheme::Visa)
        );
        assert_eq!(
            Scheme::from_aid(&[0xA0, 0, 0, 0, 0x04, 0x30, 0x60]),
            Some(Scheme::Mastercard)
        );
        assert_eq!(Scheme::from_aid(&[0xA0, 0, 0, 0x09, 0x99, 0x10]), None);
        assert_eq!(Scheme::from_aid(&[0xA0, 0, 0]), None);
    }
}
