//! Errors of the `mpsc` channel. Each sending error carries the value back, so nothing is
//! lost when a send fails.

use std::fmt;

/// The receiver is closed or gone; `.0` is the value that could not be sent.
#[derive(Clone, PartialEq, Eq)]
pub struct SendError<T>(pub T);

// Written by hand so that `T` need not be `Debug` (the value is not shown).
impl<T> fmt::Debug for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SendError").finish_non_exhaustive()
    }
}

impl<T> fmt::Display for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("mpsc channel closed: the receiver is gone, the value is returned")
    }
}

impl<T> std::error::Error for SendError<T> {}

/// Why [`Sender::try_send`](super::Sender::try_send) could not send; both carry the value.
#[derive(Clone, PartialEq, Eq)]
pub enum TrySendError<T> {
    /// The queue is full (or other senders are already waiting for room).
    Full(T),
    /// The receiver is closed or gone.
    Closed(T),
}

impl<T> TrySendError<T> {
    /// The value that was not sent.
    pub fn into_inner(self) -> T {
        match self {
            TrySendError::Full(value) | TrySendError::Closed(value) => value,
        }
    }
}

impl<T> fmt::Debug for TrySendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrySendError::Full(_) => f.write_str("Full(..)"),
            TrySendError::Closed(_) => f.write_str("Closed(..)"),
        }
    }
}

impl<T> fmt::Display for TrySendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrySendError::Full(_) => f.write_str("mpsc channel full"),
            TrySendError::Closed(_) => f.write_str("mpsc channel closed"),
        }
    }
}

impl<T> std::error::Error for TrySendError<T> {}

/// Why [`Receiver::try_recv`](super::Receiver::try_recv) returned no value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TryRecvError {
    /// No value right now, but senders remain.
    Empty,
    /// No value, and none will ever come: every sender is gone, or the receiver closed.
    Disconnected,
}

impl fmt::Display for TryRecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryRecvError::Empty => f.write_str("mpsc channel empty"),
            TryRecvError::Disconnected => f.write_str("mpsc channel empty and disconnected"),
        }
    }
}

impl std::error::Error for TryRecvError {}
