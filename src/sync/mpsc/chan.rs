//! The shared part of an `mpsc` channel: a bounded queue and a line of waiting senders,
//! all behind one mutex.
//!
//! **What this file teaches: hand-off instead of wake-and-retry.** When the queue is full, a
//! sender does not keep its value and retry later. It parks the value *in the channel*, at
//! the back of the `waiting` line, together with its waker. When the receiver takes a value
//! out, it moves the oldest parked value into the freed slot itself, then wakes that
//! sender, whose only remaining job is to report `Ok`. Three properties follow for free:
//!
//! * **FIFO fairness**: senders get slots in the order they started waiting; a newcomer
//!   cannot overtake the line, because `try_send` sees the queue still full.
//! * **No lost or stranded wake-ups**: a wake-up means "your value was delivered", so a
//!   sender future dropped after being woken has nothing to pass on. (The usual design,
//!   wake one waiter and let it retry, must forward the wake-up when that waiter gives up.)
//! * **Close returns values**: after `close`, parked values stay parked, and each sender
//!   takes its own value back as `SendError`.
//!
//! **Locking rules.** We never run user code under the lock: `Waker::clone`, `wake`, and the
//! destructors of wakers and values are all called after the guard is dropped. (A waker or
//! a value's `Drop` could re-enter this channel and deadlock, or panic mid-update.) The
//! shortcut admitted: a receiver that finds the queue empty, and a sender that finds it
//! full against the `full` hint, lock twice, so they can clone their waker in between.
//!
//! Rejected alternative: a lock-free queue plus a semaphore (tokio's design). Faster under
//! heavy multi-core contention, but an order of magnitude more code to read and to model.
//!
//! Next to read: `src/future/mod.rs`.

use super::error::{TryRecvError, TrySendError};
use crate::loom::sync::atomic::Ordering::{Acquire, Relaxed, Release};
use crate::loom::sync::atomic::{AtomicBool, AtomicU64};
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
    /// Every ticket below this number has been handed off. Parked values are served
    /// strictly in ticket order (a deli counter), so this one number tells a woken sender
    /// "you were served" without taking the lock. Written only under the lock.
    served: AtomicU64,
    /// A hint, kept equal to "the queue is full" under the lock and read without it. It only
    /// picks which path `send_or_park` tries first; the lock decides the truth.
    full: AtomicBool,
}

#[derive(Debug)]
struct State<T> {
    /// Values ready for the receiver, oldest first. `queue.len() <= capacity`.
    queue: VecDeque<T>,
    capacity: usize,
    /// Senders waiting for room, oldest first, each with its parked value.
    /// # Invariant
    /// Non-empty only while the queue is full (or after `close`), and sorted by ticket.
    waiting: VecDeque<Parked<T>>,
    /// The ticket the next parked sender gets; tickets only grow, so `waiting` stays sorted.
    next_ticket: u64,
    /// The receiver's waker while it waits for a value; taken by whoever wakes it.
    rx_waker: Option<Waker>,
    /// Live `Sender` handles. At zero, an empty queue means "no more values, ever".
    senders: usize,
    /// Set by `Receiver::close` or drop: sends fail from now on.
    closed: bool,
}

/// A sender waiting for room, with the value it wants to send.
#[derive(Debug)]
struct Parked<T> {
    ticket: u64,
    value: T,
    /// `None` once taken by `close` (which wakes it).
    waker: Option<Waker>,
}

/// A parked sender's handle on its place in line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Ticket(u64);

/// How a `send` started.
#[derive(Debug)]
pub(super) enum SendStart<T> {
    /// There was room: the value is queued.
    Sent,
    /// The receiver is closed: here is the value back.
    Closed(T),
    /// The queue was full: the value waits in line under this ticket.
    Parked(Ticket),
}

/// What happened to a parked sender.
#[derive(Debug)]
pub(super) enum ParkedOutcome<T> {
    /// Still in line (its waker was updated).
    Waiting,
    /// The receiver moved the value into the queue.
    Delivered,
    /// The receiver closed: here is the value back.
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
fn wake_all(wakers: Vec<Waker>) -> Option<Box<dyn Any + Send>> {
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

impl<T> Chan<T> {
    /// A channel for `capacity >= 1` values, with one sender.
    pub(super) fn new(capacity: usize) -> Self {
        let state = State {
            // Grown on demand: a channel of capacity 1 000 000 need not allocate it upfront.
            queue: VecDeque::new(),
            capacity,
            waiting: VecDeque::new(),
            next_ticket: 0,
            rx_waker: None,
            senders: 1,
            closed: false,
        };
        Chan { state: Mutex::new(state), served: AtomicU64::new(0), full: AtomicBool::new(false) }
    }

    fn lock(&self) -> MutexGuard<'_, State<T>> {
        self.state.lock()
    }

    // ===== sending side =====

    /// Pushes `value` if there is room and the receiver is open; wakes the receiver.
    pub(super) fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
        let state = self.lock();
        if state.closed {
            return Err(TrySendError::Closed(value));
        }
        if state.queue.len() == state.capacity {
            // Also true whenever senders are waiting: newcomers queue behind them.
            return Err(TrySendError::Full(value));
        }
        self.push_and_wake(state, value);
        Ok(())
    }

    /// `try_send`, and if the queue is full, parks the value at the back of the line.
    ///
    /// Parking needs a clone of the waker, made before taking the lock. When the queue is
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
        let waker = Some(waker.clone()); // user code: before taking the lock
        let mut state = self.lock();
        if state.closed {
            drop(state);
            return SendStart::Closed(value);
        }
        if state.queue.len() < state.capacity {
            // There was room after all (the hint was stale, or the receiver was quick).
            self.push_and_wake(state, value);
            drop(waker);
            return SendStart::Sent;
        }
        let ticket = state.next_ticket;
        state.next_ticket += 1;
        state.waiting.push_back(Parked { ticket, value, waker });
        SendStart::Parked(Ticket(ticket))
    }

    /// Queues `value` (the caller checked there is room), then wakes a waiting receiver
    /// once the lock is released.
    fn push_and_wake(&self, mut state: MutexGuard<'_, State<T>>, value: T) {
        state.queue.push_back(value);
        self.update_full_hint(&state);
        let receiver = state.rx_waker.take();
        drop(state);
        wake(receiver);
    }

    /// A parked sender checks on its value; while it waits, `waker` replaces its old one.
    pub(super) fn check_parked(&self, ticket: Ticket, waker: &Waker) -> ParkedOutcome<T> {
        if self.was_served(ticket) {
            return ParkedOutcome::Delivered; // the common case after a wake-up: no lock
        }
        let new_waker = waker.clone(); // user code: before taking the lock
        let mut state = self.lock();
        let Some(index) = state.find(ticket) else {
            drop(state);
            return ParkedOutcome::Delivered; // `new_waker` is dropped after the guard
        };
        if state.closed {
            let parked = state.waiting.remove(index).expect("index from find");
            drop(state);
            return ParkedOutcome::Closed(parked.value); // `parked.waker` is `None` after close
        }
        let old = state.waiting[index].waker.replace(new_waker);
        drop(state);
        drop(old); // a waker's drop is user code too
        ParkedOutcome::Waiting
    }

    /// A parked sender gives up (its future was dropped): its value leaves the line.
    pub(super) fn cancel_parked(&self, ticket: Ticket) {
        if self.was_served(ticket) {
            return; // delivered: nothing of ours is left in line
        }
        let mut state = self.lock();
        let parked = state.find(ticket).and_then(|index| state.waiting.remove(index));
        drop(state);
        drop(parked); // the value and waker are dropped outside the lock
    }

    /// One more `Sender`.
    pub(super) fn add_sender(&self) {
        self.lock().senders += 1;
    }

    /// One `Sender` fewer; the last one wakes the receiver so it can see the end.
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

    /// Takes the oldest value; the freed slot goes to the oldest parked sender, if any.
    pub(super) fn try_recv(&self) -> Result<T, TryRecvError> {
        let mut state = self.lock();
        let Some(value) = state.queue.pop_front() else {
            let ended = state.senders == 0 || state.closed;
            return Err(if ended { TryRecvError::Disconnected } else { TryRecvError::Empty });
        };
        let mut sender = None;
        if !state.closed {
            if let Some(parked) = state.waiting.pop_front() {
                // Hand-off: the freed slot is theirs. Then tell them, without the lock:
                // Release pairs with the Acquire in `was_served` (nothing else to publish,
                // but the pair keeps the reasoning simple).
                state.queue.push_back(parked.value);
                self.served.store(parked.ticket + 1, Release);
                sender = parked.waker;
            }
        }
        self.update_full_hint(&state);
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

    /// Stops all sends; parked senders are woken to take their values back. Values already
    /// queued can still be received.
    pub(super) fn close(&self) {
        if let Some(panic) = wake_all(self.close_and_take_wakers()) {
            resume_unwind(panic);
        }
    }

    /// Marks the channel closed and takes the parked senders' wakers, to be woken outside
    /// the lock.
    fn close_and_take_wakers(&self) -> Vec<Waker> {
        let mut state = self.lock();
        state.closed = true;
        state.waiting.iter_mut().filter_map(|p| p.waker.take()).collect()
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
        match panic {
            Some(panic) if std::thread::panicking() => discard(panic),
            Some(panic) => resume_unwind(panic),
            None => {}
        }
    }
}

impl<T> Chan<T> {
    /// Whether the parked value under `ticket` was moved into the queue.
    fn was_served(&self, ticket: Ticket) -> bool {
        self.served.load(Acquire) > ticket.0
    }

    /// Refreshes the `full` hint after the queue changed (called under the lock). It writes
    /// only on a change, so a busy channel does not bounce the hint's cache line around.
    fn update_full_hint(&self, state: &State<T>) {
        let full = state.queue.len() == state.capacity;
        if self.full.load(Relaxed) != full {
            self.full.store(full, Relaxed);
        }
    }
}

impl<T> State<T> {
    /// Where `ticket` stands in line, if it is still waiting.
    fn find(&self, ticket: Ticket) -> Option<usize> {
        self.waiting.binary_search_by_key(&ticket.0, |parked| parked.ticket).ok()
    }
}
