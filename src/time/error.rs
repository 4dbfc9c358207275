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

/// A timeout as an I/O error of kind `TimedOut` (as in tokio), so that
/// `timeout(d, stream.read(buf)).await??` works in a function returning `io::Result`.
///
/// ```
/// use std::time::Duration;
/// async fn read_or_time_out() -> std::io::Result<u32> {
///     clockwork::time::timeout(Duration::ZERO, std::future::pending()).await?
/// }
/// let error = clockwork::block_on(read_or_time_out()).unwrap_err();
/// assert_eq!(error.kind(), std::io::ErrorKind::TimedOut);
/// ```
impl From<Elapsed> for std::io::Error {
    fn from(_: Elapsed) -> std::io::Error {
        std::io::ErrorKind::TimedOut.into()
    }
}
