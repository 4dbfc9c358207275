//! The parker: how a runtime thread sleeps when it has nothing to do, without missing a
//! wake-up.
//!
//! **What this teaches.** "Check the queue, then sleep" has a race: a task can be woken
//! between the check and the sleep, and the thread then sleeps through it. The cure is a
//! small state machine in one atomic, the same one `std::thread::park` uses:
//!
//! | from | event | to | who acts next |
//! |---|---|---|---|
//! | `EMPTY` | `park` | `PARKED` | the parker blocks on the condvar |
//! | `NOTIFIED` | `park` | `EMPTY` | the parker returns at once (the token is consumed) |
//! | `EMPTY` | `unpark` | `NOTIFIED` | nobody: the next `park` returns at once |
//! | `PARKED` | `unpark` | `NOTIFIED` | the unparker signals the condvar; the parker wakes, sees `NOTIFIED`, returns |
//! | `NOTIFIED` | `unpark` | `NOTIFIED` | nobody (tokens do not accumulate) |
//!
//! An `unpark` that lands before the `park` is therefore never lost. And `unpark` on a
//! thread that is not parked costs one atomic swap, no system call.
//!
//! Why not `std::thread::park`? Its token belongs to the *thread*, and user code running
//! inside `poll` may use it too (a lazy initialiser, a blocking library): their `unpark`
//! would wake our runtime spuriously and, worse, our `unpark` could be swallowed by their
//! `park`. The runtime gets a token of its own (reliability scenario 25).
//!
//! Spurious returns from `park` are allowed: callers always re-check their queues.
//!
//! Next to read: `src/driver.rs`, which puts timers and I/O behind the same `park`.

use crate::loom::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use crate::loom::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

/// Nobody is parked and no token is stored.
const EMPTY: usize = 0;
/// A thread is (about to be) blocked on the condvar.
const PARKED: usize = 1;
/// A token is stored: the next `park` returns at once.
const NOTIFIED: usize = 2;

#[derive(Debug)]
struct Inner {
    state: AtomicUsize,
    lock: Mutex<()>,
    cvar: Condvar,
}

/// The sleeping side. Only the thread that owns it calls `park`.
#[derive(Debug)]
pub(crate) struct Parker {
    inner: Arc<Inner>,
}

/// The waking side: cheap to clone, callable from any thread.
#[derive(Clone, Debug)]
pub(crate) struct Unparker {
    inner: Arc<Inner>,
}

impl Parker {
    pub(crate) fn new() -> Parker {
        let inner = Inner { state: AtomicUsize::new(EMPTY), lock: Mutex::new(()), cvar: Condvar::new() };
        Parker { inner: Arc::new(inner) }
    }

    pub(crate) fn unparker(&self) -> Unparker {
        Unparker { inner: self.inner.clone() }
    }

    /// Blocks until `unpark` is called (or returns at once if a token is stored).
    pub(crate) fn park(&mut self) {
        self.inner.park(None);
    }

    /// Like [`Parker::park`], but gives up after `timeout`. `Duration::ZERO` only consumes
    /// a stored token.
    #[cfg_attr(not(loom), allow(dead_code))] // only the loom driver parks with a timeout
    pub(crate) fn park_timeout(&mut self, timeout: Duration) {
        self.inner.park(Some(timeout));
    }
}

impl Parker {
    /// Consumes a stored token without blocking; `true` if there was one.
    pub(crate) fn take_token(&mut self) -> bool {
        self.inner.state.compare_exchange(NOTIFIED, EMPTY, SeqCst, SeqCst).is_ok()
    }
}

impl Unparker {
    /// Wakes the parker, or makes its next `park` return at once.
    pub(crate) fn unpark(&self) {
        self.inner.unpark();
    }

    /// `true` if both wake the same parker (so a waiter list can hold each one once).
    pub(crate) fn wakes_same_parker(&self, other: &Unparker) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }
}

impl Inner {
    fn park(&self, timeout: Option<Duration>) {
        // Fast path: consume a stored token without touching the lock.
        if self.state.compare_exchange(NOTIFIED, EMPTY, SeqCst, SeqCst).is_ok() {
            return;
        }
        if timeout == Some(Duration::ZERO) {
            return;
        }
        let mut guard = self.lock.lock();
        match self.state.compare_exchange(EMPTY, PARKED, SeqCst, SeqCst) {
            Ok(_) => {}
            Err(NOTIFIED) => {
                // The token arrived between the fast path and taking the lock.
                self.state.swap(EMPTY, SeqCst);
                return;
            }
            Err(other) => panic!("park: inconsistent parker state {other}"),
        }
        match timeout {
            None => loop {
                guard = self.cvar.wait(guard);
                if self.state.compare_exchange(NOTIFIED, EMPTY, SeqCst, SeqCst).is_ok() {
                    return; // a real wake-up, not a spurious one
                }
            },
            Some(timeout) => {
                guard = self.cvar.wait_timeout(guard, timeout);
                drop(guard);
                // Timed out or notified: either way leave PARKED, consuming any token.
                self.state.swap(EMPTY, SeqCst);
            }
        }
    }

    fn unpark(&self) {
        match self.state.swap(NOTIFIED, SeqCst) {
            EMPTY | NOTIFIED => {} // nobody is blocked; the token waits for the next park
            PARKED => {
                // Take the lock so the notification cannot slip in between the parker's
                // state check and its `wait` (it holds the lock across both).
                drop(self.lock.lock());
                self.cvar.notify_one();
            }
            other => panic!("unpark: inconsistent parker state {other}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loom::model;

    /// An unpark from another thread is never lost, whether it lands before, during or
    /// after the park.
    #[test]
    fn loom_unpark_is_never_lost() {
        model(|| {
            let mut parker = Parker::new();
            let unparker = parker.unparker();
            let t = crate::loom::thread::spawn(move || unparker.unpark());
            parker.park();
            t.join().unwrap();
        });
    }

    #[cfg(not(loom))]
    #[test]
    fn token_before_park_returns_at_once_and_timeout_returns() {
        let mut parker = Parker::new();
        parker.unparker().unpark();
        parker.park(); // must not block
        parker.park_timeout(Duration::from_millis(1)); // times out
        parker.park_timeout(Duration::ZERO);
    }
}
