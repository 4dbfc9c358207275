//! TCP and UDP sockets whose every call waits through the reactor instead of blocking.
//!
//! **What this teaches.** A non-blocking socket plus a readiness notification is all an
//! async socket is. Each type here is a `std::net` socket switched to non-blocking mode and
//! wrapped in a `Registration` (see `src/reactor/source.rs`). Every operation has the
//! same shape:
//!
//! ```text
//! loop {
//!     wait until the direction (read or write) is marked ready   // Pending → the task sleeps
//!     try the std call                                           // never blocks
//!     WouldBlock? clear the readiness (unless a newer event came) and loop
//!     anything else? that is the answer
//! }
//! ```
//!
//! Readiness is kept per direction, so `read` and `write` take `&self` and one task may read
//! while another writes the same [`TcpStream`]. [`TcpStream`] and `&TcpStream` implement
//! `futures_io::AsyncRead` and `AsyncWrite`, so the `futures` combinators (`copy`,
//! `BufReader`, `lines`) work on them.
//!
//! Every socket must be created inside a clockwork runtime (it needs that runtime's
//! reactor), and panics outside one. Once its runtime is dropped, every operation fails
//! with an `io::Error` saying so; none of them hangs.
//!
//! That panic comes when the future is first polled, far from the line that called
//! `TcpListener::bind`, `TcpStream::connect` or `UdpSocket::bind`, so the message names
//! that line. To know it, those three are plain `#[track_caller]` functions that record
//! `Location::caller()` and return the `async fn`'s future; callers `.await` them exactly
//! as before. Rejected alternative: `#[track_caller]` on the `async fn` itself, which
//! stable Rust ignores with a warning (rust-lang/rust#110011).
//!
//! One exception to "never blocks": addresses are `std::net::ToSocketAddrs`, resolved by
//! std on the calling thread. A literal address (`"127.0.0.1:8080"`, a `SocketAddr`,
//! `("::1", 80)`) is only parsed, but a host *name* (`"example.com:80"`) goes to the
//! system resolver, which may wait on the network. If that can be slow, resolve it first
//! with [`lookup_host`], which asks the resolver on the blocking pool, and pass the
//! result. tokio instead defines its own `ToSocketAddrs` that resolves names on its
//! blocking pool; that trait would refuse some argument types std accepts, so this crate
//! keeps std's.
//!
//! ```
//! use clockwork::net::{TcpListener, TcpStream};
//!
//! clockwork::block_on(async {
//!     let listener = TcpListener::bind("127.0.0.1:0").await?;
//!     let client = TcpStream::connect(listener.local_addr()?).await?;
//!     let (server, _peer) = listener.accept().await?;
//!     client.write_all(b"ping").await?;
//!     let mut buf = [0; 4];
//!     server.read_exact(&mut buf).await?;
//!     assert_eq!(&buf, b"ping");
//!     std::io::Result::Ok(())
//! })
//! .unwrap();
//! ```
//!
//! Next to read: `src/net/tcp.rs`, then `src/net/io.rs` for the `futures-io` traits.

#[cfg(not(loom))]
mod connect;
#[cfg(not(loom))]
mod io;
#[cfg(not(loom))]
mod tcp;
#[cfg(all(test, not(loom)))]
mod tests;
#[cfg(not(loom))]
mod udp;

#[cfg(not(loom))]
pub use tcp::{TcpListener, TcpStream};
#[cfg(not(loom))]
pub use udp::UdpSocket;

/// Resolves `host` (a `"name:port"` string, a `(name, port)` pair, or anything else std
/// can resolve) to its socket addresses on the runtime's blocking pool, so that a slow
/// system resolver stalls no runtime thread. The same name as tokio's, so code moves over;
/// `host` must be `Send + 'static` because another thread resolves it (pass a `String`).
///
/// ```
/// clockwork::block_on(async {
///     let addrs: Vec<_> = clockwork::net::lookup_host("127.0.0.1:80").await?.collect();
///     assert_eq!(addrs, ["127.0.0.1:80".parse().unwrap()]);
///     std::io::Result::Ok(())
/// })
/// .unwrap();
/// ```
///
/// # Panics
///
/// Panics if first polled outside a runtime (it needs the runtime's blocking pool).
#[cfg(not(loom))]
pub async fn lookup_host<T>(host: T) -> std::io::Result<impl Iterator<Item = std::net::SocketAddr>>
where
    T: std::net::ToSocketAddrs + Send + 'static,
{
    let lookup =
        crate::task::spawn_blocking(move || host.to_socket_addrs().map(|addrs| addrs.collect::<Vec<_>>()));
    match lookup.await {
        Ok(result) => result.map(Vec::into_iter),
        Err(error) if error.is_panic() => std::panic::resume_unwind(error.into_panic()),
        Err(_) => {
            Err(std::io::Error::other("the clockwork runtime shut down before the name lookup finished"))
        }
    }
}

/// Resolves `addr` to a list of socket addresses, failing if there are none.
///
/// Like std, this may block in the system resolver for a host *name*; literal addresses
/// (`"127.0.0.1:8080"`, a `SocketAddr`) never block.
#[cfg(not(loom))]
fn resolve<A: std::net::ToSocketAddrs>(addr: A) -> std::io::Result<Vec<std::net::SocketAddr>> {
    let addrs: Vec<_> = addr.to_socket_addrs()?.collect();
    if addrs.is_empty() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "the address did not resolve to any socket address",
        ));
    }
    Ok(addrs)
}
