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
//! * hooks that only know a task id (wakers, which may run on any thread) look the id up in
//!   [`TASKS`], filled at spawn. Rejected alternative: a recorder pointer in every task
//!   header, which would make every task 8 bytes bigger whether traced or not.
//!
//! "Who woke it" is answered by two thread-locals: [`CURRENT_TASK`] (set around a traced
//! poll) and [`CAUSE`] (set by the timer wheel and the reactor around their wake loops).
//!
//! Next to read: `narrate.rs`.

use super::event::{Cause, Kind};
use super::Recorder;
use std::cell::Cell;
use std::collections::HashMap;
use std::panic::Location;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, OnceLock, RwLock, Weak};
use std::time::Instant;

/// How many recorders are alive in the process. Zero: every hook returns at once.
static ACTIVE: AtomicUsize = AtomicUsize::new(0);

/// Which recorder each traced task belongs to (wakers know only the task id).
static TASKS: RwLock<Option<HashMap<u64, Weak<Recorder>>>> = RwLock::new(None);

std::thread_local! {
    /// The task being polled on this thread under a traced runtime (0: none).
    static CURRENT_TASK: Cell<u64> = const { Cell::new(0) };
    /// Set while the timer wheel or the reactor calls wakers on this thread.
    static CAUSE: Cell<Option<Cause>> = const { Cell::new(None) };
    /// A process-wide number for this thread (0: not yet assigned).
    static THREAD: Cell<usize> = const { Cell::new(0) };
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
    ACTIVE.fetch_add(1, Relaxed);
    Arc::new(Recorder::new(export_dir))
}

impl Drop for Recorder {
    fn drop(&mut self) {
        ACTIVE.fetch_sub(1, Relaxed);
    }
}

/// A small process-wide number for the calling thread.
pub(super) fn thread_number() -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(1);
    THREAD.with(|t| {
        if t.get() == 0 {
            t.set(NEXT.fetch_add(1, Relaxed));
        }
        t.get()
    })
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

    fn render(&self) -> String {
        match self.name {
            Some(name) => name.to_owned(),
            None => format!("{}:{}", self.location.file(), self.location.line()),
        }
    }
}

/// Runs `f` with the recorder of the runtime this thread is in, if it records.
fn with_current(f: impl FnOnce(&Recorder)) {
    let _ = crate::runtime::context::with_current(|handle| {
        if let Some(recorder) = handle.driver().trace.get() {
            f(recorder)
        }
    });
}

/// Runs `f` with the recorder task `id` belongs to, if it is traced.
fn with_task(id: u64, f: impl FnOnce(&Recorder)) {
    let recorder = TASKS.read().ok().and_then(|map| map.as_ref()?.get(&id)?.upgrade());
    if let Some(recorder) = recorder {
        f(&recorder)
    }
}

/// Records the event `f` builds, on the current runtime's recorder.
#[inline]
pub(crate) fn record(f: impl FnOnce() -> Kind) {
    if enabled() {
        with_current(|r| r.record(f()));
    }
}

/// A timer was cancelled; `was_live` is false if it had already fired (nothing happened).
#[inline]
pub(crate) fn timer_cancelled(timer: u64, was_live: bool) {
    if was_live {
        record(|| Kind::TimerCancel { timer });
    }
}

/// The wheel is emptying slot `slot` of `level`; above level 0 that is a cascade.
#[inline]
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

/// A task was spawned on the runtime whose recorder slot is `slot`.
#[inline]
pub(crate) fn spawned(slot: &Slot, id: u64, name: TaskName<'_>) {
    if !enabled() {
        return;
    }
    if let Some(recorder) = slot.get() {
        let mut tasks = TASKS.write().unwrap_or_else(|p| p.into_inner());
        tasks.get_or_insert_with(HashMap::new).insert(id, Arc::downgrade(recorder));
        drop(tasks);
        recorder.spawn(id, name.render());
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
#[inline]
pub(crate) fn waker(id: u64, op: WakerOp) {
    if enabled() {
        waker_slow(id, op);
    }
}

fn waker_slow(id: u64, op: WakerOp) {
    with_task(id, |r| match op {
        WakerOp::Clone => r.waker_count(id, true),
        WakerOp::Drop => r.waker_count(id, false),
        WakerOp::WakeByRef => r.wake(id, cause_of_wake(id)),
        WakerOp::Wake => {
            r.wake(id, cause_of_wake(id));
            r.waker_count(id, false);
        }
    });
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

/// Task `id` entered a run queue.
#[inline]
pub(crate) fn scheduled(id: u64) {
    if enabled() {
        with_task(id, |r| r.schedule(id));
    }
}

/// A traced poll in progress: restores [`CURRENT_TASK`] when dropped, so that wakes made
/// while the task completes (its `JoinHandle`'s waker) are still attributed to it.
pub(crate) struct PollSpan {
    task: u64,
    previous: u64,
    start: Instant,
}

/// A worker is about to poll task `id`.
#[inline]
pub(crate) fn poll_start(id: u64) -> Option<PollSpan> {
    if !enabled() {
        return None;
    }
    let mut span = None;
    with_task(id, |r| {
        r.record(Kind::PollStart { task: id });
        let previous = CURRENT_TASK.with(|c| c.replace(id));
        span = Some(PollSpan { task: id, previous, start: Instant::now() });
    });
    span
}

/// The poll that `span` started returned (`ready`: `Poll::Ready`).
#[inline]
pub(crate) fn poll_end(span: &Option<PollSpan>, ready: bool) {
    if let Some(span) = span {
        let nanos = u64::try_from(span.start.elapsed().as_nanos()).unwrap_or(u64::MAX);
        with_task(span.task, |r| r.poll_end(span.task, ready, nanos));
    }
}

impl Drop for PollSpan {
    fn drop(&mut self) {
        CURRENT_TASK.with(|c| c.set(self.previous));
    }
}

/// Marks this thread as calling wakers on behalf of `cause` until the guard drops.
pub(crate) struct CauseGuard(Option<Cause>);

/// The timer wheel or the reactor is about to call wakers (`None` when nobody records).
#[inline]
pub(crate) fn waking(cause: Cause) -> Option<CauseGuard> {
    enabled().then(|| CauseGuard(CAUSE.with(|c| c.replace(Some(cause)))))
}

impl Drop for CauseGuard {
    fn drop(&mut self) {
        CAUSE.with(|c| c.set(self.0));
    }
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
