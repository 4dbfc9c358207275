//! Stage 0: a whole executor in about 100 safe lines, on `futures_task::ArcWake`.
//!
//! What it teaches: the three moving parts every executor has, before any `unsafe`:
//!
//! 1. a **task** = a future plus a way to put it back in the queue (`Arc<Task>`);
//! 2. a **waker** = "put this task back in the queue" (`ArcWake::wake_by_ref`);
//! 3. a **run loop** = pop a task, poll it, repeat; park when the queue is empty.
//!
//! What clockwork replaces, and why (read `src/task/` next):
//!
//! | here (stage 0) | clockwork |
//! |---|---|
//! | `Arc<Task>` + `Mutex<Option<BoxFuture>>`: two allocations, a lock per poll | one allocation, a state word; the `RUNNING` bit replaces the lock |
//! | `ArcWake`: a waker allocates nothing but goes through `Arc`'s generic vtable | a hand-written `RawWakerVTable` over the task's own reference count |
//! | a woken task is queued again even if it is already queued | the `NOTIFIED` bit queues it at most once |
//! | no output, no panics, no cancellation | `JoinHandle`, `JoinError`, `abort` |
//!
//! Run it: `cargo run --example 00_toy_executor`.

use futures_task::{waker_ref, ArcWake};
use std::future::Future;
use std::pin::Pin;
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

type BoxFuture = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// A spawned future and the queue it returns to when woken.
struct Task {
    // The Mutex is only here to make `Task: Sync`; one thread polls at a time anyway.
    // (clockwork's `RUNNING` bit is what makes this lock unnecessary.)
    future: Mutex<Option<BoxFuture>>,
    queue: Sender<Arc<Task>>,
    name: &'static str,
}

impl ArcWake for Task {
    /// Waking a task = sending it back to the run queue.
    fn wake_by_ref(arc_self: &Arc<Self>) {
        println!("  [waker] {} woken: back into the queue", arc_self.name);
        let _ = arc_self.queue.send(arc_self.clone());
    }
}

/// The executor: a channel of ready tasks.
struct ToyExecutor {
    ready: Receiver<Arc<Task>>,
    queue: Sender<Arc<Task>>,
}

impl ToyExecutor {
    fn new() -> ToyExecutor {
        let (queue, ready) = channel();
        ToyExecutor { ready, queue }
    }

    fn spawn(&self, name: &'static str, future: impl Future<Output = ()> + Send + 'static) {
        let task = Task { future: Mutex::new(Some(Box::pin(future))), queue: self.queue.clone(), name };
        println!("  [spawn] {name}");
        self.queue.send(Arc::new(task)).unwrap();
    }

    /// Runs until no task is ready and no task can become ready.
    fn run(self) {
        drop(self.queue); // the loop ends when every task (holding a Sender) is gone
        while let Ok(task) = self.ready.recv() {
            let mut slot = task.future.lock().unwrap();
            let Some(mut future) = slot.take() else { continue }; // finished already
            let waker = waker_ref(&task);
            let mut cx = Context::from_waker(&waker);
            println!("  [poll]  {}", task.name);
            match future.as_mut().poll(&mut cx) {
                Poll::Ready(()) => println!("  [poll]  {} returned Ready", task.name),
                Poll::Pending => {
                    println!("  [poll]  {} returned Pending", task.name);
                    *slot = Some(future); // keep it until its waker fires
                }
            }
        }
    }
}

/// A future that returns Pending `n` times, waking itself each time (like `yield_now`).
struct YieldTimes(u32);

impl Future for YieldTimes {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 == 0 {
            return Poll::Ready(());
        }
        self.0 -= 1;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

fn main() {
    println!("A toy executor runs two tasks that each yield twice:");
    let executor = ToyExecutor::new();
    executor.spawn("task A", async {
        YieldTimes(2).await;
    });
    executor.spawn("task B", async {
        YieldTimes(2).await;
    });
    executor.run();
    println!("Every task finished. Next: src/task/state.rs, where one atomic word replaces the Mutex.");
}
