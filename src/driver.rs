//! The driver: what a runtime thread does when no task is ready.
//!
//! **What this teaches.** A runtime has exactly one way to wait: *park*. Everything a task
//! can wait for (another task's wake-up, a timer, a socket) must be able to end that wait.
//! So the driver is a stack:
//!
//! ```text
//!   scheduler ── park(timeout) ──▶ Driver
//!                                   ├─ time:  fire due timers, shorten the timeout to the next deadline
//!                                   └─ io:    wait in epoll/kqueue (or, under loom, a condvar Parker)
//!   any thread ── unpark() ──────▶ Handle  (Poller::notify, or Unparker::unpark)
//! ```
//!
//! The [`Driver`] is owned by the one thread that parks; the [`Handle`] is shared by every
//! thread (wakers, timers registered from elsewhere, spawns from outside) and is how they
//! end a park early.
//!
//! A park is three steps (`Driver::park_internal`):
//!
//! 1. ask the time driver for the next deadline and shorten the timeout to it (the time
//!    driver also records how long we will sleep, so an earlier timer registered meanwhile
//!    unparks us);
//! 2. block in the reactor (`epoll_wait` / `kevent` through `polling`) until an I/O event,
//!    an unpark (`Poller::notify`) or the timeout; under loom, which cannot model system
//!    calls, block on a condvar [`Parker`] instead;
//! 3. fire every timer that is now due, waking their tasks outside any lock.
//!
//! Next to read: `src/runtime/context.rs`.

#[cfg(loom)]
use crate::park::{Parker, Unparker};
use crate::time::clock::Clock;
#[cfg(not(loom))]
use crate::{loom::sync::Arc, reactor::Reactor};
use std::io;
use std::time::Duration;

/// The parking side of the driver stack; owned by the thread that parks.
#[derive(Debug)]
pub(crate) struct Driver {
    /// Under loom (no system calls) the bottom of the stack is a condvar parker.
    #[cfg(loom)]
    park: Parker,
}

/// The shared side: lets any thread end a park, and gives resources (timers, sockets)
/// their way in.
#[derive(Debug)]
pub(crate) struct Handle {
    #[cfg(loom)]
    unparker: Unparker,
    /// The epoll/kqueue reactor: parking waits in it, unparking notifies it.
    #[cfg(not(loom))]
    reactor: Arc<Reactor>,
    time: crate::time::driver::Handle,
    /// The runtime's event recorder, if it was built with tracing on (see `src/trace/`).
    pub(crate) trace: crate::trace::Slot,
}

impl Driver {
    /// Builds the driver stack and its shared handle.
    pub(crate) fn new() -> io::Result<(Driver, Handle)> {
        Driver::with_clock(Clock::real())
    }

    /// Like [`Driver::new`], with timers read from `clock` (a manual clock in tests).
    pub(crate) fn with_clock(clock: Clock) -> io::Result<(Driver, Handle)> {
        let time = crate::time::driver::Handle::new(clock);
        #[cfg(loom)]
        {
            let park = Parker::new();
            let unparker = park.unparker();
            Ok((Driver { park }, Handle { unparker, time, trace: Default::default() }))
        }
        #[cfg(not(loom))]
        {
            let reactor = Arc::new(Reactor::new()?);
            Ok((Driver {}, Handle { reactor, time, trace: Default::default() }))
        }
    }

    /// Blocks until something may have become ready: an unpark, a timer, an I/O event.
    pub(crate) fn park(&mut self, handle: &Handle) {
        self.park_internal(handle, None);
    }

    /// Like [`Driver::park`] but waits at most `timeout`; `Duration::ZERO` only polls the
    /// drivers for events that are already due (and fires due timers) without blocking.
    pub(crate) fn park_timeout(&mut self, handle: &Handle, timeout: Duration) {
        self.park_internal(handle, Some(timeout));
    }

    /// The three steps of a park (see the module docs); `limit` is the caller's timeout.
    fn park_internal(&mut self, handle: &Handle, limit: Option<Duration>) {
        let time = &handle.time;
        let timeout = time.before_park(limit);
        self.block(handle, timeout);
        time.process(time.clock().now_tick());
    }

    /// Step 2: block until an event, an unpark or the timeout (`None` = no timeout).
    #[cfg(not(loom))]
    fn block(&mut self, handle: &Handle, timeout: Option<Duration>) {
        // A non-blocking look with no socket registered could only drain a stale
        // `notify`, yet costs ~1 µs of system calls: busy runtimes without sockets do this
        // every 61 polls. A skipped notify just makes the next blocking wait return early.
        if timeout == Some(Duration::ZERO) && handle.reactor.source_count() == 0 {
            return;
        }
        // Only the poller itself failing ends up here: polling retries EINTR, and readiness
        // errors of single sockets are delivered to their tasks, not returned.
        handle.reactor.wait(timeout).expect("the reactor's poller failed");
    }

    #[cfg(loom)]
    fn block(&mut self, _handle: &Handle, timeout: Option<Duration>) {
        match timeout {
            None => self.park.park(),
            Some(timeout) => self.park.park_timeout(timeout),
        }
    }

    /// Called once at runtime shutdown, after every task is dropped: wakes every timer
    /// still registered, so that nothing waits on a driver that will never fire again.
    pub(crate) fn shutdown(&mut self, handle: &Handle) {
        handle.time.shutdown();
        // Sockets: refuse new registrations, wake every waiter so it sees an error, and
        // drop stored wakers (breaking the reactor → waker → task → socket cycle).
        #[cfg(not(loom))]
        handle.reactor.shutdown();
    }
}

impl Handle {
    /// The time driver: the wheel of timers that `park` fires.
    pub(crate) fn time(&self) -> &crate::time::driver::Handle {
        &self.time
    }

    /// Ends the current (or next) park of the driver.
    pub(crate) fn unpark(&self) {
        #[cfg(loom)]
        self.unparker.unpark();
        #[cfg(not(loom))]
        self.reactor.notify();
    }

    /// The reactor sockets register with (see `reactor::current`).
    #[cfg(not(loom))]
    pub(crate) fn reactor(&self) -> &Arc<Reactor> {
        &self.reactor
    }
}
