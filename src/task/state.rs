//! The task's state word: six state bits and a reference count in one `AtomicUsize`.
//!
//! **What this teaches.** Every thread that touches a task (the worker polling it, a waker
//! on another thread, the `JoinHandle`, the shutdown code) must agree on what the task is
//! doing *right now*, without a lock. So the whole truth lives in one atomic word, and every
//! change is one compare-and-swap that reads the old state, decides, and writes the new
//! one. Whoever wins the CAS learns from the returned enum what it must do next.
//!
//! ```text
//!  63                                  6   5         4          3         2        1        0
//! ┌─────────────────────────────────────┬─────────┬──────────┬──────────┬────────┬────────┬─────────┐
//! │ reference count (units of REF_ONE)  │CANCELLED│JOIN_WAKER│JOIN_INTER│NOTIFIED│COMPLETE│ RUNNING │
//! └─────────────────────────────────────┴─────────┴──────────┴──────────┴────────┴────────┴─────────┘
//! ```
//!
//! ## Transition table
//!
//! "idle" means neither `RUNNING` nor `COMPLETE`. Each row is one named function below.
//!
//! | transition | from | to | returns → who acts next |
//! |---|---|---|---|
//! | [`transition_to_running`](State::transition_to_running) | idle, NOTIFIED | RUNNING | `Success` → caller polls; `Cancelled` → caller drops the future |
//! | 〃 | RUNNING or COMPLETE | (drops the queue's ref) | `Failed` → nothing; `Dealloc` → caller frees |
//! | [`transition_to_idle`](State::transition_to_idle) | RUNNING | idle (drops the queue's ref) | `Ok` → nothing; `OkDealloc` → caller frees |
//! | 〃 | RUNNING + NOTIFIED | idle, NOTIFIED | `OkNotified` → caller re-queues the task (keeps its ref) |
//! | 〃 | RUNNING + CANCELLED | unchanged | `Cancelled` → caller drops the future and completes |
//! | [`transition_to_complete`](State::transition_to_complete) | RUNNING | COMPLETE | caller stores nothing more; wakes the join waker if set |
//! | [`transition_to_notified_by_ref`](State::transition_to_notified_by_ref) | idle | NOTIFIED, +1 ref | `Submit` → caller queues the task |
//! | 〃 | RUNNING | RUNNING + NOTIFIED | `DoNothing`: the poller will re-queue it |
//! | 〃 | NOTIFIED or COMPLETE | unchanged | `DoNothing` (already queued / finished: a stale waker) |
//! | [`transition_to_notified_by_val`](State::transition_to_notified_by_val) | same as by_ref, but consumes the waker's ref | | `Submit` / `DoNothing` / `Dealloc` |
//! | [`transition_to_notified_and_cancel`](State::transition_to_notified_and_cancel) | idle | NOTIFIED + CANCELLED, +1 ref | `true` → caller queues it, so a runtime thread drops the future |
//! | 〃 | RUNNING or NOTIFIED | + CANCELLED | `false`: the poller / the queue sees CANCELLED |
//! | [`transition_to_shutdown`](State::transition_to_shutdown) | idle | RUNNING + CANCELLED | `true` → caller drops the future and completes |
//! | 〃 | otherwise | + CANCELLED | `false`: whoever runs it finishes it |
//! | [`transition_to_join_handle_dropped`](State::transition_to_join_handle_dropped) | JOIN_INTEREST | no JOIN_INTEREST | says whether the handle must drop the output and/or the join waker |
//! | [`set_join_waker`](State::set_join_waker) / [`unset_waker`](State::unset_waker) | not COMPLETE | ± JOIN_WAKER | `Err` if the task completed meanwhile |
//! | [`ref_inc`](State::ref_inc) / [`ref_dec`](State::ref_dec) | any | ± REF_ONE | `ref_dec` returns `true` for the last reference → caller frees |
//!
//! Next to read: `src/task/raw.rs`, the allocation this word lives in.

use crate::loom::sync::atomic::{AtomicUsize, Ordering::*};
use std::fmt;

/// A thread is polling the future, or dropping it. Only the thread that set this bit may
/// touch the future. Never set together with `COMPLETE`.
pub(crate) const RUNNING: usize = 1 << 0;
/// The future is gone and the stage holds the output (or the output was taken). Final:
/// never cleared.
pub(crate) const COMPLETE: usize = 1 << 1;
/// The task is in a run queue (or is being put there), or, while `RUNNING`, was woken
/// during its poll and must be re-queued when the poll returns `Pending`.
pub(crate) const NOTIFIED: usize = 1 << 2;
/// A `JoinHandle` exists and may read the output. Cleared when the handle is dropped.
pub(crate) const JOIN_INTEREST: usize = 1 << 3;
/// The join waker slot holds a waker and belongs to the runtime side (read-only). While it
/// is clear, the `JoinHandle` owns the slot exclusively. See `task/mod.rs`, rules 3–6.
pub(crate) const JOIN_WAKER: usize = 1 << 4;
/// `abort()` or shutdown asked for the task to be cancelled. Set at most once, final.
pub(crate) const CANCELLED: usize = 1 << 5;

/// One reference in the count: everything above the six state bits.
pub(crate) const REF_ONE: usize = 1 << 6;

/// A new task: queued once, with a `JoinHandle`, and three references: the owned-tasks
/// list, the run queue (the `Notified`), and the `JoinHandle`.
pub(crate) const INITIAL_STATE: usize = (3 * REF_ONE) | NOTIFIED | JOIN_INTEREST;

/// The atomic state word of one task.
pub(crate) struct State {
    val: AtomicUsize,
}

/// A copy of the state word at one instant, with readable accessors.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct Snapshot(usize);

/// What the caller of [`State::transition_to_running`] must do.
#[must_use]
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum TransitionToRunning {
    /// Poll the future.
    Success,
    /// Drop the future and complete the task with "cancelled".
    Cancelled,
    /// Nothing: the task is running elsewhere or finished (the queue's ref was dropped).
    Failed,
    /// Free the task: that was the last reference.
    Dealloc,
}

/// What the caller of [`State::transition_to_idle`] must do.
#[must_use]
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum TransitionToIdle {
    /// Nothing (the queue's ref was dropped).
    Ok,
    /// Re-queue the task, handing over the ref it was polled with.
    OkNotified,
    /// Free the task: that was the last reference.
    OkDealloc,
    /// Drop the future and complete the task with "cancelled" (still `RUNNING`).
    Cancelled,
}

/// What a waker must do after marking the task notified.
#[must_use]
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum TransitionToNotified {
    /// Nothing: the task is already queued, running, or finished.
    DoNothing,
    /// Queue the task; a reference for the queue has been taken.
    Submit,
    /// Free the task (only from `by_val`: the waker held the last reference).
    Dealloc,
}

/// What a dropped `JoinHandle` must clean up.
#[must_use]
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct TransitionToJoinHandleDrop {
    /// The task completed, so the handle owns the output and must drop it.
    pub(crate) drop_output: bool,
    /// The handle owns the join waker slot and must clear it.
    pub(crate) drop_waker: bool,
}

impl State {
    pub(crate) fn new() -> State {
        State { val: AtomicUsize::new(INITIAL_STATE) }
    }

    pub(crate) fn load(&self) -> Snapshot {
        Snapshot(self.val.load(Acquire))
    }

    /// The one CAS loop every transition goes through: `f` looks at the current snapshot
    /// and returns the caller's action plus the new state (`None` = leave it unchanged).
    fn fetch_update_action<T>(&self, mut f: impl FnMut(Snapshot) -> (T, Option<Snapshot>)) -> T {
        let mut curr = self.load();
        loop {
            let (action, next) = f(curr);
            let Some(next) = next else { return action };
            match self.val.compare_exchange_weak(curr.0, next.0, AcqRel, Acquire) {
                Ok(_) => return action,
                Err(actual) => curr = Snapshot(actual),
            }
        }
    }

    /// The run queue hands the task to a worker: take the `RUNNING` bit.
    pub(crate) fn transition_to_running(&self) -> TransitionToRunning {
        self.fetch_update_action(|mut s| {
            assert!(s.is_notified(), "a task was run without being notified");
            if !s.is_idle() {
                // Running elsewhere or finished: this queue entry is stale; drop its ref.
                s.ref_dec();
                let action = if s.ref_count() == 0 {
                    TransitionToRunning::Dealloc
                } else {
                    TransitionToRunning::Failed
                };
                return (action, Some(s));
            }
            s.0 = (s.0 | RUNNING) & !NOTIFIED;
            let action =
                if s.is_cancelled() { TransitionToRunning::Cancelled } else { TransitionToRunning::Success };
            (action, Some(s))
        })
    }

    /// The poll returned `Pending`: give up the `RUNNING` bit.
    pub(crate) fn transition_to_idle(&self) -> TransitionToIdle {
        self.fetch_update_action(|mut s| {
            assert!(s.is_running(), "transition_to_idle on a task that is not running");
            if s.is_cancelled() {
                return (TransitionToIdle::Cancelled, None);
            }
            s.0 &= !RUNNING;
            let action = if s.is_notified() {
                // Woken during the poll: the ref we hold becomes the queue's ref.
                TransitionToIdle::OkNotified
            } else {
                s.ref_dec();
                if s.ref_count() == 0 {
                    TransitionToIdle::OkDealloc
                } else {
                    TransitionToIdle::Ok
                }
            };
            (action, Some(s))
        })
    }

    /// The future finished (or was dropped): `RUNNING` → `COMPLETE`. Returns the new state.
    pub(crate) fn transition_to_complete(&self) -> Snapshot {
        let prev = Snapshot(self.val.fetch_xor(RUNNING | COMPLETE, AcqRel));
        assert!(prev.is_running() && !prev.is_complete(), "bad completion: {prev:?}");
        Snapshot(prev.0 ^ (RUNNING | COMPLETE))
    }

    /// Drops `count` references at once after completion. `true` → caller frees the task.
    pub(crate) fn transition_to_terminal(&self, count: usize) -> bool {
        let prev = Snapshot(self.val.fetch_sub(count * REF_ONE, AcqRel));
        assert!(prev.ref_count() >= count, "task reference count underflow: {prev:?}");
        prev.ref_count() == count
    }

    /// `wake_by_ref`: mark notified; take a ref for the queue if the caller must submit.
    pub(crate) fn transition_to_notified_by_ref(&self) -> TransitionToNotified {
        self.fetch_update_action(|mut s| {
            if s.is_complete() || s.is_notified() {
                (TransitionToNotified::DoNothing, None)
            } else if s.is_running() {
                s.0 |= NOTIFIED;
                (TransitionToNotified::DoNothing, Some(s))
            } else {
                s.0 |= NOTIFIED;
                s.ref_inc();
                (TransitionToNotified::Submit, Some(s))
            }
        })
    }

    /// `wake` (by value): like `by_ref`, but the waker's own ref is consumed: it becomes the
    /// queue's ref on `Submit` and is dropped otherwise.
    pub(crate) fn transition_to_notified_by_val(&self) -> TransitionToNotified {
        self.fetch_update_action(|mut s| {
            if s.is_idle() && !s.is_notified() {
                s.0 |= NOTIFIED;
                return (TransitionToNotified::Submit, Some(s));
            }
            if s.is_running() {
                s.0 |= NOTIFIED; // the poller re-queues; it holds a ref, so no dealloc here
            }
            s.ref_dec();
            let action = if s.ref_count() == 0 {
                TransitionToNotified::Dealloc
            } else {
                TransitionToNotified::DoNothing
            };
            (action, Some(s))
        })
    }

    /// `JoinHandle::abort`: mark cancelled; `true` → caller queues the task (ref taken) so
    /// a runtime thread, not the aborting thread, drops the future.
    pub(crate) fn transition_to_notified_and_cancel(&self) -> bool {
        self.fetch_update_action(|mut s| {
            if s.is_complete() || s.is_cancelled() {
                return (false, None);
            }
            s.0 |= CANCELLED;
            if s.is_idle() && !s.is_notified() {
                s.0 |= NOTIFIED;
                s.ref_inc();
                return (true, Some(s));
            }
            (false, Some(s))
        })
    }

    /// Runtime shutdown: mark cancelled and, if nobody runs it, take `RUNNING` so the
    /// caller can drop the future. `true` → caller cancels and completes the task.
    pub(crate) fn transition_to_shutdown(&self) -> bool {
        self.fetch_update_action(|mut s| {
            let claim = s.is_idle();
            s.0 |= CANCELLED;
            if claim {
                s.0 |= RUNNING;
            }
            (claim, Some(s))
        })
    }

    /// The `JoinHandle` is dropped. See the field docs of the returned struct.
    pub(crate) fn transition_to_join_handle_dropped(&self) -> TransitionToJoinHandleDrop {
        self.fetch_update_action(|mut s| {
            assert!(s.is_join_interested(), "JoinHandle dropped twice");
            s.0 &= !JOIN_INTEREST;
            let drop_output = s.is_complete();
            if !drop_output {
                // Take the waker slot back (rule 5): the runtime will never read it now.
                s.0 &= !JOIN_WAKER;
            }
            // JOIN_WAKER clear ⇒ the slot is ours; if still set after completion, the
            // completing thread is about to clear it and will drop the waker (rule 6).
            let drop_waker = !s.is_join_waker_set();
            (TransitionToJoinHandleDrop { drop_output, drop_waker }, Some(s))
        })
    }

    /// The `JoinHandle` stored a waker: hand the slot to the runtime side.
    pub(crate) fn set_join_waker(&self) -> Result<Snapshot, Snapshot> {
        self.fetch_update_action(|mut s| {
            assert!(s.is_join_interested() && !s.is_join_waker_set());
            if s.is_complete() {
                return (Err(s), None);
            }
            s.0 |= JOIN_WAKER;
            (Ok(s), Some(s))
        })
    }

    /// The `JoinHandle` wants to replace its waker: take the slot back first.
    pub(crate) fn unset_waker(&self) -> Result<Snapshot, Snapshot> {
        self.fetch_update_action(|mut s| {
            assert!(s.is_join_interested());
            if s.is_complete() {
                // Completion may already have woken the waker and cleared JOIN_WAKER
                // (`unset_waker_after_complete`) since the handle looked: the flag is only
                // promised while the task is not complete.
                return (Err(s), None);
            }
            assert!(s.is_join_waker_set());
            s.0 &= !JOIN_WAKER;
            (Ok(s), Some(s))
        })
    }

    /// After waking the join waker on completion, the runtime gives the slot back.
    pub(crate) fn unset_waker_after_complete(&self) -> Snapshot {
        let prev = Snapshot(self.val.fetch_and(!JOIN_WAKER, AcqRel));
        assert!(prev.is_complete() && prev.is_join_waker_set());
        Snapshot(prev.0 & !JOIN_WAKER)
    }

    /// A new reference (a waker clone). Aborts on overflow, like `Arc`.
    pub(crate) fn ref_inc(&self) {
        let prev = self.val.fetch_add(REF_ONE, Relaxed);
        if prev > isize::MAX as usize {
            std::process::abort(); // 2^57 wakers: a leak loop; continuing would be unsound
        }
    }

    /// Drops a reference; `true` if it was the last one (the caller must free the task).
    pub(crate) fn ref_dec(&self) -> bool {
        let prev = Snapshot(self.val.fetch_sub(REF_ONE, AcqRel));
        assert!(prev.ref_count() >= 1, "task reference count underflow");
        prev.ref_count() == 1
    }
}

impl Snapshot {
    pub(crate) fn is_running(self) -> bool {
        self.0 & RUNNING != 0
    }
    pub(crate) fn is_complete(self) -> bool {
        self.0 & COMPLETE != 0
    }
    /// Neither running nor complete: the future sits waiting for a wake-up.
    pub(crate) fn is_idle(self) -> bool {
        self.0 & (RUNNING | COMPLETE) == 0
    }
    pub(crate) fn is_notified(self) -> bool {
        self.0 & NOTIFIED != 0
    }
    pub(crate) fn is_join_interested(self) -> bool {
        self.0 & JOIN_INTEREST != 0
    }
    pub(crate) fn is_join_waker_set(self) -> bool {
        self.0 & JOIN_WAKER != 0
    }
    pub(crate) fn is_cancelled(self) -> bool {
        self.0 & CANCELLED != 0
    }
    pub(crate) fn ref_count(self) -> usize {
        self.0 / REF_ONE
    }
    fn ref_inc(&mut self) {
        self.0 += REF_ONE;
    }
    fn ref_dec(&mut self) {
        assert!(self.ref_count() > 0, "task reference count underflow");
        self.0 -= REF_ONE;
    }
}

impl fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Snapshot")
            .field("running", &self.is_running())
            .field("complete", &self.is_complete())
            .field("notified", &self.is_notified())
            .field("join_interest", &self.is_join_interested())
            .field("join_waker", &self.is_join_waker_set())
            .field("cancelled", &self.is_cancelled())
            .field("ref_count", &self.ref_count())
            .finish()
    }
}

impl fmt::Debug for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.load().fmt(f)
    }
}
