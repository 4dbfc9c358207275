//! A chat server: every line one client sends goes to every other client.
//!
//! **What this teaches.** Fan-out between tasks. Each client gets two tasks sharing one
//! `Arc<TcpStream>` (reads and writes take `&self`): a *reader* that splits incoming bytes
//! into lines and puts each into every other client's mailbox, and a *writer* that waits on
//! its own mailbox and writes what arrives. Nobody ever writes to someone else's socket
//! directly, so one slow client cannot stall the sender or the others: its mailbox fills
//! up instead, and past a limit that client is disconnected. Every buffer is bounded.
//!
//! ```text
//! cargo run --example chat                 # 127.0.0.1:8080 until killed
//! nc 127.0.0.1 8080                        # in two or more terminals; type lines
//! ```
//!
//! The `Mailbox` below is a hand-written, minimal waker-based queue, because
//! `clockwork::sync::mpsc` is being written on another branch. It should become an
//! `mpsc::channel(MAILBOX_LIMIT)` per client, the broadcast using a non-waiting send
//! (drop the client when its queue is full) so a slow reader can never block a sender.

use clockwork::net::{TcpListener, TcpStream};
use std::collections::VecDeque;
use std::io;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::task::{Poll, Waker};

const USAGE: &str = "usage: chat [--addr HOST:PORT]   (default 127.0.0.1:8080)";

/// Lines longer than this are cut into pieces of this size.
const MAX_LINE: usize = 1024;
/// A client that falls this many lines behind is disconnected.
const MAILBOX_LIMIT: usize = 256;

fn main() -> ExitCode {
    let mut addr = String::from("127.0.0.1:8080");
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match (arg.as_str(), args.next()) {
            ("--addr", Some(value)) => addr = value,
            _ => {
                eprintln!("chat: bad arguments\n{USAGE}");
                return ExitCode::from(2);
            }
        }
    }
    match clockwork::block_on(serve(&addr)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("chat: {error}");
            ExitCode::FAILURE
        }
    }
}

/// The clients currently connected, each with the mailbox its writer task drains.
type Room = Arc<Mutex<Vec<(SocketAddr, Arc<Mailbox>)>>>;

async fn serve(addr: &str) -> io::Result<()> {
    let listener = TcpListener::bind(addr).await?;
    println!("chat on {} (try `nc` to join)", listener.local_addr()?);
    let room: Room = Arc::default();
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(error) => {
                eprintln!("accept: {error}");
                continue;
            }
        };
        let stream = Arc::new(stream);
        let mailbox = Arc::new(Mailbox::default());
        room.lock().unwrap().push((peer, mailbox.clone()));
        broadcast(&room, peer, "* joined\n");
        clockwork::spawn(writer(stream.clone(), mailbox.clone()));
        let room = room.clone();
        clockwork::spawn(async move {
            let _ = reader(&stream, &room, peer).await; // an error just ends the session
            room.lock().unwrap().retain(|(addr, _)| *addr != peer);
            mailbox.close(); // lets the writer finish
            broadcast(&room, peer, "* left\n");
        });
    }
}

/// Reads lines from `stream` and broadcasts each, until end of stream or an error.
async fn reader(stream: &TcpStream, room: &Room, peer: SocketAddr) -> io::Result<()> {
    let mut buf = vec![0u8; MAX_LINE];
    let mut filled = 0;
    loop {
        let n = stream.read(&mut buf[filled..]).await?;
        if n == 0 {
            return Ok(());
        }
        filled += n;
        // Send every complete line; a full buffer without a newline is sent as it is.
        let mut start = 0;
        while let Some(pos) = buf[start..filled].iter().position(|&b| b == b'\n') {
            broadcast(room, peer, &String::from_utf8_lossy(&buf[start..=start + pos]));
            start += pos + 1;
        }
        if start == 0 && filled == buf.len() {
            broadcast(room, peer, &format!("{}\n", String::from_utf8_lossy(&buf)));
            start = filled;
        }
        buf.copy_within(start..filled, 0);
        filled -= start;
    }
}

/// Writes whatever arrives in `mailbox` to `stream`, until the mailbox is closed.
async fn writer(stream: Arc<TcpStream>, mailbox: Arc<Mailbox>) {
    while let Some(line) = mailbox.recv().await {
        if stream.write_all(line.as_bytes()).await.is_err() {
            break;
        }
    }
    // Closes the connection even if the reader is still waiting: it then reads EOF.
    let _ = stream.shutdown(std::net::Shutdown::Both);
}

/// Puts `text`, prefixed with the sender's address, into every other client's mailbox.
/// A client whose mailbox is full is too slow to keep up, and is dropped from the room.
///
/// `push` may wake a writer task while we hold the room lock. That is fine: a wake only
/// queues the task, it never runs it here, so the writer cannot find the lock held.
fn broadcast(room: &Room, from: SocketAddr, text: &str) {
    let line: Arc<str> = format!("[{from}] {text}").into();
    room.lock().unwrap().retain(|(addr, mailbox)| {
        if *addr == from {
            return true;
        }
        let delivered = mailbox.push(line.clone()).is_ok();
        if !delivered {
            mailbox.close(); // its writer hangs up, and then its reader sees EOF
        }
        delivered
    });
}

/// A tiny single-consumer queue of lines with a waker: the stand-in for `sync::mpsc`.
#[derive(Default)]
struct Mailbox {
    state: Mutex<MailboxState>,
}

#[derive(Default)]
struct MailboxState {
    lines: VecDeque<Arc<str>>,
    closed: bool,
    waker: Option<Waker>,
}

impl Mailbox {
    /// Queues a line, or gives up (`Err`) when the mailbox is full or closed.
    fn push(&self, line: Arc<str>) -> Result<(), ()> {
        let waker = {
            let mut state = self.state.lock().unwrap();
            if state.closed || state.lines.len() >= MAILBOX_LIMIT {
                return Err(());
            }
            state.lines.push_back(line);
            state.waker.take()
        };
        // Woken after the lock is released, so the woken task never finds it held.
        if let Some(waker) = waker {
            waker.wake();
        }
        Ok(())
    }

    /// Marks the mailbox closed; the reader gets what is queued, then `None`.
    fn close(&self) {
        let waker = {
            let mut state = self.state.lock().unwrap();
            state.closed = true;
            state.waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// The next line, or `None` once closed and empty.
    async fn recv(&self) -> Option<Arc<str>> {
        std::future::poll_fn(|cx| {
            let mut state = self.state.lock().unwrap();
            if let Some(line) = state.lines.pop_front() {
                Poll::Ready(Some(line))
            } else if state.closed {
                Poll::Ready(None)
            } else {
                state.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        })
        .await
    }
}
