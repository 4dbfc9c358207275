//! One registered socket: its readiness per direction, its waiting tasks, and the type that
//! keeps it registered exactly as long as its file descriptor is open.
//!
//! **What this teaches.** Two small records carry the whole readiness protocol:
//!
//! * [`Source`] is shared between the reactor (which *sets* readiness when an event arrives)
//!   and the I/O object (which *clears* it when the kernel says `WouldBlock`). For each
//!   direction it holds a `ready` flag, a `tick` counting the events seen, and the wakers of
//!   the tasks waiting for that direction.
//! * [`Registration`] owns the socket itself. Its constructor holds the crate's single
//!   `unsafe` call into `polling` (`Poller::add`), and its destructor is what makes that call
//!   sound: the descriptor is deleted from the poller *before* the socket closes.
//!
//! **The lost-wakeup race, and the tick that closes it** (reliability scenario 42). With
//! edge-triggered polling the kernel reports a change only once. Suppose a task reads, gets
//! `WouldBlock`, and is about to clear `ready`; meanwhile data arrives and the reactor sets
//! `ready` again. If the task now clears the flag blindly, that edge is gone and the task
//! sleeps forever with data waiting. So [`Source::poll_ready`] hands out the tick it saw,
//! and [`Source::clear_ready`] clears only if the tick is still the same: a newer event
//! wins. Rejected alternative: re-checking with a second syscall after clearing, which
//! costs a read per wait.
//!
//! **Who waits, and how they leave.** An `async` socket call's future keeps a [`Waiter`],
//! the key of its own slot among the direction's waiters, and gives the slot back when it
//! is dropped; a `poll_read` / `poll_write` (the `futures-io` traits), which has nowhere to
//! keep a key, leaves only its waker, pruned as `direction.rs` explains.
//!
//! Next to read: `src/reactor/direction.rs`, the waiters of one direction.

use super::direction::DirectionState;
use super::{event_key, Reactor};
use crate::loom::sync::{Arc, Mutex, MutexGuard};
use crate::trace::{self, Kind};
use crate::util::slab::Key;
use polling::{Event, PollMode};
use std::future::poll_fn;
use std::io;
use std::os::fd::{AsFd, AsRawFd};
use std::task::{Context, Poll, Waker};

/// Which way the data flows. Readiness, ticks and wakers are kept per direction, so a task
/// waiting to write is not woken by incoming data and vice versa.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Direction {
    /// Readable: data, a new connection, end of stream or an error is waiting.
    Read = 0,
    /// Writable: send buffer space, a finished connect, or an error.
    Write = 1,
}

/// The readiness record of one registered socket, shared by the reactor and the I/O object.
#[derive(Debug)]
pub(crate) struct Source {
    state: Mutex<SourceState>,
}

#[derive(Debug)]
struct SourceState {
    directions: [DirectionState; 2],
    /// Set once by [`Reactor::shutdown`]: every wait now fails instead of sleeping forever.
    shut_down: bool,
}

/// Proof that a direction was ready at a given tick; passed back to [`Source::clear_ready`].
#[derive(Clone, Copy, Debug)]
pub(crate) struct ReadyTick(u64);

impl Source {
    pub(super) fn new() -> Source {
        let state =
            SourceState { directions: [DirectionState::new(), DirectionState::new()], shut_down: false };
        Source { state: Mutex::new(state) }
    }

    /// Ready now: returns the tick to clear with. Not ready: stores `cx`'s waker, in the
    /// slot `*key` names if the caller keeps a key (an `async` operation's [`Waiter`]),
    /// else in the unkeyed list (once per task, thanks to `will_wake`), and returns
    /// `Pending`. After shutdown: an error.
    pub(crate) fn poll_ready(
        &self,
        direction: Direction,
        cx: &mut Context<'_>,
        mut key: Option<&mut Option<Key>>,
    ) -> Poll<io::Result<ReadyTick>> {
        // A waker is cloned with the lock released (a foreign waker's `clone` may run any
        // code, even this socket's), so a wait that must store one decides, clones, and
        // looks again: readiness may have come in between.
        let mut clone: Option<Waker> = None;
        loop {
            let state = self.state.lock();
            let dir = &state.directions[direction as usize];
            let result = if state.shut_down {
                Some(Err(runtime_gone()))
            } else if dir.ready {
                Some(Ok(ReadyTick(dir.tick)))
            } else if dir.has_waker(key.as_deref().copied(), cx.waker()) {
                None // already waiting with this task's waker
            } else if let Some(waker) = clone.take() {
                return self.store(state, direction, key.as_deref_mut(), waker);
            } else {
                drop(state);
                clone = Some(cx.waker().clone());
                continue;
            };
            drop(state);
            drop(clone); // an unneeded clone, dropped outside the lock
            return result.map_or(Poll::Pending, Poll::Ready);
        }
    }

    /// Stores `waker` (cloned outside the lock) for a wait on `direction`, then releases
    /// the lock and drops what the store displaced.
    fn store(
        &self,
        mut state: MutexGuard<'_, SourceState>,
        direction: Direction,
        key: Option<&mut Option<Key>>,
        waker: Waker,
    ) -> Poll<io::Result<ReadyTick>> {
        let dir = &mut state.directions[direction as usize];
        if let Some(key) = key {
            let replaced = dir.store_keyed(key, waker);
            drop(state);
            drop(replaced); // outside the lock: dropping a waker may run foreign code
            return Poll::Pending;
        }
        // Wakers of abandoned waits pile up on an idle socket: see `MAX_WAITERS`.
        let (finished, others) =
            if dir.wakers.len() >= dir.prune_at { dir.prune() } else { (Vec::new(), Vec::new()) };
        dir.wakers.push(waker);
        drop(state);
        drop(finished); // outside the lock: the last reference to a task frees it
        for waker in others {
            waker.wake(); // outside the lock, like every wake in the reactor
        }
        Poll::Pending
    }

    /// A waiting future went away: takes its slot out (a no-op if an event already did).
    fn stop_waiting(&self, direction: Direction, key: Key) {
        let removed = self.state.lock().directions[direction as usize].waiters.remove(key);
        drop(removed); // outside the lock
    }

    /// The kernel said `WouldBlock`: forget the readiness, unless an event arrived since
    /// `seen` was handed out (then the newer event stands and the caller simply retries).
    pub(crate) fn clear_ready(&self, direction: Direction, seen: ReadyTick) {
        let mut state = self.state.lock();
        let dir = &mut state.directions[direction as usize];
        if dir.tick == seen.0 {
            dir.ready = false;
        }
    }

    /// Called by the reactor for each event: marks the directions ready, bumps their ticks
    /// and moves their wakers into `wake_list` (woken later, after every lock is released).
    pub(super) fn set_ready(&self, readable: bool, writable: bool, wake_list: &mut Vec<Waker>) {
        let mut state = self.state.lock();
        for (dir, hit) in state.directions.iter_mut().zip([readable, writable]) {
            if hit {
                dir.ready = true;
                dir.tick = dir.tick.wrapping_add(1);
                dir.release_waiters(wake_list);
            }
        }
    }

    /// Called by [`Reactor::shutdown`]: fail all future waits and release every waiter.
    pub(super) fn shut_down(&self, wake_list: &mut Vec<Waker>) {
        let mut state = self.state.lock();
        state.shut_down = true;
        for dir in &mut state.directions {
            dir.release_waiters(wake_list);
        }
    }
}

/// The error every I/O operation returns once its runtime has shut down.
pub(crate) fn runtime_gone() -> io::Error {
    io::Error::other("the clockwork runtime that owns this socket has shut down")
}

/// A socket registered with a reactor, owned together with its registration.
///
/// # Invariant
///
/// While a `Registration` exists its `io` is registered with `reactor`'s poller under `key`,
/// and `io`'s descriptor is open. `io` is never handed out by value, so nobody can close it
/// early; [`Drop`] deletes the descriptor from the poller *first* and only then drops `io`
/// (which closes it). This is the invariant `Poller::add`'s `# Safety` asks for, and it is
/// also what stops a reused descriptor number from inheriting our registration.
///
/// Even `mem::forget` cannot break it: forgetting a `Registration` forgets its owned `io`
/// too, so the descriptor stays open *and* registered (a leak, never a close while
/// registered). The crate registers owned std sockets only; one unit test registers a
/// borrowed `&UdpSocket`, whose borrow outlives the `Registration` it is dropped with.
#[derive(Debug)]
pub(crate) struct Registration<T: AsFd> {
    /// `Some` for the whole life of the value; taken only inside `drop`.
    io: Option<T>,
    source: Arc<Source>,
    pub(super) key: Key,
    reactor: Arc<Reactor>,
}

impl<T: AsFd> Registration<T> {
    /// Registers `io` (which must already be in non-blocking mode) for edge-triggered read
    /// and write readiness.
    pub(crate) fn new(reactor: Arc<Reactor>, io: T) -> io::Result<Registration<T>> {
        let (key, source) = reactor.insert_source()?;
        let interest = Event::all(event_key(key));
        // SAFETY: `Poller::add` requires the descriptor to be deleted from the poller before
        // it is closed. On success `io` moves into the `Registration` built below, which
        // keeps it open and registered together (see `# Invariant` on `Registration`) and
        // deletes it in `Drop` before dropping `io`. On failure nothing was registered and
        // `io` is dropped normally.
        let added = unsafe { reactor.poller().add_with_mode(&io.as_fd(), interest, PollMode::Edge) };
        if let Err(error) = added {
            // E.g. the same descriptor registered twice (EEXIST): undo our slot and report it;
            // the earlier registration is untouched (reliability scenario 46).
            reactor.remove_source(key);
            return Err(error);
        }
        trace::record(|| Kind::IoRegister { source: key.to_u64(), fd: io.as_fd().as_raw_fd() });
        Ok(Registration { io: Some(io), source, key, reactor })
    }

    /// The socket, for operations that do not need readiness (addresses, options).
    pub(crate) fn get_ref(&self) -> &T {
        self.io.as_ref().expect("Registration::io is only taken in drop")
    }

    /// Runs the non-blocking `op` until it stops saying `WouldBlock`, waiting for readiness
    /// in `direction` in between. The heart of every socket call in `net`. Each completed
    /// call spends one unit of the task's cooperative budget (`task/coop.rs`), so a socket
    /// that is always ready cannot keep its task running forever.
    pub(crate) fn poll_io<R>(
        &self,
        direction: Direction,
        cx: &mut Context<'_>,
        op: impl FnMut(&T) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        crate::task::coop::poll_budgeted(cx, |cx| self.poll_io_unbudgeted(direction, cx, None, op))
    }

    /// [`Registration::poll_io`] without the budget; `key` as in [`Source::poll_ready`].
    fn poll_io_unbudgeted<R>(
        &self,
        direction: Direction,
        cx: &mut Context<'_>,
        mut key: Option<&mut Option<Key>>,
        mut op: impl FnMut(&T) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        loop {
            let tick = match self.source.poll_ready(direction, cx, key.as_deref_mut()) {
                Poll::Ready(Ok(tick)) => tick,
                Poll::Ready(Err(error)) => return Poll::Ready(Err(error)),
                Poll::Pending => return trace::io_pending(self.key.to_u64(), direction == Direction::Read),
            };
            match op(self.get_ref()) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.source.clear_ready(direction, tick);
                }
                // A signal interrupted the syscall: nothing happened, so just try again.
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                result => return Poll::Ready(result),
            }
        }
    }

    /// The `async` form of [`Registration::poll_io`], with a keyed waiter: while the
    /// future waits it holds one slot of the direction's waiters, and dropping it (a read
    /// cancelled by `timeout` or `select!`) gives the slot back at once.
    pub(crate) async fn io<R>(
        &self,
        direction: Direction,
        mut op: impl FnMut(&T) -> io::Result<R>,
    ) -> io::Result<R> {
        let mut waiter = Waiter { source: &self.source, direction, key: None };
        poll_fn(|cx| {
            let key = Some(&mut waiter.key);
            let polled = crate::task::coop::poll_budgeted(cx, |cx| {
                self.poll_io_unbudgeted(direction, cx, key, &mut op)
            });
            if polled.is_ready() {
                // Done: a key it holds is stale already (only an event, which drains the
                // waiters, or shutdown, which does too, makes a waiting direction ready),
                // so the drop below need not take the lock to remove nothing.
                waiter.key = None;
            }
            polled
        })
        .await
    }

    /// The reactor this source is registered with (sockets accepted from a listener are
    /// registered with the same one).
    pub(crate) fn reactor(&self) -> &Arc<Reactor> {
        &self.reactor
    }
}

/// An `async` operation's place among its direction's waiters: the key of its slot once
/// it has waited. Dropping it takes the slot out, so a cancelled wait leaves nothing behind.
struct Waiter<'a> {
    source: &'a Source,
    direction: Direction,
    key: Option<Key>,
}

impl Drop for Waiter<'_> {
    fn drop(&mut self) {
        if let Some(key) = self.key {
            self.source.stop_waiting(self.direction, key);
        }
    }
}

#[cfg(all(test, not(loom)))]
impl<T: AsFd> Registration<T> {
    /// How many wakers wait on `direction`, keyed and unkeyed (for tests of the waiters).
    pub(crate) fn waiting(&self, direction: Direction) -> usize {
        let state = self.source.state.lock();
        let dir = &state.directions[direction as usize];
        dir.waiters.len() + dir.wakers.len()
    }
}

impl<T: AsFd> Drop for Registration<T> {
    fn drop(&mut self) {
        if let Some(io) = self.io.take() {
            // Delete first, close second: the order the `# Invariant` promises. An error here
            // (the descriptor was already gone from the poller) must not leak our slot, so
            // it is ignored and the slot is freed regardless (reliability scenario 38).
            let _ = self.reactor.poller().delete(io.as_fd());
            self.reactor.remove_source(self.key);
            drop(io);
        }
    }
}
