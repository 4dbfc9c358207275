//! Runtime lints: suspicious behaviour found in a trace, each explained in plain words.
//!
//! **What this teaches.** The classic async bugs leave fingerprints in the event stream:
//!
//! * **lost waker**: the task's last poll returned `Pending`, and no clone of its waker is
//!   alive. Timers, sockets, channels and `JoinHandle`s all keep a *clone*; with none left,
//!   nothing in the world can wake the task again. It will hang until it is aborted.
//!   A task that ended cancelled is not judged: cancelling dropped its future, and with
//!   it every clone the future held, so a count of zero says nothing about a lost waker
//!   (and nothing waits for a wake any more). The harness records a `Cancel` event for
//!   this (a cold one: only aborts and shutdowns pay for it). Rejected alternative:
//!   reading it from the `JoinHandle`'s result, which the trace never sees (the handle
//!   may be detached, or awaited after the snapshot). Shortcut admitted: a task that
//!   had *already* lost its waker and was then aborted is not reported either, since the
//!   waker counts are totals taken at the snapshot, not a count at the moment of the
//!   cancel. Counting per event would cost a record per clone and drop, on every wake.
//! * **long poll**: a poll that ran longer than a threshold kept its worker from running
//!   anything else (blocking I/O, a long computation, `std::thread::sleep`).
//! * **busy self-wake**: a task that wakes itself on most polls is spinning, not waiting.
//! * **timer never resolved**: a timer was inserted, then neither fired nor cancelled.
//!
//! Next to read: DESIGN.md §9, how to read every export.

use super::event::Kind;
use super::Trace;
use std::collections::BTreeSet;
use std::fmt;
use std::time::Duration;

/// Thresholds for [`Trace::lints`].
#[derive(Clone, Debug)]
pub struct LintOptions {
    /// A poll longer than this blocks its worker (default 10 ms).
    pub long_poll: Duration,
    /// A task woken by itself in more than this fraction of its polls is spinning
    /// (default 0.8).
    pub self_wake_ratio: f64,
    /// Tasks with fewer polls are not judged on self-wakes (default 10).
    pub self_wake_min_polls: u64,
}

impl Default for LintOptions {
    fn default() -> Self {
        LintOptions { long_poll: Duration::from_millis(10), self_wake_ratio: 0.8, self_wake_min_polls: 10 }
    }
}

/// What a [`Lint`] found.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum LintKind {
    /// Pending with no live waker: it can never be woken.
    LostWaker,
    /// A poll took `longest`.
    LongPoll {
        /// The longest poll of the task.
        longest: Duration,
    },
    /// `self_wakes` of `polls` polls were self-wakes.
    BusySelfWake {
        /// Wakes the task made itself.
        self_wakes: u64,
        /// Polls in total.
        polls: u64,
    },
    /// Timers inserted but never fired nor cancelled.
    TimerNeverResolved {
        /// How many.
        count: usize,
    },
}

/// One finding: which task (if any), what, and why it matters.
#[derive(Clone, Debug, PartialEq)]
pub struct Lint {
    /// The task concerned (`None` for runtime-wide findings).
    pub task: Option<u64>,
    /// Its name.
    pub name: String,
    /// The finding.
    pub kind: LintKind,
}

impl fmt::Display for Lint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let who = match self.task {
            Some(id) => format!("task {id} `{}`", self.name),
            None => "the runtime".to_owned(),
        };
        match &self.kind {
            LintKind::LostWaker => write!(
                f,
                "lost waker: {who} returned Pending, but no clone of its waker is alive (no timer, \
                 socket, channel or JoinHandle holds one), so nothing can ever wake it. A future \
                 that returns Pending must first store `cx.waker().clone()` where the event will \
                 find it."
            ),
            LintKind::LongPoll { longest } => write!(
                f,
                "long poll: one poll of {who} ran for {longest:?}, and its worker could run nothing \
                 else meanwhile. Move blocking work to `task::spawn_blocking`, or `yield_now` inside \
                 long loops."
            ),
            LintKind::BusySelfWake { self_wakes, polls } => write!(
                f,
                "busy self-wake: {who} woke itself {self_wakes} times in {polls} polls. It is \
                 spinning, not waiting: wait on a timer, socket or channel instead of re-waking."
            ),
            LintKind::TimerNeverResolved { count } => write!(
                f,
                "unresolved timers: {count} timer(s) of {who} had neither fired nor been cancelled \
                 when the trace was taken. Each belongs to a Sleep, Timeout or Interval that is \
                 still waiting, or that was leaked (a forgotten future keeps its timer)."
            ),
        }
    }
}

/// Computes every lint of `trace`.
pub(super) fn lints(trace: &Trace, options: &LintOptions) -> Vec<Lint> {
    let mut found = Vec::new();
    for (&id, info) in &trace.tasks {
        let lint = |kind| Lint { task: Some(id), name: info.name.clone(), kind };
        if info.polls > 0 && !info.completed && !info.cancelled && info.live_wakers() == 0 {
            found.push(lint(LintKind::LostWaker));
        }
        if info.longest_poll > options.long_poll {
            found.push(lint(LintKind::LongPoll { longest: info.longest_poll }));
        }
        let busy = info.self_wakes as f64 > options.self_wake_ratio * info.polls as f64;
        if info.polls >= options.self_wake_min_polls && busy {
            found.push(lint(LintKind::BusySelfWake { self_wakes: info.self_wakes, polls: info.polls }));
        }
    }
    let count = unresolved_timers(trace);
    if count > 0 {
        found.push(Lint { task: None, name: String::new(), kind: LintKind::TimerNeverResolved { count } });
    }
    found
}

/// Timers inserted and then neither fired nor cancelled.
fn unresolved_timers(trace: &Trace) -> usize {
    let mut live = BTreeSet::new();
    for event in &trace.events {
        match event.kind {
            Kind::TimerInsert { timer, .. } => {
                live.insert(timer);
            }
            Kind::TimerCancel { timer } | Kind::TimerFire { timer } => {
                live.remove(&timer);
            }
            _ => {}
        }
    }
    live.len()
}
