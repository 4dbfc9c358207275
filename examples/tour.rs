//! The guided tour: a short run of the runtime that says, in plain words, what happens.
//!
//! What it teaches: which task is polled, what it returned, who woke it, and what runs
//! next — on the real runtime, not a simulation. Each task below is wrapped in a
//! [`Narrated`] future that prints around every poll, and its waker is wrapped so that
//! every wake-up says who caused it.
//!
//! Run it: `cargo run --release --example tour`.

use clockwork::runtime::Builder;
use clockwork::task;
use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

thread_local! {
    /// The narrated task being polled on this thread right now (to name the waker).
    static CURRENT: RefCell<Option<&'static str>> = const { RefCell::new(None) };
}

/// Wraps a future: prints before and after each poll, and wraps its waker.
struct Narrated<F> {
    name: &'static str,
    polls: u32,
    inner: Pin<Box<F>>,
}

fn narrated<F: Future>(name: &'static str, inner: F) -> Narrated<F> {
    Narrated { name, polls: 0, inner: Box::pin(inner) }
}

/// A waker around the task's real waker that reports who woke the task.
struct NarratingWaker {
    task: &'static str,
    inner: Waker,
}

impl Wake for NarratingWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        let by = CURRENT.with(|c| *c.borrow());
        match by {
            Some(by) if by == self.task => {
                println!("      {} wakes itself: it goes to the back of the run queue", self.task)
            }
            Some(by) => {
                println!("      {by} wakes {}: {} goes back into the run queue", self.task, self.task)
            }
            None if std::thread::current().name() == Some("main") => println!(
                "      the runtime wakes {} (a task it waits for finished or was cancelled)",
                self.task
            ),
            None => println!(
                "      another thread ({}) wakes {}: it is queued and the runtime is unparked",
                std::thread::current().name().unwrap_or("unnamed"),
                self.task
            ),
        }
        self.inner.wake_by_ref();
    }
}

/// Restores the previous "current task" even when the poll panics.
struct CurrentGuard(Option<&'static str>);

impl Drop for CurrentGuard {
    fn drop(&mut self) {
        CURRENT.with(|c| *c.borrow_mut() = self.0);
    }
}

impl<F: Future> Future for Narrated<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        self.polls += 1;
        let name = self.name;
        println!("    poll #{} of {name}", self.polls);
        let waker = Waker::from(Arc::new(NarratingWaker { task: name, inner: cx.waker().clone() }));
        let _current = CurrentGuard(CURRENT.with(|c| c.replace(Some(name))));
        let result = self.inner.as_mut().poll(&mut Context::from_waker(&waker));
        match &result {
            Poll::Ready(_) if name == "main" => {
                println!("    main (the block_on future) returned Ready: block_on returns")
            }
            Poll::Ready(_) => println!("    {name} returned Ready: it is complete, its JoinHandle is woken"),
            Poll::Pending => println!("    {name} returned Pending: it sleeps until its waker is called"),
        }
        result
    }
}

fn chapter(title: &str, text: &str) {
    println!("\n== {title}\n   {text}");
}

fn main() {
    println!("clockwork tour: every line below is printed by the running runtime.");
    let rt = Builder::new_current_thread().build().expect("runtime");

    chapter(
        "1. spawn and poll",
        "Spawning puts a task in the run queue; nothing runs until block_on drives the runtime.",
    );
    rt.block_on(narrated("main", async {
        let a = clockwork::spawn(narrated("task A", async { 1 }));
        let b = clockwork::spawn(narrated("task B", async { 2 }));
        println!("    main spawned A and B, and now awaits A's JoinHandle");
        let sum = a.await.unwrap() + b.await.unwrap();
        println!("    main got A + B = {sum}");
    }));

    chapter(
        "2. yield_now is fair",
        "A task that yields is re-queued behind every task already ready, so others run first.",
    );
    rt.block_on(narrated("main", async {
        let p = clockwork::spawn(narrated("polite", async {
            task::yield_now().await;
            task::yield_now().await;
        }));
        let q = clockwork::spawn(narrated("quick", async {}));
        p.await.unwrap();
        q.await.unwrap();
    }));

    chapter(
        "3. a wake-up from another thread",
        "A plain OS thread finishes some work and wakes a waiting task.",
    );
    rt.block_on(narrated("main", async {
        let (tx, rx) = std::sync::mpsc::channel::<u32>();
        let waiting = clockwork::spawn(narrated("waiting", WaitForThread::new(rx)));
        let answer = waiting.await.unwrap();
        drop(tx);
        println!("    the thread's answer arrived: {answer}");
    }));

    chapter("4. panics and abort", "A panicking task is caught; an aborted task's future is dropped.");
    // Report panics in one line instead of the default message with a backtrace.
    std::panic::set_hook(Box::new(|info| {
        let msg = info.payload().downcast_ref::<&str>().copied().unwrap_or("(non-text payload)");
        println!("      a task panicked with {msg:?}; the runtime catches it")
    }));
    rt.block_on(narrated("main", async {
        let bad = clockwork::spawn(narrated("panicky", async { panic!("oops") }));
        let err = bad.await.unwrap_err();
        println!("    main: the JoinHandle reports: {err}");
        let stuck = clockwork::spawn(narrated("stuck", std::future::pending::<()>()));
        task::yield_now().await;
        stuck.abort();
        println!("    main: abort() -> {}", stuck.await.unwrap_err());
    }));

    chapter("5. many threads", "A multi-thread runtime spreads tasks over its workers.");
    let mt = Builder::new_multi_thread().worker_threads(2).build().expect("runtime");
    let names = mt.block_on(async {
        let handles: Vec<_> = (0..4)
            .map(|i| {
                clockwork::spawn(async move {
                    let spin = std::time::Instant::now();
                    while spin.elapsed() < std::time::Duration::from_millis(20) {}
                    (i, std::thread::current().name().unwrap_or("?").to_string())
                })
            })
            .collect();
        let mut out = Vec::new();
        for h in handles {
            out.push(h.await.unwrap());
        }
        out
    });
    for (i, thread) in names {
        println!("    task {i} ran on {thread}");
    }
    drop(mt);

    chapter(
        "6. run next",
        "On a worker, a task woken by the running task runs next, ahead of older queued tasks.",
    );
    let one = Builder::new_multi_thread().worker_threads(1).build().expect("runtime");
    one.block_on(async {
        clockwork::spawn(narrated("sender", async {
            let (tx, rx) = clockwork::sync::oneshot::channel();
            let receiver = clockwork::spawn(narrated("receiver", async move { rx.await.unwrap() }));
            task::yield_now().await; // the receiver runs once and waits for the message
            let older = [
                clockwork::spawn(narrated("older-1", async {})),
                clockwork::spawn(narrated("older-2", async {})),
            ];
            println!("    sender: two tasks are queued; now sending, which wakes the receiver");
            tx.send("hello").unwrap();
            (receiver, older)
        }))
        .await
        .unwrap();
    });
    println!("    the receiver ran before older-1 and older-2: the wake put it in the run-next slot");
    drop(one);
    drop(rt);
    println!("\nThe runtimes were dropped: every unfinished task was cancelled first. End of the tour.");
}

/// Waits for a value from a plain thread, which it starts on first poll.
struct WaitForThread {
    rx: std::sync::mpsc::Receiver<u32>,
    started: bool,
}

impl WaitForThread {
    fn new(rx: std::sync::mpsc::Receiver<u32>) -> WaitForThread {
        WaitForThread { rx, started: false }
    }
}

impl Future for WaitForThread {
    type Output = u32;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<u32> {
        if let Ok(v) = self.rx.try_recv() {
            return Poll::Ready(v);
        }
        if !self.started {
            self.started = true;
            let (waker, (tx, rx2)) = (cx.waker().clone(), std::sync::mpsc::channel());
            let old_rx = std::mem::replace(&mut self.rx, rx2);
            drop(old_rx);
            std::thread::Builder::new()
                .name("helper".into())
                .spawn(move || {
                    tx.send(42).unwrap();
                    waker.wake();
                })
                .expect("spawn a thread");
            println!("      waiting started a thread and stored its waker there");
        }
        Poll::Pending
    }
}
