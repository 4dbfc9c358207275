//! Unit tests for the reactor, on real sockets but without a runtime: a test drives
//! `Reactor::wait` itself (or on a helper thread) and polls futures with counting wakers.

use super::*;
use crate::loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::cell::RefCell;
use std::future::Future;
use std::io::Read;
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::task::{Context, Poll, Wake};
use std::time::Instant;

thread_local! {
    /// Lets in-crate tests hand net code a reactor before the runtime exists (see `current`).
    pub(crate) static TEST_REACTOR: RefCell<Option<Arc<Reactor>>> = const { RefCell::new(None) };
}

/// Runs `future` with `futures`' executor on this thread while a helper thread drives the
/// reactor, and with `reactor::current` answering that reactor. Returns the reactor too, so
/// a test can inspect it afterwards.
pub(crate) fn block_on_with_reactor<F: Future>(future: F) -> (F::Output, Arc<Reactor>) {
    let reactor = Arc::new(Reactor::new().unwrap());
    let stop = Arc::new(AtomicBool::new(false));
    let driver = {
        let (reactor, stop) = (reactor.clone(), stop.clone());
        std::thread::spawn(move || {
            while !stop.load(SeqCst) {
                reactor.wait(None).unwrap();
            }
        })
    };
    TEST_REACTOR.with(|r| *r.borrow_mut() = Some(reactor.clone()));
    let output = futures::executor::block_on(future);
    TEST_REACTOR.with(|r| *r.borrow_mut() = None);
    stop.store(true, SeqCst);
    reactor.notify();
    driver.join().unwrap();
    (output, reactor)
}

/// A waker that counts its wake-ups (and panics on wake if asked to).
#[derive(Default)]
struct Counter {
    wakes: AtomicUsize,
    panic: bool,
}

impl Wake for Counter {
    fn wake(self: Arc<Self>) {
        self.wakes.fetch_add(1, SeqCst);
        assert!(!self.panic, "a panicking waker (on purpose)");
    }
}

fn counter(panic: bool) -> (Arc<Counter>, Waker) {
    let counter = Arc::new(Counter { wakes: AtomicUsize::new(0), panic });
    (counter.clone(), Waker::from(counter))
}

fn udp_pair() -> (UdpSocket, UdpSocket) {
    let a = UdpSocket::bind("127.0.0.1:0").unwrap();
    let b = UdpSocket::bind("127.0.0.1:0").unwrap();
    a.set_nonblocking(true).unwrap();
    (a, b)
}

/// Polls a `recv` on `reg` once with `waker`.
fn poll_recv(reg: &Registration<UdpSocket>, waker: &Waker) -> Poll<io::Result<usize>> {
    let mut buf = [0u8; 64];
    reg.poll_io(Direction::Read, &mut Context::from_waker(waker), |s| s.recv(&mut buf))
}

#[test]
fn reactor_is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<Reactor>();
    check::<Registration<TcpStream>>();
}

#[test]
fn readiness_wakes_the_waiting_task_once_and_data_is_read() {
    let reactor = Arc::new(Reactor::new().unwrap());
    let (a, b) = udp_pair();
    let reg = Registration::new(reactor.clone(), a).unwrap();
    let (count, waker) = counter(false);
    assert!(poll_recv(&reg, &waker).is_pending(), "nothing sent yet");
    b.send_to(b"hi", reg.get_ref().local_addr().unwrap()).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while count.wakes.load(SeqCst) == 0 {
        assert!(Instant::now() < deadline, "the readiness event never came");
        reactor.wait(Some(Duration::from_millis(100))).unwrap();
    }
    assert_eq!(count.wakes.load(SeqCst), 1);
    assert!(matches!(poll_recv(&reg, &waker), Poll::Ready(Ok(2))));
}

/// Scenario 39: an event whose key is stale (its source was deregistered and the slot
/// reused, possibly with the same fd number) must not reach the new occupant.
#[test]
fn stale_event_key_is_ignored() {
    let reactor = Arc::new(Reactor::new().unwrap());
    let (a, _peer) = udp_pair();
    let old = Registration::new(reactor.clone(), a).unwrap();
    let old_key = event_key(old.key);
    drop(old);
    let (b, _peer2) = udp_pair();
    let new = Registration::new(reactor.clone(), b).unwrap();
    assert_eq!(new.key.index(), Key::from_u64(old_key as u64).index(), "slot reused");
    let (count, waker) = counter(false);
    assert!(poll_recv(&new, &waker).is_pending());
    let mut wake_list = Vec::new();
    let counted = reactor.dispatch([(old_key, true, true)].into_iter(), &mut wake_list);
    assert_eq!(counted, 1, "still an I/O event, just nobody's");
    assert!(wake_list.is_empty(), "the stale event must not wake the new source");
    wake_all(&mut wake_list);
    assert_eq!(count.wakes.load(SeqCst), 0);
    assert!(poll_recv(&new, &waker).is_pending(), "and must not mark it ready");
}

/// Scenario 42: an event that lands between `WouldBlock` and the clear is not lost.
#[test]
fn event_between_would_block_and_clear_is_kept() {
    let source = Source::new();
    let (_count, waker) = counter(false);
    let mut cx = Context::from_waker(&waker);
    let Poll::Ready(Ok(seen)) = source.poll_ready(Direction::Read, &mut cx, None) else {
        panic!("a new source starts ready")
    };
    // ... the read says WouldBlock here, and before we clear, the reactor reports data:
    source.set_ready(true, false, &mut Vec::new());
    source.clear_ready(Direction::Read, seen);
    assert!(source.poll_ready(Direction::Read, &mut cx, None).is_ready(), "the newer event stands");
    // Without an intervening event the clear does take effect.
    let Poll::Ready(Ok(now)) = source.poll_ready(Direction::Read, &mut cx, None) else { unreachable!() };
    source.clear_ready(Direction::Read, now);
    assert!(source.poll_ready(Direction::Read, &mut cx, None).is_pending());
}

#[test]
fn notify_ends_a_blocked_wait_from_another_thread() {
    let reactor = Arc::new(Reactor::new().unwrap());
    let waiter = {
        let reactor = reactor.clone();
        std::thread::spawn(move || reactor.wait(None).unwrap())
    };
    reactor.notify();
    assert_eq!(waiter.join().unwrap(), 0, "a notification is not an I/O event");
    // A notify with nobody waiting makes the next wait return at once.
    reactor.notify();
    assert_eq!(reactor.wait(Some(Duration::from_secs(30))).unwrap(), 0);
    assert_eq!(reactor.wait(Some(Duration::ZERO)).unwrap(), 0);
}

/// Scenario 40: the peer closes; a reader parked on readable is woken and reads 0, again
/// and again.
#[test]
fn peer_hang_up_wakes_a_blocked_reader_with_eof() {
    let reactor = Arc::new(Reactor::new().unwrap());
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (server, _) = listener.accept().unwrap();
    server.set_nonblocking(true).unwrap();
    let reg = Registration::new(reactor.clone(), server).unwrap();
    let (count, waker) = counter(false);
    let mut cx = Context::from_waker(&waker);
    let mut buf = [0u8; 16];
    assert!(reg.poll_io(Direction::Read, &mut cx, |mut s| s.read(&mut buf)).is_pending());
    drop(client);
    while count.wakes.load(SeqCst) == 0 {
        reactor.wait(Some(Duration::from_secs(10))).unwrap();
    }
    for _ in 0..3 {
        let read = reg.poll_io(Direction::Read, &mut cx, |mut s| s.read(&mut buf));
        assert!(matches!(read, Poll::Ready(Ok(0))), "EOF every time: {read:?}");
    }
}

/// Scenario 18: a panicking waker is contained; the other wakers still fire.
#[test]
fn a_panicking_waker_does_not_stop_the_others() {
    let reactor = Arc::new(Reactor::new().unwrap());
    let (a, b) = udp_pair();
    let (c, _) = udp_pair();
    let first = Registration::new(reactor.clone(), a).unwrap();
    let second = Registration::new(reactor.clone(), c).unwrap();
    let (panicky, panicky_waker) = counter(true);
    let (calm, calm_waker) = counter(false);
    assert!(poll_recv(&first, &panicky_waker).is_pending());
    assert!(poll_recv(&second, &calm_waker).is_pending());
    b.send_to(b"x", first.get_ref().local_addr().unwrap()).unwrap();
    b.send_to(b"y", second.get_ref().local_addr().unwrap()).unwrap();
    while calm.wakes.load(SeqCst) == 0 || panicky.wakes.load(SeqCst) == 0 {
        reactor.wait(Some(Duration::from_secs(10))).unwrap();
    }
    assert!(matches!(poll_recv(&second, &calm_waker), Poll::Ready(Ok(1))));
}

/// Scenario 45: shutdown wakes every waiter; pending and new operations fail, none hangs.
#[test]
fn shutdown_wakes_waiters_and_fails_operations() {
    let reactor = Arc::new(Reactor::new().unwrap());
    let (a, _) = udp_pair();
    let reg = Registration::new(reactor.clone(), a).unwrap();
    let (count, waker) = counter(false);
    assert!(poll_recv(&reg, &waker).is_pending());
    reactor.shutdown();
    assert_eq!(count.wakes.load(SeqCst), 1, "the waiter is released");
    let Poll::Ready(Err(error)) = poll_recv(&reg, &waker) else { panic!("must fail") };
    assert!(error.to_string().contains("shut down"), "{error}");
    let (b, _) = udp_pair();
    let refused = Registration::new(reactor.clone(), b).unwrap_err();
    assert!(refused.to_string().contains("shut down"), "{refused}");
    drop(reg);
    assert_eq!(reactor.source_count(), 0);
}

/// Scenario 46: registering the same descriptor twice fails clearly, and the first
/// registration keeps working.
#[test]
fn registering_the_same_fd_twice_is_an_error() {
    let reactor = Arc::new(Reactor::new().unwrap());
    let (a, b) = udp_pair();
    let first = Registration::new(reactor.clone(), &a).unwrap();
    let second = Registration::new(reactor.clone(), &a);
    assert!(second.is_err(), "the poller refuses a second registration");
    assert_eq!(reactor.source_count(), 1, "the failed attempt leaks no slot");
    let (count, waker) = counter(false);
    let mut cx = Context::from_waker(&waker);
    let mut buf = [0u8; 8];
    assert!(first.poll_io(Direction::Read, &mut cx, |s| s.recv(&mut buf)).is_pending());
    b.send_to(b"ok", a.local_addr().unwrap()).unwrap();
    while count.wakes.load(SeqCst) == 0 {
        reactor.wait(Some(Duration::from_secs(10))).unwrap();
    }
    drop(first);
    assert_eq!(reactor.source_count(), 0);
}

/// A waker that drops its own socket (deregistering it) from inside `wait` must not
/// deadlock: wakers run after every lock is released.
#[test]
fn a_waker_may_deregister_its_own_source() {
    struct DropOnWake(std::sync::Mutex<Option<Registration<UdpSocket>>>);
    impl Wake for DropOnWake {
        fn wake(self: Arc<Self>) {
            self.0.lock().unwrap().take();
        }
    }
    let reactor = Arc::new(Reactor::new().unwrap());
    let (a, b) = udp_pair();
    let addr = a.local_addr().unwrap();
    let holder = Arc::new(DropOnWake(std::sync::Mutex::new(None)));
    let waker = Waker::from(holder.clone());
    let reg = Registration::new(reactor.clone(), a).unwrap();
    assert!(poll_recv(&reg, &waker).is_pending());
    *holder.0.lock().unwrap() = Some(reg);
    b.send_to(b"bye", addr).unwrap();
    while reactor.source_count() != 0 {
        reactor.wait(Some(Duration::from_secs(10))).unwrap();
    }
}

#[test]
fn a_second_concurrent_waiter_returns_at_once() {
    let reactor = Arc::new(Reactor::new().unwrap());
    let first = {
        let reactor = reactor.clone();
        std::thread::spawn(move || reactor.wait(None).unwrap())
    };
    // Whether or not the first thread is inside `wait` yet, this call must not block long.
    let started = Instant::now();
    reactor.wait(Some(Duration::from_millis(50))).unwrap();
    assert!(started.elapsed() < Duration::from_secs(10));
    reactor.notify();
    first.join().unwrap();
}

/// Waits abandoned by their futures (a read cancelled by `timeout`, again and again on a
/// socket that never gets an event) leave their wakers behind. Those of finished tasks are
/// dropped whenever the list reaches `MAX_WAITERS` (or twice what the last pruning kept),
/// without waking anyone, so the list stays bounded. (At first it grew by one waker per
/// abandoned wait, each keeping its finished task's memory alive.)
#[test]
fn wakers_of_finished_tasks_are_pruned_without_waking_anyone() {
    let reactor = Arc::new(Reactor::new().unwrap());
    let (a, _b) = udp_pair();
    let reg = Arc::new(Registration::new(reactor.clone(), a).unwrap());
    let rt = crate::runtime::Builder::new_current_thread().build().unwrap();
    let (live_count, live) = counter(false); // a waiter that stays
    assert!(poll_recv(&reg, &live).is_pending());
    let mut longest = 0;
    for _ in 0..10 * direction::MAX_WAITERS {
        let waiter = reg.clone();
        // A task that waits once, then finishes: its waker stays behind.
        let task = rt.spawn(std::future::poll_fn(move |cx| {
            assert!(poll_recv(&waiter, cx.waker()).is_pending(), "nothing was sent");
            Poll::Ready(())
        }));
        rt.block_on(task).unwrap();
        longest = longest.max(reg.waiting(Direction::Read));
    }
    assert!(longest <= direction::MAX_WAITERS, "{longest} wakers kept for one direction");
    assert_eq!(live_count.wakes.load(SeqCst), 0, "the live waiter was never woken spuriously");
}

/// More live tasks than `MAX_WAITERS` waiting on one direction (65 tasks accepting on one
/// listener): none is woken until an event comes, then each once. (Waking the whole list
/// at 64 made them wake each other for ever: 100 % CPU on an idle socket.)
#[test]
fn many_live_tasks_waiting_are_left_alone_until_an_event() {
    let reactor = Arc::new(Reactor::new().unwrap());
    let (a, b) = udp_pair();
    let addr = a.local_addr().unwrap();
    let reg = Arc::new(Registration::new(reactor.clone(), a).unwrap());
    let rt = crate::runtime::Builder::new_current_thread().build().unwrap();
    let polls = Arc::new(AtomicUsize::new(0));
    let tasks = 5 * direction::MAX_WAITERS;
    for _ in 0..tasks {
        let (reg, polls) = (reg.clone(), polls.clone());
        drop(rt.spawn(std::future::poll_fn(move |cx| {
            polls.fetch_add(1, SeqCst);
            let _ = poll_recv(&reg, cx.waker()); // pending: waits, and never finishes
            Poll::<()>::Pending
        })));
    }
    rt.block_on(crate::task::yield_now()); // every task runs once and registers
    rt.block_on(crate::task::yield_now());
    assert_eq!(polls.load(SeqCst), tasks, "a live task was woken spuriously");
    assert_eq!(reg.waiting(Direction::Read), tasks);
    b.send_to(b"hi", addr).unwrap();
    reactor.wait(Some(Duration::from_secs(10))).unwrap();
    rt.block_on(crate::task::yield_now());
    assert_eq!(polls.load(SeqCst), 2 * tasks, "each woken once by the event");
}

/// Wakers that are not this crate's task wakers (another executor's, a `block_on`
/// root's) cannot be told finished: abandoned ones are woken and dropped once more than
/// `MAX_WAITERS` of them pile up, so the list stays bounded (a review found it growing
/// without bound, and each registration scanning all of it).
#[test]
fn abandoned_foreign_wakers_are_bounded() {
    let reactor = Arc::new(Reactor::new().unwrap());
    let (a, _b) = udp_pair();
    let reg = Registration::new(reactor.clone(), a).unwrap();
    let mut longest = 0;
    let mut counters = Vec::new();
    for _ in 0..10 * direction::MAX_WAITERS {
        let (count, waker) = counter(false);
        assert!(poll_recv(&reg, &waker).is_pending(), "nothing was sent");
        counters.push(count); // the waiting future is dropped here: its waker stays behind
        longest = longest.max(reg.waiting(Direction::Read));
    }
    assert!(longest <= 2 * direction::MAX_WAITERS, "{longest} wakers kept for one direction");
    assert!(counters.iter().all(|c| c.wakes.load(SeqCst) <= 1), "each woken at most once");
}

/// The `async` operations keep a keyed slot per waiting future. Many live futures with
/// foreign wakers (here 5 × `MAX_WAITERS` `recv`s, each polled with its own counting
/// waker, as `FuturesUnordered` or `join_all` give their children) wait without waking
/// each other; dropping half of them takes exactly their slots out; polling the rest
/// again adds nothing; one event wakes each survivor once. (Unkeyed, more than
/// `MAX_WAITERS` such wakers were woken and dropped at every pruning, re-registered at
/// once, and pruned again: a differential audit measured 55–96 % CPU on an idle socket.)
#[test]
fn keyed_waiters_leave_with_their_future_and_never_wake_each_other() {
    let reactor = Arc::new(Reactor::new().unwrap());
    let (a, b) = udp_pair();
    let addr = a.local_addr().unwrap();
    let reg = Registration::new(reactor.clone(), a).unwrap();
    let n = 5 * direction::MAX_WAITERS;
    let mut buffers = vec![[0u8; 64]; n];
    let mut futures: Vec<_> = buffers
        .iter_mut()
        .map(|buf| Box::pin(reg.io(Direction::Read, move |s| s.recv(&mut buf[..]))))
        .collect();
    let wakers: Vec<_> = (0..n).map(|_| counter(false)).collect();
    fn poll_all<F: Future>(futures: &mut [std::pin::Pin<Box<F>>], wakers: &[(Arc<Counter>, Waker)]) {
        for (future, (_, waker)) in futures.iter_mut().zip(wakers) {
            assert!(future.as_mut().poll(&mut Context::from_waker(waker)).is_pending());
        }
    }
    poll_all(&mut futures, &wakers);
    assert_eq!(reg.waiting(Direction::Read), n);
    futures.truncate(n / 2); // the other half is cancelled
    assert_eq!(reg.waiting(Direction::Read), n / 2, "a dropped future takes its slot out");
    poll_all(&mut futures, &wakers);
    assert_eq!(reg.waiting(Direction::Read), n / 2, "polled again: the same slots");
    assert!(wakers.iter().all(|(c, _)| c.wakes.load(SeqCst) == 0), "nobody was woken without an event");
    b.send_to(b"hi", addr).unwrap();
    reactor.wait(Some(Duration::from_secs(10))).unwrap();
    let woken: Vec<_> = wakers.iter().map(|(c, _)| c.wakes.load(SeqCst)).collect();
    assert_eq!(woken, [vec![1; n / 2], vec![0; n / 2]].concat(), "each waiting future woken once");
    assert_eq!(reg.waiting(Direction::Read), 0);
}
