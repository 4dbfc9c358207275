//! `AtomicWaker`: a one-waker slot that one task registers into and any thread wakes.
//!
//! **What this file teaches: the waker protocol, "register, then check".** A future that
//! waits for an event must (1) store its waker where the event's producer will find it, and
//! only then (2) check whether the event already happened. Checking first opens a window:
//! the producer could fire between the check and the store, find no waker, and the task
//! would sleep forever (a *lost wake-up*). The producer does the mirror image: (1) publish
//! the event, then (2) take the waker and wake it. Whatever the interleaving, at least one
//! side sees the other's step (1).
//!
//! The slot is guarded by a tiny lock made of two bits. Nobody ever *waits* for it: if the
//! other side holds it, we hand our work over to them instead.
//!
//! | state                    | meaning                                                        |
//! |--------------------------|----------------------------------------------------------------|
//! | `IDLE`                   | nobody touches the slot; it holds the latest waker, or none    |
//! | `REGISTERING`            | `register` owns the slot and is replacing the waker            |
//! | `WAKING`                 | `wake` owns the slot and is taking the waker out               |
//! | `REGISTERING \| WAKING`  | a wake arrived mid-registration: the registrant must wake      |
//!
//! | from          | event                  | to                      | function               |
//! |---------------|------------------------|-------------------------|------------------------|
//! | `IDLE`        | `register` starts      | `REGISTERING`           | `AtomicWaker::lock_for_register` |
//! | `REGISTERING` | `register` ends        | `IDLE`                  | `AtomicWaker::finish_register`   |
//! | `REGISTERING` | `wake`                 | `REGISTERING \| WAKING` | `AtomicWaker::lock_for_wake` (fails: handed over) |
//! | `R \| W`      | `register` ends        | `IDLE`, registrant wakes the new waker | `AtomicWaker::finish_register` |
//! | `IDLE`        | `wake` starts          | `WAKING`                | `AtomicWaker::lock_for_wake`     |
//! | `WAKING`      | `wake` ends            | `IDLE` (by an RMW: see there) | `AtomicWaker::finish_wake` |
//! | `WAKING`      | `register`             | `WAKING` (unchanged), registrant wakes its own waker | (the CAS in `register` fails) |
//! | `WAKING`      | another `wake`         | `WAKING` (unchanged); the holder's wake covers both | `AtomicWaker::lock_for_wake` (fails) |
//!
//! **Panicking wakers.** `Waker::clone`, `wake` and `drop` run user code and may panic. We
//! never run them while holding the slot: `register` clones *before* taking it, and every
//! wake or drop happens *after* releasing it. So a panic reaches the caller, but the state
//! is always back to `IDLE` and the primitive stays usable.
//!
//! Only one task may register at a time (the oneshot `Receiver` is polled through
//! `&mut`, so this holds by construction); a concurrent `register` is a bug and panics.
//!
//! Rejected alternative: a `Mutex<Option<Waker>>`. Simpler, but a waker called under the
//! lock could re-enter it, and contention would make `wake` block, which it must never do.
//!
//! Next to read: `src/sync/oneshot.rs`, which builds a channel on this slot.

use crate::loom::cell::UnsafeCell;
use crate::loom::sync::atomic::AtomicUsize;
use crate::loom::sync::atomic::Ordering::{AcqRel, Acquire, Release};
use std::fmt;
use std::task::Waker;

/// Nobody touches the slot; it holds the latest registered waker, or `None`.
pub(crate) const IDLE: usize = 0;
/// A `register` call owns the slot. Only the registering thread sets or clears it.
pub(crate) const REGISTERING: usize = 0b01;
/// A `wake` call owns the slot, or (together with `REGISTERING`) a wake is pending that the
/// registering thread must deliver. Set by any waking thread; cleared by whoever owns the slot.
pub(crate) const WAKING: usize = 0b10;

/// A slot for one waker: registered by one task, woken from any thread.
pub(crate) struct AtomicWaker {
    /// One of the states above.
    state: AtomicUsize,
    /// # Invariant
    /// Only the thread that moved `state` out of `IDLE` (into `REGISTERING` or `WAKING`)
    /// may touch the slot, until it moves `state` back to `IDLE`.
    waker: UnsafeCell<Option<Waker>>,
}

// SAFETY: the only non-thread-safe part is the `UnsafeCell`, and the state machine above
// gives one thread at a time exclusive access to it. `Waker` is `Send + Sync` itself, so
// no bound on anything else is needed.
unsafe impl Send for AtomicWaker {}
// SAFETY: as for `Send`: shared access never touches the cell without owning the slot.
unsafe impl Sync for AtomicWaker {}

impl AtomicWaker {
    /// An empty slot.
    pub(crate) fn new() -> Self {
        AtomicWaker { state: AtomicUsize::new(IDLE), waker: UnsafeCell::new(None) }
    }

    /// Stores `waker` as the one to wake, replacing any earlier one (the latest waker wins).
    ///
    /// Call this *before* checking the condition you wait for. If a `wake` races with this
    /// call, `waker` is woken at once (a spurious wake-up at worst, never a lost one).
    ///
    /// # Panics
    ///
    /// If another thread is registering at the same moment (a caller bug), or if the
    /// waker's `clone`, `wake` or `drop` panics. In every case the slot stays usable.
    pub(crate) fn register(&self, waker: &Waker) {
        // Clone first: if `clone` panics, we have not touched the state yet.
        let new = waker.clone();
        match self.lock_for_register() {
            Ok(()) => {
                // SAFETY: `lock_for_register` moved the state IDLE -> REGISTERING, so we own
                // the slot (see the invariant on `waker`).
                let old = self.waker.with_mut(|slot| unsafe { (*slot).replace(new) });
                let missed = self.finish_register();
                // The slot is released: user code may run now. Wake before dropping, so a
                // panicking drop of the old waker cannot swallow the wake-up.
                if let Some(waker) = missed {
                    waker.wake();
                }
                drop(old);
            }
            Err(state) if state & REGISTERING == 0 => {
                // A `wake` owns the slot right now and is taking the *old* waker; ours
                // cannot be stored. That wake-up was meant for whoever waits now, so we
                // deliver it to our own waker: the task is polled again and registers
                // again then. A spurious wake-up at worst.
                new.wake();
            }
            Err(_) => panic!(
                "AtomicWaker::register called from two threads at once; \
                 only one task may wait on this slot"
            ),
        }
    }

    /// Takes the registered waker (if any) and wakes it. Callable from any thread.
    ///
    /// Call this *after* publishing the event the registrant waits for.
    pub(crate) fn wake(&self) {
        if let Some(waker) = self.take() {
            waker.wake();
        }
    }

    /// Takes the registered waker out of the slot, leaving it empty.
    ///
    /// Returns `None` when there is none, or when a registration is in progress (the
    /// registrant will then wake the new waker itself: the wake-up is handed over).
    pub(crate) fn take(&self) -> Option<Waker> {
        if !self.lock_for_wake() {
            return None;
        }
        // SAFETY: `lock_for_wake` moved the state IDLE -> WAKING, so we own the slot.
        let waker = self.waker.with_mut(|slot| unsafe { (*slot).take() });
        self.finish_wake();
        waker
    }

    // ===== transitions =====

    /// `IDLE -> REGISTERING`. On failure returns the state seen: `WAKING` (a wake owns the
    /// slot) or something with `REGISTERING` set (a concurrent registration: misuse).
    ///
    /// `Acquire`: if a wake ran just before, we see what it published (the event), so our
    /// caller's check after registering cannot miss it.
    fn lock_for_register(&self) -> Result<(), usize> {
        match self.state.compare_exchange(IDLE, REGISTERING, Acquire, Acquire) {
            Ok(_) => Ok(()),
            Err(actual) => Err(actual),
        }
    }

    /// `REGISTERING -> IDLE`, or `REGISTERING | WAKING -> IDLE`. In the second case a wake
    /// arrived while we held the slot and gave up; we take the waker we just stored and
    /// return it, so the caller wakes it once the slot is released.
    ///
    /// `AcqRel`: `Release` publishes the new waker to the next `wake`; `Acquire` makes the
    /// event that the handed-over wake announced visible to us.
    fn finish_register(&self) -> Option<Waker> {
        match self.state.compare_exchange(REGISTERING, IDLE, AcqRel, Acquire) {
            Ok(_) => None,
            Err(actual) => {
                debug_assert_eq!(actual, REGISTERING | WAKING);
                // SAFETY: REGISTERING is still set, so we still own the slot. Wakers only
                // ever add the WAKING bit, which is already set, so nobody else can take it.
                let waker = self.waker.with_mut(|slot| unsafe { (*slot).take() });
                // A swap, not a store: more wakes may have run `lock_for_wake` (setting a bit
                // that was already set) since our CAS read the state. An RMW reads the
                // latest value, so its `Acquire` sees their events, and it extends their
                // release sequences to whoever reads IDLE next (see `finish_wake`).
                self.state.swap(IDLE, AcqRel);
                waker
            }
        }
    }

    /// `IDLE -> WAKING`, by setting the `WAKING` bit whatever the state. Returns whether we
    /// got the slot. If a registration held it, the bit we set tells the registrant to wake;
    /// if another wake held it, that wake takes the same (latest) waker for us.
    ///
    /// `AcqRel`: `Acquire` sees the waker a registration released; `Release` orders the
    /// caller's event before the bit that a registrant will observe.
    fn lock_for_wake(&self) -> bool {
        self.state.fetch_or(WAKING, AcqRel) == IDLE
    }

    /// `WAKING -> IDLE`.
    ///
    /// Why an RMW (`fetch_and`) and not a plain `store(IDLE)`, although the value written is
    /// the same: a second wake may have run `lock_for_wake` while we held the slot. It lost,
    /// and relies on us having taken the waker; but its *event* must still be visible to the
    /// next registrant, whose `Acquire` CAS will read the value we write here. A plain store
    /// would synchronize that registrant with us only; an RMW continues the release sequence
    /// of the losing wake's `fetch_or`, so it synchronizes with both. (Loom found the lost
    /// wake-up the plain store allowed: `join_all`'s model, two children woken at once.)
    fn finish_wake(&self) {
        self.state.fetch_and(!WAKING, Release);
    }
}

impl Default for AtomicWaker {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for AtomicWaker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match self.state.load(Acquire) {
            IDLE => "IDLE",
            REGISTERING => "REGISTERING",
            WAKING => "WAKING",
            _ => "REGISTERING | WAKING",
        };
        f.debug_struct("AtomicWaker").field("state", &state).finish()
    }
}

#[cfg(test)]
#[path = "atomic_waker_tests.rs"]
mod tests;
