//! A test card in pcscd's virtual reader: the one [`VirtualCard`] of the
//! simulated cards, served by [`crate::vpcd`] (feature `vpcd`).
//!
//! The card answers raw, as a card on the wire does: a T=0 profile's `61xx`
//! and `6Cxx` travel to pcscd and the reader driver resolves them. Tests can
//! present another ATR (to make pcscd choose T=0 or T=1) and pull the card
//! out of the reader before a given instruction.
//!
//! ```no_run
//! use std::time::Duration;
//! use emv_test_cards::vpcd::{ServedCard, VPCD_PORT_0};
//! use emv_test_cards::{profiles, vpcd_card::VpcdCard};
//!
//! let card = profiles::find("cda").unwrap().card();
//! // Pulled out when GENERATE AC (INS AE) arrives.
//! let served = ServedCard::insert(
//!     VPCD_PORT_0,
//!     VpcdCard::new(card).pulled_before_instruction(0xAE),
//!     Duration::from_secs(5),
//! )?;
//! // ... run a transaction on reader "Virtual PCD 00 00" ...
//! served.remove();
//! # Ok::<(), std::io::Error>(())
//! ```

use crate::vpcd::VirtualCard;

use crate::card::Card;

/// A simulated [`Card`] as pcscd's virtual reader driver sees it.
#[derive(Debug, Clone)]
pub struct VpcdCard {
    card: Card,
    atr: Vec<u8>,
    pull_before_instruction: Option<u8>,
    resets: u64,
}

impl VpcdCard {
    /// The card with its own ATR (the PC/SC pseudo-ATR of the profiles: pcscd picks T=1).
    pub fn new(card: Card) -> Self {
        let atr = card.image().atr.clone();
        VpcdCard {
            card,
            atr,
            pull_before_instruction: None,
            resets: 0,
        }
    }

    /// Presents `atr` instead of the card's own, e.g. one offering only T=0.
    pub fn with_atr(mut self, atr: &[u8]) -> Self {
        self.atr = atr.to_vec();
        self
    }

    /// Pulls the card out of the reader when a command with instruction byte
    /// `instruction` arrives (the command gets no answer), as a cardholder
    /// removing the card in the middle of that command.
    pub fn pulled_before_instruction(mut self, instruction: u8) -> Self {
        self.pull_before_instruction = Some(instruction);
        self
    }

    /// The card, with its persistent state (ATC, PIN try counter...).
    pub fn card(&self) -> &Card {
        &self.card
    }

    /// Power-ons and warm resets seen so far (each starts a card session).
    pub fn resets(&self) -> u64 {
        self.resets
    }
}

impl VirtualCard for VpcdCard {
    fn atr(&self) -> Vec<u8> {
        self.atr.clone()
    }

    fn power_on(&mut self) {
        self.card.reset();
        self.resets += 1;
    }

    fn power_off(&mut self) {
        self.card.reset();
    }

    fn respond(&mut self, command: &[u8]) -> Vec<u8> {
        self.card.process(command)
    }

    fn pulled_before(&mut self, command: &[u8]) -> bool {
        self.pull_before_instruction.is_some()
            && command.get(1).copied() == self.pull_before_instruction
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profiles;

    #[test]
    fn answers_raw_with_the_chosen_atr_and_pulls_at_the_instruction() {
        let profile = profiles::find("sda").unwrap();
        let own_atr = profile.card().image().atr.clone();
        let mut card = VpcdCard::new(profile.card());
        assert_eq!(card.atr(), own_atr);
        card.power_on();
        let select = b"\x00\xA4\x04\x00\x0E1PAY.SYS.DDF01\x00";
        assert_eq!(card.respond(select), profile.card().process(select));
        assert!(!card.pulled_before(b"\x80\xAE\x40\x00\x00"));
        assert_eq!(card.resets(), 1);

        let t0_atr = [0x3B, 0x02, 0x14, 0x50];
        let mut pulled = VpcdCard::new(profile.card())
            .with_atr(&t0_atr)
            .pulled_before_instruction(0xAE);
        assert_eq!(pulled.atr(), t0_atr);
        assert!(!pulled.pulled_before(b"\x00\xB2\x01\x0C\x00"));
        assert!(pulled.pulled_before(b"\x80\xAE\x40\x00\x00"));
        assert!(!pulled.pulled_before(&[0x80]));
    }
}
