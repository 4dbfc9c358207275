//! The reactor: turns "this socket is ready" from epoll/kqueue into "wake that task".
//!
//! **What this teaches.** A socket operation that would block returns `WouldBlock` instead,
//! and the task must sleep until the kernel says it is worth trying again. The readiness
//! path, end to end:
//!
//! 1. A task calls `stream.read(..)`. The socket is non-blocking; `read` says `WouldBlock`.
//! 2. The task **registers interest**: its waker is stored in the socket's [`Source`], in
//!    the *read* direction, and the future returns `Pending`. (The socket itself was
//!    registered with the poller once, when it was created: see [`Registration`].)
//! 3. The runtime runs out of tasks and parks in [`Reactor::wait`], which blocks in
//!    `epoll_wait` (Linux) or `kevent` (BSD, macOS) through the `polling` crate.
//! 4. Data arrives; the kernel reports **readiness**: an `Event` whose key names our
//!    source's slab slot.
//! 5. `wait` marks the read direction ready and collects its **waker**; once every lock is
//!    released, it wakes it. The waker puts the task back on the run queue.
//! 6. The task is **polled again**, retries `read`, and this time gets the data.
//!
//! **polling's contract, and how we keep it.**
//! * *Mode.* `polling` defaults to oneshot: after one event the interest is disabled and
//!   must be re-armed with `modify` (an `epoll_ctl` costing ~200 ns, paid per event). We
//!   register each socket **once, edge-triggered, for both directions**, and keep the
//!   readiness ourselves; see `DESIGN.md` §7 for why and for the tick that makes it safe.
//! * *One waiter.* Only one thread may be inside `Poller::wait`; a second caller gets 0
//!   events at once. Our `wait` takes the `wait_buffers` lock with `try_lock` and does the same.
//! * *Notify.* `Poller::notify` makes a current or next `wait` return; its event carries the
//!   reserved key `usize::MAX`, which we skip.
//! * *Delete before close.* A descriptor must leave the poller before it is closed;
//!   [`Registration`] owns the socket to guarantee it.
//!
//! Events are keyed by slab key (index + generation), never by file descriptor: if socket A
//! is closed and socket B reuses its descriptor number while A's event is still queued,
//! the stale key finds a newer generation and the event is dropped (reliability scenario 39).
//!
//! Next to read: `src/driver.rs`, which calls `wait` when the scheduler parks, then `src/net/`.

#![cfg(not(loom))]
// loom cannot model system calls; under loom the driver uses a condvar.

mod direction;
mod source;
#[cfg(test)]
pub(crate) mod tests;

pub(crate) use source::{Direction, Registration};

use crate::loom::sync::{Arc, Mutex};
use crate::trace::{self, Kind};
use crate::util::slab::{Key, Slab};
use polling::{Events, Poller};
use source::Source;
use std::io;
use std::task::Waker;
use std::time::Duration;

#[cfg(not(target_pointer_width = "64"))]
compile_error!(
    "the reactor packs a slab key (32-bit index, 32-bit generation) into polling's usize \
     event key, which needs a 64-bit target"
);

/// The event key of a slab key. Never `usize::MAX` (polling's notify key), because the slab
/// never hands out index `u32::MAX`.
fn event_key(key: Key) -> usize {
    key.to_u64() as usize
}

/// Owns the poller and the table of registered sources. `Send + Sync`: any thread may
/// register, deregister or `notify`; one thread at a time calls `wait`.
#[derive(Debug)]
pub(crate) struct Reactor {
    poller: Poller,
    /// Every registered source, found from an event's key. Lock order: `sources`, then a
    /// source's own lock; never the other way round.
    sources: Mutex<Sources>,
    /// The buffers `wait` reuses, so a steady-state `wait` allocates nothing. Holding this
    /// lock is the right to wait.
    wait_buffers: Mutex<WaitBuffers>,
}

#[derive(Debug)]
struct Sources {
    slab: Slab<Arc<Source>>,
    /// Set by [`Reactor::shutdown`]; new registrations are refused from then on.
    shut_down: bool,
}

#[derive(Debug)]
struct WaitBuffers {
    events: Events,
    wake_list: Vec<Waker>,
}

impl Reactor {
    /// Creates the poller (an epoll or kqueue instance).
    ///
    /// Fails with `Unsupported` on platforms where `polling` has no edge-triggered mode
    /// (its `poll(2)` and event-port backends); epoll and kqueue both have it.
    pub(crate) fn new() -> io::Result<Reactor> {
        let poller = Poller::new()?;
        if !poller.supports_edge() {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "clockwork's reactor needs edge-triggered polling (epoll or kqueue)",
            ));
        }
        let buffers = WaitBuffers { events: Events::new(), wake_list: Vec::new() };
        Ok(Reactor {
            poller,
            sources: Mutex::new(Sources { slab: Slab::new(), shut_down: false }),
            wait_buffers: Mutex::new(buffers),
        })
    }

    /// Blocks in the poller for at most `timeout` (`None`: until an event or a `notify`;
    /// `Some(ZERO)`: just collect what is already there), marks the reported sources ready
    /// and wakes their tasks. Returns the number of I/O events (notifications not counted).
    ///
    /// Only one thread may wait at a time; a second concurrent caller returns `Ok(0)` at once,
    /// as `Poller::wait` itself does. Signals (`EINTR`) are retried inside `polling`.
    pub(crate) fn wait(&self, timeout: Option<Duration>) -> io::Result<usize> {
        let Some(mut buffers) = self.wait_buffers.try_lock() else {
            return Ok(0);
        };
        let WaitBuffers { events, wake_list } = &mut *buffers;
        events.clear();
        trace::record(|| Kind::ReactorWait { timeout });
        match self.poller.wait(events, timeout) {
            Ok(_) => {}
            // polling >= 3.3 retries EINTR itself; should one still surface, it is nothing
            // worse than a spurious wake-up, and must not reach the tasks as an error.
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
        let readiness = events.iter().map(|e| (e.key, e.readable, e.writable));
        let io_events = self.dispatch(readiness, wake_list);
        trace::record(|| Kind::ReactorReturn { events: io_events });
        // Take the wakers out so no lock (not even our own buffers') is held while they run;
        // a waker may do anything, including drop a socket and deregister it.
        let mut to_wake = std::mem::take(wake_list);
        drop(buffers);
        WAKING_FOR.with(|w| w.set(self.id()));
        trace::waking(trace::Cause::Reactor, || wake_all(&mut to_wake));
        WAKING_FOR.with(|w| w.set(0));
        if let Some(mut buffers) = self.wait_buffers.try_lock() {
            buffers.wake_list = to_wake; // give the (empty) allocation back for next time
        }
        Ok(io_events)
    }

    /// Marks the sources named by `(key, readable, writable)` ready and moves their wakers
    /// into `wake_list`; returns how many I/O events there were. Split out of `wait` so a
    /// test can feed it events the kernel would never produce on demand (a stale key).
    fn dispatch(
        &self,
        readiness: impl Iterator<Item = (usize, bool, bool)>,
        wake_list: &mut Vec<Waker>,
    ) -> usize {
        let sources = self.sources.lock();
        let mut io_events = 0;
        // `usize::MAX` is polling's own key for `notify` (and its timer); not an I/O event.
        for (key, readable, writable) in readiness.filter(|&(key, ..)| key != usize::MAX) {
            io_events += 1;
            trace::record(|| Kind::IoReady { source: key as u64, readable, writable });
            // A stale key (the source was deregistered, maybe its descriptor already reused)
            // finds a newer generation or an empty slot: the event is simply dropped.
            if let Some(source) = sources.slab.get(Key::from_u64(key as u64)) {
                source.set_ready(readable, writable, wake_list);
            }
        }
        io_events
    }

    /// Makes the current `wait` (or, if none is running, the next one) return at once.
    ///
    /// Called by a waker that runs *inside* `wait`, on the waiting thread, it does nothing:
    /// that wait is already returning, and the scheduler looks at its queue before it
    /// waits again. Skipping it saves an eventfd write, its read and the re-arm of
    /// polling's notifier (three syscalls, ~1 µs) on every busy `wait`.
    pub(crate) fn notify(&self) {
        if WAKING_FOR.with(|w| w.get()) == self.id() {
            return;
        }
        // The only failure is a full or broken eventfd/pipe, in which case a wake-up is
        // already pending or the poller is unusable and the next `wait` reports it.
        let _ = self.poller.notify();
    }

    /// Called once when the runtime shuts down: refuses new registrations, makes every
    /// pending and future operation on existing sockets fail with an error, and wakes every
    /// waiting task so it sees that error instead of hanging (scenario 45).
    pub(crate) fn shutdown(&self) {
        let mut to_wake = Vec::new();
        {
            let mut sources = self.sources.lock();
            sources.shut_down = true;
            for (_, source) in sources.slab.iter() {
                source.shut_down(&mut to_wake);
            }
        }
        wake_all(&mut to_wake);
        self.notify();
    }

    /// The number of registered sources (the driver skips idle non-blocking waits).
    pub(crate) fn source_count(&self) -> usize {
        self.sources.lock().slab.len()
    }

    /// This reactor's identity for [`WAKING_FOR`]: its address, never 0.
    fn id(&self) -> usize {
        self as *const Reactor as usize
    }

    fn poller(&self) -> &Poller {
        &self.poller
    }

    /// Reserves a slot for a new source; fails once the reactor is shut down.
    fn insert_source(&self) -> io::Result<(Key, Arc<Source>)> {
        let mut sources = self.sources.lock();
        if sources.shut_down {
            return Err(source::runtime_gone());
        }
        let source = Arc::new(Source::new());
        let key = sources.slab.insert(source.clone());
        Ok((key, source))
    }

    /// Frees a source's slot. Its key becomes stale at once, so an event for it that is
    /// already sitting in the kernel's queue is ignored when it arrives.
    fn remove_source(&self, key: Key) {
        let removed = self.sources.lock().slab.remove(key);
        drop(removed); // outside the lock: the last `Arc<Source>` may drop wakers
    }
}

std::thread_local! {
    /// The reactor (by [`Reactor::id`]) whose `wait` this thread is finishing by running
    /// wakers, or 0. Lets `notify` recognise a pointless self-notification.
    static WAKING_FOR: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// Wakes every waker in `wakers` (emptying it), each inside `catch_unwind`: a waker that
/// panics is contained, and the others still run (reliability scenario 18).
fn wake_all(wakers: &mut Vec<Waker>) {
    for waker in wakers.drain(..) {
        crate::util::panic::contain(move || waker.wake());
    }
}

/// The reactor of the runtime this thread is running in.
///
/// # Panics
///
/// Outside a runtime, with a message naming `what` (e.g. `"TcpStream::connect"`) and
/// `called_at`, the user's line that made the future now being polled.
pub(crate) fn current(what: &str, called_at: &std::panic::Location<'_>) -> Arc<Reactor> {
    #[cfg(test)]
    if let Some(reactor) = tests::TEST_REACTOR.with(|r| r.borrow().clone()) {
        return reactor;
    }
    match crate::runtime::context::driver_handle() {
        Some(handle) => handle.reactor().clone(),
        None => panic!(
            "there is no clockwork runtime running: {what} (called at {called_at}) must be \
             awaited inside block_on or a spawned task"
        ),
    }
}
