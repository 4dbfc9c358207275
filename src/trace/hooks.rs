//! The one-line hooks the runtime calls, and how each finds its recorder.
//!
//! **What this teaches.** A hook must answer "is anyone recording?" in one predictable
//! branch, and only then do real work. Every function here starts with [`enabled`], a
//! relaxed load of [`ACTIVE`] (the number of live recorders in the process). Behind it:
//!
//! * hooks that know their runtime (spawn, shutdown) read its recorder from the driver
//!   handle;
//! * hooks on a runtime thread (timers, reactor, parking) use the thread-local context's
//!   current runtime ([`record`]);
//! * hooks in the task harness ask the task's scheduler (`Schedule::recorder`);
//! * hooks that only know a task id (wakers, which may run on any thread) use the current
//!   runtime's recorder; on a thread outside any traced runtime they tell every live
//!   recorder ([`RECORDERS`]), and each keeps only its own tasks when it takes a snapshot.
//!   Rejected alternative: a recorder pointer in every task header, which would make every
//!   task 8 bytes bigger whether traced or not.
//!
//! "Who woke it" is answered by two thread-locals: [`CURRENT_TASK`] (set around a traced
//! poll) and [`CAUSE`] (set by the timer wheel and the reactor around their wake loops).
//!
//! Next to read: `narrate.rs`.

use super::event::{Cause, Kind};
use super::Recorder;
use crate::task::Schedule;
use crate::time::wheel::{TimerKey, Wheel};
use std::cell::Cell;
use std::panic::Location;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex, OnceLock, Weak};

/// How many recorders are alive in the process. Zero: every hook returns at once.
static ACTIVE: AtomicUsize = AtomicUsize::new(0);

/// Every live recorder, for the rare waker call on a thread outside the task's runtime.
static RECORDERS: Mutex<Vec<Weak<Recorder>>> = Mutex::new(Vec::new());

std::thread_local! {
    /// The task being polled on this thread under a traced runtime (0: none).
    static CURRENT_TASK: Cell<u64> = const { Cell::new(0) };
    /// When that poll started (wakes during the poll are stamped with it: no clock read).
    static POLL_STAMP: Cell<u64> = const { Cell::new(0) };
    /// Set while the timer wheel or the reactor calls wakers on this thread.
    static CAUSE: Cell<Option<Cause>> = const { Cell::new(None) };
}

/// Is any runtime in this process recording? The single branch every hook starts with.
#[inline(always)]
pub(crate) fn enabled() -> bool {
    ACTIVE.load(Relaxed) != 0
}

/// The recorder slot in a runtime's driver handle; set once, when the runtime is built.
pub(crate) type Slot = OnceLock<Arc<Recorder>>;

/// Creates a recorder (counted in [`ACTIVE`] until dropped).
pub(crate) fn new_recorder(export_dir: Option<std::path::PathBuf>) -> Arc<Recorder> {
    let recorder = Arc::new(Recorder::new(export_dir));
    let mut all = RECORDERS.lock().unwrap_or_else(|p| p.into_inner());
    all.retain(|r| r.strong_count() > 0);
    all.push(Arc::downgrade(&recorder));
    ACTIVE.fetch_add(1, Relaxed);
    recorder
}

impl Drop for Recorder {
    fn drop(&mut self) {
        ACTIVE.fetch_sub(1, Relaxed);
    }
}

/// How a spawn names its task: an explicit name, else where `spawn` was called.
#[derive(Clone, Copy, Debug)]
pub(crate) struct TaskName<'a> {
    pub(crate) name: Option<&'a str>,
    pub(crate) location: &'static Location<'static>,
}

impl TaskName<'_> {
    /// No name: the caller's location (through every `#[track_caller]` frame).
    #[track_caller]
    pub(crate) fn caller() -> TaskName<'static> {
        TaskName { name: None, location: Location::caller() }
    }
}

/// Runs `f` with the recorder of the runtime this thread is in, if it records.
fn with_current<R>(f: impl FnOnce(&Recorder) -> R) -> Option<R> {
    crate::runtime::context::with_current(|handle| handle.driver().trace.get().map(|r| f(r))).ok().flatten()
}

/// Records the event `f` builds, on the current runtime's recorder.
#[inline(always)]
pub(crate) fn record(f: impl FnOnce() -> Kind) {
    if enabled() {
        record_slow(f);
    }
}

// Every `*_slow` function is `#[cold]` and never inlined: the hook at the call site stays
// one load and one branch, and the runtime's hot functions do not grow with tracing code
// they almost never run (that growth alone cost ~2% on the yield benchmark).
#[cold]
#[inline(never)]
fn record_slow(f: impl FnOnce() -> Kind) {
    with_current(|r| r.record(f()));
}

/// Where a new task's first queue entry went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FirstEntry {
    /// Into a run queue: the trace records its first schedule too.
    RunQueue,
    /// Nowhere: the runtime is shut down, and the task was cancelled at once.
    Dropped,
    /// To the blocking pool: a `spawn_blocking` job, whose one poll is the job itself
    /// (so a long poll of it is no lint).
    BlockingPool,
}

/// A task was spawned on the runtime whose recorder slot is `slot`.
#[inline(always)]
pub(crate) fn spawned(slot: &Slot, id: u64, name: TaskName<'_>, first: FirstEntry) {
    if enabled() {
        spawned_slow(slot, id, name, first);
    }
}

#[cold]
#[inline(never)]
fn spawned_slow(slot: &Slot, id: u64, name: TaskName<'_>, first: FirstEntry) {
    if let Some(recorder) = slot.get() {
        recorder.spawn(id, name.name, name.location, first);
    }
}

/// What a waker did (the hook in each vtable function of `task/waker.rs`).
#[derive(Clone, Copy, Debug)]
pub(crate) enum WakerOp {
    /// `clone`: one more live waker.
    Clone,
    /// `wake_by_ref`: a wake; the waker lives on.
    WakeByRef,
    /// `wake`: a wake that consumes the waker (so also a drop).
    Wake,
    /// `drop`: one live waker less.
    Drop,
}

/// A waker of task `id` was cloned, called or dropped.
#[inline(always)]
pub(crate) fn waker(id: u64, op: WakerOp) {
    if enabled() {
        waker_slow(id, op);
    }
}

/// Tries the current runtime's recorder first (the usual case: a task is woken by its own
/// runtime's threads), then every recorder (a foreign thread, another runtime).
#[cold]
#[inline(never)]
fn waker_slow(id: u64, op: WakerOp) {
    let apply = |r: &Recorder| match op {
        WakerOp::Clone => r.waker_count(id, true),
        WakerOp::Drop => r.waker_count(id, false),
        WakerOp::WakeByRef | WakerOp::Wake => {
            let at = match CURRENT_TASK.with(Cell::get) {
                0 => r.now(),
                _ => POLL_STAMP.with(Cell::get),
            };
            r.wake(at, id, cause_of_wake(id), matches!(op, WakerOp::Wake))
        }
    };
    if with_current(apply).is_some() {
        return;
    }
    // Not on a traced runtime's thread: tell every recorder; each keeps only its own
    // tasks' events when it takes a snapshot.
    let all: Vec<Arc<Recorder>> = {
        let all = RECORDERS.lock().unwrap_or_else(|p| p.into_inner());
        all.iter().filter_map(Weak::upgrade).collect()
    };
    for recorder in all {
        apply(&recorder);
    }
}

/// Decides who is calling a waker of `task` right now, on this thread.
fn cause_of_wake(task: u64) -> Cause {
    if let Some(cause) = CAUSE.with(Cell::get) {
        return cause;
    }
    match CURRENT_TASK.with(Cell::get) {
        0 if crate::runtime::context::is_in_runtime() => Cause::Runtime,
        0 => Cause::Foreign,
        current if current == task => Cause::SelfWake,
        current => Cause::Task(current),
    }
}

/// Task `id` entered a run queue of `scheduler`'s runtime.
#[inline(always)]
pub(crate) fn scheduled<S: Schedule>(scheduler: &S, id: u64) {
    if enabled() {
        scheduled_slow(scheduler.recorder(), id);
    }
}

#[cold]
#[inline(never)]
fn scheduled_slow(recorder: Option<&Recorder>, id: u64) {
    if let Some(r) = recorder {
        // Re-queued right after its own poll: stamped with that poll's end, no clock read.
        let at = if CURRENT_TASK.with(Cell::get) == id { POLL_STAMP.with(Cell::get) } else { r.now() };
        r.schedule(at, id);
    }
}

/// Task `id` of `scheduler`'s runtime is cancelled; its future is dropped next. Rare (an
/// abort, a shutdown), so the event goes to the cold log, with no record tag of its own.
#[inline(always)]
pub(crate) fn cancelled<S: Schedule>(scheduler: &S, id: u64) {
    if enabled() {
        cancelled_slow(scheduler.recorder(), id);
    }
}

#[cold]
#[inline(never)]
fn cancelled_slow(recorder: Option<&Recorder>, id: u64) {
    if let Some(r) = recorder {
        r.record(Kind::Cancel { task: id });
    }
}

/// A traced poll in progress: restores [`CURRENT_TASK`] when dropped, so that wakes made
/// while the task completes (its `JoinHandle`'s waker) are still attributed to it.
///
/// Only the previous task id is kept here (the task and the start time are in the
/// thread-locals): a small value the hot path can carry in one register.
pub(crate) struct PollSpan {
    previous: u64,
}

/// A worker of `scheduler`'s runtime is about to poll task `id`.
#[inline(always)]
pub(crate) fn poll_start<S: Schedule>(scheduler: &S, id: u64) -> Option<PollSpan> {
    if !enabled() {
        return None;
    }
    poll_start_slow(scheduler.recorder()?, id)
}

#[cold]
#[inline(never)]
fn poll_start_slow(recorder: &Recorder, id: u64) -> Option<PollSpan> {
    let start = recorder.now();
    recorder.poll_start(start, id);
    POLL_STAMP.with(|s| s.set(start));
    let previous = CURRENT_TASK.with(|c| c.replace(id));
    Some(PollSpan { previous })
}

/// The poll that `span` started returned (`ready`: `Poll::Ready`). The span holds no
/// recorder reference: it outlives this call, and the task (with its scheduler) may be
/// freed before the span drops.
#[inline(always)]
pub(crate) fn poll_end<S: Schedule>(scheduler: &S, span: &Option<PollSpan>, ready: bool) {
    // `span` first: it is `None` whenever tracing is off, and then nothing else runs.
    if span.is_some() {
        poll_end_slow(scheduler.recorder(), ready);
    }
}

#[cold]
#[inline(never)]
fn poll_end_slow(recorder: Option<&Recorder>, ready: bool) {
    if let Some(recorder) = recorder {
        let task = CURRENT_TASK.with(Cell::get);
        let end = recorder.now_unordered(); // caused only by this poll: see `clock.rs`
        POLL_STAMP.with(|s| s.set(end));
        recorder.poll_end(end, task, ready);
    }
}

impl Drop for PollSpan {
    fn drop(&mut self) {
        CURRENT_TASK.with(|c| c.set(self.previous));
    }
}

/// A timer was cancelled; `was_live` is false if it had already fired (nothing happened).
#[inline(always)]
pub(crate) fn timer_cancelled(timer: u64, was_live: bool) {
    if was_live {
        record(|| Kind::TimerCancel { timer });
    }
}

/// The wheel is emptying slot `slot` of `level`; above level 0 that is a cascade.
#[inline(always)]
pub(crate) fn cascade(level: usize, slot: usize) {
    if level > 0 {
        record(|| Kind::TimerCascade { level: level as u8, slot: slot as u8 });
    }
}

/// The task being polled stored its waker in socket `source`, for reading or writing.
#[inline]
#[cfg_attr(loom, allow(dead_code))] // the reactor does not exist under loom
pub(crate) fn io_interest(source: u64, read: bool) {
    let interest = if read { super::Interest::Readable } else { super::Interest::Writable };
    record(|| Kind::IoInterest { task: current_task(), source, interest });
}

/// Runs `wake` (the timer wheel's or the reactor's wake loop) with this thread marked as
/// waking on behalf of `cause`, so each woken task's trace says who woke it.
#[inline]
pub(crate) fn waking<R>(cause: Cause, wake: impl FnOnce() -> R) -> R {
    if !enabled() {
        return wake();
    }
    let previous = CAUSE.with(|c| c.replace(Some(cause)));
    // Restored even if a waker panics through us (the callers contain panics anyway).
    struct Restore(Option<Cause>);
    impl Drop for Restore {
        fn drop(&mut self) {
            CAUSE.with(|c| c.set(self.0));
        }
    }
    let _restore = Restore(previous);
    wake()
}

/// A timer was put in `wheel` at `deadline`.
#[inline(always)]
pub(crate) fn timer_inserted<T>(key: TimerKey, deadline: u64, wheel: &Wheel<T>) {
    record(|| Kind::TimerInsert { timer: key.to_u64(), deadline, slot: wheel.slot_of(deadline) });
}

/// The driver is about to block; `next` is the wheel's next expiration.
#[inline(always)]
pub(crate) fn next_timer<T>(next: Option<u64>, wheel: &Wheel<T>) {
    if let Some(deadline) = next {
        record(|| Kind::NextTimer { deadline, slot: wheel.slot_of(deadline) });
    }
}

/// Timer `key` is due; returns its waker so the call fits in the wheel's drain loop.
#[inline(always)]
pub(crate) fn timer_fired<W>(key: TimerKey, waker: W) -> W {
    record(|| Kind::TimerFire { timer: key.to_u64() });
    waker
}

/// The task being polled returns `Pending` waiting for socket `source` (read or write):
/// records it and returns `Poll::Pending`, so the call fits in `poll_io`'s `match`.
#[inline(always)]
#[cfg_attr(loom, allow(dead_code))] // the reactor does not exist under loom
pub(crate) fn io_pending<T>(source: u64, read: bool) -> std::task::Poll<T> {
    io_interest(source, read);
    std::task::Poll::Pending
}

/// The task being polled on this thread, if it is traced.
#[cfg_attr(loom, allow(dead_code))]
pub(crate) fn current_task() -> Option<u64> {
    Some(CURRENT_TASK.with(Cell::get)).filter(|&id| id != 0)
}

/// Called by `Runtime::drop` before shutdown cancels the tasks: if the runtime was traced
/// through `CLOCKWORK_TRACE`, writes the exports (and prints the lints) now, while the
/// wakers of pending tasks still tell the truth.
pub(crate) fn before_shutdown(slot: &Slot) {
    let Some(recorder) = slot.get() else { return };
    let Some(base) = &recorder.export_dir else { return };
    static RUNTIMES: AtomicUsize = AtomicUsize::new(0);
    let dir = base.join(format!("runtime-{}", RUNTIMES.fetch_add(1, Relaxed)));
    let trace = recorder.snapshot();
    match trace.write_to(&dir) {
        Ok(()) => eprintln!("clockwork: trace written to {}", dir.display()),
        Err(error) => eprintln!("clockwork: could not write the trace to {}: {error}", dir.display()),
    }
    for lint in trace.lints(&super::LintOptions::default()) {
        eprintln!("clockwork lint: {lint}");
    }
}

/// The export directory requested by `CLOCKWORK_TRACE`, if set and not empty.
pub(crate) fn env_dir() -> Option<std::path::PathBuf> {
    std::env::var_os("CLOCKWORK_TRACE").filter(|v| !v.is_empty()).map(Into::into)
}
