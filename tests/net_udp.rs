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
