//! Helpers shared by the integration tests: run a test body on both runtime flavours.
#![allow(dead_code)]

use clockwork::runtime::Builder;
use clockwork::Runtime;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::Duration;

/// Both flavours: current-thread, and multi-thread with 2 workers.
pub fn runtimes() -> Vec<(&'static str, Runtime)> {
    vec![
        ("current_thread", Builder::new_current_thread().build().unwrap()),
        ("multi_thread", Builder::new_multi_thread().worker_threads(2).build().unwrap()),
    ]
}

/// Runs `body` once per flavour, with a fresh runtime each time.
pub fn on_both(body: impl Fn(&'static str, Runtime)) {
    for (name, rt) in runtimes() {
        body(name, rt);
    }
}

/// Counts how many times it was dropped (shared through an `Arc`).
#[derive(Clone, Default)]
pub struct DropCounter(pub Arc<AtomicUsize>);

impl DropCounter {
    pub fn count(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
    pub fn token(&self) -> DropToken {
        DropToken(self.0.clone())
    }
}

/// Increments its counter when dropped.
pub struct DropToken(Arc<AtomicUsize>);

impl Drop for DropToken {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// A future that never completes (and never registers a waker).
pub async fn pending_forever() {
    std::future::pending::<()>().await
}

/// The message of a caught panic payload.
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "<non-string panic>".to_string()
    }
}

/// Runs `test` on its own thread and fails if it takes longer than `secs` seconds.
pub fn within<T: Send + 'static>(secs: u64, test: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    let worker = std::thread::spawn(move || tx.send(test()).unwrap());
    match rx.recv_timeout(Duration::from_secs(secs)) {
        Ok(value) => {
            worker.join().unwrap();
            value
        }
        Err(mpsc::RecvTimeoutError::Disconnected) => match worker.join() {
            Err(panic) => std::panic::resume_unwind(panic),
            Ok(()) => unreachable!("the worker sends before it returns"),
        },
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("test hung for {secs} s"),
    }
}
