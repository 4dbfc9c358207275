//! One worker thread: find a task, run it, repeat; sleep when there is none.
//!
//! **What this teaches.** The loop in [`run`] is the whole life of a worker:
//!
//! 1. find a task: run-next slot (at most [`MAX_RUN_NEXT_STREAK`] in a row) → own queue →
//!    injection queue → steal half of a sibling's queue (every [`GLOBAL_INTERVAL`] ticks
//!    the injection queue goes first, for fairness);
//! 2. run it; every [`EVENT_INTERVAL`] ticks poll the drivers without blocking, so busy
//!    tasks cannot starve timers and sockets;
//! 3. no task anywhere: flush the slot, announce sleep, re-check, spin for [`SPIN`]
//!    (polling the drivers if they are free), park — in the driver if
//!    it is free (this worker then drives timers and I/O for everyone), else on its own
//!    parker. A worker woken by `notify_one` clears the in-flight flag and, once it has a
//!    task, passes the wake-up on if more work is queued.
//!
//! At shutdown, the first worker to notice cancels every task of the runtime (so futures
//! are dropped on a runtime thread, with the runtime's context set), then all exit.
//!
//! Next to read: `src/runtime/multi_thread/loom_tests.rs` (the protocol checked), then
//! `src/runtime/blocking.rs`.

use super::local::MAX_RUN_NEXT_STREAK;
use super::{Shared, Task, GLOBAL_INTERVAL};
use crate::loom::sync::atomic::{fence, Ordering::SeqCst};
use crate::loom::sync::Arc;
use crate::park::Parker;
use crate::runtime::current_thread::EVENT_INTERVAL;
use crate::runtime::{context, scheduler};
use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// How long a worker that ran out of tasks keeps looking before it parks (see
/// `Worker::spin`).
const SPIN: Duration = Duration::from_micros(20);

/// At most this many injector tasks are brought to the front of a yielder (see
/// `Worker::let_others_go_first`), so that a stream of outside spawns cannot keep it waiting.
const YIELD_INJECTOR_TAKE: usize = 256;

struct Worker {
    shared: Arc<Shared>,
    index: usize,
    parker: Parker,
    tick: u32,
    /// How many tasks in a row came from the run-next slot (capped, see `local.rs`).
    run_next_streak: u32,
    /// Woken by `notify_one` and has not found work yet.
    just_woken: bool,
}

/// The body of worker thread `index`.
pub(super) fn run(handle: scheduler::Handle, index: usize, parker: Parker) {
    let scheduler::Handle::MultiThread(shared) = &handle else {
        unreachable!("a worker always belongs to a multi-thread runtime")
    };
    let mut worker =
        Worker { shared: shared.clone(), index, parker, tick: 0, run_next_streak: 0, just_woken: false };
    context::set_worker(Some((shared.id(), index)));
    let _enter = context::enter_runtime(&handle);
    while !worker.shared.shutdown.load(SeqCst) {
        match worker.next_task() {
            Some(task) => {
                if std::mem::take(&mut worker.just_woken) {
                    worker.shared.woken_worker_found_work();
                }
                task.run();
                worker.tick = worker.tick.wrapping_add(1);
                if worker.tick % EVENT_INTERVAL == 0 {
                    worker.poll_drivers();
                }
            }
            None => worker.park(),
        }
    }
    if !worker.shared.drained.swap(true, SeqCst) {
        super::cancel_all_tasks(&worker.shared);
    }
    context::set_worker(None);
}

impl Worker {
    fn next_task(&mut self) -> Option<Task> {
        let shared = &self.shared;
        if self.tick % GLOBAL_INTERVAL == 0 {
            if let Some(task) = shared.injector.pop() {
                return Some(task);
            }
        }
        let popped = shared.locals[self.index].lock().pop(self.run_next_streak < MAX_RUN_NEXT_STREAK);
        if let Some(popped) = popped {
            self.run_next_streak = if popped.from_slot { self.run_next_streak + 1 } else { 0 };
            if popped.look_owed {
                return Some(self.let_others_go_first(popped.task));
            }
            return Some(popped.task);
        }
        self.run_next_streak = 0;
        if let Some(task) = shared.injector.pop() {
            return Some(task);
        }
        self.steal()
    }

    /// `yielder` woke itself in its last poll (`yield_now`), no look was made since, and
    /// every task queued here before it has run. Tasks may still wait in the injector or
    /// in siblings' queues (woken from outside the workers, or stolen by an idle
    /// sibling): they go first, brought here (the injector's as they stand, up to
    /// [`YIELD_INJECTOR_TAKE`], and every sibling's queued tasks that did not yield
    /// themselves) to the front of this queue, and the yielder behind them, marked as
    /// covered (`Local::push_covered`), so it waits for one such round only. The look covers every yielder queued here so far (`Local::looked`),
    /// so a queue of yielders costs one look per round. Returns the task to run now. Tasks
    /// that siblings are running, or hold in their run-next slots, are left alone: a
    /// yield orders *queued* work.
    fn let_others_go_first(&mut self, yielder: Task) -> Task {
        let shared = &self.shared;
        let mut ahead: VecDeque<Task> =
            std::iter::from_fn(|| shared.injector.pop()).take(YIELD_INJECTOR_TAKE).collect();
        let n = shared.locals.len();
        for offset in 1..n {
            ahead.extend(shared.locals[(self.index + offset) % n].lock().steal_ready());
        }
        let mut local = shared.locals[self.index].lock();
        local.looked();
        let Some(first) = ahead.pop_front() else {
            return yielder; // nothing else is ready anywhere: go on at once
        };
        // At the front: the yielders still queued here yielded before this look, and are
        // covered by it, so what it found must run before them too (a review: at the back,
        // a covered yielder ran again before tasks that waited when it yielded).
        local.push_front_all(ahead);
        local.push_covered(yielder);
        first
    }

    /// Takes half of the first non-empty sibling queue; returns one task and keeps the rest.
    fn steal(&mut self) -> Option<Task> {
        let n = self.shared.locals.len();
        for offset in 1..n {
            let victim = (self.index + offset) % n;
            let mut stolen = self.shared.locals[victim].lock().steal_half();
            if let Some(task) = stolen.pop_front() {
                crate::trace::record(|| crate::trace::Kind::Steal { from: victim, count: stolen.len() + 1 });
                if !stolen.is_empty() {
                    self.shared.locals[self.index].lock().extend(stolen);
                }
                return Some(task);
            }
        }
        None
    }

    /// Polls timers and I/O without blocking, if no other worker holds the driver.
    fn poll_drivers(&mut self) {
        let driver = self.shared.driver_slot.try_lock().and_then(|mut slot| slot.take());
        if let Some(mut driver) = driver {
            driver.park_timeout(&self.shared.driver, Duration::ZERO);
            *self.shared.driver_slot.lock() = Some(driver);
        }
    }

    /// Flush the slot, announce, re-check, park (see `idle.rs`).
    fn park(&mut self) {
        let shared = self.shared.clone();
        // A sleeping worker must not hide a task where no sibling can reach it. (`next_task`
        // found nothing, so the slot is empty here today; flushing keeps that a local fact
        // instead of a proof about every path that fills the slot.)
        shared.locals[self.index].lock().flush_run_next();
        shared.idle.sleep(self.index);
        fence(SeqCst); // pairs with the fence in `Shared::notify_one`

        // Only work this worker can take counts: a busy sibling's run-next slot cannot be
        // stolen, and counting it made this worker unannounce, find nothing, and come back
        // here in a loop at 100 % CPU, never reaching the driver, so timers and sockets
        // stopped for the whole runtime while the sibling was stuck in a long poll.
        if shared.has_stealable_work(self.index) || shared.shutdown.load(SeqCst) {
            self.unannounce(&shared);
            return;
        }
        if self.spin(&shared) {
            self.unannounce(&shared);
            if shared.locals[self.index].lock().has_surplus() {
                shared.notify_one(); // events polled while spinning may have queued several
            }
            return;
        }
        crate::trace::record(|| crate::trace::Kind::Park);
        let driver = shared.driver_slot.try_lock().and_then(|mut slot| slot.take());
        match driver {
            Some(mut driver) => {
                shared.driver_owner.store(self.index + 1, SeqCst);
                fence(SeqCst); // pairs with the fence in `Shared::unpark_worker`
                if !self.parker.take_token() {
                    driver.park(&shared.driver);
                }
                shared.driver_owner.store(0, SeqCst);
                *shared.driver_slot.lock() = Some(driver);
                crate::trace::record(|| crate::trace::Kind::Unpark);
                self.unannounce(&shared);
                // Tasks woken by the events and timers just processed were queued here
                // without waking anyone (see `Shared::schedule`): we were still listed as
                // asleep, and `notify_one` could have picked us. Now that we are awake,
                // share any surplus.
                if shared.locals[self.index].lock().has_surplus() {
                    shared.notify_one();
                }
            }
            None => {
                self.parker.park();
                crate::trace::record(|| crate::trace::Kind::Unpark);
                self.unannounce(&shared);
            }
        }
    }

    /// Keeps looking for [`SPIN`] before parking; `true` if a wake-up or work arrived.
    ///
    /// Why spin at all: on this project's 2-vCPU VMs, waking a thread whose CPU has gone
    /// idle costs 20–40 µs (an inter-processor interrupt that the hypervisor must deliver),
    /// and in a request/response pattern — a thread outside the runtime sends, a task
    /// answers, the thread sends again — *every* message paid it: cross-thread oneshot
    /// ping-pong ran 4× slower than tokio's. A worker that is still awake when the next
    /// message comes takes the wake as a plain atomic store. While spinning it also polls
    /// the reactor if nobody is parked in it, so that sockets are not left unwatched (a
    /// first version that only yielded cost `tcp_echo` about 10 %).
    ///
    /// The price is up to [`SPIN`] of CPU each time a worker runs dry; tokio pays the same
    /// kind of price in its "searching" state, and caps it the same way: at most half of
    /// the workers (at least one) spin at once. Rejected: spinning in `block_on` too. It
    /// also helped ping-pong, but a spinning non-worker thread competes with the workers
    /// for the CPU: mpsc with 4 producers ran 3.6× slower than tokio in that run.
    ///
    /// The protocol is unchanged: the worker is announced as asleep throughout, so a
    /// notifier may claim it and set its token (taken here instead of by `park`), and
    /// finding work here is the same as finding it in the re-check. Under loom the spin is
    /// one round without the clock, so the models cover a token taken here.
    fn spin(&mut self, shared: &Shared) -> bool {
        if cfg!(loom) {
            // One round, without the clock: the models explore the token being taken here.
            return self.parker.take_token() || shared.has_stealable_work(self.index);
        }
        let max_spinning = (shared.unparkers.len() / 2).max(1);
        if shared.spinning.fetch_add(1, SeqCst) >= max_spinning {
            shared.spinning.fetch_sub(1, SeqCst);
            return false; // enough workers are already looking
        }
        let deadline = Instant::now() + SPIN;
        let found = loop {
            if self.parker.take_token() || shared.has_stealable_work(self.index) {
                break true;
            }
            if Instant::now() >= deadline {
                break false;
            }
            if shared.driver_owner.load(SeqCst) == 0 {
                self.poll_drivers();
            } else {
                crate::loom::thread::yield_now();
            }
        };
        shared.spinning.fetch_sub(1, SeqCst);
        found
    }

    /// Leaves the sleepers list. If a notifier had already taken us off it, we are the
    /// worker it woke: clear the in-flight flag before looking for work.
    fn unannounce(&mut self, shared: &Shared) {
        if !shared.idle.unannounce(self.index) {
            shared.woke_up();
            self.just_woken = true;
        }
    }
}
