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
//! This first version is the bottom of the stack only: a condvar [`Parker`]. The timer
//! wheel and the reactor slot in above it without changing the scheduler's side.
//!
//! Next to read: `src/runtime/context.rs`.

use crate::park::{Parker, Unparker};
use std::io;
use std::time::Duration;

/// The parking side of the driver stack; owned by the thread that parks.
#[derive(Debug)]
pub(crate) struct Driver {
    park: Parker,
}

/// The shared side: lets any thread end a park, and gives resources (timers, sockets)
/// their way in.
#[derive(Debug)]
pub(crate) struct Handle {
    unparker: Unparker,
}

impl Driver {
    /// Builds the driver stack and its shared handle.
    pub(crate) fn new() -> io::Result<(Driver, Handle)> {
        let park = Parker::new();
        let handle = Handle { unparker: park.unparker() };
        Ok((Driver { park }, handle))
    }

    /// Blocks until something may have become ready: an unpark, a timer, an I/O event.
    pub(crate) fn park(&mut self, _handle: &Handle) {
        self.park.park();
    }

    /// Like [`Driver::park`] but waits at most `timeout`; `Duration::ZERO` only polls the
    /// drivers for events that are already due.
    pub(crate) fn park_timeout(&mut self, _handle: &Handle, timeout: Duration) {
        self.park.park_timeout(timeout);
    }

    /// Called once at runtime shutdown, after every task is dropped: wakes anything still
    /// registered with the drivers so that it sees the runtime is gone.
    pub(crate) fn shutdown(&mut self, _handle: &Handle) {}
}

impl Handle {
    /// Ends the current (or next) park of the driver.
    pub(crate) fn unpark(&self) {
        self.unparker.unpark();
    }
}
