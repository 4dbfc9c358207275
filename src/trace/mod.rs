//! Seeing the runtime work: an event trace, and four ways to read it.
//!
//! **What this teaches.** What actually happens between `spawn` and `Ready`: which thread
//! polled which task, what the poll returned, who called the waker (another task, the timer
//! wheel, the reactor, a foreign thread), and how long everyone slept. Switch it on with
//! [`Builder::trace`](crate::runtime::Builder::trace), or for any program with the
//! environment variable `CLOCKWORK_TRACE=<dir>` (the exports are written there when the
//! runtime is dropped). Then take a [`Trace`] with [`Runtime::trace`](crate::Runtime::trace)
//! and turn it into a narration, a Perfetto JSON file, an SVG timeline, a Mermaid sequence
//! diagram, or [`lints`](Trace::lints).
//!
//! **How it stays out of the way.** Every hook in the runtime is one line, a call into
//! this module, and every such function starts with `enabled()`: one relaxed load of a
//! global counter of live recorders, a branch the CPU predicts perfectly when nothing is
//! traced. Only behind it does a hook look for its runtime's recorder. Rejected
//! alternative: a `cfg` feature. It would cost nothing at all, but a student could not
//! trace a program without rebuilding it, and the hooks would grow `#[cfg]` blocks.
//!
//! Files: `event.rs` (the vocabulary) → `record.rs` (how an event is stored) → `log.rs`
//! (the lock-free per-thread log) → `clock.rs` (timestamps) → `recorder.rs` (collecting) →
//! `summary.rs` (the task table) → `hooks.rs` (what the runtime calls) → `narrate.rs`,
//! `json.rs`, `svg.rs`, `mermaid.rs` (exporters) → `lints.rs` (findings). DESIGN.md §9
//! explains how to read each export.
//!
//! Next to read: `src/trace/event.rs`.

mod clock;
mod event;
mod hooks;
mod json;
mod lints;
mod log;
mod mermaid;
mod narrate;
mod record;
mod recorder;
mod summary;
mod svg;

pub use event::{Cause, Event, Interest, Kind};
pub use lints::{Lint, LintKind, LintOptions};

pub(crate) use hooks::*;
pub(crate) use recorder::Recorder;

use std::collections::BTreeMap;
use std::io;
use std::path::Path;
use std::time::Duration;

/// What the recorder knows about one task.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TaskInfo {
    /// The name given with [`task::Builder::name`](crate::task::Builder::name), else the
    /// spawn location (`file:line`).
    pub name: String,
    /// How many times it was polled.
    pub polls: u64,
    /// Its longest poll.
    pub longest_poll: Duration,
    /// Its last poll returned `Ready`.
    pub completed: bool,
    /// It was cancelled (aborted, or dropped at shutdown) instead of completing.
    pub cancelled: bool,
    /// How many times its wakers were called.
    pub wakes: u64,
    /// How many of those wakes came from the task itself, during its own poll.
    pub self_wakes: u64,
    /// Waker clones made (each holds the task alive and can wake it).
    pub waker_clones: u64,
    /// Waker clones dropped. `clones - drops` is the number of live wakers.
    pub waker_drops: u64,
    /// A `spawn_blocking` job: its one poll, on a pool thread, is the whole job, so its
    /// length is not counted in `longest_poll` (no long-poll lint for work that is
    /// already where it belongs).
    pub blocking: bool,
}

impl TaskInfo {
    /// How many clones of the task's waker exist right now.
    pub fn live_wakers(&self) -> u64 {
        self.waker_clones.saturating_sub(self.waker_drops)
    }
}

/// A snapshot of everything one runtime recorded.
#[derive(Clone, Debug, Default)]
pub struct Trace {
    /// Every event, in the order the recorder received them.
    pub events: Vec<Event>,
    /// Every task ever spawned, by id.
    pub tasks: BTreeMap<u64, TaskInfo>,
    /// The name of each thread that recorded something ([`Event::thread`] indexes this).
    pub threads: Vec<String>,
    /// Events not stored because the recorder was full.
    pub dropped_events: usize,
}

impl Trace {
    /// The name of task `id`, or `"?"`.
    pub fn task_name(&self, id: u64) -> &str {
        self.tasks.get(&id).map_or("?", |t| t.name.as_str())
    }

    /// One plain sentence per runtime decision.
    pub fn narration(&self) -> String {
        narrate::narration(self)
    }

    /// Chrome trace-event JSON: open it in <https://ui.perfetto.dev> or `chrome://tracing`.
    pub fn chrome_json(&self) -> String {
        json::chrome_json(self)
    }

    /// A self-contained SVG timeline: one lane per thread, one box per poll.
    pub fn svg(&self) -> String {
        svg::svg(self)
    }

    /// A Mermaid sequence diagram (task ↔ runtime ↔ reactor ↔ OS), for the first
    /// `max_events` interesting events.
    pub fn mermaid(&self, max_events: usize) -> String {
        mermaid::mermaid(self, max_events)
    }

    /// Findings about suspicious task behaviour; see [`Lint`].
    pub fn lints(&self, options: &LintOptions) -> Vec<Lint> {
        lints::lints(self, options)
    }

    /// Writes `narration.txt`, `trace.json`, `timeline.svg`, `sequence.mmd` and
    /// `lints.txt` into `dir` (created if missing).
    pub fn write_to(&self, dir: &Path) -> io::Result<()> {
        std::fs::create_dir_all(dir)?;
        std::fs::write(dir.join("narration.txt"), self.narration())?;
        std::fs::write(dir.join("trace.json"), self.chrome_json())?;
        std::fs::write(dir.join("timeline.svg"), self.svg())?;
        std::fs::write(dir.join("sequence.mmd"), self.mermaid(60))?;
        let lints: String = self.lints(&LintOptions::default()).iter().map(|l| format!("{l}\n")).collect();
        std::fs::write(dir.join("lints.txt"), lints)
    }
}
