//! `futures_io::AsyncRead` and `AsyncWrite` for `TcpStream` and `&TcpStream`.
//!
//! **What this teaches.** The traits are the poll-level form of `read` and `write`: no
//! `async fn`, just "try now, or store the waker and return `Pending`". They are implemented
//! for `&TcpStream` too, because the stream's methods take `&self`: a reader task and a
//! writer task can each hold a `&TcpStream` (or an `Arc`'s deref) and use `futures`'
//! `AsyncReadExt`/`AsyncWriteExt` at the same time.
//!
//! `poll_flush` has nothing to do (we keep no buffer; the kernel sends what it accepted),
//! and `poll_close` shuts down the write half, so the peer reads end of stream.
//!
//! Next to read: `src/net/udp.rs`.

use super::TcpStream;
use futures_io::{AsyncRead, AsyncWrite};
use std::io;
use std::net::Shutdown;
use std::pin::Pin;
use std::task::{Context, Poll};

impl AsyncRead for TcpStream {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        self.get_mut().poll_read_priv(cx, buf)
    }
}

impl AsyncRead for &TcpStream {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        self.get_mut().poll_read_priv(cx, buf)
    }
}

impl AsyncWrite for TcpStream {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.get_mut().poll_write_priv(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(self.get_mut().shutdown(Shutdown::Write))
    }
}

impl AsyncWrite for &TcpStream {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.get_mut().poll_write_priv(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(self.get_mut().shutdown(Shutdown::Write))
    }
}
