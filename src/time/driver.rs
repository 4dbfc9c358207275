//! The time driver: a wheel of wakers behind one lock, fired by the thread that parks.
//!
//! **What this teaches.** Three rules make a timer driver correct under concurrency:
//!
//! 1. **Wake outside the lock.** A waker runs foreign code: it may drop other timers
//!    (which takes this lock again) or panic. So [`Handle::process`] takes a batch of due
//!    wakers out under the lock, releases it, then wakes them, each inside `catch_unwind`
//!    so one panicking waker cannot stop the others (reliability scenarios 18 and 34).
//! 2. **Never sleep past a new, earlier deadline.** Before parking, the driver records the
//!    tick it will sleep until (`parked_until`, under the lock). A timer registered from
//!    another thread with an earlier deadline tells its caller to unpark the driver, which
//!    then recomputes its timeout (scenario 36).
//! 3. **Follow the latest waker.** A `Sleep` may move between tasks; every poll replaces
//!    the stored waker unless `will_wake` says it is the same task.
//!
//! Rejected alternative: a timer thread that sleeps until the next deadline. It costs a
//! thread and a cross-thread wake-up per timer, where parking with a timeout costs nothing.
//!
//! Next to read: `sleep.rs`, the future that uses this handle.

use super::clock::Clock;
use super::wheel::{TimerKey, Wheel};
use crate::loom::sync::Mutex;
use crate::trace;
use std::panic::Location;
use std::task::{Poll, Waker};
use std::time::Duration;

/// How many wakers are taken out per lock acquisition (bounds lock hold time and memory).
const WAKE_BATCH: usize = 32;

/// `parked_until` when the driver is not blocked: no registration needs to unpark it,
/// because it looks at the wheel again before it next parks.
const NOT_PARKED: u64 = 0;

/// The shared side of the time driver, one per runtime (inside `crate::driver::Handle`).
#[derive(Debug)]
pub(crate) struct Handle {
    clock: Clock,
    inner: Mutex<Inner>,
}

#[derive(Debug)]
struct Inner {
    wheel: Wheel<Waker>,
    /// The tick the driver is blocked until (`u64::MAX`: no timeout), or `NOT_PARKED`.
    parked_until: u64,
    /// Set by `shutdown`: no timer may be registered or polled any more.
    is_shutdown: bool,
}

/// What [`Handle::register`] tells its caller.
#[derive(Debug)]
#[must_use = "the caller must unpark the driver when `unpark` is true"]
pub(crate) struct Registration {
    pub(crate) key: TimerKey,
    /// The driver is parked past this timer's deadline and must be woken to notice it.
    pub(crate) unpark: bool,
}

/// Panics for a timer used after its runtime shut down, naming where the timer was made.
///
/// `created` is the user's line that called `sleep`, `timeout`, ... (the `Sleep` keeps it):
/// the panic itself happens inside a `poll`, where `#[track_caller]` cannot reach the user,
/// so without it the message would point only at this file.
#[cold]
#[track_caller]
fn shut_down(created: &Location<'_>) -> ! {
    panic!(
        "the timer created at {created} was used after its clockwork runtime shut down; \
         a Sleep, Timeout or Interval cannot outlive the runtime it ran on"
    )
}

impl Handle {
    pub(crate) fn new(clock: Clock) -> Handle {
        let wheel = Wheel::new(clock.now_tick());
        let inner = Inner { wheel, parked_until: NOT_PARKED, is_shutdown: false };
        Handle { clock, inner: Mutex::new(inner) }
    }

    pub(crate) fn clock(&self) -> &Clock {
        &self.clock
    }

    /// Adds a timer due at `tick` that will wake `waker`; `created` is where its `Sleep`
    /// was made, for the panic if the runtime has shut down.
    pub(crate) fn register(&self, tick: u64, waker: &Waker, created: &Location<'_>) -> Registration {
        let waker = waker.clone(); // before locking: a waker's `clone` is foreign code
        let mut inner = self.inner.lock();
        if inner.is_shutdown {
            shut_down(created);
        }
        let key = inner.wheel.insert(tick, waker);
        trace::timer_inserted(key, tick, &inner.wheel);
        Registration { key, unpark: tick < inner.parked_until }
    }

    /// `Ready` once the timer has fired; otherwise makes sure the stored waker wakes the
    /// same task as `waker` and returns `Pending`.
    ///
    /// The common case (same task as last time) is one lock and a `will_wake` compare.
    /// Otherwise the new waker is cloned, and the old one dropped, with the lock released:
    /// both may run foreign code, and dropping a waker can even drop a future that owns
    /// another timer, which would take this lock again.
    pub(crate) fn poll_timer(&self, key: TimerKey, waker: &Waker, created: &Location<'_>) -> Poll<()> {
        match self.stored_waker(key, created, |stored| stored.will_wake(waker)) {
            None => return Poll::Ready(()),
            Some(true) => return Poll::Pending,
            Some(false) => {}
        }
        let mut new = Some(waker.clone());
        let old =
            self.stored_waker(key, created, |stored| std::mem::replace(stored, new.take().expect("once")));
        // `old` (or, if the timer fired in between, the unused `new`) drops here, unlocked.
        if old.is_some() {
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    }

    /// Runs `f` on the waker stored for `key` under the lock; `None` once it has fired.
    fn stored_waker<R>(
        &self,
        key: TimerKey,
        created: &Location<'_>,
        f: impl FnOnce(&mut Waker) -> R,
    ) -> Option<R> {
        let mut inner = self.inner.lock();
        if inner.is_shutdown {
            shut_down(created);
        }
        inner.wheel.get_mut(key).map(f)
    }

    /// Removes a timer; a no-op if it already fired. O(1). The waker is dropped after the
    /// lock is released, because dropping a waker may run foreign code too.
    pub(crate) fn cancel(&self, key: TimerKey) {
        let waker = self.inner.lock().wheel.cancel(key);
        trace::timer_cancelled(key.to_u64(), waker.is_some());
        drop(waker);
    }

    /// Called by the driver just before it blocks, with the caller's own limit: records
    /// how long it will sleep and returns the timeout to use (`None`: no timeout).
    pub(crate) fn before_park(&self, limit: Option<Duration>) -> Option<Duration> {
        let mut inner = self.inner.lock();
        let next = inner.wheel.next_expiration();
        let until_timer = next.map(|tick| self.clock.until_tick(tick));
        let timeout = match (limit, until_timer) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        if timeout != Some(Duration::ZERO) {
            inner.parked_until = next.unwrap_or(u64::MAX);
        }
        trace::next_timer(next, &inner.wheel);
        timeout
    }

    /// Fires every timer due at `now` (a tick): takes their wakers out in batches under
    /// the lock and wakes them with the lock released. Returns how many fired.
    pub(crate) fn process(&self, now: u64) -> usize {
        let mut fired = 0;
        let mut batch = Vec::new();
        loop {
            {
                let mut inner = self.inner.lock();
                inner.parked_until = NOT_PARKED;
                while batch.len() < WAKE_BATCH {
                    match inner.wheel.poll(now) {
                        Some((key, waker)) => batch.push(trace::timer_fired(key, waker)),
                        None => break,
                    }
                }
            } // the lock is released here, before any waker runs
            let full = batch.len() == WAKE_BATCH;
            fired += batch.len();
            trace::waking(trace::Cause::Timer, || batch.drain(..).for_each(wake_contained));
            if !full {
                return fired;
            }
        }
    }

    /// Called once when the runtime shuts down: marks the driver shut down and wakes every
    /// remaining timer, so that nothing waits on a driver that will never fire again.
    pub(crate) fn shutdown(&self) {
        let wakers = {
            let mut inner = self.inner.lock();
            inner.is_shutdown = true;
            inner.wheel.drain()
        };
        wakers.into_iter().for_each(wake_contained);
    }

    /// Number of registered timers (for tests and the inspector).
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.inner.lock().wheel.len()
    }
}

/// Wakes `waker`, containing a panic: the runtime's own state is consistent (no lock is
/// held), and the panic message has already been printed by the panic hook.
fn wake_contained(waker: Waker) {
    crate::util::panic::contain(|| waker.wake());
}

#[cfg(all(test, not(loom)))]
mod tests;
