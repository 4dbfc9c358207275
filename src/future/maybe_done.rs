//! `MaybeDone`: a child future that keeps its output until the parent collects it.
//!
//! **What this file teaches: pin projection.** A parent future that owns its children is
//! pinned as a whole, and `Future::poll` needs a `Pin<&mut Child>`. Getting one from a
//! `Pin<&mut Parent>` ("projecting" the pin) is `unsafe`, because the compiler cannot check
//! the promise that makes it sound: *a pinned child is never moved until it is dropped.*
//! This file and `join.rs`, `join_all.rs`, `select.rs` keep that promise by
//!
//! * never moving a child out (`Pending` is replaced by assignment, which drops the child
//!   in place, exactly what `Pin` allows);
//! * having no `Drop` impl that could move a child, and no `#[repr(packed)]`;
//! * letting `Unpin` be derived automatically (a parent is `Unpin` only if its children are).
//!
//! The output, unlike the child, is never pinned: it is a plain value, so taking it out by
//! `mem::replace` is fine. (Rejected alternative: the `pin-project` crates, which generate
//! the same code; we write it out so the reader sees the single rule behind it.)
//!
//! Next to read: `join.rs`.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// One child of a join: still running, finished with its output, or output taken.
///
/// ```text
/// Pending(future) --poll returns Ready(output)--> Done(output) --take_output--> Taken
/// ```
#[derive(Debug)]
pub enum MaybeDone<F: Future> {
    /// Still running.
    Pending(F),
    /// Finished; the output waits to be collected.
    Done(F::Output),
    /// The output was collected. Polling now is a bug.
    Taken,
}

impl<F: Future> MaybeDone<F> {
    /// Wraps a future that has not run yet.
    pub fn new(future: F) -> Self {
        MaybeDone::Pending(future)
    }

    /// Polls the child if it is still running. Returns `true` once it has an output; a
    /// finished child is never polled again.
    ///
    /// # Panics
    ///
    /// If the output was already taken: the parent was polled after it completed.
    pub fn poll_done(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> bool {
        match *self {
            MaybeDone::Pending(_) => {}
            MaybeDone::Done(_) => return true,
            MaybeDone::Taken => panic!("a join future was polled after it completed"),
        }
        let future = self.as_mut().project().expect("checked to be Pending above");
        let Poll::Ready(output) = future.poll(cx) else {
            return false;
        };
        // `set` drops the finished child in place, as pinning requires, then stores.
        self.set(MaybeDone::Done(output));
        true
    }

    /// Takes the output, leaving `Taken`. `None` if the child has not finished.
    pub fn take_output(self: Pin<&mut Self>) -> Option<F::Output> {
        if !matches!(*self, MaybeDone::Done(_)) {
            return None;
        }
        // SAFETY: we are in `Done`, which holds no pinned child; replacing it moves only
        // the output, which was never pinned (see the module doc).
        let this = unsafe { self.get_unchecked_mut() };
        match std::mem::replace(this, MaybeDone::Taken) {
            MaybeDone::Done(output) => Some(output),
            _ => unreachable!("checked to be Done above"),
        }
    }

    /// The pinned child, if it is still running.
    fn project(self: Pin<&mut Self>) -> Option<Pin<&mut F>> {
        // SAFETY: the child is structurally pinned: it is never moved out of `Pending`,
        // only dropped in place by `set` (module doc). We create no other `&mut` to it.
        unsafe {
            match self.get_unchecked_mut() {
                MaybeDone::Pending(future) => Some(Pin::new_unchecked(future)),
                _ => None,
            }
        }
    }
}
