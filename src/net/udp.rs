//! `UdpSocket`: datagrams, with the same wait-and-retry shape as TCP.
//!
//! **What this teaches.** UDP has no connection and no stream: each `send_to` is one
//! datagram and each `recv_from` returns one (truncated if `buf` is too small, as with std).
//! The reactor does not care: a datagram socket is readable when a datagram is queued and
//! writable when the send buffer has room, exactly like a TCP socket.
//!
//! Next to read: `DESIGN.md` §7, the whole path from `epoll_wait` to a woken task on one page.

use super::resolve;
use crate::reactor::{self, Direction, Registration};
use std::future::Future;
use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::panic::Location;

/// A UDP socket.
///
/// ```no_run
/// # clockwork::block_on(async {
/// use clockwork::net::UdpSocket;
/// let socket = UdpSocket::bind("127.0.0.1:0").await?;
/// let mut buf = [0; 1500];
/// let (n, from) = socket.recv_from(&mut buf).await?;
/// socket.send_to(&buf[..n], from).await?; // echo it back
/// # std::io::Result::<()>::Ok(())
/// # });
/// ```
#[derive(Debug)]
pub struct UdpSocket {
    registration: Registration<std::net::UdpSocket>,
}

impl UdpSocket {
    /// Binds a socket to `addr` (the first resolved address that works).
    ///
    /// # Panics
    ///
    /// When awaited outside a clockwork runtime, naming the line that called `bind`.
    //
    // An `async fn` in all but name (see `net/mod.rs` on the location).
    #[track_caller]
    pub fn bind<A: ToSocketAddrs>(addr: A) -> impl Future<Output = io::Result<UdpSocket>> {
        UdpSocket::bind_at(addr, Location::caller())
    }

    async fn bind_at<A: ToSocketAddrs>(
        addr: A,
        called_at: &'static Location<'static>,
    ) -> io::Result<UdpSocket> {
        let reactor = reactor::current("UdpSocket::bind", called_at);
        let socket = std::net::UdpSocket::bind(&resolve(addr)?[..])?;
        socket.set_nonblocking(true)?;
        Ok(UdpSocket { registration: Registration::new(reactor, socket)? })
    }

    /// Sends `buf` as one datagram to `target` (its first resolved address, as std does).
    pub async fn send_to<A: ToSocketAddrs>(&self, buf: &[u8], target: A) -> io::Result<usize> {
        let target = resolve(target)?[0];
        self.registration.io(Direction::Write, |s| s.send_to(buf, target)).await
    }

    /// Waits for one datagram; returns its length and its sender.
    pub async fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.registration.io(Direction::Read, |s| s.recv_from(buf)).await
    }

    /// The address this socket is bound to.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.registration.get_ref().local_addr()
    }
}
