//! A std-only oneshot channel for the `ping_pong` workload, used by all three runtimes.
//!
//! clockwork's own `sync::oneshot` is not merged yet; measuring every runtime with one
//! shared channel keeps the comparison about the schedulers (where the woken task goes,
//! who gets woken), which is what `ping_pong` is for.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

struct Inner<T> {
    value: Option<T>,
    waker: Option<Waker>,
}

pub struct Sender<T>(Arc<Mutex<Inner<T>>>);
pub struct Receiver<T>(Arc<Mutex<Inner<T>>>);

pub fn channel<T>() -> (Sender<T>, Receiver<T>) {
    let inner = Arc::new(Mutex::new(Inner { value: None, waker: None }));
    (Sender(inner.clone()), Receiver(inner))
}

impl<T> Sender<T> {
    pub fn send(self, value: T) {
        let waker = {
            let mut inner = self.0.lock().unwrap();
            inner.value = Some(value);
            inner.waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

impl<T> Future for Receiver<T> {
    type Output = T;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        let mut inner = self.0.lock().unwrap();
        match inner.value.take() {
            Some(value) => Poll::Ready(value),
            None => {
                inner.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}
