//! The guided tour: a short run of the runtime, told by the runtime's own trace.
//!
//! What it teaches: which task is polled, what it returned, who woke it, and what runs
//! next — for spawns, yields, timers, a TCP echo over loopback, channels, a blocking
//! call and a buggy future. Every sentence below is printed from the events the runtime recorded
//! (`Builder::trace(true)`); nothing is wrapped or simulated.
//!
//! Run it: `cargo run --release --example tour`. It ends by writing `timeline.svg` (open it
//! in a browser), `trace.json` (open it in <https://ui.perfetto.dev>), `sequence.mmd`
//! (paste it into <https://mermaid.live>) and `narration.txt` into `target/clockwork-tour/`.
//!
//! Any program can get the same files without code changes:
//! `CLOCKWORK_TRACE=target/my-trace cargo run --example echo_server`.

use clockwork::net::{TcpListener, TcpStream};
use clockwork::runtime::Builder;
use clockwork::sync::{mpsc, oneshot};
use clockwork::task;
use clockwork::time::{sleep, timeout};
use clockwork::trace::Trace;
use clockwork::Runtime;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

/// Prints the narration of every event recorded since the previous chapter.
struct Narrator {
    seen: usize,
}

impl Narrator {
    fn chapter(&mut self, rt: &Runtime, title: &str, text: &str, run: impl Future<Output = ()>) -> Trace {
        println!("\n== {title}\n   {text}\n");
        rt.block_on(run);
        let mut part = rt.trace().expect("the tour's runtime records a trace");
        part.events.drain(..self.seen);
        self.seen += part.events.len();
        print!("{}", part.narration());
        part
    }
}

fn main() -> std::io::Result<()> {
    println!("clockwork tour: every line below comes from the runtime's own event trace.");
    println!("Columns: time since the runtime started, the thread, what happened.");
    let rt = Builder::new_current_thread().trace(true).build()?;
    let mut tour = Narrator { seen: 0 };

    first_steps(&mut tour, &rt);
    let echo = input_output(&mut tour, &rt);
    between_tasks(&mut tour, &rt);

    println!("\n== Lints (Runtime::lints): what the trace says looks wrong");
    for lint in rt.lints() {
        println!("   * {lint}");
    }
    let out = write_files(&rt.trace().expect("traced"), &echo)?;
    println!("\nThe whole run is in {}:", out.display());
    println!("   timeline.svg   open in a browser: one lane per thread, one box per poll, arrows for wakes");
    println!("   trace.json     open in https://ui.perfetto.dev (flow arrows link each wake to its poll)");
    println!("   sequence.mmd   chapter 4 for https://mermaid.live: task <-> runtime <-> reactor <-> OS");
    println!("   echo-timeline.svg   chapter 4 alone, small enough to read at a glance");
    drop(rt);
    println!("\nThe runtime was dropped: every unfinished task (the forgetful one) was cancelled first.");
    Ok(())
}

/// Chapters 1-3: spawning, yielding, timers.
fn first_steps(tour: &mut Narrator, rt: &Runtime) {
    tour.chapter(rt, "1. spawn and poll", "Spawning only queues a task; block_on runs the queue.", async {
        let a = task::Builder::new().name("A").spawn(async { 1 }).unwrap();
        let b = task::Builder::new().name("B").spawn(async { 2 }).unwrap();
        assert_eq!(a.await.unwrap() + b.await.unwrap(), 3);
    });

    tour.chapter(rt, "2. yield_now is fair", "A task that yields goes behind every ready task.", async {
        let polite = task::Builder::new().name("polite").spawn(async {
            task::yield_now().await;
            task::yield_now().await;
        });
        let quick = task::Builder::new().name("quick").spawn(async {});
        polite.unwrap().await.unwrap();
        quick.unwrap().await.unwrap();
    });

    tour.chapter(rt, "3. timers", "Sleeps go into the wheel; the driver sleeps until the next one.", async {
        let sleeper = task::Builder::new().name("sleeper").spawn(sleep(Duration::from_millis(5)));
        let impatient = task::Builder::new().name("impatient").spawn(async {
            // The inner 50 ms sleep loses the race: its timer is cancelled, never fired.
            timeout(Duration::from_millis(2), sleep(Duration::from_millis(50))).await.unwrap_err();
        });
        sleeper.unwrap().await.unwrap();
        impatient.unwrap().await.unwrap();
    });
}

/// Chapter 4: sockets; returns the chapter's own trace (the small timeline in docs/).
fn input_output(tour: &mut Narrator, rt: &Runtime) -> Trace {
    let echo = tour.chapter(
        rt,
        "4. TCP echo over loopback",
        "Pending on a socket = a waker stored in the reactor.",
        async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let server = task::Builder::new().name("echo server").spawn(async move {
                let (stream, _) = listener.accept().await.unwrap();
                let mut buf = [0; 64];
                let n = stream.read(&mut buf).await.unwrap();
                stream.write_all(&buf[..n]).await.unwrap();
            });
            let client = task::Builder::new().name("client").spawn(async move {
                let stream = TcpStream::connect(addr).await.unwrap();
                stream.write_all(b"hello").await.unwrap();
                let mut buf = [0; 5];
                stream.read_exact(&mut buf).await.unwrap();
                assert_eq!(&buf, b"hello");
            });
            server.unwrap().await.unwrap();
            client.unwrap().await.unwrap();
        },
    );

    echo
}

/// Chapters 5-8: waiting for other tasks, channels, a blocking call, a buggy future.
fn between_tasks(tour: &mut Narrator, rt: &Runtime) {
    tour.chapter(
        rt,
        "5. awaiting another task",
        "Awaiting a JoinHandle stores your waker in the other task.",
        async {
            let producer = task::Builder::new().name("producer").spawn(async {
                task::yield_now().await;
                42
            });
            let consumer =
                task::Builder::new().name("consumer").spawn(async move { producer.unwrap().await.unwrap() });
            assert_eq!(consumer.unwrap().await.unwrap(), 42);
        },
    );

    tour.chapter(
        rt,
        "6. channels",
        "A receiver that finds nothing stores its waker; send wakes it.",
        async {
            let (tx, mut rx) = mpsc::channel::<u32>(1);
            let (done_tx, done_rx) = oneshot::channel::<u32>();
            let consumer = task::Builder::new().name("summer").spawn(async move {
                let mut sum = 0;
                while let Some(n) = rx.recv().await {
                    sum += n;
                }
                done_tx.send(sum).unwrap();
            });
            let producer = task::Builder::new().name("counter").spawn(async move {
                for n in 1..=3 {
                    tx.send(n).await.unwrap(); // capacity 1: a second send waits for room
                }
            });
            producer.unwrap().await.unwrap();
            assert_eq!(done_rx.await.unwrap(), 6);
            consumer.unwrap().await.unwrap();
        },
    );

    tour.chapter(
        rt,
        "7. a blocking call",
        "spawn_blocking: a pool thread polls the task itself; its completion wakes the awaiting one.",
        async {
            let blocking = task::Builder::new().name("blocking read").spawn_blocking(|| {
                std::thread::sleep(Duration::from_millis(3)); // stands for a blocking file read
                "done"
            });
            assert_eq!(blocking.unwrap().await.unwrap(), "done");
        },
    );

    tour.chapter(
        rt,
        "8. a bug the lints catch",
        "A future that returns Pending without keeping its waker.",
        async {
            let _lost = task::Builder::new().name("forgetful").spawn(ForgetsItsWaker).unwrap();
            task::yield_now().await; // let it run once
        },
    );
}

/// Writes the exports into `target/clockwork-tour/` and returns that folder.
fn write_files(trace: &Trace, echo: &Trace) -> std::io::Result<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target").join("clockwork-tour");
    trace.write_to(&dir)?;
    std::fs::write(dir.join("echo-timeline.svg"), echo.svg())?;
    // The sequence diagram of the echo chapter alone: the readiness loop, readable at once.
    std::fs::write(dir.join("sequence.mmd"), echo.mermaid(80))?;
    Ok(dir)
}

/// The classic bug: `Pending` without storing `cx.waker()` anywhere. Nothing can ever
/// wake this task; the lost-waker lint says so.
struct ForgetsItsWaker;

impl Future for ForgetsItsWaker {
    type Output = ();
    fn poll(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<()> {
        Poll::Pending
    }
}
