//! The loom swap: every atomic, lock, cell, thread and queue the runtime uses comes from here.
//!
//! **What this module teaches.** A concurrent data structure is only as trustworthy as the
//! interleavings it was tested under. [loom] runs a test body under *every* interleaving of
//! its threads (up to a preemption bound), but it can only see operations made through its
//! own types. So the runtime never names `std::sync::atomic` or `std::thread` directly: it
//! imports `crate::loom::sync::atomic::AtomicUsize` and friends, which are std's types in a
//! normal build and loom's types when built with `RUSTFLAGS="--cfg loom"`.
//!
//! Three shims smooth over the differences between the two worlds:
//!
//! * [`cell::UnsafeCell`] gives std's `UnsafeCell` loom's closure API (`with`, `with_mut`), so
//!   loom can check that no two threads touch a cell at once.
//! * [`sync::Mutex`] hides lock poisoning. A panicking task is caught by the runtime and must
//!   not make every later `lock()` fail, so a poisoned lock is simply taken over.
//! * [`queue::Injector`] is a `crossbeam-channel` in normal builds (fast, lock-free) and a
//!   `Mutex<VecDeque>` under loom, because crossbeam is not loom-aware and loom cannot look
//!   inside it.
//!
//! Loom also cannot model system calls, so under `cfg(loom)` the reactor is replaced by a
//! condvar parker (see `crate::driver`).
//!
//! Next to read: `src/task/mod.rs`, the task and its state word.
//!
//! [loom]: https://docs.rs/loom

// Not every build uses every shim (loom builds skip the reactor, for one).
#![allow(unused_imports, dead_code)]

#[cfg(not(loom))]
pub(crate) use std::thread_local;

#[cfg(loom)]
pub(crate) use loom::thread_local;

/// Atomics, `Arc`, locks and condition variables.
pub(crate) mod sync {
    #[cfg(not(loom))]
    pub(crate) use std::sync::{Arc, Weak};

    #[cfg(loom)]
    pub(crate) use loom::sync::Arc;

    /// Atomic integers and fences.
    pub(crate) mod atomic {
        #[cfg(not(loom))]
        pub(crate) use std::sync::atomic::{fence, AtomicBool, AtomicU64, AtomicUsize};

        #[cfg(loom)]
        pub(crate) use loom::sync::atomic::{fence, AtomicBool, AtomicU64, AtomicUsize};

        pub(crate) use std::sync::atomic::Ordering;
    }

    #[cfg(not(loom))]
    use std::sync as imp;

    #[cfg(loom)]
    use loom::sync as imp;

    /// A mutex whose `lock` never reports poisoning.
    ///
    /// The runtime catches panics from user code (futures, wakers, destructors) and keeps
    /// going; a lock that a panicking thread held is still consistent, because we never
    /// call user code while holding one of our locks. Rejected alternative: `lock().unwrap()`
    /// everywhere, which turns one contained panic into a cascade.
    #[derive(Debug, Default)]
    pub(crate) struct Mutex<T>(imp::Mutex<T>);

    /// The guard returned by [`Mutex::lock`].
    pub(crate) type MutexGuard<'a, T> = imp::MutexGuard<'a, T>;

    impl<T> Mutex<T> {
        pub(crate) fn new(value: T) -> Self {
            Mutex(imp::Mutex::new(value))
        }

        pub(crate) fn lock(&self) -> MutexGuard<'_, T> {
            self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
        }

        pub(crate) fn try_lock(&self) -> Option<MutexGuard<'_, T>> {
            match self.0.try_lock() {
                Ok(guard) => Some(guard),
                Err(std::sync::TryLockError::Poisoned(p)) => Some(p.into_inner()),
                Err(std::sync::TryLockError::WouldBlock) => None,
            }
        }
    }

    /// A condition variable paired with [`Mutex`], also without poisoning.
    #[derive(Debug, Default)]
    pub(crate) struct Condvar(imp::Condvar);

    impl Condvar {
        pub(crate) fn new() -> Self {
            Condvar(imp::Condvar::new())
        }

        pub(crate) fn wait<'a, T>(&self, guard: MutexGuard<'a, T>) -> MutexGuard<'a, T> {
            self.0.wait(guard).unwrap_or_else(|p| p.into_inner())
        }

        pub(crate) fn wait_timeout<'a, T>(
            &self,
            guard: MutexGuard<'a, T>,
            timeout: std::time::Duration,
        ) -> MutexGuard<'a, T> {
            match self.0.wait_timeout(guard, timeout) {
                Ok((guard, _)) => guard,
                Err(p) => p.into_inner().0,
            }
        }

        pub(crate) fn notify_one(&self) {
            self.0.notify_one()
        }

        pub(crate) fn notify_all(&self) {
            self.0.notify_all()
        }
    }
}

/// `UnsafeCell` with loom's closure-based API.
pub(crate) mod cell {
    #[cfg(loom)]
    pub(crate) use loom::cell::UnsafeCell;

    /// std's `UnsafeCell`, shaped like loom's: access goes through `with` / `with_mut`, so
    /// that under loom every access is tracked and a racing pair is reported.
    #[cfg(not(loom))]
    #[derive(Debug)]
    pub(crate) struct UnsafeCell<T>(std::cell::UnsafeCell<T>);

    #[cfg(not(loom))]
    impl<T> UnsafeCell<T> {
        pub(crate) const fn new(value: T) -> Self {
            UnsafeCell(std::cell::UnsafeCell::new(value))
        }

        /// Calls `f` with a shared pointer to the contents.
        #[inline(always)]
        pub(crate) fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
            f(self.0.get())
        }

        /// Calls `f` with an exclusive pointer to the contents.
        #[inline(always)]
        pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
            f(self.0.get())
        }
    }
}

/// Threads.
pub(crate) mod thread {
    #[cfg(not(loom))]
    pub(crate) use std::thread::{current, park, spawn, yield_now, Builder, JoinHandle, Thread};

    #[cfg(loom)]
    pub(crate) use loom::thread::{current, park, spawn, yield_now, Builder, JoinHandle, Thread};
}

/// The injection queue: many producers, any consumer, unbounded.
pub(crate) mod queue {
    #[cfg(not(loom))]
    mod imp {
        use crossbeam_channel::{unbounded, Receiver, Sender};

        /// An unbounded MPMC FIFO. In normal builds it is a `crossbeam-channel`: a push is a
        /// couple of atomic operations and never takes a lock.
        #[derive(Debug)]
        pub(crate) struct Injector<T> {
            tx: Sender<T>,
            rx: Receiver<T>,
        }

        impl<T> Injector<T> {
            pub(crate) fn new() -> Self {
                let (tx, rx) = unbounded();
                Injector { tx, rx }
            }

            pub(crate) fn push(&self, value: T) {
                // Both ends live in `self`, so the channel can never be disconnected.
                let _ = self.tx.send(value);
            }

            pub(crate) fn pop(&self) -> Option<T> {
                self.rx.try_recv().ok()
            }

            pub(crate) fn len(&self) -> usize {
                self.rx.len()
            }

            pub(crate) fn is_empty(&self) -> bool {
                self.rx.is_empty()
            }
        }
    }

    #[cfg(loom)]
    mod imp {
        use crate::loom::sync::Mutex;
        use std::collections::VecDeque;

        /// Loom's stand-in for the crossbeam queue: a `VecDeque` behind a loom mutex, so
        /// loom sees (and permutes) every push and pop.
        #[derive(Debug)]
        pub(crate) struct Injector<T> {
            inner: Mutex<VecDeque<T>>,
        }

        impl<T> Injector<T> {
            pub(crate) fn new() -> Self {
                Injector { inner: Mutex::new(VecDeque::new()) }
            }

            pub(crate) fn push(&self, value: T) {
                self.inner.lock().push_back(value);
            }

            pub(crate) fn pop(&self) -> Option<T> {
                self.inner.lock().pop_front()
            }

            pub(crate) fn len(&self) -> usize {
                self.inner.lock().len()
            }

            pub(crate) fn is_empty(&self) -> bool {
                self.inner.lock().is_empty()
            }
        }
    }

    pub(crate) use imp::Injector;
}

/// Runs `f` under every interleaving loom can find (with `cfg(loom)`), or once otherwise.
///
/// One test body serves both worlds: `cargo test` runs it as a quick smoke test, and the
/// loom CI step runs it exhaustively.
#[cfg(test)]
pub(crate) fn model(f: impl Fn() + Sync + Send + 'static) {
    #[cfg(loom)]
    loom::model(f);
    #[cfg(not(loom))]
    f();
}
