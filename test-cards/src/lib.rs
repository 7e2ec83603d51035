//! emv-test-cards
