//! A non-blocking TCP connect: start it, wait until the socket is writable, ask how it went.
//!
//! **What this teaches.** `connect(2)` on a non-blocking socket returns at once with
//! `EINPROGRESS`; the handshake goes on in the kernel. When it ends, the socket becomes
//! writable (success) or reports an error event (failure), and `SO_ERROR` (std's
//! `take_error`) tells which. So a connect is one more readiness wait, in the write
//! direction, like any other operation.
//!
//! `std::net` cannot do this on its own: its only client constructor, `TcpStream::connect`,
//! creates *and* connects in one blocking call. The two missing system calls (`socket` and
//! a non-blocking `connect`) come from `rustix`, which `polling` already builds on, so they
//! add no new crate to the build. Rejected alternatives: a helper thread per connect (what
//! this file did first; ~30 µs and a thread each), and `socket2` (a new dependency, and it
//! still needs `libc` to recognise `EINPROGRESS`, whose number differs between systems).
//!
//! Next to read: back to `src/net/tcp.rs`, which calls this from `TcpStream::connect`.

use crate::loom::sync::Arc;
use crate::reactor::{Direction, Reactor, Registration};
use rustix::net::{AddressFamily, SocketFlags, SocketType};
use std::io;
use std::net::{SocketAddr, TcpStream};
use std::os::fd::OwnedFd;

/// Connects to `addr` without blocking the thread: the task sleeps until the handshake ends.
pub(super) async fn connect(reactor: Arc<Reactor>, addr: SocketAddr) -> io::Result<Registration<TcpStream>> {
    let stream = TcpStream::from(new_socket(addr)?);
    stream.set_nonblocking(true)?; // before connect, so connect cannot block
    match rustix::net::connect(&stream, &addr) {
        Ok(()) => {} // loopback connects can finish at once
        Err(rustix::io::Errno::INPROGRESS) => {}
        Err(errno) => return Err(errno.into()),
    }
    let registration = Registration::new(reactor, stream)?;
    // Writable (or an error event) means the handshake is over. A new source starts
    // "ready", so the first check may come too early: `peer_addr` then says NotConnected,
    // which we turn into WouldBlock to wait for the real event.
    registration
        .io(Direction::Write, |stream| match stream.take_error()? {
            Some(error) => Err(error),
            None => match stream.peer_addr() {
                Ok(_) => Ok(()),
                Err(e) if e.kind() == io::ErrorKind::NotConnected => Err(io::ErrorKind::WouldBlock.into()),
                Err(e) => Err(e),
            },
        })
        .await?;
    Ok(registration)
}

/// A new TCP socket for `addr`'s family, with the flags std gives its own sockets:
/// close-on-exec (a child process must not inherit it) and, on Apple systems, no SIGPIPE.
fn new_socket(addr: SocketAddr) -> io::Result<OwnedFd> {
    let family = if addr.is_ipv4() { AddressFamily::INET } else { AddressFamily::INET6 };
    #[cfg(not(target_vendor = "apple"))]
    let socket = rustix::net::socket_with(family, SocketType::STREAM, SocketFlags::CLOEXEC, None)?;
    #[cfg(target_vendor = "apple")]
    let socket = {
        // No SOCK_CLOEXEC here: set it right after creation, as std does on these systems.
        let socket = rustix::net::socket(family, SocketType::STREAM, None)?;
        rustix::io::fcntl_setfd(&socket, rustix::io::FdFlags::CLOEXEC)?;
        rustix::net::sockopt::set_socket_nosigpipe(&socket, true)?;
        socket
    };
    Ok(socket)
}
