//! HTTP "hello" under a load tool: the same tiny keep-alive server on clockwork, tokio and
//! smol (2 worker threads each), loaded in turn by `wrk` in one run, reported as ratios.
//!
//! Run: `cargo run --release --manifest-path benches/peers/Cargo.toml --bin http [-- --seconds N --connections C]`
//! Needs `wrk` on the PATH (`apt-get install wrk`).

use futures::{AsyncReadExt, AsyncWriteExt};
use std::net::SocketAddr;
use std::process::{Command, ExitCode};

const RESPONSE: &[u8] =
    b"HTTP/1.1 200 OK\r\nContent-Length: 13\r\nContent-Type: text/plain\r\n\r\nHello, world!";

/// How many complete request heads (ending in a blank line) `buf` holds, and where the
/// last one ends. The bench only needs GETs without bodies, so this is the whole parser.
fn complete_requests(buf: &[u8]) -> (usize, usize) {
    let (mut count, mut end) = (0, 0);
    while let Some(pos) = buf[end..].windows(4).position(|w| w == b"\r\n\r\n") {
        count += 1;
        end += pos + 4;
    }
    (count, end)
}

/// One connection on a futures-io stream (clockwork and smol).
async fn serve_futures_io<S: futures::AsyncRead + futures::AsyncWrite + Unpin>(mut stream: S) {
    let (mut buf, mut filled) = (vec![0u8; 8192], 0);
    let mut out = Vec::new();
    loop {
        match stream.read(&mut buf[filled..]).await {
            Ok(0) | Err(_) => return,
            Ok(n) => filled += n,
        }
        let (count, end) = complete_requests(&buf[..filled]);
        if count == 0 && filled == buf.len() {
            return; // oversized request: drop the connection
        }
        buf.copy_within(end..filled, 0);
        filled -= end;
        out.clear();
        for _ in 0..count {
            out.extend_from_slice(RESPONSE);
        }
        if stream.write_all(&out).await.is_err() {
            return;
        }
    }
}

/// The same connection loop with tokio's traits.
async fn serve_tokio(mut stream: tokio::net::TcpStream) {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let (mut buf, mut filled) = (vec![0u8; 8192], 0);
    let mut out = Vec::new();
    loop {
        match stream.read(&mut buf[filled..]).await {
            Ok(0) | Err(_) => return,
            Ok(n) => filled += n,
        }
        let (count, end) = complete_requests(&buf[..filled]);
        if count == 0 && filled == buf.len() {
            return;
        }
        buf.copy_within(end..filled, 0);
        filled -= end;
        out.clear();
        for _ in 0..count {
            out.extend_from_slice(RESPONSE);
        }
        if stream.write_all(&out).await.is_err() {
            return;
        }
    }
}

/// Starts the clockwork server on its own thread; returns its address.
fn start_clockwork() -> SocketAddr {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = clockwork::runtime::Builder::new_multi_thread().worker_threads(2).build().unwrap();
        rt.block_on(async move {
            let listener = clockwork::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            loop {
                let (stream, _) = listener.accept().await.unwrap();
                stream.set_nodelay(true).unwrap();
                clockwork::spawn(serve_futures_io(stream));
            }
        })
    });
    rx.recv().unwrap()
}

fn start_tokio() -> SocketAddr {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            loop {
                let (stream, _) = listener.accept().await.unwrap();
                stream.set_nodelay(true).unwrap();
                tokio::spawn(serve_tokio(stream));
            }
        })
    });
    rx.recv().unwrap()
}

fn start_smol() -> SocketAddr {
    let ex: &'static async_executor::Executor<'static> = Box::leak(Box::new(async_executor::Executor::new()));
    for _ in 0..2 {
        std::thread::spawn(move || async_io::block_on(ex.run(futures_lite::future::pending::<()>())));
    }
    let (tx, rx) = std::sync::mpsc::channel();
    ex.spawn(async move {
        let listener = async_net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        tx.send(listener.local_addr().unwrap()).unwrap();
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            stream.set_nodelay(true).unwrap();
            ex.spawn(serve_futures_io(stream)).detach();
        }
    })
    .detach();
    rx.recv().unwrap()
}

/// Runs wrk against `addr` and returns requests per second.
fn load(addr: SocketAddr, seconds: u32, connections: u32) -> f64 {
    let out = Command::new("wrk")
        .args(["-t1", &format!("-c{connections}"), &format!("-d{seconds}s"), &format!("http://{addr}/")])
        .output()
        .expect("run wrk");
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .find_map(|l| l.strip_prefix("Requests/sec:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("could not read wrk's output:\n{text}"))
}

fn main() -> ExitCode {
    let (mut seconds, mut connections) = (5u32, 50u32);
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let value = args.next().and_then(|v| v.parse().ok());
        match (a.as_str(), value) {
            ("--seconds", Some(v)) => seconds = v,
            ("--connections", Some(v)) => connections = v,
            _ => {
                eprintln!("usage: http [--seconds N] [--connections C]");
                return ExitCode::from(2);
            }
        }
    }
    if Command::new("wrk").arg("--version").output().is_err() {
        eprintln!("http: `wrk` is not installed (try `apt-get install wrk`)");
        return ExitCode::from(2);
    }
    let servers: [(&str, fn() -> SocketAddr); 3] =
        [("clockwork", start_clockwork), ("tokio", start_tokio), ("smol", start_smol)];
    let mut results = Vec::new();
    for (name, start) in servers {
        let addr = start();
        load(addr, 1, connections); // warm-up
        let rps = load(addr, seconds, connections);
        eprintln!("{name}: {rps:.0} req/s");
        results.push((name, rps));
    }
    let best_peer = results[1..].iter().map(|r| r.1).fold(0.0, f64::max);
    println!("\n| server | req/s | / best peer |");
    println!("|---|---|---|");
    for (name, rps) in &results {
        println!("| {name} | {rps:.0} | {:.2}x |", rps / best_peer);
    }
    ExitCode::SUCCESS
}
