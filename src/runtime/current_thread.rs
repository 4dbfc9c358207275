//! The current-thread runtime: one run queue, driven by whichever thread is in `block_on`.
//!
//! **What this teaches.** The whole scheduling loop fits on one screen ([`Core::block_on`]):
//!
//! 1. if the `block_on` future was woken, poll it; if it is `Ready`, return its output.
//!    If it woke itself while being polled (`yield_now`), it is not polled again until
//!    the tasks queued at that moment have run, as a yielding task would wait behind
//!    them;
//! 2. run tasks from the queue, oldest first, until it is empty or [`EVENT_INTERVAL`]
//!    polls (of tasks and of the root future) have happened since the drivers were last
//!    polled;
//! 3. after [`EVENT_INTERVAL`] polls, poll the drivers *without blocking* (timers and
//!    sockets must not starve behind busy tasks), and go to 1;
//! 4. if the queue is empty and the root future was not woken: announce "parked", check
//!    once more, and park in the driver until a wake-up, a timer or an I/O event.
//!
//! Wakers call [`Shared::schedule`]: push the task, then unpark the driver only if the
//! loop announced it is parked. The announce-then-recheck on one side and the
//! push-then-check on the other, each with a `SeqCst` fence in between, guarantee that at
//! least one side sees the other, so no wake-up is lost (checked by the loom model
//! `loom_spawn_from_another_thread_against_park` in `current_thread_tests.rs`).
//!
//! Only tasks run inside `block_on`: a spawned task waits until some thread drives the
//! runtime. A second thread calling `block_on` on the same runtime while the first holds
//! the core waits for its own future (and for the core) on a private parker.
//!
//! Next to read: `src/runtime/multi_thread/mod.rs`.

use super::{blocking, context, scheduler};
use crate::driver::{self, Driver};
use crate::loom::sync::atomic::{fence, AtomicBool, AtomicU64, Ordering::SeqCst};
use crate::loom::sync::{Arc, Mutex};
use crate::park::{Parker, Unparker};
use crate::task::{Notified, OwnedTasks};
use std::collections::VecDeque;
use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

/// Tasks run between two looks at the drivers (timers, I/O) when the queue never empties.
/// The same number tokio uses: large enough that the ~1 µs a driver poll costs is spread
/// thin, small enough that a timer is at most ~61 task polls late.
pub(crate) const EVENT_INTERVAL: u32 = 61;

type Task = Notified<scheduler::Handle>;

/// A queue entry: the task, and for a task that woke itself during its poll, the driver
/// look count at that moment (`Core::look_at_drivers`).
type Queued = (Task, Option<u64>);

/// State shared by every handle, waker and thread of one current-thread runtime.
pub(crate) struct Shared {
    /// The run queue. `None` once the runtime shut down: new entries are dropped. A task
    /// that woke itself during its poll (`yield_now`, a spent budget) carries the
    /// [`Shared::driver_polls`] count it yielded at (see `Core::look_at_drivers`).
    queue: Mutex<Option<VecDeque<Queued>>>,
    /// How many times the core has looked at the drivers (timers, sockets).
    driver_polls: AtomicU64,
    pub(crate) owned: OwnedTasks<scheduler::Handle>,
    pub(crate) driver: Arc<driver::Handle>,
    pub(crate) blocking: blocking::Spawner,
    /// The thread holding the core announced it is about to park (or is parked).
    parked: AtomicBool,
    /// The core: the queue-runner's private state. Whoever holds it runs the tasks.
    core: Mutex<Option<Core>>,
    /// Threads in `block_on` waiting for the core to become free.
    core_waiters: Mutex<Vec<Unparker>>,
    /// Set when the runtime is dropped: a thread running the tasks gives the core back
    /// between two polls, and no thread takes it again (the shutdown needs it).
    shutting_down: AtomicBool,
}

/// What the thread that runs tasks owns exclusively.
struct Core {
    driver: Driver,
}

impl Shared {
    pub(crate) fn new(blocking: blocking::Spawner) -> std::io::Result<Arc<Shared>> {
        let (driver, driver_handle) = Driver::new()?;
        Ok(Arc::new(Shared {
            queue: Mutex::new(Some(VecDeque::new())),
            driver_polls: AtomicU64::new(0),
            owned: OwnedTasks::new(),
            driver: Arc::new(driver_handle),
            blocking,
            parked: AtomicBool::new(false),
            core: Mutex::new(Some(Core { driver })),
            core_waiters: Mutex::new(Vec::new()),
            shutting_down: AtomicBool::new(false),
        }))
    }

    /// Queues a woken or spawned task, and wakes the driving thread if it is parked.
    pub(crate) fn schedule(&self, task: Task) {
        self.push(task, None);
    }

    /// Queues a task that woke itself during its own poll: behind every ready task, and
    /// not to run again before the drivers have been looked at (see `Core::look_at_drivers`).
    pub(crate) fn schedule_yielded(&self, task: Task) {
        self.push(task, Some(self.driver_polls.load(SeqCst)));
    }

    fn push(&self, task: Task, yielded_at: Option<u64>) {
        let rejected = match self.queue.lock().as_mut() {
            Some(queue) => {
                queue.push_back((task, yielded_at));
                None
            }
            None => Some(task), // shut down: drop it below, outside the lock
        };
        if let Some(task) = rejected {
            drop(task);
            return;
        }
        self.unpark_if_parked();
    }

    fn unpark_if_parked(&self) {
        fence(SeqCst); // pairs with the fence in `park`: see the module doc
        if self.parked.load(SeqCst) {
            self.driver.unpark();
        }
    }

    fn pop(&self) -> Option<Queued> {
        self.queue.lock().as_mut()?.pop_front()
    }

    fn queue_len(&self) -> usize {
        self.queue.lock().as_ref().map_or(0, VecDeque::len)
    }

    fn has_ready_tasks(&self) -> bool {
        self.queue.lock().as_ref().is_some_and(|q| !q.is_empty())
    }

    fn take_core(&self) -> Option<Core> {
        self.core.lock().take()
    }

    fn take_core_unless_shutting_down(&self) -> Option<Core> {
        if self.shutting_down.load(SeqCst) {
            return None;
        }
        self.take_core()
    }

    /// Lists `me` among the threads to wake when the core comes back (once, however often
    /// the caller wakes up: the list is only emptied then, and one entry per wake-up of a
    /// busy future grew without bound), and says whether the core is free already: it may
    /// have come back between the caller's look and this registration.
    fn wait_for_core(&self, me: Unparker) -> bool {
        let mut waiters = self.core_waiters.lock();
        if !waiters.iter().any(|w| w.wakes_same_parker(&me)) {
            waiters.push(me);
        }
        drop(waiters);
        self.core.lock().is_some()
    }

    fn return_core(&self, core: Core) {
        *self.core.lock() = Some(core);
        for waiter in std::mem::take(&mut *self.core_waiters.lock()) {
            waiter.unpark();
        }
    }
}

/// The `block_on` future's waker: sets a flag and unparks whoever waits for it.
struct RootWaker {
    woken: AtomicBool,
    shared: Arc<Shared>,
    /// A thread waiting without the core parks here instead of in the driver.
    unparker: Option<Unparker>,
}

impl Wake for RootWaker {
    fn wake(self: std::sync::Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &std::sync::Arc<Self>) {
        self.woken.store(true, SeqCst);
        match &self.unparker {
            Some(unparker) => unparker.unpark(),
            None => self.shared.unpark_if_parked(),
        }
    }
}

/// Runs `future` to completion on the current-thread runtime `shared`.
#[track_caller] // the nested-`block_on` panic names the caller's line
pub(crate) fn block_on<F: Future>(handle: &scheduler::Handle, shared: &Arc<Shared>, future: F) -> F::Output {
    let _enter = context::enter_runtime(handle);
    let mut future = pin!(future);
    let mut parker = Parker::new();
    // Only a thread that waits without the core needs a waker of its own (the core's loop
    // builds one for its root future), so this one is made on first need.
    let mut waiting_root: Option<std::sync::Arc<RootWaker>> = None;
    loop {
        if let Some(core) = shared.take_core_unless_shutting_down() {
            // The guard returns the core even if the future (or a task) panics through us.
            let mut guard = CoreGuard { shared, core: Some(core) };
            let core = guard.core.as_mut().expect("just set");
            match core.block_on(shared, future.as_mut()) {
                Some(output) => return output,
                None => {
                    // The runtime is being dropped: the guard hands the core back. Our
                    // future was last polled with the core's waker, which wakes only the
                    // driver, and nobody drives it now: poll it again at once with this
                    // thread's own waker, so that its next wake-up reaches us.
                    if let Some(root) = &waiting_root {
                        root.woken.store(true, SeqCst);
                    }
                    continue;
                }
            }
        }
        // Another thread runs the tasks: wait for our own future, or for the core. Once
        // the runtime is being dropped, the core is never handed out again: only the
        // future is waited for.
        if !shared.shutting_down.load(SeqCst)
            && shared.wait_for_core(parker.unparker())
            && !shared.shutting_down.load(SeqCst)
        {
            continue; // the core came back between our two looks
        }
        let root = waiting_root.get_or_insert_with(|| {
            std::sync::Arc::new(RootWaker {
                woken: AtomicBool::new(true),
                shared: shared.clone(),
                unparker: Some(parker.unparker()),
            })
        });
        if root.woken.swap(false, SeqCst) {
            let waker = Waker::from(root.clone());
            // A budget of its own, as every `block_on` poll has: without one it would run
            // on whatever budget this thread had (a `spawn_blocking` closure's, say).
            let polled =
                crate::task::coop::budgeted(|| future.as_mut().poll(&mut Context::from_waker(&waker)));
            if let Poll::Ready(output) = polled {
                // Leave the waiting list: nobody needs to wake this call any more, and a
                // thread bridging into the runtime in a loop would otherwise leave one
                // entry per call until the core came back.
                let me = parker.unparker();
                shared.core_waiters.lock().retain(|w| !w.wakes_same_parker(&me));
                return output;
            }
        }
        parker.park();
    }
}

/// Gives the core back to `Shared` when `block_on` ends, normally or by unwinding.
struct CoreGuard<'a> {
    shared: &'a Shared,
    core: Option<Core>,
}

impl Drop for CoreGuard<'_> {
    fn drop(&mut self) {
        if let Some(core) = self.core.take() {
            self.shared.return_core(core);
        }
    }
}

impl Core {
    /// The scheduling loop (see the module doc). `None`: the runtime is being dropped, and
    /// the core must go back to the thread dropping it.
    fn block_on<F: Future>(
        &mut self,
        shared: &Arc<Shared>,
        mut future: std::pin::Pin<&mut F>,
    ) -> Option<F::Output> {
        let root = std::sync::Arc::new(RootWaker {
            woken: AtomicBool::new(true),
            shared: shared.clone(),
            unparker: None,
        });
        let waker = Waker::from(root.clone());
        let mut cx = Context::from_waker(&waker);
        // Polls (of tasks and of the root future) since the drivers were last looked at.
        let mut ticks = 0;
        // Tasks that were queued when the root future woke itself during its own poll
        // (`yield_now`, a spent budget): like a task, it goes behind all of them, so it is
        // not polled again until they have run (or the queue ran dry).
        let mut behind = 0;
        // The driver-look count at which the root future last woke itself, if it did.
        let mut root_yielded_at = None;
        loop {
            if shared.shutting_down.load(SeqCst) {
                return None;
            }
            if behind == 0 && root.woken.swap(false, SeqCst) {
                if root_yielded_at.take() == Some(shared.driver_polls.load(SeqCst)) {
                    self.look_at_drivers(shared); // see `look_at_drivers`
                }
                ticks += 1;
                // Budgeted like a task (`task/coop.rs`): the root future shares this thread.
                if let Poll::Ready(output) = crate::task::coop::budgeted(|| future.as_mut().poll(&mut cx)) {
                    return Some(output);
                }
                if root.woken.load(SeqCst) {
                    behind = shared.queue_len();
                    root_yielded_at = Some(shared.driver_polls.load(SeqCst));
                }
            }
            // The shutdown flag is looked at before every poll, so that a thread dropping
            // the runtime waits for one poll at most, not for a whole round of them.
            while ticks < EVENT_INTERVAL && !shared.shutting_down.load(SeqCst) {
                let Some((task, yielded_at)) = shared.pop() else {
                    behind = 0;
                    break;
                };
                if yielded_at == Some(shared.driver_polls.load(SeqCst)) {
                    // Not a reason to reset `ticks`: they also bound how long the root
                    // future waits, and tasks that keep yielding would starve it.
                    self.look_at_drivers(shared); // see `look_at_drivers`
                }
                task.run();
                ticks += 1;
                behind = behind.saturating_sub(1);
            }
            if ticks >= EVENT_INTERVAL {
                // Busy for a while: look at timers and sockets without sleeping. Only
                // every EVENT_INTERVAL polls: a driver poll is a ~1 µs system call, and
                // doing it on every wake of the root future once made a block_on ↔ task
                // ping-pong 10× slower.
                ticks = 0;
                self.look_at_drivers(shared);
            } else if !root.woken.load(SeqCst) {
                self.park(shared, &root); // the queue is empty: sleep until something happens
            }
        }
    }

    /// Looks at timers and sockets without sleeping, and counts the look.
    ///
    /// **Why a yield waits for this** (the two checks in `block_on` that compare a yield's
    /// count with the current one). A task, or the root future, that
    /// woke itself during its poll (`yield_now`, a spent budget) runs again only after the
    /// drivers have been looked at since it yielded; the tasks queued before it run first,
    /// as ever. Without this, a sender that yields every few sends while a receiver waits
    /// on a socket never let the reactor run at all (fewer than `EVENT_INTERVAL` polls
    /// went by between two yields): the receiver was never woken, and the kernel dropped
    /// three quarters of the datagrams (a real-client stress run). tokio does the same
    /// (it defers yielded tasks until after its driver poll). Cost: one ~1 µs driver look
    /// per round of yields, not one per yield: every task that yielded before the look
    /// counts it.
    fn look_at_drivers(&mut self, shared: &Shared) {
        self.driver.park_timeout(&shared.driver, Duration::ZERO);
        shared.driver_polls.fetch_add(1, SeqCst);
    }

    /// Announces "parked", re-checks for work, then sleeps in the driver.
    fn park(&mut self, shared: &Shared, root: &RootWaker) {
        shared.parked.store(true, SeqCst);
        fence(SeqCst); // pairs with the fence in `unpark_if_parked`
        if !shared.has_ready_tasks() && !root.woken.load(SeqCst) && !shared.shutting_down.load(SeqCst) {
            crate::trace::record(|| crate::trace::Kind::Park);
            self.driver.park(&shared.driver);
            shared.driver_polls.fetch_add(1, SeqCst);
            crate::trace::record(|| crate::trace::Kind::Unpark);
        }
        shared.parked.store(false, SeqCst);
    }
}

#[path = "current_thread_shutdown.rs"]
mod shutdown;
pub(crate) use shutdown::shutdown;

#[cfg(test)]
#[path = "current_thread_tests.rs"]
mod tests;
