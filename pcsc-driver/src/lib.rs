//! emv-pcsc
