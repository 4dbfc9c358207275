//! The task allocation: one `Box` per task holding the header, the scheduler hook, the
//! future and (later) its output.
//!
//! **What this teaches.** A spawned task must be reachable from three places that know
//! very different things: the run queue (knows nothing about the future's type), a waker
//! (knows even less: one data pointer and a vtable), and the `JoinHandle<T>` (knows only
//! the output type). So the allocation starts with a fixed-layout [`Header`] that everyone
//! can read, and the header points to a [`Vtable`] of functions that *were* compiled
//! knowing the full type `Cell<F, S>`. This is type erasure by hand, the same trick
//! `dyn Trait` uses, but written out so each pointer cast can be justified.
//!
//! ```text
//!   Box<Cell<F, S>>  (#[repr(C)]: the header is at offset 0)
//!   ┌───────────────────────────────┐
//!   │ Header   state: AtomicUsize   │ ◀── NonNull<Header>: what queues and wakers hold
//!   │          vtable ──────────────┼──▶ static Vtable { poll, schedule, dealloc, ... }
//!   │          id, owner key        │        (monomorphized for this F and S)
//!   │          join_waker           │
//!   ├───────────────────────────────┤
//!   │ scheduler: S                  │   how to re-queue the task when it is woken
//!   │ stage: Running(F)             │   then Finished(Result<F::Output, JoinError>)
//!   │        | Finished | Consumed  │   then Consumed once the JoinHandle took it
//!   └───────────────────────────────┘
//! ```
//!
//! Rejected alternative: `Arc<Mutex<Option<Pin<Box<dyn Future>>>>>` (what most tutorials
//! do) costs two allocations, a lock per poll, and a second reference count beside the
//! state word. Cost of ours: the unsafe casts below, each with its reason.
//!
//! Next to read: `src/task/waker.rs`, the four functions a `Waker` calls.

use super::harness;
use super::join::JoinError;
use super::state::State;
use super::Schedule;
use crate::loom::cell::UnsafeCell;
use crate::util::slab::Key;
use std::future::Future;
use std::marker::PhantomData;
use std::ptr::NonNull;
use std::task::Waker;

/// The part of every task that code without its type can read. Always at offset 0.
#[repr(C)]
pub(crate) struct Header {
    /// State bits and reference count (see `state.rs`).
    pub(crate) state: State,
    /// Functions that know the task's concrete type.
    pub(crate) vtable: &'static Vtable,
    /// A process-unique id, for error messages and traces.
    pub(crate) id: u64,
    /// Where the owned-tasks list keeps this task (set before the task is shared).
    pub(crate) owner_key: Key,
    /// The waker of whoever awaits the `JoinHandle`. Access rules: `task/mod.rs`.
    pub(crate) join_waker: UnsafeCell<Option<Waker>>,
}

/// Type-erased operations on a task, one static instance per `(F, S)`.
pub(crate) struct Vtable {
    /// Runs the task once (the caller holds a queue reference, which `poll` consumes).
    pub(crate) poll: unsafe fn(NonNull<Header>),
    /// Hands a queue reference to the scheduler.
    pub(crate) schedule: unsafe fn(NonNull<Header>),
    /// Frees the allocation.
    pub(crate) dealloc: unsafe fn(NonNull<Header>),
    /// Moves the output into `*dst` (a `Poll<Result<T, JoinError>>`) if it is ready.
    pub(crate) try_read_output: unsafe fn(NonNull<Header>, *mut (), &Waker),
    /// The `JoinHandle` is gone: clean up what it owned and drop its reference.
    pub(crate) drop_join_handle: unsafe fn(NonNull<Header>),
    /// Cancels the task at runtime shutdown (consumes the owned-list reference).
    pub(crate) shutdown: unsafe fn(NonNull<Header>),
}

/// What the task's stage holds over its life: `Running` → `Finished` → `Consumed`.
pub(crate) enum Stage<F: Future> {
    Running(F),
    Finished(Result<F::Output, JoinError>),
    Consumed,
}

/// The whole allocation. Only ever accessed through `&Cell` (never `&mut`): every field
/// that changes sits in an atomic or an `UnsafeCell`.
#[repr(C)]
pub(crate) struct Cell<F: Future, S> {
    pub(crate) header: Header,
    pub(crate) scheduler: S,
    pub(crate) stage: UnsafeCell<Stage<F>>,
}

impl<F: Future, S: Schedule> Cell<F, S> {
    /// Allocates a task; the state starts at `INITIAL_STATE` (three references).
    pub(crate) fn allocate(future: F, scheduler: S, id: u64, owner_key: Key) -> NonNull<Header> {
        let cell = Box::new(Cell {
            header: Header {
                state: State::new(),
                vtable: vtable::<F, S>(),
                id,
                owner_key,
                join_waker: UnsafeCell::new(None),
            },
            scheduler,
            stage: UnsafeCell::new(Stage::Running(future)),
        });
        // `Box::into_raw` never returns null; the cast keeps the allocation's provenance,
        // and `#[repr(C)]` puts `header` at offset 0, so the pointer is also a header pointer.
        NonNull::from(Box::leak(cell)).cast::<Header>()
    }
}

fn vtable<F: Future, S: Schedule>() -> &'static Vtable {
    // A constant promoted to a `'static`: one vtable per (F, S), no allocation.
    &Vtable {
        poll: harness::poll::<F, S>,
        schedule: harness::schedule::<F, S>,
        dealloc: harness::dealloc::<F, S>,
        try_read_output: harness::try_read_output::<F, S>,
        drop_join_handle: harness::drop_join_handle::<F, S>,
        shutdown: harness::shutdown::<F, S>,
    }
}

/// A bare, non-owning pointer to a task. Every method's caller must hold a reference.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct RawTask {
    ptr: NonNull<Header>,
}

impl RawTask {
    pub(crate) fn from_raw(ptr: NonNull<Header>) -> RawTask {
        RawTask { ptr }
    }

    pub(crate) fn as_ptr(self) -> NonNull<Header> {
        self.ptr
    }

    pub(crate) fn header(&self) -> &Header {
        // SAFETY: RawTask values only exist while their holder owns a reference (handle
        // invariant), so the allocation is live; the header is never mutably borrowed.
        unsafe { self.ptr.as_ref() }
    }

    pub(crate) fn id(self) -> u64 {
        self.header().id
    }
}

/// An owned reference to a task (held by the owned-tasks list). Dropping it drops the
/// reference and frees the task if it was the last.
pub(crate) struct Task<S: 'static> {
    raw: RawTask,
    _scheduler: PhantomData<S>,
}

/// A reference held by a run queue: the task is `NOTIFIED` and waiting to be polled.
pub(crate) struct Notified<S: 'static>(Task<S>);

// SAFETY: a task handle is a counted pointer to a cell whose future and output are `Send`
// (spawn requires it) and whose shared fields are atomics or guarded by the state protocol;
// handing the pointer to another thread is what the scheduler does by design.
unsafe impl<S> Send for Task<S> {}
// SAFETY: `&Task` only allows reading the header (atomics, immutable fields).
unsafe impl<S> Sync for Task<S> {}

impl<S: 'static> Task<S> {
    /// Adopts one reference the caller owns.
    ///
    /// # Safety
    ///
    /// The caller must own one reference to a live task whose scheduler type is `S`, and
    /// gives it to the returned handle.
    pub(crate) unsafe fn from_raw(ptr: NonNull<Header>) -> Task<S> {
        Task { raw: RawTask::from_raw(ptr), _scheduler: PhantomData }
    }

    pub(crate) fn raw(&self) -> RawTask {
        self.raw
    }

    pub(crate) fn header(&self) -> &Header {
        self.raw.header()
    }

    /// Gives up the handle without dropping its reference (the caller takes it over).
    pub(crate) fn into_raw(self) -> NonNull<Header> {
        let ptr = self.raw.ptr;
        std::mem::forget(self);
        ptr
    }

    /// Runtime shutdown: cancel the task unless someone else is running it.
    pub(crate) fn shutdown(self) {
        let ptr = self.into_raw();
        // SAFETY: we own the owned-list reference, which `shutdown` consumes.
        unsafe { (ptr.as_ref().vtable.shutdown)(ptr) }
    }
}

impl<S: 'static> Drop for Task<S> {
    fn drop(&mut self) {
        if self.header().state.ref_dec() {
            // SAFETY: that was the last reference; nobody else can reach the task.
            unsafe { (self.header().vtable.dealloc)(self.raw.ptr) }
        }
    }
}

impl<S: 'static> Notified<S> {
    /// Adopts a queue reference.
    ///
    /// # Safety
    ///
    /// As for [`Task::from_raw`], and the task must be `NOTIFIED` with this reference
    /// standing for its queue entry.
    pub(crate) unsafe fn from_raw(ptr: NonNull<Header>) -> Notified<S> {
        // SAFETY: forwarded from the caller.
        Notified(unsafe { Task::from_raw(ptr) })
    }

    /// Polls the task once (or cancels it, or notices it is stale). Consumes the reference.
    pub(crate) fn run(self) {
        let ptr = self.0.into_raw();
        // SAFETY: we own the queue reference, which `poll` consumes.
        unsafe { (ptr.as_ref().vtable.poll)(ptr) }
    }
}
