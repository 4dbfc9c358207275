//! TEMPORARY: `TcpStream::connect` runs std's *blocking* connect on a helper thread.
//!
//! **Why this file exists, and why it should go.** A truly non-blocking connect needs a
//! socket that is non-blocking *before* `connect(2)` is called: the call then returns
//! `EINPROGRESS`, we wait for the socket to become writable, and read `SO_ERROR`
//! (`take_error()`) to learn whether the handshake worked. `std::net` cannot do that: its
//! only constructor for a client socket, `TcpStream::connect`, creates *and* connects in
//! one blocking call, and there is no std way to create an unconnected socket.
//!
//! Until the project decides on a dependency for the two missing system calls (proposal:
//! `rustix`, which `polling` already builds on; ready as `src/net/nonblocking-connect.patch`,
//! which replaces this file with a real non-blocking connect), the
//! blocking call runs on a short-lived helper thread and hands its result back through a
//! tiny one-shot slot. The runtime thread never blocks; the price is a thread spawn
//! (~30 µs here) per connect, which is fine for examples and tests but not for a client
//! that opens thousands of connections per second. The resolved addresses are tried in
//! order and the last error is returned, as std does.

use crate::loom::sync::{Arc, Mutex};
use std::future::poll_fn;
use std::io;
use std::net::{SocketAddr, TcpStream};
use std::task::{Poll, Waker};

/// The one-shot slot between the helper thread and the waiting task.
#[derive(Default)]
struct Slot {
    result: Option<io::Result<TcpStream>>,
    waker: Option<Waker>,
}

/// Connects to the first of `addrs` that accepts, on a helper thread; the calling task
/// sleeps (it does not block its thread) until the helper is done.
pub(super) async fn connect_on_helper_thread(addrs: Vec<SocketAddr>) -> io::Result<TcpStream> {
    let slot = Arc::new(Mutex::new(Slot::default()));
    let helper_slot = slot.clone();
    std::thread::Builder::new().name("clockwork-connect".into()).spawn(move || {
        let result = TcpStream::connect(&addrs[..]);
        let waker = {
            let mut slot = helper_slot.lock();
            slot.result = Some(result);
            slot.waker.take()
        };
        // Woken after the lock is released. If the task was dropped meanwhile, the
        // stream in the slot is dropped with the last `Arc`, closing the connection.
        if let Some(waker) = waker {
            waker.wake();
        }
    })?;
    poll_fn(|cx| {
        let mut slot = slot.lock();
        match slot.result.take() {
            Some(result) => Poll::Ready(result),
            None => {
                slot.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    })
    .await
}
