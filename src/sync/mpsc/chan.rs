//! The shared part of an `mpsc` channel: a bounded queue and a line of waiting senders,
//! all behind one mutex.
//!
//! **What this file teaches: reserve the slot, let the sender fill it.** When the queue is
//! full, a sender joins the back of a line of waiting senders with its waker, and *keeps its
//! value*. When the receiver takes a value out, it does not leave the freed slot to whoever
//! asks next: it reserves it for the oldest waiting sender (a *permit*), then wakes that
//! sender, which queues its value on its next poll. Four properties follow:
//!
//! * **FIFO fairness**: a reserved slot counts as taken, so a newcomer's `try_send` sees the
//!   channel full and cannot overtake the line; senders get slots in the order they came.
//! * **Cancel safety**: a value leaves the `send` future only in the poll that returns
//!   `Ready`. A send dropped before that has sent nothing; so `send` can lose a `select!`.
//! * **No lost slot, no lost wake-up**: the slot and the wake-up travel together. A sender
//!   dropped while it holds a permit passes the permit to the next in line (and wakes it),
//!   or, with nobody waiting, gives the slot back to the channel (`cancel_waiting`).
//! * **Close returns values**: after `close`, every waiting sender, permit or not, leaves
//!   the line with its own value as `SendError`.
//!
//! The line itself, and a waiting sender's life in a transition table, are in `line.rs`.
//!
//! **Locking rules.** We never run user code under the lock: `Waker::clone`, `wake`, and the
//! destructors of wakers and values are all called after the guard is dropped. (A waker or
//! a value's `Drop` could re-enter this channel and deadlock, or panic mid-update.) The
//! shortcut admitted: a receiver that finds the queue empty, a sender that finds it full
//! against the `full` hint, and a waiting sender polled with a new waker lock twice, so
//! they can clone their waker in between.
//!
//! Rejected alternatives:
//!
//! * *The receiver moves the oldest parked value into the freed slot itself* (this
//!   channel's first design). The woken sender then needs no lock and has no wake-up to pass
//!   on; but it is not cancel-safe. Once moved, the value is received even if the `send`
//!   future is dropped before it reports `Ok`, so a producer retrying `send` in a `select!`
//!   against a timeout delivered duplicates (found by a differential audit against tokio).
//! * *Wake the oldest sender and let it retry `try_send`*, with no reservation: a newcomer
//!   can take the slot first, and a woken sender that gives up must forward its wake-up.
//! * *A lock-free queue plus a semaphore* (tokio's design, whose permits we borrow): faster
//!   under heavy multi-core contention, but an order of magnitude more code to read and model.
//!
//! Next to read: `line.rs`.

use super::error::{TryRecvError, TrySendError};
use super::line::{Line, Ticket};
use crate::loom::sync::atomic::{AtomicBool, Ordering::Relaxed};
use crate::loom::sync::{Mutex, MutexGuard};
use crate::util::panic::discard;
use std::any::Any;
use std::collections::VecDeque;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::task::{Poll, Waker};

/// The shared channel: one allocation, owned through an `Arc` by every handle.
#[derive(Debug)]
pub(super) struct Chan<T> {
    state: Mutex<State<T>>,
    /// A hint, kept equal to "no free slot" under the lock and read without it. It only
    /// picks which path `send_or_park` tries first; the lock decides the truth.
    full: AtomicBool,
}

#[derive(Debug)]
struct State<T> {
    /// Values ready for the receiver, oldest first.
    queue: VecDeque<T>,
    capacity: usize,
    /// Senders waiting for room, oldest first; the first few hold a permit (`line.rs`).
    /// # Invariants
    /// * `queue.len() + line.granted() <= capacity`: a reserved slot is a taken slot;
    /// * senders without a permit wait only while that sum is `capacity` (or after `close`).
    line: Line,
    /// The receiver's waker while it waits for a value; taken by whoever wakes it.
    rx_waker: Option<Waker>,
    /// Live `Sender` handles. At zero, an empty queue means "no more values, ever".
    senders: usize,
    /// Set by `Receiver::close` or drop: sends fail from now on.
    closed: bool,
}

/// How a `send` started.
#[derive(Debug)]
pub(super) enum SendStart<T> {
    /// There was room: the value is queued.
    Sent,
    /// The receiver is closed: here is the value back.
    Closed(T),
    /// The channel was full: the sender waits in line under this ticket; here is its value.
    Waiting(Ticket, T),
}

/// What a waiting sender finds when it is polled again.
#[derive(Debug)]
pub(super) enum Turn<T> {
    /// No permit yet: still in line (its waker is up to date); here is the value back.
    Waiting(T),
    /// It held a permit: the value is queued, and the sender has left the line.
    Sent,
    /// The receiver closed: the sender has left the line; here is the value back.
    Closed(T),
}

/// Wakes `waker` if there is one. Called only after the guard is dropped.
fn wake(waker: Option<Waker>) {
    if let Some(waker) = waker {
        waker.wake();
    }
}

/// Wakes every waker, even if some of them panic (otherwise one bad waker would strand
/// every sender behind it), and returns the first panic for the caller to re-raise once
/// its own work is done; later ones are discarded.
#[must_use]
fn wake_all(wakers: impl IntoIterator<Item = Waker>) -> Option<Box<dyn Any + Send>> {
    let mut first_panic = None;
    for waker in wakers {
        if let Err(panic) = catch_unwind(AssertUnwindSafe(|| waker.wake())) {
            match first_panic {
                None => first_panic = Some(panic),
                Some(_) => discard(panic),
            }
        }
    }
    first_panic
}

/// Re-raises a waker's panic in a destructor, unless this thread is already unwinding: a
/// second panic there would abort the process, so the waker's is discarded instead.
fn reraise_unless_unwinding(panic: Option<Box<dyn Any + Send>>) {
    match panic {
        Some(panic) if std::thread::panicking() => discard(panic),
        Some(panic) => resume_unwind(panic),
        None => {}
    }
}

impl<T> Chan<T> {
    /// A channel for `capacity >= 1` values, with one sender.
    pub(super) fn new(capacity: usize) -> Self {
        let state = State {
            // Grown on demand: a channel of capacity 1 000 000 need not allocate it upfront.
            queue: VecDeque::new(),
            capacity,
            line: Line::default(),
            rx_waker: None,
            senders: 1,
            closed: false,
        };
        Chan { state: Mutex::new(state), full: AtomicBool::new(false) }
    }

    fn lock(&self) -> MutexGuard<'_, State<T>> {
        self.state.lock()
    }

    // ===== sending side =====

    /// Pushes `value` if a slot is free and the receiver is open; wakes the receiver.
    pub(super) fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
        let state = self.lock();
        if state.closed {
            return Err(TrySendError::Closed(value));
        }
        if state.is_full() {
            // Also true whenever senders are waiting: newcomers queue behind them.
            return Err(TrySendError::Full(value));
        }
        self.push_and_wake(state, value);
        Ok(())
    }

    /// `try_send`, and if the channel is full, joins the back of the line.
    ///
    /// Waiting needs a clone of the waker, made before taking the lock. When the channel is
    /// probably full (the hint), we clone first and lock once; otherwise we try without the
    /// clone and, if that fails, clone and lock a second time.
    pub(super) fn send_or_park(&self, value: T, waker: &Waker) -> SendStart<T> {
        let value = if self.full.load(Relaxed) {
            value
        } else {
            match self.try_send(value) {
                Ok(()) => return SendStart::Sent,
                Err(TrySendError::Closed(value)) => return SendStart::Closed(value),
                Err(TrySendError::Full(value)) => value,
            }
        };
        let waker = waker.clone(); // user code: before taking the lock
        let mut state = self.lock();
        if state.closed {
            drop(state);
            return SendStart::Closed(value);
        }
        if !state.is_full() {
            // There was room after all (the hint was stale, or the receiver was quick).
            self.push_and_wake(state, value);
            drop(waker);
            return SendStart::Sent;
        }
        let ticket = state.line.join(waker);
        SendStart::Waiting(ticket, value)
    }

    /// Queues `value` (the caller checked there is a slot for it), then wakes a waiting
    /// receiver once the lock is released.
    fn push_and_wake(&self, mut state: MutexGuard<'_, State<T>>, value: T) {
        state.queue.push_back(value);
        self.update_full_hint(&state);
        let receiver = state.rx_waker.take();
        drop(state);
        wake(receiver);
    }

    /// A waiting sender is polled again, with its value. With a permit, the value is queued
    /// (`Sent`); after `close`, the value comes back (`Closed`); otherwise the sender stays
    /// in line, and `waker` is the one a permit will wake.
    pub(super) fn poll_waiting(&self, ticket: Ticket, value: T, waker: &Waker) -> Turn<T> {
        let state = self.lock();
        if state.closed || state.line.has_permit(ticket) {
            return self.leave_line(state, ticket, value);
        }
        if state.line.wakes(ticket, waker) {
            return Turn::Waiting(value); // polled again by the same task: nothing to update
        }
        // A new waker (the future moved to another task). Clone it outside the lock, then
        // look again: a permit or `close` may have come in between.
        drop(state);
        let new_waker = waker.clone();
        let mut state = self.lock();
        if state.closed || state.line.has_permit(ticket) {
            let turn = self.leave_line(state, ticket, value);
            drop(new_waker); // after the guard is gone
            return turn;
        }
        let old = state.line.set_waker(ticket, new_waker);
        drop(state);
        drop(old); // a waker's drop is user code too
        Turn::Waiting(value)
    }

    /// Takes the sender out of line and finishes its send (it holds a permit, or the channel
    /// is closed): with its permit, the value fills the reserved slot; after `close`, the
    /// value goes back to the sender.
    fn leave_line(&self, mut state: MutexGuard<'_, State<T>>, ticket: Ticket, value: T) -> Turn<T> {
        let left = state.line.leave(ticket).expect("the caller saw it in line");
        if state.closed {
            // A permit is void now: the receiver will take no more values.
            self.update_full_hint(&state);
            drop(state);
            drop(left.waker); // its waker's drop is user code
            return Turn::Closed(value);
        }
        debug_assert!(left.had_permit, "only a permit or close ends the wait");
        // The reserved slot becomes a queued value: `queue.len() + granted` is unchanged.
        self.push_and_wake(state, value);
        Turn::Sent
    }

    /// A waiting sender gives up (its future was dropped) and leaves the line. If it held a
    /// permit, the reserved slot goes to the next sender without one, who is woken, or, with
    /// nobody waiting, back to the channel. Dropping the permit instead would lose a slot for
    /// good, and leave the next sender waiting for a wake-up nobody sends.
    ///
    /// This runs in the `send` future's `Drop`, perhaps during unwinding: there, a panic of
    /// the next sender's waker is discarded rather than aborting the process.
    pub(super) fn cancel_waiting(&self, ticket: Ticket) {
        let mut state = self.lock();
        let Some(left) = state.line.leave(ticket) else {
            // Already out of line: its value was queued, then the receiver's waker panicked
            // before the poll could report `Ready`.
            return;
        };
        let next = if left.had_permit { self.grant_next(&mut state) } else { None };
        drop(state);
        drop(left.waker); // user code, now that the guard is gone
        reraise_unless_unwinding(wake_all(next));
    }

    /// One more `Sender`.
    pub(super) fn add_sender(&self) {
        self.lock().senders += 1;
    }

    /// One `Sender` fewer; the last one wakes the receiver so it can see the end.
    ///
    /// No permit can be outstanding here for this sender: a `send` future borrows its
    /// `Sender`, so it was dropped (and passed its permit on) before the `Sender` was.
    pub(super) fn drop_sender(&self) {
        let mut state = self.lock();
        state.senders -= 1;
        let receiver = if state.senders == 0 { state.rx_waker.take() } else { None };
        drop(state);
        wake(receiver);
    }

    /// Whether sends fail now because the receiver closed or was dropped.
    pub(super) fn is_closed(&self) -> bool {
        self.lock().closed
    }

    // ===== receiving side =====

    /// Takes the oldest value; the freed slot is reserved for the oldest waiting sender.
    pub(super) fn try_recv(&self) -> Result<T, TryRecvError> {
        let mut state = self.lock();
        let Some(value) = state.queue.pop_front() else {
            let ended = state.senders == 0 || state.closed;
            return Err(if ended { TryRecvError::Disconnected } else { TryRecvError::Empty });
        };
        let sender = self.grant_next(&mut state);
        drop(state);
        wake(sender);
        Ok(value)
    }

    /// `try_recv`, registering `waker` when the queue is empty. `None` means the end.
    pub(super) fn poll_recv(&self, waker: &Waker) -> Poll<Option<T>> {
        match self.try_recv() {
            Ok(value) => return Poll::Ready(Some(value)),
            Err(TryRecvError::Disconnected) => return Poll::Ready(None),
            Err(TryRecvError::Empty) => {}
        }
        // Second lock: we cloned outside it. Register, then check again (a sender may have
        // pushed in between; it found no waker to wake).
        let new_waker = Some(waker.clone());
        let mut state = self.lock();
        let old = std::mem::replace(&mut state.rx_waker, new_waker);
        let ready = !state.queue.is_empty() || state.senders == 0 || state.closed;
        drop(state);
        drop(old);
        if ready {
            // Rare: leave the registered waker; a spurious wake-up later is harmless.
            return match self.try_recv() {
                Ok(value) => Poll::Ready(Some(value)),
                Err(TryRecvError::Disconnected) => Poll::Ready(None),
                Err(TryRecvError::Empty) => Poll::Pending, // another `try_recv` cannot run: `&mut Receiver`
            };
        }
        Poll::Pending
    }

    /// Stops all sends; waiting senders are woken to take their values back. Values already
    /// queued can still be received.
    pub(super) fn close(&self) {
        if let Some(panic) = wake_all(self.close_and_take_wakers()) {
            resume_unwind(panic);
        }
    }

    /// Marks the channel closed and takes the waiting senders' wakers, to be woken outside
    /// the lock. (Senders holding a permit have no waker left: they were woken already.)
    fn close_and_take_wakers(&self) -> Vec<Waker> {
        let mut state = self.lock();
        state.closed = true;
        state.line.take_wakers()
    }

    /// The receiver is gone: close, and drop every queued value (outside the lock).
    /// It also drops the receiver's registered waker, which would otherwise keep the receiving
    /// task's allocation alive for as long as any sender lives.
    ///
    /// A sender's waker that panics does so after all of that is done; and it is discarded
    /// if this drop runs during unwinding, where a second panic would abort the process.
    pub(super) fn drop_receiver(&self) {
        let senders = self.close_and_take_wakers();
        let mut state = self.lock();
        let queued = std::mem::take(&mut state.queue);
        let waker = state.rx_waker.take();
        drop(state);
        let panic = wake_all(senders);
        drop(queued);
        drop(waker);
        reraise_unless_unwinding(panic);
    }

    /// A slot was just freed (a value received, or a permit given up): reserves it for the
    /// oldest sender without a permit, and returns that sender's waker, to be woken outside
    /// the lock. With nobody waiting the slot simply stays free; after `close` nobody gets
    /// a permit (waiting senders leave with their values instead).
    fn grant_next(&self, state: &mut State<T>) -> Option<Waker> {
        debug_assert!(!state.is_full(), "a permit needs a free slot");
        let sender = if state.closed { None } else { state.line.grant_next() };
        self.update_full_hint(state);
        sender
    }

    /// Refreshes the `full` hint after the queue or the permits changed (called under the
    /// lock). It writes only on a change, so a busy channel does not bounce its cache line.
    fn update_full_hint(&self, state: &State<T>) {
        let full = state.is_full();
        if self.full.load(Relaxed) != full {
            self.full.store(full, Relaxed);
        }
    }
}

impl<T> State<T> {
    /// No free slot: every slot holds a value or is reserved for a sender with a permit.
    fn is_full(&self) -> bool {
        self.queue.len() + self.line.granted() == self.capacity
    }
}
