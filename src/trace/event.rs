//! The vocabulary of a trace: one [`Event`] per decision the runtime takes.
//!
//! **What this teaches.** Everything the exporters draw or say comes from this list, so it
//! is deliberately small and flat: a timestamp, a thread, and a [`Kind`] made of plain
//! numbers. No strings are built while the runtime runs (task names are stored once, at
//! spawn, in the recorder's task table); words are only made later, by the exporters.
//!
//! Next to read: `record.rs`, how these events are stored.

use std::fmt;
use std::time::Duration;

/// One recorded runtime event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    /// Time since the recorder started.
    pub at: Duration,
    /// The recording thread, as an index into [`Trace::threads`](super::Trace::threads).
    pub thread: usize,
    /// What happened.
    pub kind: Kind,
}

/// Why a task was woken: who called its waker.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Cause {
    /// The task was just spawned.
    Spawned,
    /// Another task called the waker while it was being polled (e.g. it sent on a channel,
    /// or it finished and its `JoinHandle` was awaited).
    Task(u64),
    /// The task woke itself during its own poll (`yield_now`, or a self-wake loop).
    SelfWake,
    /// The task spent its cooperative budget (`task::coop`): a socket or channel was
    /// still ready, but the runtime made the task yield so that others could run. A
    /// self-wake the task did not ask for, so the busy self-wake lint does not count it.
    Budget,
    /// The time driver fired one of the task's timers.
    Timer,
    /// The reactor saw a socket become ready.
    Reactor,
    /// A runtime thread woke it outside any task: the `block_on` future, or shutdown.
    Runtime,
    /// A thread that is not running the runtime (a plain thread, the blocking pool).
    Foreign,
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cause::Spawned => write!(f, "it was spawned"),
            Cause::Task(id) => write!(f, "task {id} woke it"),
            Cause::SelfWake => write!(f, "it woke itself (a yield)"),
            Cause::Budget => write!(f, "it spent its cooperative budget and was made to yield"),
            Cause::Timer => write!(f, "the timer wheel fired its timer"),
            Cause::Reactor => write!(f, "the reactor saw its socket become ready"),
            Cause::Runtime => write!(f, "the runtime woke it (the block_on future or shutdown)"),
            Cause::Foreign => write!(f, "another thread woke it"),
        }
    }
}

/// A direction of socket readiness.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Interest {
    /// Waiting for data (or a connection) to read.
    Readable,
    /// Waiting for room to write (or a connect to finish).
    Writable,
}

impl fmt::Display for Interest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Interest::Readable => "readable",
            Interest::Writable => "writable",
        })
    }
}

/// What happened. Task ids are the same numbers as [`JoinHandle::id`](crate::task::JoinHandle::id).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Kind {
    /// A task was created (its name is in the task table).
    Spawn {
        /// The new task.
        task: u64,
    },
    /// A waker of `task` was called (`wake` or `wake_by_ref`).
    Wake {
        /// The woken task.
        task: u64,
        /// Who called the waker.
        cause: Cause,
    },
    /// `task` was put in a run queue; `cause` is the wake (or spawn) that led here.
    Schedule {
        /// The queued task.
        task: u64,
        /// Why it is queued.
        cause: Cause,
    },
    /// A worker started polling `task`.
    PollStart {
        /// The polled task.
        task: u64,
    },
    /// The poll of `task` returned.
    PollEnd {
        /// The polled task.
        task: u64,
        /// `true` for `Ready` (the task is complete), `false` for `Pending`.
        ready: bool,
    },
    /// `task` was cancelled (aborted, or dropped at shutdown): its future is about to be
    /// dropped unfinished.
    Cancel {
        /// The cancelled task.
        task: u64,
    },
    /// A timer was put in the wheel.
    TimerInsert {
        /// The timer (a wheel key, unique while the timer lives).
        timer: u64,
        /// Its deadline, in wheel ticks (ms since the runtime started).
        deadline: u64,
        /// The wheel level and slot it was linked into (`None`: due now or overflow).
        slot: Option<(u8, u8)>,
    },
    /// A timer was removed before it fired (its `Sleep` was dropped).
    TimerCancel {
        /// The timer.
        timer: u64,
    },
    /// The wheel moved the timers of a higher-level slot down, closer to level 0.
    TimerCascade {
        /// The level of the emptied slot (always > 0).
        level: u8,
        /// The emptied slot.
        slot: u8,
    },
    /// A timer was due: its waker is about to be called.
    TimerFire {
        /// The timer.
        timer: u64,
    },
    /// The driver is about to block; the earliest timer decides the timeout.
    NextTimer {
        /// Its tick.
        deadline: u64,
        /// Its wheel level and slot, if it sits in the wheel proper.
        slot: Option<(u8, u8)>,
    },
    /// A socket was registered with the reactor.
    IoRegister {
        /// The reactor's key for it.
        source: u64,
        /// Its file descriptor.
        fd: i32,
    },
    /// A task's waker was stored, waiting for a socket direction.
    IoInterest {
        /// The waiting task (`None`: not polled as a task, e.g. the `block_on` future).
        task: Option<u64>,
        /// The socket.
        source: u64,
        /// The direction waited for.
        interest: Interest,
    },
    /// The kernel reported readiness for a socket.
    IoReady {
        /// The socket.
        source: u64,
        /// Readable now.
        readable: bool,
        /// Writable now.
        writable: bool,
    },
    /// The reactor enters `epoll_wait`/`kevent`.
    ReactorWait {
        /// The timeout (`None`: until an event or an unpark).
        timeout: Option<Duration>,
    },
    /// The reactor's wait returned.
    ReactorReturn {
        /// I/O events reported (notifications not counted).
        events: usize,
    },
    /// A runtime thread found no work and goes to sleep.
    Park,
    /// It woke up again.
    Unpark,
    /// A worker took tasks from a sibling's queue.
    Steal {
        /// The worker robbed.
        from: usize,
        /// How many tasks it took.
        count: usize,
    },
}
