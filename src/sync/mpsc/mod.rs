//! `mpsc`: a bounded multi-producer, single-consumer queue with backpressure.
//!
//! **What this module teaches: backpressure.** A bounded channel holds at most `capacity`
//! values. When it is full, `send` *waits* instead of growing the queue, so a fast producer
//! is slowed to the speed of its consumer and memory stays bounded. The hard part is the
//! waiting: who wakes a waiting sender, in which order, and what happens when a waiting
//! sender gives up or the receiver goes away. `chan.rs` answers that with a FIFO line of
//! parked values; this file is the public face.
//!
//! Guarantees:
//!
//! * values from one `Sender` (and its clones, if sends are not concurrent) arrive in the
//!   order they were sent;
//! * waiting senders get room in the order they started waiting;
//! * `recv` returns `None` only once every `Sender` is gone (or the receiver closed) *and*
//!   the queue is drained;
//! * a failed send gives its value back in [`SendError`].
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
//! Next to read: `chan.rs` in this directory.

mod chan;
pub mod error;

use crate::loom::sync::Arc;
use chan::{Chan, ParkedOutcome, SendStart, Ticket};
use error::{SendError, TryRecvError, TrySendError};
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
    /// that happens while this send is waiting.
    ///
    /// # Cancel safety
    ///
    /// Not cancel-safe. If the future is dropped before it completes, the value is lost to
    /// the caller: either it was still waiting (it is dropped, and this sender's place in
    /// line is given up), or the receiver had already moved it into the queue (it will be
    /// received; the `Ok` just never got reported). Use [`try_send`](Self::try_send) to keep
    /// the value when there is no room.
    pub async fn send(&self, value: T) -> Result<(), SendError<T>> {
        Sending { chan: &self.chan, step: Step::Start(value) }.await
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

/// The future inside [`Sender::send`]: a two-step state machine.
///
/// ```text
///  Start(value) --room--------------------------------> Done, Ok
///      |        --closed------------------------------> Done, Err(value)
///      +--full: park value in line--> Parked(ticket) --delivered--> Done, Ok
///                                         |     ^      --closed-----> Done, Err(value)
///                                         +-----+ still waiting: Pending
/// ```
struct Sending<'a, T> {
    chan: &'a Chan<T>,
    step: Step<T>,
}

enum Step<T> {
    Start(T),
    Parked(Ticket),
    Done,
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
        let this = self;
        let outcome = match std::mem::replace(&mut this.step, Step::Done) {
            Step::Start(value) => match this.chan.send_or_park(value, cx.waker()) {
                SendStart::Sent => Ok(()),
                SendStart::Closed(value) => Err(SendError(value)),
                SendStart::Parked(ticket) => {
                    this.step = Step::Parked(ticket);
                    return Poll::Pending;
                }
            },
            Step::Parked(ticket) => {
                // Put the ticket back first: if `check_parked` panics (a waker's `clone`),
                // `Drop` still takes our value out of line.
                this.step = Step::Parked(ticket);
                match this.chan.check_parked(ticket, cx.waker()) {
                    ParkedOutcome::Waiting => return Poll::Pending,
                    ParkedOutcome::Delivered => Ok(()),
                    ParkedOutcome::Closed(value) => Err(SendError(value)),
                }
            }
            Step::Done => panic!("mpsc send future polled after it completed"),
        };
        this.step = Step::Done;
        Poll::Ready(outcome)
    }
}

impl<T> Drop for Sending<'_, T> {
    fn drop(&mut self) {
        if let Step::Parked(ticket) = self.step {
            self.chan.cancel_parked(ticket);
        }
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
