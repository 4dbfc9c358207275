//! `mpsc`: a bounded multi-producer, single-consumer queue with backpressure.
//!
//! **What this module teaches: backpressure.** A bounded channel holds at most `capacity`
//! values. When it is full, `send` *waits* instead of growing the queue, so a fast producer
//! is slowed to the speed of its consumer and memory stays bounded. The hard part is the
//! waiting: who wakes a waiting sender, in which order, and what happens when a waiting
//! sender gives up or the receiver goes away. `chan.rs` answers that with a FIFO line of
//! waiting senders and slots reserved for them (permits); this file is the public face.
//!
//! Guarantees:
//!
//! * values from one `Sender` (and its clones, if sends are not concurrent) arrive in the
//!   order they were sent;
//! * waiting senders get room in the order they started waiting;
//! * `recv` returns `None` only once every `Sender` is gone (or the receiver closed) *and*
//!   the queue is drained;
//! * a failed send gives its value back in [`SendError`];
//! * a `send` future dropped before it returned `Ready` sent nothing (cancel safety).
//!
//! ```
//! # clockwork::block_on(async {
//! use clockwork::sync::mpsc;
//! let (tx, mut rx) = mpsc::channel(2);
//! tx.send(1).await.unwrap();
//! tx.send(2).await.unwrap();
//! drop(tx);
//! assert_eq!(rx.recv().await, Some(1));
//! assert_eq!(rx.recv().await, Some(2));
//! assert_eq!(rx.recv().await, None); // every sender is gone
//! # });
//! ```
//!
//! Next to read: `chan.rs` in this directory, then `line.rs`.

mod chan;
pub mod error;
mod line;

use crate::loom::sync::Arc;
use chan::{Chan, SendStart, Turn};
use error::{SendError, TryRecvError, TrySendError};
use line::Ticket;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Creates a bounded channel that holds at most `capacity` values.
///
/// # Panics
///
/// If `capacity` is 0: a channel with no room could never accept a value (a rendezvous
/// channel is a different design, not provided here).
///
/// The halves are `Send` only if `T` is (the mutex makes the channel `Sync` only then):
///
/// ```compile_fail
/// fn assert_send<S: Send>(_: S) {}
/// let (tx, _rx) = clockwork::sync::mpsc::channel::<std::rc::Rc<u8>>(1);
/// assert_send(tx);
/// ```
#[track_caller]
pub fn channel<T>(capacity: usize) -> (Sender<T>, Receiver<T>) {
    assert!(capacity >= 1, "mpsc::channel: capacity must be at least 1, got 0");
    let chan = Arc::new(Chan::new(capacity));
    (Sender { chan: chan.clone() }, Receiver { chan })
}

/// The sending half. Clone it to get more producers.
pub struct Sender<T> {
    chan: Arc<Chan<T>>,
}

/// The receiving half; there is exactly one.
pub struct Receiver<T> {
    chan: Arc<Chan<T>>,
}

impl<T> Sender<T> {
    /// Sends `value`, waiting while the channel is full.
    ///
    /// Returns `Err(SendError(value))` if the receiver is closed or dropped, including when
    /// that happens while this send is waiting (even if a slot was already reserved for it).
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: the value stays inside the future until the poll that returns `Ready`.
    /// If the future is dropped before that (say, another `select!` branch won), the value
    /// was **not** sent; it is dropped with the future, and this send's place in line, or
    /// the slot already reserved for it, passes to the next waiting sender. To keep the
    /// value when there is no room, use [`try_send`](Self::try_send).
    ///
    /// ```
    /// # clockwork::block_on(async {
    /// use clockwork::sync::mpsc;
    /// let (tx, mut rx) = mpsc::channel(1);
    /// tx.send(1).await.unwrap(); // full now
    /// let sent = clockwork::select! {
    ///     biased;
    ///     _ = clockwork::task::yield_now() => false, // wins: the send is dropped, waiting
    ///     _ = tx.send(2) => true,
    /// };
    /// assert!(!sent);
    /// assert_eq!(rx.recv().await, Some(1));
    /// assert!(rx.try_recv().is_err(), "2 was not sent");
    /// # });
    /// ```
    pub async fn send(&self, value: T) -> Result<(), SendError<T>> {
        Sending { chan: &self.chan, value: Some(value), ticket: None }.await
    }

    /// Sends `value` if there is room right now, without waiting.
    pub fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
        self.chan.try_send(value)
    }

    /// Whether the receiver is closed or dropped (every send would fail).
    pub fn is_closed(&self) -> bool {
        self.chan.is_closed()
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        self.chan.add_sender();
        Sender { chan: self.chan.clone() }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        self.chan.drop_sender();
    }
}

/// The future inside [`Sender::send`]. Its state is the pair (`value`, `ticket`):
///
/// | `value` | `ticket` | state |
/// |---|---|---|
/// | `Some` | `None` | not started: the first poll queues the value, or joins the line |
/// | `Some` | `Some` | waiting in line, perhaps already holding a permit (a reserved slot) |
/// | `None` | `None` | done: `Ready` was returned |
/// | `None` | `Some` | a poll is inside the channel, or it panicked there (a waker's `clone` or `wake`); `Drop` still leaves the line |
///
/// The one way a value leaves without `Ready`: the receiver's waker panics in the very
/// poll that queued the value (the panic reaches the sender, as it does in `try_send`).
///
/// ```text
///  start --free slot----------------------------------------> Ready(Ok)
///    |   --closed-------------------------------------------> Ready(Err(value))
///    +--full: join the line--> waiting --permit: queue value--> Ready(Ok)
///                               |   ^   --closed------------> Ready(Err(value))
///                               |   +-- no permit yet: Pending
///                               +--dropped: leave the line; a permit passes on
/// ```
///
/// The value is never in the channel while we wait: that is what makes `send`
/// cancel-safe. (Rejected: parking the value in the channel for the receiver to move into
/// the queue; see `chan.rs`.)
struct Sending<'a, T> {
    chan: &'a Chan<T>,
    /// The value, until it is queued or handed back.
    value: Option<T>,
    /// Our place in line while we wait; `Drop` gives it up.
    ticket: Option<Ticket>,
}

// The value is moved in and out, never pinned in place, so pinning `Sending` pins nothing.
impl<T> Unpin for Sending<'_, T> {}

impl<T> Future for Sending<'_, T> {
    type Output = Result<(), SendError<T>>;

    /// Spends one unit of the task's cooperative budget per value sent (`task/coop.rs`).
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        crate::task::coop::poll_budgeted(cx, |cx| this.poll_send(cx))
    }
}

impl<T> Sending<'_, T> {
    fn poll_send(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), SendError<T>>> {
        let Some(value) = self.value.take() else {
            panic!("mpsc send future polled after it completed");
        };
        let outcome = match self.ticket {
            None => match self.chan.send_or_park(value, cx.waker()) {
                SendStart::Sent => Ok(()),
                SendStart::Closed(value) => Err(SendError(value)),
                SendStart::Waiting(ticket, value) => {
                    self.ticket = Some(ticket);
                    self.value = Some(value);
                    return Poll::Pending;
                }
            },
            // The ticket stays set during the call: if it unwinds (a waker's `clone` or
            // `wake` panicked), `Drop` still takes us out of line and passes on a permit.
            Some(ticket) => match self.chan.poll_waiting(ticket, value, cx.waker()) {
                Turn::Waiting(value) => {
                    self.value = Some(value);
                    return Poll::Pending;
                }
                Turn::Sent => Ok(()),
                Turn::Closed(value) => Err(SendError(value)),
            },
        };
        self.ticket = None; // out of line: `poll_waiting` took us out
        Poll::Ready(outcome)
    }
}

impl<T> Drop for Sending<'_, T> {
    fn drop(&mut self) {
        if let Some(ticket) = self.ticket.take() {
            self.chan.cancel_waiting(ticket);
        }
        // A value still in `self.value` was never sent; it is dropped after this, with the
        // future, outside the channel's lock.
    }
}

impl<T> Receiver<T> {
    /// Receives the next value, waiting while the queue is empty. `None` once every sender
    /// is gone (or [`close`](Self::close) was called) and the queue is drained.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: a value is taken out of the queue only in the poll that returns it, so
    /// dropping the future (e.g. in a losing `select!` branch) loses nothing.
    pub async fn recv(&mut self) -> Option<T> {
        crate::future::poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// The poll behind [`recv`](Self::recv), for hand-written futures.
    ///
    /// Spends one unit of the task's cooperative budget per value (`task/coop.rs`): a
    /// consumer whose queue never empties still lets other tasks run.
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        crate::task::coop::poll_budgeted(cx, |cx| self.chan.poll_recv(cx.waker()))
    }

    /// Takes a value if one is queued, without waiting.
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        self.chan.try_recv()
    }

    /// Closes the channel: every send fails from now on, and senders waiting for room get
    /// their values back. Values already queued can still be received.
    pub fn close(&mut self) {
        self.chan.close();
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        self.chan.drop_receiver();
    }
}

impl<T> futures_core::Stream for Receiver<T> {
    type Item = T;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        self.get_mut().poll_recv(cx)
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("mpsc::Sender").finish_non_exhaustive()
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("mpsc::Receiver").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests;
