//! `oneshot`: one value, sent once, from one task to another.
//!
//! **What this file teaches: a channel is a cell, a state word and a waker slot.** The
//! sender writes the value into a cell it owns, then *publishes* it by setting a bit in the
//! state word, then wakes the receiver. The receiver registers its waker, then checks the
//! bit (the "register, then check" rule of `atomic_waker.rs`). Who may touch the cell is
//! decided entirely by the state word:
//!
//! | bit         | set by                      | meaning                                       |
//! |-------------|-----------------------------|-----------------------------------------------|
//! | `COMPLETE`  | `send`, or `Sender` drop    | the sender is done; it never touches the cell again (except below) |
//! | `VALUE`     | `send`, with `COMPLETE`     | the cell holds the value                      |
//! | `RX_CLOSED` | `Receiver` drop             | nobody will read the cell; `send` gives the value back |
//!
//! | cell access                      | allowed when                                    |
//! |----------------------------------|-------------------------------------------------|
//! | sender writes the value          | before it sets `COMPLETE`                        |
//! | sender takes the value back      | its `fetch_or(COMPLETE \| VALUE)` returned `RX_CLOSED` set: the receiver is gone |
//! | receiver takes the value         | it loaded `COMPLETE \| VALUE` (and, being alive, `RX_CLOSED` is clear) |
//!
//! **Freeing is not a state.** Both halves hold an `Arc` to the shared part; memory is freed
//! by whichever drops its `Arc` last, never by the peer on reading a bit. That rules out the
//! bug class of RUSTSEC-2026-0005 (a `Receiver::drop` that published "disconnected" and then
//! still touched memory the sender had already freed). Rejected alternative: folding the
//! reference count into the state word, which saves one atomic operation per channel but
//! makes every drop path responsible for ordering its last touch before its last publish.
//!
//! There is no `Receiver::close`: RUSTSEC-2021-0124 was a race between `close` + `try_recv`
//! and a concurrent `send`; without it, `RX_CLOSED` means the receiver no longer exists.
//!
//! One allocation per channel (the `Arc`). Next to read: `src/sync/mpsc/mod.rs`.

use super::atomic_waker::AtomicWaker;
use crate::loom::cell::UnsafeCell;
use crate::loom::sync::atomic::AtomicUsize;
use crate::loom::sync::atomic::Ordering::{AcqRel, Acquire};
use crate::loom::sync::Arc;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Errors returned by the receiving side.
pub mod error {
    use std::fmt;

    /// The [`Sender`](super::Sender) was dropped without sending a value.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct RecvError(pub(super) ());

    impl fmt::Display for RecvError {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("oneshot channel closed: the sender was dropped without sending a value")
        }
    }

    impl std::error::Error for RecvError {}

    /// Why [`Receiver::try_recv`](super::Receiver::try_recv) returned no value.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum TryRecvError {
        /// No value yet, and the sender is still alive.
        Empty,
        /// The sender was dropped without sending, or the value was already received.
        Closed,
    }

    impl fmt::Display for TryRecvError {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            match self {
                TryRecvError::Empty => f.write_str("oneshot channel empty"),
                TryRecvError::Closed => f.write_str("oneshot channel closed"),
            }
        }
    }

    impl std::error::Error for TryRecvError {}
}

use error::{RecvError, TryRecvError};

/// The sender is done: it sent, or was dropped. Set once, never cleared.
const COMPLETE: usize = 0b001;
/// Set together with `COMPLETE` by `send`: the cell holds the value.
const VALUE: usize = 0b010;
/// The receiver was dropped. Set once, never cleared.
const RX_CLOSED: usize = 0b100;

/// The shared part: one allocation per channel.
struct Inner<T> {
    /// Bits `COMPLETE`, `VALUE`, `RX_CLOSED`.
    state: AtomicUsize,
    /// # Invariant
    /// Accessed only as the table in the module doc allows.
    value: UnsafeCell<Option<T>>,
    /// Where the receiver's waker lives.
    rx_waker: AtomicWaker,
}

// SAFETY: a `T` is moved from the sender's thread to the receiver's, never shared, so
// `T: Send` is all we need; the state word hands the cell to one side at a time.
unsafe impl<T: Send> Send for Inner<T> {}
// SAFETY: as for `Send`: `&Inner` never gives out a `&T`, only moves the value.
unsafe impl<T: Send> Sync for Inner<T> {}

impl<T> Inner<T> {
    /// The receiver's check: `None` while the sender is still working, else the outcome.
    fn try_take(&self) -> Option<Result<T, RecvError>> {
        let state = self.state.load(Acquire);
        if state & COMPLETE == 0 {
            return None;
        }
        if state & VALUE == 0 {
            return Some(Err(RecvError(())));
        }
        // SAFETY: we loaded COMPLETE | VALUE with Acquire, so the sender's write is visible
        // and the sender is done with the cell; RX_CLOSED is clear because the receiver (our
        // caller) still exists. The receiver's `&mut self` excludes a second receiver call.
        let value = self.value.with_mut(|cell| unsafe { (*cell).take() });
        Some(Ok(value.expect("oneshot: VALUE set but the cell is empty (value taken twice)")))
    }
}

/// Creates a oneshot channel: the [`Sender`] sends one value, the [`Receiver`] awaits it.
///
/// ```
/// # clockwork::block_on(async {
/// let (tx, rx) = clockwork::sync::oneshot::channel();
/// clockwork::spawn(async move { tx.send("done").unwrap() });
/// assert_eq!(rx.await, Ok("done"));
/// # });
/// ```
///
/// The halves are `Send` only if `T` is: a channel must not smuggle an `Rc` to another
/// thread.
///
/// ```compile_fail
/// fn assert_send<S: Send>(_: S) {}
/// let (tx, _rx) = clockwork::sync::oneshot::channel::<std::rc::Rc<u8>>();
/// assert_send(tx);
/// ```
pub fn channel<T>() -> (Sender<T>, Receiver<T>) {
    let inner = Arc::new(Inner {
        state: AtomicUsize::new(0),
        value: UnsafeCell::new(None),
        rx_waker: AtomicWaker::new(),
    });
    (Sender { inner: Some(inner.clone()) }, Receiver { inner: Some(inner) })
}

/// Sends the one value. Dropping it unsent makes the receiver see [`RecvError`].
pub struct Sender<T> {
    /// `Some` until `send` takes it (so `Drop` knows whether a value went out).
    inner: Option<Arc<Inner<T>>>,
}

/// Receives the one value: `.await` it, or poll it with [`try_recv`](Receiver::try_recv).
///
/// It may be moved between tasks while waiting; the waker of the latest poll is the one
/// woken. Awaiting it is cancel-safe: dropping the `Receiver` (or a future holding it) loses
/// only the value itself, which is then dropped with the channel.
pub struct Receiver<T> {
    /// `None` once the outcome was returned (the `Arc` is released early).
    inner: Option<Arc<Inner<T>>>,
}

impl<T> Sender<T> {
    /// Sends `value`, waking the receiver. Gives the value back (`Err(value)`) if the
    /// receiver was dropped; in a race with that drop either outcome may happen, but the
    /// value is then never lost: it is returned, or received, or dropped with the receiver.
    pub fn send(mut self, value: T) -> Result<(), T> {
        let inner = self.inner.take().expect("oneshot::Sender has no channel (already sent)");
        if inner.state.load(Acquire) & RX_CLOSED != 0 {
            return Err(value); // cheap early exit; the race is handled below
        }
        // SAFETY: COMPLETE is not set yet (only we set it), so the cell is ours to write.
        inner.value.with_mut(|cell| unsafe { *cell = Some(value) });
        // Publish. AcqRel: Release hands the cell to the receiver; Acquire lets us see a
        // concurrent receiver drop.
        let prev = inner.state.fetch_or(COMPLETE | VALUE, AcqRel);
        if prev & RX_CLOSED != 0 {
            // SAFETY: RX_CLOSED is set, so the receiver no longer exists and will never
            // read the cell (see the table in the module doc).
            let value = inner.value.with_mut(|cell| unsafe { (*cell).take() });
            return Err(value.expect("oneshot: the value we just wrote is gone"));
        }
        inner.rx_waker.wake();
        Ok(())
    }

    /// Whether the receiver was dropped (a `send` would give the value back).
    pub fn is_closed(&self) -> bool {
        let inner = self.inner.as_ref().expect("oneshot::Sender has no channel");
        inner.state.load(Acquire) & RX_CLOSED != 0
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        // Only an unsent sender still holds the channel here.
        if let Some(inner) = self.inner.take() {
            let prev = inner.state.fetch_or(COMPLETE, AcqRel);
            if prev & RX_CLOSED == 0 {
                inner.rx_waker.wake(); // the receiver will see RecvError
            }
        }
    }
}

impl<T> Receiver<T> {
    /// Takes the value if it has arrived, without waiting.
    ///
    /// `Err(Empty)`: not yet sent. `Err(Closed)`: the sender was dropped unsent, or the
    /// value was already received.
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        let Some(inner) = self.inner.as_ref() else {
            return Err(TryRecvError::Closed);
        };
        match inner.try_take() {
            None => Err(TryRecvError::Empty),
            Some(result) => {
                self.inner = None;
                result.map_err(|RecvError(())| TryRecvError::Closed)
            }
        }
    }
}

impl<T> Future for Receiver<T> {
    type Output = Result<T, RecvError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut(); // `Receiver` is `Unpin`: it holds only an `Arc`
        let inner = this.inner.as_ref().expect("oneshot::Receiver polled after it completed");
        // Fast path: already there, no need to register.
        let outcome = match inner.try_take() {
            Some(outcome) => outcome,
            None => {
                inner.rx_waker.register(cx.waker()); // register, ...
                match inner.try_take() {
                    Some(outcome) => outcome, // ... then check
                    None => return Poll::Pending,
                }
            }
        };
        this.inner = None;
        Poll::Ready(outcome)
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        if let Some(inner) = self.inner.take() {
            // Our waker would otherwise stay in the slot (keeping our task's allocation
            // alive) for as long as the sender lives. Take it before publishing RX_CLOSED.
            let waker = inner.rx_waker.take();
            // We touch no shared field after this: a value sent meanwhile stays in the cell
            // and is dropped with the last `Arc`.
            inner.state.fetch_or(RX_CLOSED, AcqRel);
            drop(waker); // user code: last
        }
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("oneshot::Sender").finish_non_exhaustive()
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("oneshot::Receiver").finish_non_exhaustive()
    }
}

#[cfg(test)]
#[path = "oneshot_tests.rs"]
mod tests;
