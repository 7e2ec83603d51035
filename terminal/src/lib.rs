//! Library side of the `emv-terminal` binary: the parts other commands and tests reuse.

pub mod acquirer;
