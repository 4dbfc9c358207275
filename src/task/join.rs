//! `JoinHandle` and `JoinError`: how a spawner gets the task's output, a panic, or news of
//! its cancellation.
//!
//! **What this teaches.** The handle and the task live on different threads and finish in
//! either order, so the handover of the output and of the "wake me when done" waker is a
//! small protocol over two state bits, `JOIN_INTEREST` and `JOIN_WAKER` (the rules are
//! numbered in `task/mod.rs`). Awaiting the handle:
//!
//! | state seen | the handle does |
//! |---|---|
//! | `COMPLETE` | takes the output out of the stage → `Ready` |
//! | not complete, no waker stored | stores a clone of its waker, then sets `JOIN_WAKER` → `Pending` |
//! | not complete, same waker stored | nothing → `Pending` |
//! | not complete, other waker stored | clears `JOIN_WAKER`, swaps the waker, sets it again → `Pending` |
//!
//! If a CAS fails because the task completed meanwhile, the handle reads the output at once.
//!
//! Next to read: `src/task/mod.rs` for the rules, then `src/runtime/mod.rs`.

use super::harness::set_join_waker;
use super::raw::{Header, RawTask};
use super::state::Snapshot;
use std::any::Any;
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

/// An owned permission to await a spawned task's output.
///
/// Awaiting it gives `Ok(output)`, or a [`JoinError`] if the task panicked or was
/// cancelled. Dropping it *detaches* the task: it keeps running and its output is dropped.
/// Awaiting a `JoinHandle` is cancel-safe: dropping the `await` mid-way loses nothing.
///
/// ```
/// clockwork::block_on(async {
///     let handle = clockwork::spawn(async { 40 + 2 });
///     assert_eq!(handle.await.unwrap(), 42);
/// });
/// ```
pub struct JoinHandle<T> {
    raw: RawTask,
    _output: PhantomData<T>,
}

// SAFETY: the handle only moves `T` out (needs `T: Send` to cross threads) and otherwise
// touches the atomic state word; the join-waker slot is guarded by the JOIN_WAKER protocol.
unsafe impl<T: Send> Send for JoinHandle<T> {}
// SAFETY: `&JoinHandle` only allows `abort` and `is_finished`, which use the atomic state.
unsafe impl<T: Send> Sync for JoinHandle<T> {}

impl<T> Unpin for JoinHandle<T> {}

impl<T> JoinHandle<T> {
    /// Adopts the handle's reference. Only the task module creates handles, right after
    /// allocating a task whose output type is `T`.
    pub(super) fn new(raw: RawTask) -> JoinHandle<T> {
        JoinHandle { raw, _output: PhantomData }
    }

    /// Cancels the task. Its future is dropped at the next chance, *on a runtime thread*
    /// (for a `spawn_blocking` job still queued, on the pool thread that reaches it), and
    /// awaiting this handle gives `Err(JoinError::is_cancelled())`. No effect if the
    /// task already completed. If the task is being polled right now, the cancellation
    /// takes effect when that poll returns.
    pub fn abort(&self) {
        if self.raw.header().state.transition_to_notified_and_cancel() {
            let header = self.raw.as_ptr();
            // SAFETY: the transition took a queue reference, which `schedule` adopts.
            unsafe { (header.as_ref().vtable.schedule)(header) }
        }
    }

    /// Whether the task has finished (completed, panicked or been cancelled). Once this
    /// returns `true`, the task's future has been dropped and awaiting the handle is
    /// immediate.
    pub fn is_finished(&self) -> bool {
        self.raw.header().state.load().is_complete()
    }

    /// The task's process-unique id (as shown in traces and errors).
    pub fn id(&self) -> u64 {
        self.raw.id()
    }
}

impl<T> Future for JoinHandle<T> {
    type Output = Result<T, JoinError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut out: Poll<Result<T, JoinError>> = Poll::Pending;
        let header = self.raw.as_ptr();
        // SAFETY: we are this task's JoinHandle and hold a reference; `out` has the type
        // the vtable was built for (the task's output is `T`, fixed at spawn).
        unsafe {
            (header.as_ref().vtable.try_read_output)(header, &mut out as *mut _ as *mut (), cx.waker())
        };
        out
    }
}

impl<T> Drop for JoinHandle<T> {
    fn drop(&mut self) {
        let header = self.raw.as_ptr();
        // SAFETY: we hand over the handle's reference, which `drop_join_handle` consumes.
        unsafe { (header.as_ref().vtable.drop_join_handle)(header) }
    }
}

impl<T> fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinHandle").field("id", &self.id()).finish()
    }
}

/// The handle's side of the join protocol: `true` when the output may be read now,
/// otherwise `waker` is stored to be woken on completion.
pub(super) fn can_read_output(header: &Header, waker: &Waker) -> bool {
    let snapshot = header.state.load();
    if snapshot.is_complete() {
        return true;
    }
    let stored = if !snapshot.is_join_waker_set() {
        set_waker_then_flag(header, waker.clone())
    } else {
        let same = header.join_waker.with(|slot| {
            // SAFETY: JOIN_WAKER is set, so the slot is only read by anyone (rule 4).
            unsafe { &*slot }.as_ref().is_some_and(|w| w.will_wake(waker))
        });
        if same {
            return false;
        }
        header.state.unset_waker().and_then(|_| set_waker_then_flag(header, waker.clone()))
    };
    match stored {
        Ok(_) => false,
        Err(snapshot) => {
            assert!(snapshot.is_complete());
            true
        }
    }
}

/// Stores `waker` (the handle owns the slot: JOIN_WAKER is clear), then publishes it.
fn set_waker_then_flag(header: &Header, waker: Waker) -> Result<Snapshot, Snapshot> {
    // SAFETY: JOIN_WAKER is clear, so the slot belongs to the JoinHandle (rule 3).
    unsafe { set_join_waker(header, Some(waker)) };
    let result = header.state.set_join_waker();
    if result.is_err() {
        // Completed meanwhile: the slot is still ours; clear it and read the output.
        // SAFETY: as above, JOIN_WAKER was never set.
        unsafe { set_join_waker(header, None) };
    }
    result
}

/// Why a task did not produce its output.
pub struct JoinError {
    id: u64,
    repr: Repr,
}

enum Repr {
    Cancelled,
    /// The payload sits in a `Mutex` only to make `JoinError` `Sync`: a `Box<dyn Any +
    /// Send>` is not, and without `Sync` a `JoinError` cannot travel inside
    /// `Box<dyn Error + Send + Sync>` (what `?` into `anyhow`-style errors needs). Nobody
    /// locks it while it is shared: the message is copied out at creation for `Display`,
    /// and `into_panic` takes the error by value. (Tokio uses an unsafe `SyncWrapper`
    /// for the same reason; the lock costs nothing here and needs no `unsafe`.)
    Panic {
        message: Option<String>,
        payload: std::sync::Mutex<Box<dyn Any + Send + 'static>>,
    },
}

impl JoinError {
    pub(crate) fn cancelled(id: u64) -> JoinError {
        JoinError { id, repr: Repr::Cancelled }
    }

    pub(crate) fn panic(id: u64, payload: Box<dyn Any + Send + 'static>) -> JoinError {
        let message = panic_message(payload.as_ref()).map(str::to_owned);
        JoinError { id, repr: Repr::Panic { message, payload: std::sync::Mutex::new(payload) } }
    }

    /// The task was aborted, or dropped at runtime shutdown.
    pub fn is_cancelled(&self) -> bool {
        matches!(self.repr, Repr::Cancelled)
    }

    /// The task panicked (while being polled, or while its future was dropped).
    pub fn is_panic(&self) -> bool {
        matches!(self.repr, Repr::Panic { .. })
    }

    /// The panic payload, to inspect or to re-raise with `std::panic::resume_unwind`.
    ///
    /// # Panics
    ///
    /// Panics if the error is not a panic (check [`JoinError::is_panic`] first).
    #[track_caller]
    pub fn into_panic(self) -> Box<dyn Any + Send + 'static> {
        self.try_into_panic().expect("JoinError::into_panic called on a cancelled task's error")
    }

    /// The panic payload, or the error back if the task was cancelled.
    pub fn try_into_panic(self) -> Result<Box<dyn Any + Send + 'static>, JoinError> {
        match self.repr {
            // A poisoned lock still holds the payload (nothing panics while holding it).
            Repr::Panic { payload, .. } => Ok(payload.into_inner().unwrap_or_else(|e| e.into_inner())),
            Repr::Cancelled => Err(self),
        }
    }

    /// The id of the task that failed.
    pub fn id(&self) -> u64 {
        self.id
    }
}

fn panic_message(payload: &(dyn Any + Send)) -> Option<&str> {
    payload.downcast_ref::<&str>().copied().or_else(|| payload.downcast_ref::<String>().map(|s| s.as_str()))
}

impl fmt::Display for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.repr {
            Repr::Cancelled => write!(f, "task {} was cancelled", self.id),
            Repr::Panic { message, .. } => match message {
                Some(msg) => write!(f, "task {} panicked with message {msg:?}", self.id),
                None => write!(f, "task {} panicked", self.id),
            },
        }
    }
}

impl fmt::Debug for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.repr {
            Repr::Cancelled => write!(f, "JoinError::Cancelled({})", self.id),
            Repr::Panic { message, .. } => match message {
                Some(msg) => write!(f, "JoinError::Panic({}, {msg:?})", self.id),
                None => write!(f, "JoinError::Panic({}, ...)", self.id),
            },
        }
    }
}

impl std::error::Error for JoinError {}

impl From<JoinError> for std::io::Error {
    fn from(error: JoinError) -> std::io::Error {
        let kind =
            if error.is_cancelled() { std::io::ErrorKind::Interrupted } else { std::io::ErrorKind::Other };
        std::io::Error::new(kind, error.to_string())
    }
}
