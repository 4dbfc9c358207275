//! `select(a, b)`: run two futures, finish with whichever is ready first.
//!
//! **What this file teaches: fairness and cancellation.** A select polls its children one
//! after the other, and the first `Ready` wins. If it always polled `a` first, a future `a`
//! that is always ready would starve `b` forever. So each poll starts with a branch picked
//! by [`select_start`], a cheap per-thread pseudo-random number; when both are ready, each
//! wins about half the time.
//!
//! Rejected alternatives: alternating inside one `Select` does not help the common
//! `loop { select(..).await }`, which makes a *new* `Select` every iteration; a per-call-site
//! counter (a `static` in the macro) can still lock into a pattern when two tasks take turns
//! at the same site. Randomness has neither failure mode, and a fixed seed keeps runs
//! reproducible.
//!
//! The loser is *cancelled*: it is dropped when the `Select` is dropped, in whatever state
//! it was. That is why the cancel-safety notes on `recv` and `send` matter.
//!
//! ```text
//!   Running --a ready--> Done => Ready(Left(a_output))     (b is dropped with the Select)
//!      |    --b ready--> Done => Ready(Right(b_output))    (a is dropped with the Select)
//!      +-- neither: Pending (both have registered their wakers)
//! ```
//!
//! Next to read: `macros.rs`.

use std::cell::Cell;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// One of two values: which branch of a [`select`] finished, with its output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Either<L, R> {
    /// The first future finished first.
    Left(L),
    /// The second future finished first.
    Right(R),
}

impl<L, R> Either<L, R> {
    /// `true` for [`Either::Left`].
    pub fn is_left(&self) -> bool {
        matches!(self, Either::Left(_))
    }

    /// `true` for [`Either::Right`].
    pub fn is_right(&self) -> bool {
        matches!(self, Either::Right(_))
    }
}

/// Two futures of one output type, chosen at run time, as one future (as the `futures`
/// crate's `Either` is): `if fast { Either::Left(a) } else { Either::Right(b) }.await`.
///
/// ```
/// use clockwork::future::Either;
/// # clockwork::block_on(async {
/// for fast in [true, false] {
///     let n = if fast { Either::Left(async { 1 }) } else { Either::Right(async { 2 }) }.await;
///     assert_eq!(n, if fast { 1 } else { 2 });
/// }
/// # });
/// ```
impl<L: Future, R: Future<Output = L::Output>> Future for Either<L, R> {
    type Output = L::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<L::Output> {
        // SAFETY: pin projection to the one field of the variant. `Either` has no `Drop`
        // impl and no method that moves its field out through a pinned `Either`, so a
        // pinned `Either` keeps its future in place; it is `Unpin` only when both are.
        unsafe {
            match self.get_unchecked_mut() {
                Either::Left(future) => Pin::new_unchecked(future).poll(cx),
                Either::Right(future) => Pin::new_unchecked(future).poll(cx),
            }
        }
    }
}

/// Polls `a` and `b`; resolves to the output of the first one ready, dropping the other.
///
/// ```
/// use clockwork::future::{select, Either};
/// # clockwork::block_on(async {
/// let never = std::future::pending::<()>();
/// match select(never, async { 7 }).await {
///     Either::Left(()) => unreachable!(),
///     Either::Right(n) => assert_eq!(n, 7),
/// }
/// # });
/// ```
pub fn select<A: Future, B: Future>(a: A, b: B) -> Select<A, B> {
    Select { a, b, done: false }
}

/// The future returned by [`select`].
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct Select<A, B> {
    a: A,
    b: B,
    done: bool,
}

impl<A: Future, B: Future> Future for Select<A, B> {
    type Output = Either<A::Output, B::Output>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // SAFETY: pin projection; `a` and `b` are structurally pinned and `Select` keeps the
        // promise in `maybe_done.rs` (no `Drop`, no moves, no `repr(packed)`). `done` is a
        // plain `bool`, never pinned.
        let this = unsafe { self.get_unchecked_mut() };
        assert!(!this.done, "Select polled after it completed");
        // SAFETY: as above.
        let (mut a, mut b) = unsafe { (Pin::new_unchecked(&mut this.a), Pin::new_unchecked(&mut this.b)) };
        let output = if select_start(2) == 0 {
            match a.as_mut().poll(cx) {
                Poll::Ready(out) => Either::Left(out),
                Poll::Pending => std::task::ready!(b.as_mut().poll(cx).map(Either::Right)),
            }
        } else {
            match b.as_mut().poll(cx) {
                Poll::Ready(out) => Either::Right(out),
                Poll::Pending => std::task::ready!(a.as_mut().poll(cx).map(Either::Left)),
            }
        };
        this.done = true;
        Poll::Ready(output)
    }
}

impl<A, B> fmt::Debug for Select<A, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Select").field("done", &self.done).finish_non_exhaustive()
    }
}

/// The branch `select! { biased; .. }` polls first: always the first one.
///
/// Public (but hidden) because `select!` expands to a call to it in the user's crate.
#[doc(hidden)]
pub fn select_start_biased(_branches: usize) -> usize {
    0 // `select! { biased; .. }`: always from the first branch
}

/// The branch `select!` polls first (without `biased;`): a pseudo-random index in
/// `0..branches`, from a per-thread xorshift generator with a fixed seed.
///
/// Public (but hidden) because `select!` expands to a call to it in the user's crate.
#[doc(hidden)]
// Not `const { }`-initialised: loom's `thread_local!` lacks that form (as in `runtime/context.rs`).
#[allow(clippy::missing_const_for_thread_local)]
pub fn select_start(branches: usize) -> usize {
    crate::loom::thread_local! {
        // A plain `Cell`: this state never leaves its thread, so it is no concern of loom's.
        static STATE: Cell<u32> = Cell::new(0x9E37_79B9);
    }
    let x = STATE.with(|state| {
        // xorshift32 (Marsaglia, 2003): three shifts, period 2^32 - 1, never 0.
        let mut x = state.get();
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        state.set(x);
        x
    });
    x as usize % branches.max(1)
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::Either;
    use futures_task::noop_waker_ref;
    use std::future::Future;
    use std::task::{Context, Poll};

    /// `Either` as a future polls the variant it holds, pinned in place (Miri checks the
    /// projection: the async blocks are `!Unpin` and hold a reference to their own state).
    #[test]
    fn either_polls_the_future_it_holds() {
        let mut cx = Context::from_waker(noop_waker_ref());
        for left in [true, false] {
            let future = if left {
                Either::Left(async {
                    let x = 1;
                    let r = &x;
                    std::future::ready(()).await;
                    *r
                })
            } else {
                Either::Right(async { 2 })
            };
            assert_eq!(future.is_left(), left);
            let mut future = std::pin::pin!(future);
            assert_eq!(future.as_mut().poll(&mut cx), Poll::Ready(if left { 1 } else { 2 }));
        }
    }
}
