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
//! | self-wake after a poll (`yield_now`) | unchanged | the task at the back, marked *yielded* with the current *look* number (yielding means "after the others") |
//! | owner pops a task marked with the current look number | unchanged | the worker *looks*: it takes the injector's tasks and the unmarked tasks of every sibling's FIFO and starts a new look number; if it found any, they go to the *front* (ahead of the yielders still queued, all of which yielded before the look) and the task to the back, marked as *covered* (an older number: it owes no look, and a sibling's look does not take it); if none, the task runs at once (`worker.rs`) |
//! | owner pops a task marked with an older number | unchanged | it runs: a look made since it yielded brought in what was waiting then, and queued it ahead |
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
    /// The FIFO; `Some(look)` marks a task that yielded while `look` was the current look
    /// number, `None` any other task.
    queue: VecDeque<(T, Option<u64>)>,
    /// How many tasks in `queue` are unmarked: a sibling's look takes only those, and
    /// most looks find none (the queue holds only yielders), so it answers without a scan.
    unmarked: usize,
    run_next: Option<T>,
    /// Counts the owner's looks at the other queues on behalf of its yielders (see
    /// [`Local::looked`]). A yielder marked with the current number has yielded since the
    /// last look, so a look is owed before it runs again; one marked with an older number
    /// is covered by a look made after it yielded. So a worker whose queue holds only
    /// yielders looks once per round of them, not once per yield, and never waits for its
    /// queue to empty first (with two yielders per worker, it never did: tasks spawned from
    /// outside waited 55 yields on average, up to 117; a real-client audit).
    look: u64,
}

/// What the owner's [`Local::pop`] found.
#[derive(Debug, PartialEq)]
pub(crate) struct Popped<T> {
    pub(crate) task: T,
    /// It came from the run-next slot.
    pub(crate) from_slot: bool,
    /// A task that yielded since the worker last looked at the other queues: before it
    /// runs again, the worker looks, and lets what waits there go first.
    pub(crate) look_owed: bool,
}

impl<T> Local<T> {
    pub(crate) fn new() -> Local<T> {
        Local { queue: VecDeque::new(), unmarked: 0, run_next: None, look: 0 }
    }

    /// Queues `task` behind every ready task (stolen tasks, or a yielder let go by).
    pub(crate) fn push_back(&mut self, task: T) {
        self.queue.push_back((task, None));
        self.unmarked += 1;
    }

    /// Queues a task that woke itself during its poll (`yield_now`) behind every ready
    /// task, marked with the current look number, so that the owner can tell when it
    /// reaches it whether a look is owed.
    pub(crate) fn push_yielded(&mut self, task: T) {
        self.queue.push_back((task, Some(self.look)));
    }

    /// Queues the yielder a look was made for, behind what the look brought in: still
    /// marked as a yielder (so a sibling's look does not take it: it is not a task
    /// waiting for its first turn, and taking it would make two workers of yielders trade
    /// tasks at every look), but with an older look number, so it owes no new look.
    /// Call it after [`Local::looked`].
    pub(crate) fn push_covered(&mut self, task: T) {
        self.queue.push_back((task, Some(self.look.wrapping_sub(1))));
    }

    /// The owner has just looked at the other queues for a yielder: every yielder queued
    /// so far is covered.
    pub(crate) fn looked(&mut self) {
        self.look += 1;
    }

    /// Puts several tasks at the *front*, in their order: what a look brought in for a
    /// yielder. Every task still queued here yielded before the look (the popped yielder
    /// was the first with the current look number, and whatever was ahead of it has run),
    /// so the tasks brought in must go before them too, not just before the popped one.
    pub(crate) fn push_front_all(&mut self, tasks: VecDeque<T>) {
        self.unmarked += tasks.len();
        for task in tasks.into_iter().rev() {
            self.queue.push_front((task, None));
        }
    }

    /// Moves several tasks to the back (the surplus of a steal).
    pub(crate) fn extend(&mut self, tasks: impl IntoIterator<Item = T>) {
        let before = self.queue.len();
        self.queue.extend(tasks.into_iter().map(|task| (task, None)));
        self.unmarked += self.queue.len() - before;
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
                return Some(Popped { task, from_slot: true, look_owed: false });
            }
            self.push_back(task);
        }
        let (task, mark) = self.queue.pop_front()?;
        self.unmarked -= usize::from(mark.is_none());
        Some(Popped { task, from_slot: false, look_owed: mark == Some(self.look) })
    }

    /// Takes the older half of the FIFO (rounded up) for a sibling. Never the slot.
    pub(crate) fn steal_half(&mut self) -> VecDeque<T> {
        let take = self.queue.len().div_ceil(2);
        let mut unmarked_taken = 0;
        let stolen = self
            .queue
            .drain(..take)
            .map(|(task, mark)| {
                unmarked_taken += usize::from(mark.is_none());
                task
            })
            .collect();
        self.unmarked -= unmarked_taken;
        stolen
    }

    /// Takes every task of the FIFO that did not yield itself, in order (for a sibling
    /// whose yielder lets queued work go first). Never the slot, and never another
    /// yielder: two workers whose tasks keep yielding would otherwise keep taking each
    /// other's (a review measured thousands of migrations per task, 3× slower).
    pub(crate) fn steal_ready(&mut self) -> VecDeque<T> {
        let mut taken = VecDeque::new();
        if self.unmarked == 0 {
            return taken; // only yielders here (or nothing): no scan, no allocation
        }
        self.unmarked = 0;
        let mut kept = VecDeque::with_capacity(self.queue.len());
        for (task, mark) in self.queue.drain(..) {
            if mark.is_some() {
                kept.push_back((task, mark));
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
        self.unmarked = 0;
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
    fn a_look_is_owed_once_per_round_of_yielders() {
        let mut local = Local::new();
        local.push_back(1);
        local.push_yielded(2);
        local.push_back(3);
        local.push_yielded(4);
        let mut pops = Vec::new();
        while let Some(p) = local.pop(true) {
            pops.push((p.task, p.look_owed));
            if p.look_owed {
                local.looked(); // the worker looked: 4 yielded before that, so it is covered
            }
        }
        assert_eq!(pops, [(1, false), (2, true), (3, false), (4, false)]);
        local.push_yielded(7);
        assert_eq!(local.pop(true).map(|p| p.look_owed), Some(true), "a new round owes a new look");
    }

    /// `unmarked` always equals the number of unmarked tasks in the FIFO, through every
    /// kind of push and take.
    #[test]
    fn the_unmarked_count_follows_the_queue() {
        fn check(local: &Local<i32>) {
            let counted = local.queue.iter().filter(|(_, mark)| mark.is_none()).count();
            assert_eq!(local.unmarked, counted);
        }
        let mut local = Local::new();
        local.push_back(1);
        local.push_yielded(2);
        local.extend([3, 4]);
        local.push_yielded(5);
        assert!(!local.push_run_next(6));
        assert!(local.push_run_next(7)); // 6 goes to the back, unmarked
        check(&local);
        assert_eq!(local.steal_half(), [1, 2, 3]);
        check(&local);
        assert_eq!(local.steal_ready(), [4, 6]);
        check(&local);
        assert!(local.steal_ready().is_empty(), "only a yielder is left");
        local.flush_run_next();
        check(&local);
        assert_eq!(local.pop(true).map(|p| p.task), Some(5));
        check(&local);
        // A look for a yielder (the queue now holds 7, flushed, then the yielder 8).
        local.push_yielded(8);
        local.looked();
        local.push_front_all(VecDeque::from([9, 10]));
        local.push_covered(11);
        check(&local);
        assert_eq!(local.pop(true).map(|p| p.task), Some(9), "brought in ahead of everything");
        assert_eq!(local.pop(true).map(|p| p.task), Some(10));
        check(&local);
        assert_eq!(local.steal_ready(), [7], "a sibling's look takes neither yielder");
        check(&local);
        let pops: Vec<(i32, bool)> =
            std::iter::from_fn(|| local.pop(true)).map(|p| (p.task, p.look_owed)).collect();
        assert_eq!(pops, [(8, false), (11, false)], "both covered by the look");
        check(&local);
        local.push_back(12);
        assert_eq!(local.take_all(), [12]);
        check(&local);
        local.push_yielded(5);
        local.push_back(6);
        assert_eq!(local.steal_ready(), [6], "another yielder is not taken");
        assert_eq!(local.steal_half(), [5], "but a plain steal takes it, unmarked");
    }
}
