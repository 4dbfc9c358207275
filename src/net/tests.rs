//! In-crate smoke tests for the sockets, run with `futures`' executor while a helper thread
//! drives the reactor (`reactor::tests::block_on_with_reactor`). The full suite, on the real
//! runtime, is in `tests/net_*.rs`.

use super::{TcpListener, TcpStream, UdpSocket};
use crate::reactor::tests::block_on_with_reactor;
use futures::future::join;
use futures::{AsyncReadExt, AsyncWriteExt};
use std::io::ErrorKind;
use std::net::Shutdown;

#[test]
fn echo_round_trip_then_eof_every_time() {
    let (result, reactor) = block_on_with_reactor(async {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let client = TcpStream::connect(addr).await?;
        let (server, peer) = listener.accept().await?;
        assert_eq!(peer, client.local_addr()?);
        assert_eq!(client.peer_addr()?, addr);
        client.set_nodelay(true)?;
        client.write_all(b"hello").await?;
        let mut buf = [0u8; 5];
        server.read_exact(&mut buf).await?;
        assert_eq!(&buf, b"hello");
        client.shutdown(Shutdown::Write)?;
        for _ in 0..3 {
            assert_eq!(server.read(&mut buf).await?, 0, "Ok(0) at EOF, every time");
        }
        let error = server.read_exact(&mut buf).await.unwrap_err();
        assert_eq!(error.kind(), ErrorKind::UnexpectedEof);
        std::io::Result::Ok(())
    });
    result.unwrap();
    assert_eq!(reactor.source_count(), 0, "every socket deregistered on drop");
}

#[test]
fn refused_connect_and_address_in_use_are_clear_errors() {
    let (result, _) = block_on_with_reactor(async {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let in_use = TcpListener::bind(addr).await.unwrap_err();
        assert_eq!(in_use.kind(), ErrorKind::AddrInUse);
        drop(listener);
        let refused = TcpStream::connect(addr).await.unwrap_err();
        assert_eq!(refused.kind(), ErrorKind::ConnectionRefused);
        std::io::Result::Ok(())
    });
    result.unwrap();
}

/// One task writes 4 MiB while the other reads it, through `&TcpStream` and the futures-io
/// traits, on both ends at once (full duplex).
#[test]
fn full_duplex_through_futures_io_on_shared_references() {
    const LEN: usize = 4 << 20;
    let (result, _) = block_on_with_reactor(async {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let client = TcpStream::connect(listener.local_addr()?).await?;
        let (server, _) = listener.accept().await?;
        let data: Vec<u8> = (0..LEN).map(|i| (i * 7 % 251) as u8).collect();
        let (a, b) = join(exchange("client", &client, &data), exchange("server", &server, &data)).await;
        a.and(b)
    });
    result.unwrap();
}

/// Writes `data` then closes the write half, while reading everything the peer sends.
async fn exchange(who: &str, stream: &TcpStream, data: &[u8]) -> std::io::Result<()> {
    let (mut reader, mut writer) = (stream, stream);
    let write = async {
        writer.write_all(data).await?;
        writer.close().await
    };
    let read = async {
        let mut got = Vec::new();
        reader.read_to_end(&mut got).await.map(|_| got)
    };
    let (written, got) = join(write, read).await;
    written?;
    assert!(got? == data, "{who}: data corrupted");
    Ok(())
}

#[test]
fn udp_round_trip() {
    let (result, _) = block_on_with_reactor(async {
        let a = UdpSocket::bind("127.0.0.1:0").await?;
        let b = UdpSocket::bind("127.0.0.1:0").await?;
        let mut buf = [0u8; 16];
        for i in 0..10u8 {
            a.send_to(&[i; 3], b.local_addr()?).await?;
            let (n, from) = b.recv_from(&mut buf).await?;
            assert_eq!((n, from, buf[0]), (3, a.local_addr()?, i));
        }
        std::io::Result::Ok(())
    });
    result.unwrap();
}

/// Scenario 44: many sockets, datagrams to all of them in a scrambled order; every
/// receiver gets its datagram (no event is lost in a big batch).
#[test]
fn every_event_in_a_large_batch_is_delivered() {
    const SOCKETS: usize = 300;
    let (result, reactor) = block_on_with_reactor(async {
        let mut receivers = Vec::new();
        for _ in 0..SOCKETS {
            receivers.push(UdpSocket::bind("127.0.0.1:0").await?);
        }
        let sender = std::net::UdpSocket::bind("127.0.0.1:0")?;
        let mut order: Vec<usize> = (0..SOCKETS).collect();
        for i in 0..SOCKETS {
            order.swap(i, (i * 7919 + 13) % SOCKETS); // a fixed scramble
        }
        let waits = receivers.iter().enumerate().map(|(i, socket)| async move {
            let mut buf = [0u8; 8];
            let (n, _) = socket.recv_from(&mut buf).await?;
            assert_eq!(&buf[..n], &(i as u64).to_le_bytes());
            std::io::Result::Ok(())
        });
        let all = futures::future::try_join_all(waits);
        futures::pin_mut!(all);
        // Poll once so every receiver is waiting before anything is sent.
        assert!(futures::poll!(all.as_mut()).is_pending());
        for &i in &order {
            sender.send_to(&(i as u64).to_le_bytes(), receivers[i].local_addr()?)?;
        }
        all.await.map(|_| ())
    });
    result.unwrap();
    assert_eq!(reactor.source_count(), 0);
}
