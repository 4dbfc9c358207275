//! `Handle`: a cloneable, `Send + Sync` way to reach a runtime from anywhere.
//!
//! Next to read: `src/runtime/current_thread.rs`, the loop a `block_on` runs.

use super::{context, current_thread, multi_thread, scheduler};
use crate::task::{is_large, JoinHandle};
use std::future::Future;

/// A reference to a runtime, usable from any thread. It does not keep the runtime alive:
/// once the runtime is dropped, tasks spawned through it resolve to `Err(cancelled)` at once.
#[derive(Clone)]
pub struct Handle {
    pub(crate) inner: scheduler::Handle,
}

impl Handle {
    /// The handle of the runtime this thread is in.
    ///
    /// # Panics
    ///
    /// Panics outside a runtime, saying so. See [`Handle::try_current`].
    #[track_caller]
    pub fn current() -> Handle {
        // A `match`, not `unwrap_or_else(|| panic!(..))`: a closure is a function of its own
        // without `#[track_caller]`, so its panic would name this file, not the caller's line.
        match Handle::try_current() {
            Some(handle) => handle,
            None => panic!(
                "Handle::current() called outside a runtime: there is no clockwork runtime on \
                 this thread (call it from inside `block_on` or a task)"
            ),
        }
    }

    /// The handle of the runtime this thread is in, or `None`.
    pub fn try_current() -> Option<Handle> {
        context::current().map(|inner| Handle { inner })
    }

    /// Spawns a task on this runtime.
    #[track_caller]
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        // Boxed if large, here at the door: see `BOX_FUTURE_THRESHOLD`.
        if const { is_large::<F>() } {
            self.inner.spawn(Box::pin(future))
        } else {
            self.inner.spawn(future)
        }
    }

    /// Runs a blocking function on this runtime's blocking pool.
    pub fn spawn_blocking<F, R>(&self, f: F) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        if const { is_large::<F>() } {
            self.inner.spawn_blocking(Box::new(f))
        } else {
            self.inner.spawn_blocking(f)
        }
    }

    /// Runs `future` to completion on this thread, with this runtime as the context.
    ///
    /// # Panics
    ///
    /// Panics if called from inside a runtime (a task or another `block_on`).
    #[track_caller]
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        if const { is_large::<F>() } {
            self.block_on_inner(Box::pin(future))
        } else {
            self.block_on_inner(future)
        }
    }

    /// [`Handle::block_on`] after the size check.
    #[track_caller]
    fn block_on_inner<F: Future>(&self, future: F) -> F::Output {
        match &self.inner {
            scheduler::Handle::CurrentThread(shared) => current_thread::block_on(&self.inner, shared, future),
            scheduler::Handle::MultiThread(shared) => multi_thread::block_on(&self.inner, shared, future),
        }
    }
}

impl Handle {
    /// Makes this handle's runtime the current one on this thread until the guard is
    /// dropped; see [`Runtime::enter`](crate::Runtime::enter).
    pub fn enter(&self) -> EnterGuard<'_> {
        EnterGuard { _current: context::set_current(&self.inner), _not_send: std::marker::PhantomData }
    }
}

/// Keeps a runtime current on this thread; the previous one (if any) comes back when it is
/// dropped. Not `Send`: it restores a thread-local.
#[must_use = "the runtime is current only while the guard lives"]
pub struct EnterGuard<'a> {
    _current: context::SetCurrentGuard,
    /// Borrows the handle (as tokio's does), and a raw pointer makes the guard `!Send`.
    _not_send: std::marker::PhantomData<(&'a Handle, *const ())>,
}

impl std::fmt::Debug for EnterGuard<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EnterGuard")
    }
}

impl std::fmt::Debug for Handle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Handle").finish_non_exhaustive()
    }
}

impl futures_task::Spawn for Handle {
    fn spawn_obj(
        &self,
        future: futures_task::FutureObj<'static, ()>,
    ) -> Result<(), futures_task::SpawnError> {
        if self.inner.owned().is_closed() {
            return Err(futures_task::SpawnError::shutdown());
        }
        drop(self.inner.spawn(future)); // detached, as `Spawn` expects
        Ok(())
    }

    fn status(&self) -> Result<(), futures_task::SpawnError> {
        if self.inner.owned().is_closed() {
            Err(futures_task::SpawnError::shutdown())
        } else {
            Ok(())
        }
    }
}
