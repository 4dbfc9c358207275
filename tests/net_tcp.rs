//! TCP over loopback on the real runtime: correctness, end of stream, errors, and cleanup.
//!
//! Every test runs under a watchdog (`within`) so that a lost wake-up fails the test
//! instead of hanging it; the bounds are generous and nothing is ordered by sleeping.

#![cfg(not(loom))] // the sockets need the real reactor, which loom builds leave out

mod common;

use clockwork::net::{TcpListener, TcpStream};
use common::within;
use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::time::Duration;

/// Serves echo on `listener` forever, one task per connection.
async fn echo_server(listener: TcpListener) {
    loop {
        let (stream, _) = listener.accept().await.expect("accept");
        clockwork::spawn(async move {
            let mut buf = vec![0u8; 16 * 1024];
            loop {
                match stream.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        if stream.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                    }
                }
            }
        });
    }
}

#[test]
fn many_concurrent_clients_on_a_multi_thread_runtime() {
    within(20, || {
        let runtime = clockwork::Runtime::new().unwrap();
        runtime.block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            clockwork::spawn(echo_server(listener));
            let clients: Vec<_> = (0..64u32)
                .map(|id| {
                    clockwork::spawn(async move {
                        let stream = TcpStream::connect(addr).await.unwrap();
                        stream.set_nodelay(true).unwrap();
                        for round in 0..20u32 {
                            let message = format!("client {id} round {round}\n");
                            stream.write_all(message.as_bytes()).await.unwrap();
                            let mut back = vec![0u8; message.len()];
                            stream.read_exact(&mut back).await.unwrap();
                            assert_eq!(back, message.as_bytes());
                        }
                    })
                })
                .collect();
            for client in clients {
                client.await.unwrap();
            }
        });
    });
}

#[test]
fn blocking_std_clients_against_a_clockwork_server() {
    within(20, || {
        clockwork::block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            clockwork::spawn(echo_server(listener));
            // The std clients block their own threads; the server's thread never blocks.
            let threads: Vec<_> =
                (0..8).map(|id| std::thread::spawn(move || blocking_echo_client(addr, id))).collect();
            // Wait for them without blocking the runtime thread (which serves them).
            let done =
                clockwork::task::spawn_blocking(move || threads.into_iter().try_for_each(|t| t.join()));
            done.await.unwrap().expect("a std client failed");
        });
    });
}

fn blocking_echo_client(addr: SocketAddr, id: usize) {
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
    for round in 0..50 {
        let message = format!("std client {id}, round {round}");
        stream.write_all(message.as_bytes()).unwrap();
        let mut back = vec![0u8; message.len()];
        stream.read_exact(&mut back).unwrap();
        assert_eq!(back, message.as_bytes());
    }
}

/// A deterministic byte stream (xorshift) and an order-sensitive checksum (FNV-1a).
fn pattern(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

fn fnv1a(hash: u64, bytes: &[u8]) -> u64 {
    bytes.iter().fold(hash, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3))
}

const FNV_START: u64 = 0xcbf2_9ce4_8422_2325;

/// Sends `data` in 64 KiB pieces, then half-closes; meanwhile receives and checksums
/// everything until the peer's end of stream. Returns (bytes received, checksum).
async fn send_and_receive(stream: &TcpStream, data: &[u8]) -> (usize, u64) {
    let send = async {
        for chunk in data.chunks(64 * 1024) {
            stream.write_all(chunk).await.unwrap();
        }
        stream.shutdown(Shutdown::Write).unwrap();
    };
    let receive = async {
        let (mut total, mut hash, mut buf) = (0, FNV_START, vec![0u8; 64 * 1024]);
        loop {
            match stream.read(&mut buf).await.unwrap() {
                0 => return (total, hash),
                n => {
                    total += n;
                    hash = fnv1a(hash, &buf[..n]);
                }
            }
        }
    };
    futures::future::join(send, receive).await.1
}

/// 32 MiB each way at the same time on one connection: if reads and writes could not
/// proceed independently, both send buffers would fill and the test would deadlock.
#[test]
fn full_duplex_32_mib_with_checksum() {
    const LEN: usize = 32 << 20;
    within(30, || {
        clockwork::block_on(async {
            let (up, down) = (pattern(1, LEN), pattern(2, LEN));
            let (up_sum, down_sum) = (fnv1a(FNV_START, &up), fnv1a(FNV_START, &down));
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let client = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
            let (server, _) = listener.accept().await.unwrap();
            let server_task = clockwork::spawn(async move { send_and_receive(&server, &down).await });
            let client_got = send_and_receive(&client, &up).await;
            let server_got = server_task.await.unwrap();
            assert_eq!(client_got, (LEN, down_sum), "client received the server's bytes intact");
            assert_eq!(server_got, (LEN, up_sum), "server received the client's bytes intact");
        });
    });
}

#[test]
fn end_of_stream_after_shutdown_and_after_drop_every_time() {
    within(10, || {
        clockwork::block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let mut buf = [0u8; 8];
            // Half-close: the peer reads EOF, and can still write back.
            let client = TcpStream::connect(addr).await.unwrap();
            let (server, _) = listener.accept().await.unwrap();
            client.write_all(b"last").await.unwrap();
            client.shutdown(Shutdown::Write).unwrap();
            server.read_exact(&mut buf[..4]).await.unwrap();
            for _ in 0..3 {
                assert_eq!(server.read(&mut buf).await.unwrap(), 0);
            }
            server.write_all(b"reply").await.unwrap();
            client.read_exact(&mut buf[..5]).await.unwrap();
            assert_eq!(&buf[..5], b"reply");
            // Drop: a reader already waiting is woken and sees EOF.
            let client = TcpStream::connect(addr).await.unwrap();
            let (server, _) = listener.accept().await.unwrap();
            let reader = clockwork::spawn(async move {
                let mut buf = [0u8; 8];
                let first = server.read(&mut buf).await.unwrap();
                let again = server.read(&mut buf).await.unwrap();
                let exact = server.read_exact(&mut buf).await.unwrap_err().kind();
                (first, again, exact)
            });
            clockwork::task::yield_now().await; // let the reader start waiting (not required)
            drop(client);
            assert_eq!(reader.await.unwrap(), (0, 0, ErrorKind::UnexpectedEof));
        });
    });
}

#[test]
fn refused_connection_and_address_in_use() {
    within(10, || {
        clockwork::block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let error = TcpListener::bind(addr).await.unwrap_err();
            assert_eq!(error.kind(), ErrorKind::AddrInUse, "{error}");
            drop(listener);
            let error = TcpStream::connect(addr).await.unwrap_err();
            assert_eq!(error.kind(), ErrorKind::ConnectionRefused, "{error}");
            // With several addresses, each is tried and the last error is returned.
            let error = TcpStream::connect(&[addr, addr][..]).await.unwrap_err();
            assert_eq!(error.kind(), ErrorKind::ConnectionRefused, "{error}");
        });
    });
}

/// Writing to a peer that has gone away ends in an error (EPIPE/ECONNRESET), not a hang.
#[test]
fn writing_to_a_closed_peer_fails() {
    within(10, || {
        clockwork::block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let client = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
            drop(listener.accept().await.unwrap());
            let chunk = vec![7u8; 64 * 1024];
            let mut result = Ok(());
            for _ in 0..1000 {
                result = client.write_all(&chunk).await;
                if result.is_err() {
                    break;
                }
            }
            let error = result.expect_err("writes to a closed peer must eventually fail");
            assert!(matches!(error.kind(), ErrorKind::BrokenPipe | ErrorKind::ConnectionReset), "{error}");
        });
    });
}

/// A burst of 300 connects before the server accepts any: they all complete in the
/// kernel, because the listener queues up to 1024 (as tokio's); std's 128 dropped the
/// SYNs beyond it, and each such client retried after 1 s, then 3 s, and so on (this test
/// then hung until its watchdog).
#[test]
fn a_burst_of_connects_fits_in_the_listen_backlog() {
    within(30, || {
        let rt = clockwork::runtime::Builder::new_current_thread().build().unwrap();
        let listener = rt.block_on(TcpListener::bind("127.0.0.1:0")).unwrap();
        let addr = listener.local_addr().unwrap();
        let clients: Vec<std::net::TcpStream> =
            (0..300).map(|_| std::net::TcpStream::connect(addr).unwrap()).collect();
        let accepted = rt.block_on(async {
            let mut n = 0;
            while n < clients.len() {
                listener.accept().await.unwrap();
                n += 1;
            }
            n
        });
        assert_eq!(accepted, 300);
    });
}

/// `lookup_host` resolves on the blocking pool: a resolver that blocks until another task
/// of the same runtime has run does not stall that runtime (resolved on the runtime's
/// thread, as `connect` does with a name, it would deadlock on current-thread).
#[test]
fn lookup_host_resolves_off_the_runtime_threads() {
    struct WaitsForATask(std::sync::Mutex<std::sync::mpsc::Receiver<()>>);
    impl std::net::ToSocketAddrs for WaitsForATask {
        type Iter = std::vec::IntoIter<std::net::SocketAddr>;
        fn to_socket_addrs(&self) -> std::io::Result<Self::Iter> {
            let rx = self.0.lock().unwrap();
            rx.recv_timeout(std::time::Duration::from_secs(10)).map_err(std::io::Error::other)?;
            Ok(vec!["127.0.0.1:9".parse().unwrap()].into_iter())
        }
    }
    common::within(60, || {
        common::on_both(|name, rt| {
            let (tx, rx) = std::sync::mpsc::channel();
            let resolved = rt.block_on(async move {
                clockwork::spawn(async move { tx.send(()).unwrap() });
                clockwork::net::lookup_host(WaitsForATask(std::sync::Mutex::new(rx))).await
            });
            let addrs: Vec<_> = resolved.unwrap_or_else(|e| panic!("{name}: {e}")).collect();
            assert_eq!(addrs, ["127.0.0.1:9".parse().unwrap()], "{name}");
            let local = rt.block_on(clockwork::net::lookup_host(String::from("localhost:80"))).unwrap();
            assert!(local.into_iter().all(|a| a.ip().is_loopback() && a.port() == 80), "{name}");
        });
    });
}
