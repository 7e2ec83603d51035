//! emv-integration-tests
