//! Time errors: [`Elapsed`], what a [`Timeout`](super::Timeout) gives when time ran out.
//!
//! Next to read: `src/time/interval.rs`.

use std::fmt;

/// Returned by a [`Timeout`](super::Timeout) whose deadline passed before its future
/// finished.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Elapsed(());

impl Elapsed {
    pub(crate) fn new() -> Elapsed {
        Elapsed(())
    }
}

impl fmt::Debug for Elapsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Elapsed")
    }
}

impl fmt::Display for Elapsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("deadline has elapsed")
    }
}

impl std::error::Error for Elapsed {}
