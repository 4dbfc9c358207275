//! `TcpListener` and `TcpStream`: std's sockets, non-blocking, waiting through the reactor.
//!
//! **What this teaches.** Each method is one std call wrapped in `Registration::io`, which
//! retries it whenever the reactor reports the right direction ready. Note what is *not*
//! here: no buffering, no per-call allocation, no locks of our own. `read` and `write` use
//! separate directions, which is why they can take `&self` and run in two tasks at once.
//!
//! Next to read: `src/net/io.rs`, the `futures-io` traits built on the same two calls.

use super::connect;
use super::resolve;
use crate::reactor::{self, Direction, Registration};
use std::future::Future;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, ToSocketAddrs};
use std::panic::Location;
use std::task::{Context, Poll};

/// A TCP socket listening for connections.
///
/// ```no_run
/// # clockwork::block_on(async {
/// let listener = clockwork::net::TcpListener::bind("127.0.0.1:8080").await?;
/// loop {
///     let (stream, peer) = listener.accept().await?;
///     clockwork::spawn(async move {
///         let _ = stream.write_all(format!("hello, {peer}\n").as_bytes()).await;
///     });
/// }
/// # std::io::Result::<()>::Ok(())
/// # });
/// ```
#[derive(Debug)]
pub struct TcpListener {
    registration: Registration<std::net::TcpListener>,
}

/// A TCP connection. Reading and writing take `&self`, so one task may read while another
/// writes (share it with an `Arc`, or borrow it in `join`).
#[derive(Debug)]
pub struct TcpStream {
    registration: Registration<std::net::TcpStream>,
}

/// The listen backlog: how many finished handshakes the kernel queues until `accept`.
const LISTEN_BACKLOG: i32 = 1024;

impl TcpListener {
    /// Binds to `addr` (the first resolved address that works) and starts listening.
    ///
    /// Fails with `AddrInUse` when another socket already listens on the address.
    ///
    /// # Panics
    ///
    /// When awaited outside a clockwork runtime, naming the line that called `bind`.
    //
    // An `async fn` in all but name (see `net/mod.rs` on the location).
    #[track_caller]
    pub fn bind<A: ToSocketAddrs>(addr: A) -> impl Future<Output = io::Result<TcpListener>> {
        TcpListener::bind_at(addr, Location::caller())
    }

    async fn bind_at<A: ToSocketAddrs>(
        addr: A,
        called_at: &'static Location<'static>,
    ) -> io::Result<TcpListener> {
        let reactor = reactor::current("TcpListener::bind", called_at);
        // std's bind never waits on the network (only, for a host name, on the resolver),
        // and it sets SO_REUSEADDR on Unix so a restarted server can rebind at once.
        let listener = std::net::TcpListener::bind(&resolve(addr)?[..])?;
        // std listens with a backlog of 128: a burst of more connects than that overflows
        // the kernel's queue, and each dropped SYN is retried after 1 s, then 3 s. Listening
        // again only raises the queue (the kernel caps it at `somaxconn`); 1024 as tokio
        // and mio use.
        rustix::net::listen(&listener, LISTEN_BACKLOG)?;
        listener.set_nonblocking(true)?;
        Ok(TcpListener { registration: Registration::new(reactor, listener)? })
    }

    /// Waits for the next incoming connection.
    pub async fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        let (stream, peer) = self.registration.io(Direction::Read, |l| l.accept()).await?;
        // An accepted socket does not inherit O_NONBLOCK on Linux, so set it explicitly.
        stream.set_nonblocking(true)?;
        let reactor = self.registration.reactor().clone();
        Ok((TcpStream { registration: Registration::new(reactor, stream)? }, peer))
    }

    /// The address this listener is bound to (useful after binding port 0).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.registration.get_ref().local_addr()
    }
}

impl TcpStream {
    /// Opens a connection to `addr`, trying each resolved address in turn and returning the
    /// last error if none accepts (e.g. `ConnectionRefused`).
    ///
    /// # Panics
    ///
    /// When awaited outside a clockwork runtime, naming the line that called `connect`.
    //
    // An `async fn` in all but name (see `net/mod.rs` on the location).
    #[track_caller]
    pub fn connect<A: ToSocketAddrs>(addr: A) -> impl Future<Output = io::Result<TcpStream>> {
        TcpStream::connect_at(addr, Location::caller())
    }

    async fn connect_at<A: ToSocketAddrs>(
        addr: A,
        called_at: &'static Location<'static>,
    ) -> io::Result<TcpStream> {
        let reactor = reactor::current("TcpStream::connect", called_at);
        let mut last_error = None;
        for addr in resolve(addr)? {
            match connect::connect(reactor.clone(), addr).await {
                Ok(registration) => return Ok(TcpStream { registration }),
                Err(error) => last_error = Some(error),
            }
        }
        Err(last_error.expect("resolve returns at least one address"))
    }

    /// Reads into `buf`, waiting until at least one byte (or the end) is available.
    /// Returns `Ok(0)` at the end of the stream, every time it is asked.
    pub async fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.registration.io(Direction::Read, |mut s| s.read(buf)).await
    }

    /// Reads exactly `buf.len()` bytes; `UnexpectedEof` if the stream ends first.
    pub async fn read_exact(&self, mut buf: &mut [u8]) -> io::Result<()> {
        while !buf.is_empty() {
            match self.read(buf).await? {
                0 => return Err(io::Error::from(io::ErrorKind::UnexpectedEof)),
                n => buf = &mut buf[n..],
            }
        }
        Ok(())
    }

    /// Writes some of `buf`, waiting until the kernel has room for at least one byte.
    pub async fn write(&self, buf: &[u8]) -> io::Result<usize> {
        self.registration.io(Direction::Write, |mut s| s.write(buf)).await
    }

    /// Writes all of `buf`.
    pub async fn write_all(&self, mut buf: &[u8]) -> io::Result<()> {
        while !buf.is_empty() {
            match self.write(buf).await? {
                0 => return Err(io::Error::from(io::ErrorKind::WriteZero)),
                n => buf = &buf[n..],
            }
        }
        Ok(())
    }

    /// Shuts down the read half, the write half (the peer then reads end of stream), or both.
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.registration.get_ref().shutdown(how)
    }

    /// The local address of this connection.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.registration.get_ref().local_addr()
    }

    /// The address of the peer.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.registration.get_ref().peer_addr()
    }

    /// Turns Nagle's algorithm off (`true`): small writes go out at once instead of being
    /// held back to coalesce. Request/response protocols usually want this.
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        self.registration.get_ref().set_nodelay(nodelay)
    }

    /// The poll form of [`TcpStream::read`], for `futures_io::AsyncRead`.
    pub(super) fn poll_read_priv(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        self.registration.poll_io(Direction::Read, cx, |mut s| s.read(buf))
    }

    /// The poll form of [`TcpStream::write`], for `futures_io::AsyncWrite`.
    pub(super) fn poll_write_priv(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.registration.poll_io(Direction::Write, cx, |mut s| s.write(buf))
    }
}
