//! Tests of the current-thread runtime's loop and its parking protocol (`current_thread.rs`).

use super::*;
use crate::loom::sync::atomic::AtomicBool;
use crate::loom::sync::Mutex as LoomMutex;

/// A thread waiting for the core (another thread runs the tasks) registers itself once,
/// however often its own future wakes it, and leaves the list when its future is done:
/// the list is emptied only when the core comes back, so one entry per wake-up, or per
/// call, grew without bound.
#[cfg(not(loom))]
#[test]
fn a_thread_waiting_for_the_core_registers_once_and_leaves() {
    let blocking = blocking::Spawner::new(1, std::time::Duration::from_secs(1));
    let shared = Shared::new(blocking).expect("driver");
    let handle = scheduler::Handle::CurrentThread(shared.clone());
    let core = shared.take_core().expect("free"); // as if another thread ran the tasks
    let mut polls = 0;
    block_on(
        &handle,
        &shared,
        std::future::poll_fn(|cx| {
            polls += 1;
            if polls == 1_000 {
                return Poll::Ready(());
            }
            cx.waker().wake_by_ref();
            Poll::Pending
        }),
    );
    assert_eq!(shared.core_waiters.lock().len(), 0, "the finished call left the list");
    // A thread bridging into the runtime in a loop leaves nothing behind either.
    for _ in 0..100 {
        block_on(&handle, &shared, std::future::ready(()));
        block_on(&handle, &shared, crate::task::yield_now());
    }
    assert_eq!(shared.core_waiters.lock().len(), 0);
    shared.return_core(core);
    shutdown(&handle, &shared);
}

/// The parking protocol of this file, on the real `Shared` and the real loop: another
/// thread spawns a task while `block_on` is going to sleep. The task (run by
/// `block_on`'s thread) sets a flag and wakes the root future. If the spawn's unpark
/// were lost, `block_on` would park forever and loom would report a deadlock.
#[test]
fn loom_spawn_from_another_thread_against_park() {
    crate::loom::model(|| {
        let blocking = blocking::Spawner::new(1, std::time::Duration::from_secs(1));
        let shared = Shared::new(blocking).expect("driver");
        let handle = scheduler::Handle::CurrentThread(shared.clone());
        let done = Arc::new(AtomicBool::new(false));
        let root_waker: Arc<LoomMutex<Option<Waker>>> = Arc::new(LoomMutex::new(None));
        let spawner = {
            let (handle, done, root_waker) = (handle.clone(), done.clone(), root_waker.clone());
            crate::loom::thread::spawn(move || {
                drop(handle.spawn(async move {
                    done.store(true, SeqCst);
                    if let Some(w) = root_waker.lock().take() {
                        w.wake();
                    }
                }));
            })
        };
        block_on(&handle, &shared, until_set(&done, &root_waker));
        spawner.join().unwrap();
        shutdown(&handle, &shared);
    });
}

/// The shutdown hand-back (DESIGN.md §4.5), on the real `Shared` and the real loop: one
/// thread drives the runtime in `block_on` while another shuts it down. The thread
/// shutting down must get the core back (the driving thread returns it between two
/// polls, or is woken from its park to do so), and must drop every task's future before
/// `shutdown` returns; the driving thread must then go on waiting for its own future
/// without the core. A lost unpark would leave one of the two threads parked for ever,
/// which loom reports as a deadlock.
#[test]
fn loom_shutdown_takes_the_core_from_a_thread_driving_the_runtime() {
    struct SetOnDrop(Arc<AtomicBool>);
    impl Drop for SetOnDrop {
        fn drop(&mut self) {
            self.0.store(true, SeqCst);
        }
    }
    crate::loom::model(|| {
        let blocking = blocking::Spawner::new(1, std::time::Duration::from_secs(1));
        let shared = Shared::new(blocking).expect("driver");
        let handle = scheduler::Handle::CurrentThread(shared.clone());
        let task_dropped = Arc::new(AtomicBool::new(false));
        let guard = SetOnDrop(task_dropped.clone());
        drop(handle.spawn(async move {
            let _guard = guard;
            std::future::pending::<()>().await
        }));
        let shut_down = Arc::new(AtomicBool::new(false));
        // loom's lock, not std's: the waker crosses threads through it, and loom must see that.
        let root_waker: Arc<LoomMutex<Option<Waker>>> = Arc::new(LoomMutex::new(None));
        let dropper = {
            let (handle, shared) = (handle.clone(), shared.clone());
            let (shut_down, root_waker) = (shut_down.clone(), root_waker.clone());
            crate::loom::thread::spawn(move || {
                shutdown(&handle, &shared);
                assert!(task_dropped.load(SeqCst), "shutdown returned before the task's future was dropped");
                shut_down.store(true, SeqCst);
                if let Some(w) = root_waker.lock().take() {
                    w.wake();
                }
            })
        };
        block_on(&handle, &shared, until_set(&shut_down, &root_waker));
        dropper.join().unwrap();
    });
}

/// The root future of both models: stores its latest waker in `waker` (for the other
/// thread to wake), then is ready once `flag` is set. Store first, check second: a set
/// that comes after the check finds the new waker.
fn until_set<'a>(
    flag: &'a AtomicBool,
    waker: &'a LoomMutex<Option<Waker>>,
) -> impl std::future::Future<Output = ()> + 'a {
    std::future::poll_fn(move |cx| {
        *waker.lock() = Some(cx.waker().clone());
        if flag.load(SeqCst) {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    })
}
