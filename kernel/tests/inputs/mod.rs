//! The fixed transaction inputs of the kernel's tests (the same as
//! `emv_test_cards::TEST_INPUTS`, which the kernel cannot depend on).

use emv_kernel::config::{Currency, TransactionInputs};

/// A 10.00 purchase in EUR on 2025-06-15 12:00:00, Unpredictable Number
/// `11223344`, random selection number 50, sequence counter 1: fixed so that
/// tests and transcripts are reproducible.
pub const TEST_INPUTS: TransactionInputs = TransactionInputs::new(
    1_000,
    Currency::EUR,
    [0x25, 0x06, 0x15],
    [0x12, 0x00, 0x00],
    [0x11, 0x22, 0x33, 0x44],
    50,
    1,
);
