//! `task::Builder`: spawn a task with a name, so traces and lints can say which task is which.
//!
//! The name costs nothing unless the runtime is traced: it is a borrowed `&str` passed
//! along with the spawn and copied into the recorder's task table only when one records.
//! Rejected alternative: a name field in every task header, which would make every task
//! bigger for a feature that is usually off.
//!
//! Next to read: `src/trace/mod.rs`, where the name shows up.

use super::{is_large, JoinHandle};
use crate::runtime::{context, Handle};
use crate::trace::TaskName;
use std::future::Future;
use std::io;

/// Configures a task before spawning it (today: its name), like tokio's `task::Builder`.
///
/// ```
/// clockwork::block_on(async {
///     let echo = clockwork::task::Builder::new().name("echo").spawn(async { 7 }).unwrap();
///     assert_eq!(echo.await.unwrap(), 7);
/// });
/// ```
#[derive(Debug, Default, Clone, Copy)]
pub struct Builder<'a> {
    name: Option<&'a str>,
}

impl<'a> Builder<'a> {
    /// A builder with no name: the task is then named by its spawn location.
    pub fn new() -> Builder<'a> {
        Builder { name: None }
    }

    /// Names the task (shown in traces, narrations and lints).
    pub fn name(self, name: &'a str) -> Builder<'a> {
        Builder { name: Some(name) }
    }

    #[track_caller]
    fn task_name(&self) -> TaskName<'a> {
        TaskName { name: self.name, ..TaskName::caller() }
    }

    /// Spawns on the current runtime, like [`task::spawn`](super::spawn). Always `Ok`
    /// today; the `Result` mirrors tokio's builder so code ports unchanged.
    ///
    /// # Panics
    ///
    /// Panics when called outside a runtime.
    #[track_caller]
    pub fn spawn<F>(self, future: F) -> io::Result<JoinHandle<F::Output>>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let name = self.task_name();
        // Boxed if large, before the closure below copies it (see `BOX_FUTURE_THRESHOLD`).
        if const { is_large::<F>() } {
            Self::spawn_current(Box::pin(future), name)
        } else {
            Self::spawn_current(future, name)
        }
    }

    /// [`Builder::spawn`] after the size check.
    #[track_caller] // its panic names the caller of the public function
    fn spawn_current<F>(future: F, name: TaskName<'_>) -> io::Result<JoinHandle<F::Output>>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        match context::with_current(|handle| handle.spawn_named(future, name)) {
            Ok(join) => Ok(join),
            Err(_) => panic!(
                "task::Builder::spawn called outside a runtime: call it from inside `block_on` \
                 or a task, or use `Builder::spawn_on` with a runtime `Handle`."
            ),
        }
    }

    /// Spawns on the runtime of `handle` (callable from any thread).
    #[track_caller]
    pub fn spawn_on<F>(self, future: F, handle: &Handle) -> io::Result<JoinHandle<F::Output>>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let name = self.task_name();
        if const { is_large::<F>() } {
            Ok(handle.inner.spawn_named(Box::pin(future), name))
        } else {
            Ok(handle.inner.spawn_named(future, name))
        }
    }

    /// Runs the blocking function `f` on the current runtime's blocking pool, like
    /// [`task::spawn_blocking`](super::spawn_blocking).
    ///
    /// # Panics
    ///
    /// Panics when called outside a runtime.
    #[track_caller]
    pub fn spawn_blocking<F, R>(self, f: F) -> io::Result<JoinHandle<R>>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        let name = self.task_name();
        if const { is_large::<F>() } {
            Self::spawn_blocking_current(Box::new(f), name)
        } else {
            Self::spawn_blocking_current(f, name)
        }
    }

    /// [`Builder::spawn_blocking`] after the size check.
    #[track_caller] // its panic names the caller of the public function
    fn spawn_blocking_current<F, R>(f: F, name: TaskName<'_>) -> io::Result<JoinHandle<R>>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        match context::with_current(|handle| handle.spawn_blocking_named(f, name)) {
            Ok(join) => Ok(join),
            Err(_) => panic!("task::Builder::spawn_blocking called outside a runtime"),
        }
    }
}
