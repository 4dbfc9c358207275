//! The workloads (after tokio's `rt_multi_threaded` benches and the notes in
//! `shared/notes/performance.md`). Each returns the wall time of the measured part.

use crate::latch::Latch;
use crate::rt::Rt;
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const SPAWN_N: usize = 100_000;

/// Current-thread runtime: spawn 100k tasks from inside `block_on`, then await every handle.
pub fn ct_spawn_join<R: Rt>(rt: &R) -> Duration {
    let rt2 = rt.handle_only();
    rt.block_on(async move {
        let start = Instant::now();
        let handles: Vec<_> = (0..SPAWN_N).map(|i| rt2.spawn_join(async move { i })).collect();
        let mut sum = 0;
        for h in handles {
            sum += h.await;
        }
        assert_eq!(sum, (0..SPAWN_N).sum::<usize>());
        start.elapsed()
    })
}

/// A task on a worker spawns 100k empty tasks (the local-spawn path).
pub fn spawn_many<R: Rt>(rt: &R) -> Duration {
    let latch = Latch::new(SPAWN_N);
    let start = Instant::now();
    let (rt2, l2) = (rt.handle_only(), latch.clone());
    rt.spawn(async move {
        for _ in 0..SPAWN_N {
            let l = l2.clone();
            rt2.spawn(async move { l.count_down() });
        }
    });
    rt.block_on(latch.wait());
    start.elapsed()
}

/// The main thread spawns 100k tasks (the injection-queue path).
pub fn spawn_many_remote<R: Rt>(rt: &R) -> Duration {
    let latch = Latch::new(SPAWN_N);
    let start = Instant::now();
    for _ in 0..SPAWN_N {
        let l = latch.clone();
        rt.spawn(async move { l.count_down() });
    }
    rt.block_on(latch.wait());
    start.elapsed()
}

/// 200 tasks each yield 1000 times.
pub fn yield_many<R: Rt>(rt: &R) -> Duration {
    const TASKS: usize = 200;
    let latch = Latch::new(TASKS);
    let start = Instant::now();
    for _ in 0..TASKS {
        let l = latch.clone();
        rt.spawn(async move {
            for _ in 0..1000 {
                R::yield_now().await;
            }
            l.count_down();
        });
    }
    rt.block_on(latch.wait());
    start.elapsed()
}

/// Task k spawns task k+1, 1000 times: spawn-to-run latency in a chain.
pub fn chained_spawn<R: Rt>(rt: &R) -> Duration {
    fn link<R: Rt>(rt: R, n: usize, done: Latch) {
        if n == 0 {
            done.count_down();
        } else {
            let rt2 = rt.handle_only();
            rt.spawn(async move { link(rt2, n - 1, done) });
        }
    }
    let latch = Latch::new(1);
    let start = Instant::now();
    let (rt2, l2) = (rt.handle_only(), latch.clone());
    rt.spawn(async move { link(rt2, 1000, l2) });
    rt.block_on(latch.wait());
    start.elapsed()
}

/// tokio's `ping_pong`: 1,000 iterations, each a task that spawns a peer and exchanges
/// one message each way with it over two oneshot channels (each runtime's own). Measures
/// where a woken task goes (a run-next slot keeps the pair on one hot core) and whether a
/// wake costs an unpark.
pub fn ping_pong<R: Rt>(rt: &R) -> Duration {
    const ITERATIONS: usize = 1_000;
    let latch = Latch::new(ITERATIONS);
    let start = Instant::now();
    let rt2 = rt.handle_only();
    let l2 = latch.clone();
    rt.spawn(async move {
        for _ in 0..ITERATIONS {
            let (rt3, l3) = (rt2.handle_only(), l2.clone());
            rt2.spawn(async move {
                let (ping, ping_rx) = R::oneshot();
                let (pong, pong_rx) = R::oneshot();
                rt3.spawn(async move {
                    ping_rx.await;
                    pong();
                });
                ping();
                pong_rx.await;
                l3.count_down();
            });
        }
    });
    rt.block_on(latch.wait());
    start.elapsed()
}

/// The longest sleep of the `timers` workload: its wall time minus this is the overhead.
pub const TIMERS_LONGEST: Duration = Duration::from_millis(50);

/// A driver task spawns 100,000 tasks, each sleeping 1..=50 ms (fixed-seed splitmix64).
pub fn timers<R: Rt>(rt: &R) -> Duration {
    const TASKS: usize = 100_000;
    let latch = Latch::new(TASKS);
    let start = Instant::now();
    let (rt2, l2) = (rt.handle_only(), latch.clone());
    rt.spawn(async move {
        let mut seed = 0x5eed_u64;
        for _ in 0..TASKS {
            let ms = 1 + splitmix64(&mut seed) % TIMERS_LONGEST.as_millis() as u64;
            let l = l2.clone();
            rt2.spawn(async move {
                let asked = Duration::from_millis(ms);
                let slept_from = Instant::now();
                R::sleep(asked).await;
                // The "never early", checked on every timer of every run.
                let slept = slept_from.elapsed();
                assert!(slept >= asked, "{}: a {asked:?} sleep woke after {slept:?}", R::NAME);
                l.count_down();
            });
        }
    });
    rt.block_on(latch.wait());
    start.elapsed()
}

fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Create a 10 s sleep, poll it once (registering it), drop it: 100,000 times.
pub fn timer_cancel<R: Rt>(rt: &R) -> Duration {
    rt.block_on(async {
        let start = Instant::now();
        for _ in 0..100_000 {
            let mut sleep = std::pin::pin!(R::sleep(Duration::from_secs(10)));
            std::future::poll_fn(|cx| {
                assert!(sleep.as_mut().poll(cx).is_pending());
                std::task::Poll::Ready(())
            })
            .await;
        }
        start.elapsed()
    })
}

/// Clients and round trips of the `tcp_echo` workload.
pub const ECHO_CLIENTS: usize = 32;
pub const ECHO_ROUND_TRIPS: usize = 2_000;

/// A loopback echo server in the runtime; 32 clients × 2,000 round trips of 64 B.
/// `join_all` of a chain of 10 000 futures in which each wakes the one before it: only one
/// child is ready at a time, so the cost per wake-up is what is measured (a join that
/// scans all its children on each wake-up is quadratic here).
pub fn join_all_chain<R: Rt>(rt: &R) -> Duration {
    const N: usize = 10_000;
    rt.block_on(async {
        let start = Instant::now();
        let (mut senders, receivers): (Vec<_>, Vec<_>) =
            (0..N).map(|_| R::oneshot()).map(|(s, r)| (Some(s), r)).unzip();
        let first = senders[N - 1].take().expect("the last child's sender");
        let children: Vec<_> = receivers
            .into_iter()
            .enumerate()
            .map(|(i, received)| {
                let next = if i > 0 { senders[i - 1].take() } else { None };
                async move {
                    received.await;
                    if let Some(send) = next {
                        send();
                    }
                }
            })
            .collect();
        first();
        let outputs = R::join_all(children).await;
        assert_eq!(outputs.len(), N);
        start.elapsed()
    })
}

pub fn tcp_echo<R: Rt>(rt: &R) -> Duration {
    rt.tcp_echo(ECHO_CLIENTS, ECHO_ROUND_TRIPS, 64)
}

/// Senders of the `mpsc_cancel` workload.
pub const CANCEL_SENDERS: usize = 100_000;

/// A full channel (capacity 1) and 100,000 tasks, each waiting in its `send` and for a
/// cancel signal (its own oneshot) at once; when every one is waiting, they are cancelled
/// in a fixed random order and each drops its `send`, leaving the line of waiting senders
/// from wherever it stands. Measured: from the first cancel to the last task joined. A
/// line that shifts its entries on each leave is quadratic here (DESIGN §8, mpsc).
pub fn mpsc_cancel<R: Rt>(rt: &R) -> Duration {
    use std::task::Poll;
    const FIRST: usize = usize::MAX;
    let rt2 = rt.handle_only();
    rt.block_on(async move {
        let (tx, mut rx) = R::channel(1);
        assert!(R::send(&tx, FIRST).await, "{}: the first send fills the channel", R::NAME);
        let waiting = Latch::new(CANCEL_SENDERS);
        let mut cancels = Vec::with_capacity(CANCEL_SENDERS);
        let mut senders = Vec::with_capacity(CANCEL_SENDERS);
        for i in 0..CANCEL_SENDERS {
            let (cancel, cancelled) = R::oneshot();
            cancels.push(cancel);
            let (tx, waiting) = (tx.clone(), waiting.clone());
            senders.push(rt2.spawn_join(async move {
                let mut send = std::pin::pin!(R::send(&tx, i));
                let mut cancelled = std::pin::pin!(cancelled);
                let mut first = true;
                // A select of the two that also counts the first poll (the send in line).
                std::future::poll_fn(move |cx| {
                    let sent = send.as_mut().poll(cx).is_ready();
                    if std::mem::take(&mut first) {
                        waiting.count_down();
                    }
                    if sent {
                        return Poll::Ready(true);
                    }
                    cancelled.as_mut().poll(cx).map(|()| false)
                })
                .await
            }));
        }
        waiting.wait().await;
        let mut seed = 0xca9ce1_u64;
        for i in (1..cancels.len()).rev() {
            cancels.swap(i, (splitmix64(&mut seed) % (i as u64 + 1)) as usize);
        }
        let start = Instant::now();
        for cancel in cancels {
            cancel();
        }
        let mut delivered = 0;
        for sender in senders {
            delivered += usize::from(sender.await);
        }
        let elapsed = start.elapsed();
        // Every send was cancelled, and the channel holds exactly the first value.
        assert_eq!(delivered, 0, "{}: a cancelled send completed", R::NAME);
        drop(tx);
        assert_eq!(R::recv(&mut rx).await, Some(FIRST), "{}: the first value", R::NAME);
        assert_eq!(R::recv(&mut rx).await, None, "{}: a cancelled send's value arrived", R::NAME);
        elapsed
    })
}

/// Waiters and idle window of the `idle_foreign_waiters` workload.
pub const IDLE_WAITERS: usize = 300;
pub const IDLE_WINDOW: Duration = Duration::from_millis(200);

/// CPU time of the whole process (every thread), from `getrusage`.
fn process_cpu_time() -> Duration {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::uninit();
    // SAFETY: `getrusage` fills the struct it is given; RUSAGE_SELF cannot fail.
    let usage = unsafe {
        assert_eq!(libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr()), 0);
        usage.assume_init()
    };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

/// Counts the polls of the future it wraps.
struct Counted<F>(F, Arc<AtomicUsize>);

impl<F: Future + Unpin> Future for Counted<F> {
    type Output = F::Output;
    fn poll(mut self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<F::Output> {
        self.1.fetch_add(1, Ordering::Relaxed);
        std::pin::Pin::new(&mut self.0).poll(cx)
    }
}

/// 300 `recv_from` futures waiting on one UDP socket (the runtime's own type), all children
/// of one `futures::future::join_all` in a task. Above 30 children that `join_all` is a
/// `FuturesOrdered`: each child is polled with a waker of its own, not the runtime's task
/// waker (a *foreign* waker), so the socket's read direction holds 300 live foreign
/// wakers. Measured: the process's CPU time (every thread, `getrusage`) over 200 ms
/// while nothing happens. An idle reactor costs ~0; waiters that wake each other
/// busy-loop (clockwork did, at 550–960 ms per idle second, before keyed waiters;
/// DESIGN §7, "Known limits").
/// Checked: every waiter was polled before the window and none finished in it; then 300
/// datagrams arrive and each waiter gets exactly one, each datagram once.
pub fn idle_foreign_waiters<R: Rt>(rt: &R) -> Duration {
    let polls = Arc::new(AtomicUsize::new(0));
    let received = Arc::new(AtomicUsize::new(0));
    let socket = Arc::new(rt.block_on(R::udp_bind()));
    let addr = R::udp_local_addr(&socket);
    let waiters: Vec<_> = (0..IDLE_WAITERS)
        .map(|_| {
            let (socket, polls, received) = (socket.clone(), polls.clone(), received.clone());
            async move {
                let mut buf = [0u8; 8];
                let len = Counted(Box::pin(R::udp_recv_from(&socket, &mut buf)), polls).await;
                received.fetch_add(1, Ordering::Relaxed);
                assert_eq!(len, 8, "{}: a datagram's length", R::NAME);
                u64::from_le_bytes(buf)
            }
        })
        .collect();
    let all = rt.spawn_join(futures::future::join_all(waiters));
    let until = |what: &str, done: &dyn Fn() -> bool| {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !done() {
            assert!(Instant::now() < deadline, "{}: timed out waiting until {what}", R::NAME);
            std::thread::sleep(Duration::from_micros(100));
        }
    };
    until("every waiter is polled", &|| polls.load(Ordering::Relaxed) >= IDLE_WAITERS);
    std::thread::sleep(Duration::from_millis(20)); // the workers finish spinning and park
    let before = process_cpu_time();
    std::thread::sleep(IDLE_WINDOW);
    let cpu = process_cpu_time() - before;
    assert_eq!(received.load(Ordering::Relaxed), 0, "{}: a waiter finished with no datagram", R::NAME);
    // One datagram at a time, each after the last was taken: loopback UDP drops what
    // overflows the receive buffer, and a lost datagram would hang the join.
    let sender = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    for i in 0..IDLE_WAITERS {
        sender.send_to(&(i as u64).to_le_bytes(), addr).unwrap();
        until("a datagram is received", &|| received.load(Ordering::Relaxed) > i);
    }
    let mut got = rt.block_on(all);
    got.sort_unstable();
    assert!(got.iter().copied().eq(0..IDLE_WAITERS as u64), "{}: each datagram once", R::NAME);
    cpu
}
