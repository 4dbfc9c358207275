//! A count-down latch usable from any runtime: the last `count_down` wakes the waiter.
//! Written with std only, so no runtime gets an advantage from its own primitives.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

#[derive(Clone)]
pub struct Latch(Arc<Inner>);

struct Inner {
    left: AtomicUsize,
    waker: Mutex<Option<Waker>>,
}

impl Latch {
    pub fn new(count: usize) -> Latch {
        Latch(Arc::new(Inner { left: AtomicUsize::new(count), waker: Mutex::new(None) }))
    }

    pub fn count_down(&self) {
        if self.0.left.fetch_sub(1, Ordering::AcqRel) == 1 {
            if let Some(w) = self.0.waker.lock().unwrap().take() {
                w.wake();
            }
        }
    }

    pub fn wait(&self) -> Wait {
        Wait(self.0.clone())
    }
}

pub struct Wait(Arc<Inner>);

impl Future for Wait {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0.left.load(Ordering::Acquire) == 0 {
            return Poll::Ready(());
        }
        *self.0.waker.lock().unwrap() = Some(cx.waker().clone());
        if self.0.left.load(Ordering::Acquire) == 0 {
            return Poll::Ready(());
        }
        Poll::Pending
    }
}
