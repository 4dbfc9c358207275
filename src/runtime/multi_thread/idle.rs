//! Who is asleep: the list of parked workers, and the protocol that never loses a wake-up.
//!
//! **What this teaches.** A worker that finds no work wants to sleep; a thread that queues
//! a task wants to wake a sleeper. If the worker checks the queues, *then* the task is
//! queued and the queuer looks for sleepers, *then* the worker registers as a sleeper, the
//! task is stranded. The fix is an order on both sides, each step sequentially consistent:
//!
//! | worker going to sleep | thread queueing a task |
//! |---|---|
//! | 1. announce: add itself to the sleepers (`sleep`) | 1. push the task |
//! | 2. `fence(SeqCst)` | 2. `fence(SeqCst)` |
//! | 3. re-check every queue; if work, `unannounce` and run it | 3. if a sleeper is announced, take it off the list and unpark it (`wake_one`) |
//! | 4. park | |
//!
//! In any interleaving, either the worker's re-check (3) sees the task, or the queuer's
//! check (3) sees the announcement. Unpark tokens persist, so an unpark that lands before
//! the park (4) still ends it. The loom model below checks exactly this.
//!
//! Next to read: `src/runtime/multi_thread/worker.rs`.

use crate::loom::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use crate::loom::sync::Mutex;

/// The set of sleeping workers.
pub(crate) struct Idle {
    /// How many workers are on the list (read without the lock on the hot path).
    num_sleeping: AtomicUsize,
    /// The sleeping workers' indices, most recent last.
    sleepers: Mutex<Vec<usize>>,
}

impl Idle {
    pub(crate) fn new(workers: usize) -> Idle {
        Idle { num_sleeping: AtomicUsize::new(0), sleepers: Mutex::new(Vec::with_capacity(workers)) }
    }

    /// Step 1 of going to sleep: announce worker `index` as a sleeper.
    pub(crate) fn sleep(&self, index: usize) {
        let mut sleepers = self.sleepers.lock();
        debug_assert!(!sleepers.contains(&index), "worker {index} announced sleep twice");
        sleepers.push(index);
        self.num_sleeping.fetch_add(1, SeqCst);
    }

    /// Worker `index` is awake again (found work, or was woken): leave the list if still
    /// on it. Returns `true` if it was still listed (nobody had claimed it).
    pub(crate) fn unannounce(&self, index: usize) -> bool {
        let mut sleepers = self.sleepers.lock();
        match sleepers.iter().position(|&i| i == index) {
            Some(pos) => {
                sleepers.swap_remove(pos);
                self.num_sleeping.fetch_sub(1, SeqCst);
                true
            }
            None => false,
        }
    }

    /// Takes one sleeper off the list for the caller to unpark; `None` if nobody sleeps.
    /// The common case (everyone busy) costs one atomic load.
    pub(crate) fn wake_one(&self) -> Option<usize> {
        if self.num_sleeping.load(SeqCst) == 0 {
            return None;
        }
        let mut sleepers = self.sleepers.lock();
        let index = sleepers.pop()?;
        self.num_sleeping.fetch_sub(1, SeqCst);
        Some(index)
    }

    /// How many workers are announced as sleeping (one atomic load).
    pub(crate) fn num_sleeping(&self) -> usize {
        self.num_sleeping.load(SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loom::model;
    use crate::loom::sync::atomic::{fence, AtomicBool};
    use crate::loom::sync::Arc;
    use crate::park::Parker;

    /// The last idle worker must wake when a task is queued from outside: either it sees
    /// the task when it re-checks, or the queuer sees it asleep and unparks it.
    #[test]
    fn loom_park_against_remote_spawn() {
        model(|| {
            let idle = Arc::new(Idle::new(1));
            let queued = Arc::new(AtomicBool::new(false));
            let mut parker = Parker::new();
            let unparker = parker.unparker();
            let (idle2, queued2) = (idle.clone(), queued.clone());
            let spawner = crate::loom::thread::spawn(move || {
                queued2.store(true, SeqCst); // 1. push
                fence(SeqCst); // 2.
                if idle2.wake_one().is_some() {
                    unparker.unpark(); // 3.
                }
            });
            // The worker: announce, re-check, park until the task is seen.
            loop {
                idle.sleep(0);
                fence(SeqCst);
                if queued.load(SeqCst) {
                    idle.unannounce(0);
                    break;
                }
                parker.park(); // must return: a lost wake-up deadlocks the model
                idle.unannounce(0);
            }
            spawner.join().unwrap();
        });
    }
}
