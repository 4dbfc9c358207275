//! UDP round trips over loopback, between clockwork sockets and against a std socket.

#![cfg(not(loom))] // the sockets need the real reactor, which loom builds leave out

mod common;

use clockwork::net::UdpSocket;
use common::within;
use std::time::Duration;

#[test]
fn round_trips_between_two_tasks() {
    within(10, || {
        clockwork::block_on(async {
            let server = UdpSocket::bind("127.0.0.1:0").await.unwrap();
            let server_addr = server.local_addr().unwrap();
            let echo = clockwork::spawn(async move {
                let mut buf = [0u8; 1500];
                for _ in 0..100 {
                    let (n, from) = server.recv_from(&mut buf).await.unwrap();
                    server.send_to(&buf[..n], from).await.unwrap();
                }
            });
            let client = UdpSocket::bind("127.0.0.1:0").await.unwrap();
            let mut buf = [0u8; 1500];
            for i in 0..100u32 {
                // Strictly one datagram in flight, so loopback cannot drop any.
                client.send_to(&i.to_be_bytes(), server_addr).await.unwrap();
                let (n, from) = client.recv_from(&mut buf).await.unwrap();
                assert_eq!((n, from), (4, server_addr));
                assert_eq!(u32::from_be_bytes(buf[..4].try_into().unwrap()), i);
            }
            echo.await.unwrap();
        });
    });
}

#[test]
fn a_blocking_std_peer() {
    within(10, || {
        let peer = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        peer.set_read_timeout(Some(Duration::from_secs(8))).unwrap();
        let peer_addr = peer.local_addr().unwrap();
        let echo = std::thread::spawn(move || {
            let mut buf = [0u8; 64];
            for _ in 0..10 {
                let (n, from) = peer.recv_from(&mut buf).unwrap();
                peer.send_to(&buf[..n], from).unwrap();
            }
        });
        clockwork::block_on(async {
            let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
            let mut buf = [0u8; 64];
            for i in 0..10u8 {
                assert_eq!(socket.send_to(&[i; 5], peer_addr).await.unwrap(), 5);
                let (n, from) = socket.recv_from(&mut buf).await.unwrap();
                assert_eq!((n, from, buf[4]), (5, peer_addr, i));
            }
        });
        echo.join().unwrap();
    });
}

/// A sender that yields every 50 datagrams lets a receiving task keep up on the
/// current-thread runtime: a task that yields runs again only after the drivers were
/// looked at, so the receiver is woken in between, and at most about 100 datagrams wait
/// in the kernel's buffer. Before, the reactor was never polled during the loop (fewer
/// than 61 polls between yields), and the kernel dropped about three quarters of the 1000
/// datagrams. (Not run on the multi-thread runtime: there the receiver runs on another
/// thread, and whether it keeps up with a sender on this one depends on the OS's
/// scheduling, not on the runtime's.)
#[test]
fn a_yielding_sender_lets_the_receiver_keep_up() {
    for round in 0..3 {
        let rt = clockwork::runtime::Builder::new_current_thread().build().unwrap();
        let received = within(30, move || {
            rt.block_on(async {
                let rx = UdpSocket::bind("127.0.0.1:0").await.unwrap();
                let addr = rx.local_addr().unwrap();
                let tx = UdpSocket::bind("127.0.0.1:0").await.unwrap();
                let receiver = clockwork::spawn(async move {
                    let mut buf = [0u8; 8];
                    let mut n = 0u32;
                    while n < 1000 {
                        rx.recv_from(&mut buf).await.unwrap();
                        n += 1;
                    }
                    n
                });
                clockwork::task::yield_now().await; // the receiver starts waiting
                for i in 0..1000u32 {
                    tx.send_to(&i.to_le_bytes(), addr).await.unwrap();
                    if i % 50 == 49 {
                        clockwork::task::yield_now().await;
                    }
                }
                clockwork::time::timeout(Duration::from_secs(10), receiver).await
            })
        });
        assert_eq!(received.expect("the receiver got every datagram").unwrap(), 1000, "round {round}");
    }
}
