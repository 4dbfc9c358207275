//! A worker's own queue: a FIFO that siblings may steal from, plus a one-task "run next"
//! slot that nobody else may touch.
//!
//! **What this teaches.** Message passing between two tasks on one worker is the common
//! case: task A sends, which wakes task B, then A returns `Pending` and waits for the
//! reply. If B goes to the *back* of the queue, it runs after every other ready task,
//! by which time the message has left the cache. The run-next slot puts B *in front*:
//!
//! | event | run-next slot | FIFO |
//! |---|---|---|
//! | spawn or wake from this worker (not a self-wake) | the new task | the task it displaced, if any, at the back |
//! | self-wake after a poll (`yield_now`) | unchanged | the task at the back, marked *yielded* (yielding means "after the others") |
//! | owner pops a marked task with nothing else left here | unchanged | the worker first takes the unmarked tasks of every sibling's FIFO, then queues the task again, unmarked (`worker.rs`) |
//! | owner pops, streak < [`MAX_RUN_NEXT_STREAK`] | emptied: its task runs | unchanged |
//! | owner pops, streak reached | its task moves to the back | the front task runs |
//! | a sibling steals | untouched (a cold thread gains nothing from a hot task) | loses its older half |
//! | the owner goes to sleep | flushed to the back | so siblings can steal it |
//!
//! **Why the streak cap.** Two tasks that wake each other would otherwise live in the slot
//! forever, and a third task in the FIFO would never run (tokio-rs/tokio#2349). After
//! [`MAX_RUN_NEXT_STREAK`] slot polls in a row, the slot's task goes to the back of the
//! FIFO, so the FIFO's front task runs next. The owner counts the streak (see
//! `worker.rs`); this file only offers the two kinds of pop.
//!
//! Rejected alternative: a lock-free ring (tokio's). It saves two uncontended lock
//! operations per task (about 10 ns here), but takes 200 lines of unsafe code that a
//! student must verify; the mutex keeps this file a plain data structure.
//!
//! Next to read: `src/runtime/multi_thread/idle.rs`.

use std::collections::VecDeque;

/// How many tasks in a row the owner may take from the run-next slot before the FIFO's
/// front task gets a turn. Tokio's number (`MAX_LIFO_POLLS_PER_TICK`): small enough that
/// a ping-ponging pair delays a third task by at most 3 polls, large enough to keep a
/// request/response pair hot.
pub(crate) const MAX_RUN_NEXT_STREAK: u32 = 3;

/// One worker's tasks. Generic over the task type so the loom models can use integers.
#[derive(Debug)]
pub(crate) struct Local<T> {
    /// The FIFO; `true` marks a task that yielded and has not yet been let go by.
    queue: VecDeque<(T, bool)>,
    run_next: Option<T>,
}

/// What the owner's [`Local::pop`] found.
#[derive(Debug, PartialEq)]
pub(crate) struct Popped<T> {
    pub(crate) task: T,
    /// It came from the run-next slot.
    pub(crate) from_slot: bool,
    /// A task that yielded, and nothing else is left in this worker's queue: before it
    /// runs again, the worker lets the other workers' queued tasks go first.
    pub(crate) yielded_last: bool,
}

impl<T> Local<T> {
    pub(crate) fn new() -> Local<T> {
        Local { queue: VecDeque::new(), run_next: None }
    }

    /// Queues `task` behind every ready task (stolen tasks, or a yielder let go by).
    pub(crate) fn push_back(&mut self, task: T) {
        self.queue.push_back((task, false));
    }

    /// Queues a task that woke itself during its poll (`yield_now`) behind every ready
    /// task, marked, so that the owner can tell when it reaches it.
    pub(crate) fn push_yielded(&mut self, task: T) {
        self.queue.push_back((task, true));
    }

    /// Moves several tasks to the back (the surplus of a steal).
    pub(crate) fn extend(&mut self, tasks: impl IntoIterator<Item = T>) {
        self.queue.extend(tasks.into_iter().map(|task| (task, false)));
    }

    /// Puts `task` in the run-next slot. Returns `true` if that displaced an older task
    /// to the FIFO: only then is there work a sibling could take, worth waking one for.
    pub(crate) fn push_run_next(&mut self, task: T) -> bool {
        match self.run_next.replace(task) {
            Some(displaced) => {
                self.push_back(displaced);
                true
            }
            None => false,
        }
    }

    /// The owner's pop. With `slot_allowed`, the slot's task comes first; without it (the
    /// streak cap is reached), the slot's task moves to the back and the front task runs.
    pub(crate) fn pop(&mut self, slot_allowed: bool) -> Option<Popped<T>> {
        if let Some(task) = self.run_next.take() {
            if slot_allowed {
                return Some(Popped { task, from_slot: true, yielded_last: false });
            }
            self.push_back(task);
        }
        let (task, yielded) = self.queue.pop_front()?;
        Some(Popped { task, from_slot: false, yielded_last: yielded && self.queue.is_empty() })
    }

    /// Takes the older half of the FIFO (rounded up) for a sibling. Never the slot.
    pub(crate) fn steal_half(&mut self) -> VecDeque<T> {
        let take = self.queue.len().div_ceil(2);
        self.queue.drain(..take).map(|(task, _)| task).collect()
    }

    /// Takes every task of the FIFO that did not yield itself, in order (for a sibling
    /// whose yielder lets queued work go first). Never the slot, and never another
    /// yielder: two workers whose tasks keep yielding would otherwise keep taking each
    /// other's (a review measured thousands of migrations per task, 3× slower).
    pub(crate) fn steal_ready(&mut self) -> VecDeque<T> {
        let mut taken = VecDeque::new();
        let mut kept = VecDeque::with_capacity(self.queue.len());
        for (task, yielded) in self.queue.drain(..) {
            if yielded {
                kept.push_back((task, yielded));
            } else {
                taken.push_back(task);
            }
        }
        self.queue = kept;
        taken
    }

    /// Moves the slot's task to the back of the FIFO, where siblings can steal it. The
    /// owner calls this before it sleeps, so a sleeping worker never hides a task.
    pub(crate) fn flush_run_next(&mut self) {
        if let Some(task) = self.run_next.take() {
            self.push_back(task);
        }
    }

    /// Whether the FIFO holds a task (work a sibling could steal; the slot does not count).
    pub(crate) fn has_surplus(&self) -> bool {
        !self.queue.is_empty()
    }

    /// No task in the slot nor in the FIFO.
    pub(crate) fn is_empty(&self) -> bool {
        self.run_next.is_none() && self.queue.is_empty()
    }

    /// Takes every task out (shutdown).
    pub(crate) fn take_all(&mut self) -> Vec<T> {
        self.run_next.take().into_iter().chain(self.queue.drain(..).map(|(task, _)| task)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two tasks that keep waking each other through the slot; a third waits in the FIFO.
    /// With the cap, the third runs within `MAX_RUN_NEXT_STREAK + 1` pops.
    #[test]
    fn ping_pong_through_the_slot_cannot_starve_the_fifo() {
        let mut local = Local::new();
        local.push_back("third");
        local.push_run_next("a");
        let mut streak = 0;
        for pop in 1..=10 {
            let Popped { task, from_slot, .. } = local.pop(streak < MAX_RUN_NEXT_STREAK).unwrap();
            streak = if from_slot { streak + 1 } else { 0 };
            if task == "third" {
                assert!(pop <= MAX_RUN_NEXT_STREAK as usize + 1, "third ran only at pop {pop}");
                return;
            }
            // The running task wakes its partner, which goes to the slot.
            local.push_run_next(if task == "a" { "b" } else { "a" });
        }
        panic!("the third task never ran");
    }

    #[test]
    fn steal_never_takes_the_slot_and_flush_exposes_it() {
        let mut local = Local::new();
        local.push_run_next(1);
        assert!(local.steal_half().is_empty());
        assert!(!local.is_empty());
        local.flush_run_next();
        assert_eq!(local.steal_half(), [1]);
        assert!(local.is_empty());
    }

    #[test]
    fn displacing_the_slot_reports_surplus() {
        let mut local = Local::new();
        assert!(!local.push_run_next(1));
        assert!(local.push_run_next(2));
        assert_eq!(local.pop(true).map(|p| (p.task, p.from_slot)), Some((2, true)));
        assert_eq!(local.pop(true).map(|p| (p.task, p.from_slot)), Some((1, false)));
        assert_eq!(local.take_all(), Vec::<i32>::new());
    }

    #[test]
    fn a_yielder_is_reported_only_once_nothing_else_is_left() {
        let mut local = Local::new();
        local.push_back(1);
        local.push_yielded(2);
        local.push_back(3);
        local.push_yielded(4);
        let pops: Vec<(i32, bool)> =
            std::iter::from_fn(|| local.pop(true)).map(|p| (p.task, p.yielded_last)).collect();
        assert_eq!(pops, [(1, false), (2, false), (3, false), (4, true)]);
        local.push_yielded(5);
        local.push_back(6);
        assert_eq!(local.steal_ready(), [6], "another yielder is not taken");
        assert_eq!(local.steal_half(), [5], "but a plain steal takes it, unmarked");
    }
}
