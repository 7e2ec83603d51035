//! The line between the kernel and a card reader.
//!
//! The kernel itself never performs I/O: it hands out command APDUs and takes
//! response APDUs. Callers that own a card (a simulated card, a PC/SC reader)
//! implement [`CardTransport`] so drivers and tests can share one loop.

/// Largest response APDU on the contact interface: 256 data bytes + SW1 SW2.
pub const MAX_RESPONSE_APDU: usize = 258;

/// Largest command APDU the kernel builds: header (4) + Lc (1) + 255 data + Le (1).
pub const MAX_COMMAND_APDU: usize = 261;

/// Something that can exchange one APDU with a card.
///
/// The transport hides the transmission protocol: on T=0 it answers 61xx with
/// GET RESPONSE and 6Cxx by re-sending with the corrected Le, so the kernel
/// sees exactly one complete response (data + SW1 SW2) per command.
pub trait CardTransport {
    /// Why an exchange failed (card removed, reader gone, timeout, ...).
    type Error: core::fmt::Debug;

    /// Sends `command` and writes the full response (data followed by SW1 SW2)
    /// into `response`, returning its length (at least 2 on success).
    fn transmit(&mut self, command: &[u8], response: &mut [u8]) -> Result<usize, Self::Error>;
}
