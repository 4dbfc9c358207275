//! A minimal HTTP/1.1 server with keep-alive: "Hello, world!" for `GET /`.
//!
//! **What this teaches.** Framing a protocol on a byte stream with a *bounded* buffer.
//! TCP delivers bytes, not requests: one `read` may hold half a request or three of them.
//! So each connection keeps one fixed-size buffer, appends what it reads, and cuts complete
//! requests (ending in a blank line) off the front. A request that does not fit the buffer
//! is refused with `431` and the connection closed: a client can never make us allocate
//! more. Malformed requests get `400` and a close; nothing a client sends can crash us.
//!
//! ```text
//! cargo run --release --example http_hello                 # 127.0.0.1:8080 until killed
//! curl -v http://127.0.0.1:8080/
//! wrk -t2 -c64 -d10s http://127.0.0.1:8080/
//! ```
//!
//! The request parser has unit tests: `cargo test --example http_hello`.
//!
//! Deliberately not handled (a real server would): request bodies (refused with `400`),
//! chunked encoding, timeouts for idle or slow clients.

use clockwork::net::{TcpListener, TcpStream};
use std::io;
use std::process::ExitCode;

const USAGE: &str = "usage: http_hello [--addr HOST:PORT]   (default 127.0.0.1:8080)";

/// The largest request head we accept; larger ones get 431 and a closed connection.
const MAX_REQUEST: usize = 8 * 1024;

fn main() -> ExitCode {
    let mut addr = String::from("127.0.0.1:8080");
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match (arg.as_str(), args.next()) {
            ("--addr", Some(value)) => addr = value,
            _ => {
                eprintln!("http_hello: bad arguments\n{USAGE}");
                return ExitCode::from(2);
            }
        }
    }
    match clockwork::block_on(serve(&addr)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("http_hello: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(addr: &str) -> io::Result<()> {
    let listener = TcpListener::bind(addr).await?;
    println!("serving http://{}/", listener.local_addr()?);
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                clockwork::spawn(async move {
                    // I/O errors (a reset, a vanished client) just end this connection.
                    let _ = connection(stream).await;
                });
            }
            Err(error) => eprintln!("accept: {error}"),
        }
    }
}

/// What to do with one parsed request head.
enum Reply {
    Ok { keep_alive: bool },
    NotFound { keep_alive: bool },
    BadRequest,
}

/// Serves requests on one connection until the client closes or we refuse something.
async fn connection(stream: TcpStream) -> io::Result<()> {
    stream.set_nodelay(true)?;
    let mut buf = vec![0u8; MAX_REQUEST];
    let mut filled = 0;
    loop {
        // Answer every complete request already in the buffer (clients may pipeline).
        while let Some(end) = find_head_end(&buf[..filled]) {
            let reply = parse(&buf[..end]);
            stream.write_all(response(&reply).as_bytes()).await?;
            let keep_alive =
                matches!(reply, Reply::Ok { keep_alive: true } | Reply::NotFound { keep_alive: true });
            if !keep_alive {
                return Ok(());
            }
            buf.copy_within(end..filled, 0);
            filled -= end;
        }
        if filled == buf.len() {
            let refusal = "HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
            return stream.write_all(refusal.as_bytes()).await;
        }
        let n = stream.read(&mut buf[filled..]).await?;
        if n == 0 {
            return Ok(()); // the client closed (between requests, or mid-request)
        }
        filled += n;
    }
}

/// The length of the request head (up to and including the blank line), if complete.
fn find_head_end(bytes: &[u8]) -> Option<usize> {
    bytes.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4)
}

/// Parses the request line and the two headers we care about.
fn parse(head: &[u8]) -> Reply {
    let Ok(head) = std::str::from_utf8(head) else {
        return Reply::BadRequest;
    };
    let mut lines = head.split("\r\n");
    let request_line = lines.next().unwrap_or("");
    let mut parts = request_line.split(' ');
    let (Some(method), Some(path), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Reply::BadRequest;
    };
    // HTTP/1.1 keeps the connection open unless told otherwise; HTTP/1.0 closes it.
    let mut keep_alive = match version {
        "HTTP/1.1" => true,
        "HTTP/1.0" => false,
        _ => return Reply::BadRequest,
    };
    for line in lines.filter(|l| !l.is_empty()) {
        let Some((name, value)) = line.split_once(':') else {
            return Reply::BadRequest;
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("connection") {
            keep_alive = match value.to_ascii_lowercase().as_str() {
                "close" => false,
                "keep-alive" => true,
                _ => keep_alive,
            };
        } else if name.eq_ignore_ascii_case("content-length") && value != "0"
            || name.eq_ignore_ascii_case("transfer-encoding")
        {
            return Reply::BadRequest; // bodies are not supported: refuse rather than misparse
        }
    }
    match (method, path) {
        ("GET", "/") => Reply::Ok { keep_alive },
        ("GET", _) => Reply::NotFound { keep_alive },
        _ => Reply::BadRequest,
    }
}

/// The full response for `reply`. All of them are fixed strings, so answering allocates
/// nothing (the `Content-Length` values are the body lengths, checked by a test below).
fn response(reply: &Reply) -> &'static str {
    match *reply {
        Reply::Ok { keep_alive: true } => concat!(
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 14\r\n",
            "Connection: keep-alive\r\n\r\nHello, world!\n"
        ),
        Reply::Ok { keep_alive: false } => concat!(
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 14\r\n",
            "Connection: close\r\n\r\nHello, world!\n"
        ),
        Reply::NotFound { keep_alive: true } => concat!(
            "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 10\r\n",
            "Connection: keep-alive\r\n\r\nnot found\n"
        ),
        Reply::NotFound { keep_alive: false } => concat!(
            "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 10\r\n",
            "Connection: close\r\n\r\nnot found\n"
        ),
        Reply::BadRequest => concat!(
            "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nContent-Length: 12\r\n",
            "Connection: close\r\n\r\nbad request\n"
        ),
    }
}

#[test]
fn content_lengths_match_the_bodies() {
    for reply in [
        Reply::Ok { keep_alive: true },
        Reply::Ok { keep_alive: false },
        Reply::NotFound { keep_alive: true },
        Reply::NotFound { keep_alive: false },
        Reply::BadRequest,
    ] {
        let text = response(&reply);
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        assert!(head.contains(&format!("Content-Length: {}\r\n", body.len())), "{text}");
    }
}

#[test]
fn parsing_accepts_get_and_refuses_garbage() {
    assert!(matches!(parse(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"), Reply::Ok { keep_alive: true }));
    assert!(matches!(parse(b"GET / HTTP/1.0\r\n\r\n"), Reply::Ok { keep_alive: false }));
    assert!(matches!(
        parse(b"GET /x HTTP/1.1\r\nConnection: close\r\n\r\n"),
        Reply::NotFound { keep_alive: false }
    ));
    for garbage in [
        &b"\x00\xff\r\n\r\n"[..],
        b"GET\r\n\r\n",
        b"GET / HTTP/9\r\n\r\n",
        b"GET / HTTP/1.1\r\nnocolon\r\n\r\n",
        b"POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\n",
    ] {
        assert!(matches!(parse(garbage), Reply::BadRequest));
    }
}
