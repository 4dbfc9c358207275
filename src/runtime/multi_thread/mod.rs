//! The multi-thread runtime: N worker threads sharing the tasks.
//!
//! **What this teaches.** Three questions decide a multi-thread scheduler, and each has a
//! short answer here (details in DESIGN.md):
//!
//! * **Where does a woken task go?**
//!
//!   | woken or spawned by | goes to | wakes a sleeper? |
//!   |---|---|---|
//!   | the running task, on a worker | that worker's run-next slot (`local.rs`) | only if it displaced an older slot task into the queue |
//!   | itself, during its own poll (`yield_now`) | the back of that worker's queue | yes, if someone sleeps and no wake is in flight |
//!   | any other thread | the injection queue (a `crossbeam-channel`) | yes, same rule |
//!
//!   The slot makes message passing fast (the woken task runs next, on the core whose
//!   cache holds the message) and is capped at [`MAX_RUN_NEXT_STREAK`] polls in a row so
//!   that a ping-ponging pair cannot starve the queue.
//! * **How does a worker find work?** Slot, own queue, injection queue, then half of a
//!   sibling's queue (never its slot). Every [`GLOBAL_INTERVAL`] ticks it looks at the
//!   injection queue first, and every `EVENT_INTERVAL` ticks it polls the drivers, so
//!   remote spawns, timers and sockets are never starved by local work.
//! * **When is a sleeping worker woken?** When work a sibling could take is queued, some
//!   worker sleeps, and no other wake is in flight ([`Shared::notify_one`]). A wake costs
//!   microseconds here, so at most one is in flight; the woken worker passes it on if it
//!   finds more work than it takes. A worker goes to sleep by *announcing* it (in
//!   [`idle`]), re-checking every queue, and only then parking, so a task queued in
//!   between is never stranded (loom models in `idle.rs` and `loom_tests.rs`).
//!
//! One sleeping worker parks in the driver (epoll/timers); the others park on their own
//! condvar parker. Waking worker `i` unparks its parker and, if `i` is the one in the
//! driver (`driver_owner`), the driver too. The two sides order themselves like this:
//!
//! | waker (`unpark_worker`) | sleeper (`Worker::park`) |
//! |---|---|
//! | 1. store the parker token | 1. `driver_owner = i + 1` |
//! | 2. `fence(SeqCst)` | 2. `fence(SeqCst)` |
//! | 3. if `driver_owner == i + 1`: notify the reactor | 3. if no token: block in the driver |
//!
//! Either the sleeper sees the token (and does not block) or the waker sees the owner
//! (and notifies the reactor). A token left over makes a later park return at once: a
//! spurious wake-up, which callers tolerate.
//!
//! Next to read: `src/runtime/multi_thread/local.rs`, then `idle.rs` and `worker.rs`.

mod idle;
mod local;
mod worker;

#[cfg(test)]
mod loom_tests;

use super::{blocking, context, scheduler};
use crate::driver::{self, Driver};
use crate::loom::queue::Injector;
use crate::loom::sync::atomic::{fence, AtomicBool, AtomicUsize, Ordering::SeqCst};
use crate::loom::sync::{Arc, Mutex};
use crate::park::{Parker, Unparker};
use crate::task::{Notified, OwnedTasks};
#[cfg(doc)]
use local::MAX_RUN_NEXT_STREAK;
use std::future::Future;
use std::io;
use std::pin::pin;
use std::task::{Context, Poll, Wake, Waker};

/// A worker looks at the injection queue before its own queue every this many ticks.
/// Same number as tokio's starting value: a remote spawn waits at most 61 local polls
/// (plus the tasks queued before it), however busy the worker; a smaller N would pay the
/// injector's cost (a few atomic operations, even when empty) more often for no gain.
pub(crate) const GLOBAL_INTERVAL: u32 = 61;

type Task = Notified<scheduler::Handle>;

/// State shared by the workers, every handle and every waker of one runtime.
pub(crate) struct Shared {
    pub(crate) owned: OwnedTasks<scheduler::Handle>,
    pub(crate) driver: Arc<driver::Handle>,
    pub(crate) blocking: blocking::Spawner,
    /// Tasks spawned or woken outside the workers.
    injector: Injector<Task>,
    /// One queue (plus run-next slot) per worker; idle siblings steal from the queue.
    locals: Box<[Mutex<local::Local<Task>>]>,
    /// Who is asleep (see `idle.rs`).
    idle: idle::Idle,
    /// How to wake each worker.
    unparkers: Box<[Unparker]>,
    /// The driver, held by the worker that parks in it (or polls it between tasks).
    driver_slot: Mutex<Option<Driver>>,
    /// `i + 1` while worker `i` is parked in the driver; 0 otherwise.
    driver_owner: AtomicUsize,
    /// A sleeping worker was unparked to take new work and has not looked yet. While it
    /// is set, `notify_one` wakes nobody else: that worker will see the new task too.
    waking: AtomicBool,
    /// How many workers are in their pre-park spin (`Worker::spin`); at most half of the
    /// workers (at least one) spin at once, so a pool larger than the machine does not
    /// spend its CPUs looking for work.
    spinning: AtomicUsize,
    /// Set once when the runtime is dropped.
    shutdown: AtomicBool,
    /// Set by the worker that cancels every task at shutdown (exactly one does).
    drained: AtomicBool,
}

/// The worker threads, joined at shutdown.
pub(crate) struct Workers {
    threads: Vec<crate::loom::thread::JoinHandle<()>>,
}

/// Builds the shared state and starts `n` workers, with stacks of `stack_size` bytes
/// (`None`: std's default, 2 MiB).
pub(crate) fn start(
    n: usize,
    stack_size: Option<usize>,
    blocking: blocking::Spawner,
) -> io::Result<(Arc<Shared>, Workers)> {
    let (driver, driver_handle) = Driver::new()?;
    let parkers: Vec<Parker> = (0..n).map(|_| Parker::new()).collect();
    let shared = Arc::new(Shared {
        owned: OwnedTasks::new(),
        driver: Arc::new(driver_handle),
        blocking,
        injector: Injector::new(),
        locals: (0..n).map(|_| Mutex::new(local::Local::new())).collect(),
        idle: idle::Idle::new(n),
        spinning: AtomicUsize::new(0),
        unparkers: parkers.iter().map(Parker::unparker).collect(),
        driver_slot: Mutex::new(Some(driver)),
        driver_owner: AtomicUsize::new(0),
        waking: AtomicBool::new(false),
        shutdown: AtomicBool::new(false),
        drained: AtomicBool::new(false),
    });
    let handle = scheduler::Handle::MultiThread(shared.clone());
    let mut workers = Workers { threads: Vec::with_capacity(n) };
    for (index, parker) in parkers.into_iter().enumerate() {
        let worker_handle = handle.clone();
        let mut builder = crate::loom::thread::Builder::new().name(format!("clockwork-worker-{index}"));
        if let Some(size) = stack_size {
            builder = builder.stack_size(size);
        }
        let spawned = builder.spawn(move || worker::run(worker_handle, index, parker));
        match spawned {
            Ok(thread) => workers.threads.push(thread),
            Err(error) => {
                shutdown(&handle, &shared, &mut workers);
                return Err(error);
            }
        }
    }
    Ok((shared, workers))
}

impl Shared {
    /// An id for this runtime, to recognise its own worker threads.
    fn id(&self) -> usize {
        self as *const Shared as usize
    }

    /// Queues a task: on one of this runtime's workers, into that worker's run-next slot
    /// (or, for a task that woke itself during its poll, the back of its queue); from
    /// anywhere else, into the injection queue. Wakes a sleeper only if there is work a
    /// sibling could take: a task that merely landed in the slot will run on this worker
    /// next, and waking a sibling for it (microseconds) would cost more than running it.
    pub(crate) fn schedule(&self, task: Task, yielded: bool) {
        match context::worker() {
            Some((runtime, index)) if runtime == self.id() => {
                let surplus = {
                    let mut local = self.locals[index].lock();
                    if yielded {
                        local.push_yielded(task);
                        true
                    } else {
                        local.push_run_next(task)
                    }
                };
                // No wake-up either while this worker is parked in the driver, firing
                // events and timers: it is still listed as asleep, so `notify_one` might
                // pick this very worker (a wasted reactor notification). It shares any
                // surplus itself once awake (`Worker::park`).
                if !surplus || self.driver_owner.load(SeqCst) == index + 1 {
                    return;
                }
            }
            _ => {
                self.injector.push(task);
                fence(SeqCst); // pairs with the fence in `shutdown` (closing the injector)
                if self.shutdown.load(SeqCst) {
                    self.drain_injector(); // shut down: our entry must not stay stranded
                    return;
                }
            }
        }
        self.notify_one();
    }

    /// Wakes one sleeping worker, unless one is already on its way.
    ///
    /// Waking a parked thread costs microseconds on these machines, far more than running
    /// a task, so at most one wake is in flight (`waking`). The woken worker clears the
    /// flag and, if it then finds more work queued than it can take, wakes the next one
    /// ([`Shared::woken_worker_found_work`]): workers ramp up one at a time instead of in
    /// a thundering herd. Rejected alternative: wake a sleeper per queued task (what the
    /// first version did), which made 100k remote spawns 4.6x slower than smol.
    ///
    /// | `waking` | event | becomes |
    /// |---|---|---|
    /// | `false` | `notify_one` takes a sleeper off the list | `true`, and that sleeper is unparked |
    /// | `false` | `notify_one` finds the list empty after setting it | `false` again |
    /// | `true` | `notify_one` | `true`: skip, the woken worker will see this task (it clears the flag *before* it looks) |
    /// | `true` | the woken worker finds itself off the list ([`Shared::woke_up`]) | `false` |
    fn notify_one(&self) {
        fence(SeqCst); // pairs with the fences in `Worker::park` and `woke_up`
        if self.waking.load(SeqCst) || self.idle.num_sleeping() == 0 {
            return;
        }
        if self.waking.swap(true, SeqCst) {
            return; // another thread started a wake just now
        }
        match self.idle.wake_one() {
            Some(index) => self.unpark_worker(index),
            None => self.waking.store(false, SeqCst), // everyone woke up meanwhile
        }
    }

    /// Called by a worker that was woken by `notify_one`, before it looks for work.
    fn woke_up(&self) {
        self.waking.store(false, SeqCst);
        fence(SeqCst); // pairs with the fence in `notify_one`
    }

    /// A woken worker found a task; if more are waiting anywhere, pass the wake-up on.
    /// Checking every queue (not only the injector) matters: tasks skipped by
    /// `notify_one` while our wake was in flight may sit in a busy sibling's queue.
    fn woken_worker_found_work(&self) {
        if self.has_work() {
            self.notify_one();
        }
    }

    fn unpark_worker(&self, index: usize) {
        self.unparkers[index].unpark();
        fence(SeqCst); // pairs with the fence after `driver_owner` is set in `Worker::park`
        if self.driver_owner.load(SeqCst) == index + 1 {
            self.driver.unpark();
        }
    }

    /// Whether any queue holds a task, run-next slots included (checked by a woken worker
    /// that found a task, to pass the wake-up on).
    fn has_work(&self) -> bool {
        !self.injector.is_empty() || self.locals.iter().any(|local| !local.lock().is_empty())
    }

    /// Whether worker `index` could take a task right now: the injector, its own queue, or
    /// a sibling's FIFO (checked by a worker after announcing sleep, and while spinning).
    /// Unlike [`Shared::has_work`] it ignores siblings' run-next slots, which cannot be
    /// stolen: a spinning worker that counted them would wake up, find nothing to steal,
    /// and spin again, hammering the busy sibling's lock (it made `chained_spawn`, one task
    /// in a slot at a time, 3× slower); a parking worker that counted them never parked.
    fn has_stealable_work(&self, index: usize) -> bool {
        !self.injector.is_empty()
            || self.locals.iter().enumerate().any(|(i, local)| {
                let local = local.lock();
                if i == index {
                    !local.is_empty()
                } else {
                    local.has_surplus()
                }
            })
    }

    fn drain_injector(&self) {
        while let Some(task) = self.injector.pop() {
            drop(task);
        }
    }
}

/// A thread that is not a worker blocks on `future`, parked on a private parker.
#[track_caller] // the nested-`block_on` panic names the caller's line
pub(crate) fn block_on<F: Future>(handle: &scheduler::Handle, _shared: &Arc<Shared>, future: F) -> F::Output {
    let _enter = context::enter_runtime(handle);
    let mut future = pin!(future);
    let mut parker = Parker::new();
    let waker = Waker::from(std::sync::Arc::new(ThreadWaker(parker.unparker())));
    let mut cx = Context::from_waker(&waker);
    loop {
        // With a budget, like a task's poll: not to share this thread (no task runs on
        // it), but so that the branches of a `join!` or `select!` in this future take
        // turns, as they do in a task (tokio budgets its `block_on` too). A budget spent
        // wakes `waker`, so the park below returns at once and the next poll starts fresh.
        if let Poll::Ready(output) = crate::task::coop::budgeted(|| future.as_mut().poll(&mut cx)) {
            return output;
        }
        parker.park();
    }
}

/// `yield_now` in the future of a multi-thread `block_on`: that future is polled on the
/// calling thread, so waking itself would just poll it again at once, before any worker
/// has looked at the tasks it spawned. Instead this sends a marker task through the
/// injection queue (first in, first out) that wakes `waker` when it has run, or when it is
/// dropped unrun because the runtime shut down, so the caller can never be left waiting.
/// Returns `false`, doing nothing, anywhere else (in a task, or on a current-thread
/// runtime, whose loop already runs the queued tasks first).
pub(crate) fn pass_the_turn_of_block_on(waker: &Waker) -> bool {
    if !context::is_in_runtime() || context::worker().is_some() {
        return false;
    }
    let Some(handle @ scheduler::Handle::MultiThread(_)) = context::current() else {
        return false;
    };
    let marker = WakeOnDrop(waker.clone());
    let name = crate::trace::TaskName { name: Some("yield_now marker"), ..crate::trace::TaskName::caller() };
    drop(handle.spawn_named(async move { drop(marker) }, name));
    true
}

/// Wakes its waker when dropped: after the marker task ran, or with the task unrun.
struct WakeOnDrop(Waker);

impl Drop for WakeOnDrop {
    fn drop(&mut self) {
        self.0.wake_by_ref();
    }
}

/// Wakes a thread blocked in `block_on`.
struct ThreadWaker(Unparker);

impl Wake for ThreadWaker {
    fn wake(self: std::sync::Arc<Self>) {
        self.0.unpark();
    }
    fn wake_by_ref(self: &std::sync::Arc<Self>) {
        self.0.unpark();
    }
}

/// Stops the workers, cancels every task (on a worker), joins the threads, then shuts
/// down the drivers and the blocking pool.
pub(crate) fn shutdown(handle: &scheduler::Handle, shared: &Shared, workers: &mut Workers) {
    begin_shutdown(shared);
    for thread in workers.threads.drain(..) {
        // The runtime may be dropped on one of its own workers while a panic unwinds out
        // of a task there (`Runtime::drop` refuses otherwise): that worker cannot be
        // joined from itself. It sees the flag once its poll has unwound, and exits.
        if thread.thread().id() != crate::loom::thread::current().id() {
            let _ = thread.join();
        }
    }
    // As on the current-thread runtime: destructors run below must not `block_on`.
    let _enter = context::enter_for_shutdown(handle);
    // Normally a worker did this; if no worker ever started, do it here.
    if !shared.drained.swap(true, SeqCst) {
        cancel_all_tasks(shared);
    }
    // Queue entries left behind only hold references now: drop them.
    shared.drain_injector();
    for local in shared.locals.iter() {
        let entries = local.lock().take_all();
        drop(entries); // outside the lock: dropping an entry may run a task's destructor
    }
    if let Some(mut driver) = shared.driver_slot.lock().take() {
        driver.shutdown(&shared.driver);
    }
    shared.blocking.shutdown();
}

/// The first step of [`shutdown`]: raise the flag and wake every worker. The workers then
/// leave their loops, and the last one out cancels every task.
fn begin_shutdown(shared: &Shared) {
    shared.shutdown.store(true, SeqCst);
    fence(SeqCst);
    for index in 0..shared.unparkers.len() {
        shared.unpark_worker(index);
    }
    shared.driver.unpark();
}

/// Closes the owned list and cancels every task (no lock held while futures drop).
fn cancel_all_tasks(shared: &Shared) {
    for task in shared.owned.close_and_drain() {
        task.shutdown();
    }
}
