//! The task table, derived: what a snapshot works out from the merged events.
//!
//! **What this teaches.** Nothing on the hot path keeps per-task statistics; the events
//! already say everything. Walking them once in merged order gives each task its polls,
//! longest poll, wakes and self-wakes, and each schedule the cause of the wake that led to
//! it (a hook cannot know that cheaply: the wake may have happened on another thread).
//!
//! Next to read: `hooks.rs`, what the runtime calls.

use super::event::{Cause, Kind};
use super::recorder::IdMap;
use super::{TaskInfo, Trace};
use std::collections::BTreeMap;
use std::time::Duration;

/// Adds a task's counted waker clones and drops (counts for foreign tasks are ignored).
pub(super) fn merged_counts(tasks: &mut BTreeMap<u64, TaskInfo>, task: u64, clones: u64, drops: u64) {
    if let Some(info) = tasks.get_mut(&task) {
        info.waker_clones += clones;
        info.waker_drops += drops;
    }
}

/// Drops events of tasks this runtime never spawned (a waker of another runtime's task
/// called on one of our threads), fills in each schedule's cause, and counts polls and
/// wakes per task.
pub(super) fn summarise(trace: &mut Trace) {
    let mut last_cause: IdMap<Cause> = IdMap::default();
    let mut poll_start: IdMap<Duration> = IdMap::default();
    let tasks = &mut trace.tasks;
    trace.events.retain_mut(|event| {
        let Some(task) = task_of(&event.kind) else { return true };
        let Some(info) = tasks.get_mut(&task) else { return false };
        match &mut event.kind {
            Kind::Spawn { .. } => drop(last_cause.insert(task, Cause::Spawned)),
            Kind::Wake { cause, .. } => {
                info.wakes += 1;
                info.self_wakes += u64::from(*cause == Cause::SelfWake);
                last_cause.insert(task, *cause);
            }
            Kind::Schedule { cause, .. } => *cause = last_cause.get(&task).copied().unwrap_or(Cause::Runtime),
            Kind::PollStart { .. } => drop(poll_start.insert(task, event.at)),
            Kind::PollEnd { ready, .. } => {
                let took =
                    poll_start.remove(&task).map_or(Duration::ZERO, |start| event.at.saturating_sub(start));
                info.polls += 1;
                // A blocking job's one poll is the job itself, meant to be long: not a
                // poll that kept a worker from its other tasks (the long-poll lint). Told
                // by the task, not by the thread: a pool thread inside `Handle::block_on`
                // may run ordinary tasks, whose long polls still count.
                if !info.blocking {
                    info.longest_poll = info.longest_poll.max(took);
                }
                info.completed = *ready;
            }
            Kind::Cancel { .. } => info.cancelled = true,
            _ => {}
        }
        true
    });
}

/// The task an event is about, for the task-level events.
fn task_of(kind: &Kind) -> Option<u64> {
    match *kind {
        Kind::Spawn { task }
        | Kind::Wake { task, .. }
        | Kind::Schedule { task, .. }
        | Kind::PollStart { task }
        | Kind::PollEnd { task, .. }
        | Kind::Cancel { task } => Some(task),
        _ => None,
    }
}
