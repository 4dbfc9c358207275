//! A Mermaid sequence diagram of the start of a run: task ↔ runtime ↔ reactor ↔ OS.
//!
//! **What this teaches.** The same story as the narration, as messages between four
//! participants, so the readiness loop (Pending → waker stored → epoll_wait → event →
//! wake → poll again) is visible as a shape. GitHub renders ```` ```mermaid ```` blocks,
//! and <https://mermaid.live> renders the file as is.
//!
//! Each task is its own participant, so only the first `max_events` messages are drawn:
//! a sequence diagram of a long run is unreadable.
//!
//! Next to read: `lints.rs`.

use super::event::{Cause, Kind};
use super::Trace;
use std::collections::BTreeSet;
use std::fmt::Write;

/// Mermaid labels may not contain `;` or `#` (statement separator, entity start).
fn label(s: &str) -> String {
    s.replace([';', '#'], " ").replace('`', "'")
}

/// The diagram source.
pub(super) fn mermaid(trace: &Trace, max_events: usize) -> String {
    let mut lines = Vec::new();
    let mut tasks = BTreeSet::new();
    for event in &trace.events {
        if lines.len() >= max_events {
            lines.push("    Note over R: (diagram truncated; see the narration for the rest)".to_owned());
            break;
        }
        if let Some(line) = message(&event.kind, &mut tasks) {
            lines.push(line);
        }
    }
    let mut out = String::from("sequenceDiagram\n    participant R as runtime\n");
    for id in &tasks {
        let _ = writeln!(out, "    participant T{id} as task {id} {}", label(trace.task_name(*id)));
    }
    out.push_str("    participant W as timer wheel\n    participant X as reactor\n    participant OS\n");
    for line in lines {
        out.push_str(&line);
        out.push('\n');
    }
    out
}

fn message(kind: &Kind, tasks: &mut BTreeSet<u64>) -> Option<String> {
    Some(match *kind {
        Kind::Spawn { task } => {
            tasks.insert(task);
            format!("    R->>R: spawn task {task}")
        }
        Kind::PollStart { task } => format!("    R->>T{task}: poll"),
        Kind::PollEnd { task, ready: true } => format!("    T{task}-->>R: Ready"),
        Kind::PollEnd { task, ready: false } => format!("    T{task}-->>R: Pending"),
        Kind::Wake { task, cause } => {
            let from = match cause {
                Cause::Task(by) => format!("T{by}"),
                Cause::SelfWake | Cause::Budget => format!("T{task}"),
                Cause::Timer => "W".to_owned(),
                Cause::Reactor => "X".to_owned(),
                Cause::Runtime | Cause::Spawned | Cause::Foreign => "R".to_owned(),
            };
            format!("    {from}->>R: wake task {task}")
        }
        Kind::TimerInsert { deadline, .. } => format!("    R->>W: insert timer (tick {deadline})"),
        Kind::TimerFire { .. } => "    W->>R: timer fired".to_owned(),
        Kind::IoInterest { task: Some(task), interest, .. } => {
            format!("    T{task}->>X: store waker ({interest})")
        }
        Kind::ReactorWait { timeout } => match timeout {
            Some(t) => format!("    X->>OS: epoll_wait(timeout {})", label(&format!("{t:.1?}"))),
            None => "    X->>OS: epoll_wait(no timeout)".to_owned(),
        },
        Kind::ReactorReturn { events } => format!("    OS-->>X: {events} event(s)"),
        Kind::IoReady { readable, writable, .. } => {
            let what = match (readable, writable) {
                (true, true) => "readable + writable",
                (true, false) => "readable",
                (false, true) => "writable",
                (false, false) => "closed",
            };
            format!("    OS-->>X: socket {what}")
        }
        _ => return None,
    })
}
