//! Sockets are closed and deregistered when they should be: on drop, on abort, at runtime
//! shutdown; and misuse (no runtime) is a clear panic.

#![cfg(not(loom))] // the sockets need the real reactor, which loom builds leave out

mod common;

use clockwork::net::{TcpListener, TcpStream};
use common::within;
use std::io::Read;
use std::sync::mpsc;
use std::time::Duration;

/// The number of open descriptors of this process, where the OS tells us cheaply.
fn open_fds() -> Option<usize> {
    std::fs::read_dir("/proc/self/fd").ok().map(|dir| dir.count())
}

/// 2,000 connect/accept/close cycles: descriptor numbers are reused constantly, so a stale
/// registration or a missed close would show up as an error or as leaked descriptors.
#[test]
fn two_thousand_connect_close_cycles_leak_nothing() {
    within(30, || {
        clockwork::block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let before = open_fds();
            for i in 0..2000u32 {
                let client = TcpStream::connect(addr).await.unwrap();
                let (server, _) = listener.accept().await.unwrap();
                if i % 2 == 0 {
                    client.write_all(&i.to_le_bytes()).await.unwrap();
                    let mut buf = [0u8; 4];
                    server.read_exact(&mut buf).await.unwrap();
                    assert_eq!(u32::from_le_bytes(buf), i);
                }
                drop((client, server));
            }
            if let (Some(before), Some(after)) = (before, open_fds()) {
                // A little slack: the test harness itself may open a descriptor meanwhile.
                assert!(after <= before + 2, "descriptors leaked: {before} before, {after} after");
            }
        });
    });
}

/// A task blocked in `read` is aborted: its stream is dropped, deregistered and closed, so
/// the peer sees end of stream.
#[test]
fn aborting_a_task_blocked_in_read_closes_its_socket() {
    within(10, || {
        clockwork::block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let peer = std::thread::spawn(move || {
                let mut stream = std::net::TcpStream::connect(addr).unwrap();
                stream.set_read_timeout(Some(Duration::from_secs(8))).unwrap();
                let mut buf = [0u8; 1];
                stream.read(&mut buf) // Ok(0) once the server side closes
            });
            let (stream, _) = listener.accept().await.unwrap();
            let reader = clockwork::spawn(async move {
                let mut buf = [0u8; 1];
                let _ = stream.read(&mut buf).await; // never completes: the peer sends nothing
                unreachable!("the peer never writes");
            });
            clockwork::task::yield_now().await;
            reader.abort();
            assert!(reader.await.unwrap_err().is_cancelled());
            let peer_read = clockwork::task::spawn_blocking(move || peer.join().unwrap());
            let result = peer_read.await.unwrap();
            assert_eq!(result.unwrap(), 0, "the peer sees EOF, not a timeout");
        });
    });
}

/// Once its runtime is dropped, a socket's pending and new operations fail with an error
/// that says why; none of them hangs.
#[test]
fn operations_fail_after_the_runtime_is_gone() {
    within(10, || {
        let runtime = clockwork::Runtime::new().unwrap();
        let (listener, client, server) = runtime.block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let client = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
            let (server, _) = listener.accept().await.unwrap();
            (listener, client, server)
        });
        // A read that is already waiting, on a plain thread outside the runtime.
        let (started_tx, started_rx) = mpsc::channel();
        let pending = std::thread::spawn(move || {
            futures::executor::block_on(async {
                let mut buf = [0u8; 8];
                let read = server.read(&mut buf);
                futures::pin_mut!(read);
                // Poll once so it is really registered and waiting, then report that.
                let first = futures::poll!(read.as_mut());
                started_tx.send(first.is_pending()).unwrap();
                read.await
            })
        });
        assert!(started_rx.recv().unwrap(), "no data was sent, so the read must wait");
        drop(runtime);
        let error = pending.join().unwrap().expect_err("the waiting read must fail");
        assert!(error.to_string().contains("runtime"), "{error}");
        // New operations fail at once.
        let mut buf = [0u8; 8];
        let error = futures::executor::block_on(client.read(&mut buf)).unwrap_err();
        assert!(error.to_string().contains("runtime"), "{error}");
        assert!(futures::executor::block_on(listener.accept()).is_err());
    });
}

/// The panic comes when the future is polled, but names the line that called
/// `connect`/`bind`, and says what is missing.
#[test]
fn connecting_or_binding_outside_a_runtime_panics_saying_so_and_where() {
    let (connect, line_connect) = (TcpStream::connect("127.0.0.1:9"), line!());
    let (bind, line_bind) = (TcpListener::bind("127.0.0.1:0"), line!());
    let (udp, line_udp) = (clockwork::net::UdpSocket::bind("127.0.0.1:0"), line!());
    let cases = [
        (panic_of(|| drop(futures::executor::block_on(connect))), line_connect),
        (panic_of(|| drop(futures::executor::block_on(bind))), line_bind),
        (panic_of(|| drop(futures::executor::block_on(udp))), line_udp),
    ];
    for (message, line) in cases {
        assert!(message.contains("runtime"), "{message}");
        assert!(message.contains(&format!("tests/net_cleanup.rs:{line}:")), "{message}");
    }
}

fn panic_of(f: impl FnOnce()) -> String {
    let payload = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_err();
    common::panic_message(&*payload)
}
