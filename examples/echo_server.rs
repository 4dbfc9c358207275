//! An echo server, and a client for it: the smallest complete network program.
//!
//! **What this teaches.** The accept loop: one task waits on the listener and spawns one
//! task per connection, so a slow client never holds up the others. Each connection task is
//! a plain loop of `read` then `write_all`; while either waits, the reactor has its waker
//! and the thread runs other tasks. `read` returning `Ok(0)` is the end of the stream.
//!
//! ```text
//! cargo run --example echo_server                      # serve on 127.0.0.1:8080 until killed
//! cargo run --example echo_server -- --addr 0.0.0.0:7000
//! cargo run --example echo_server -- --client hello world   # send lines, print the replies
//! ```
//!
//! Any line-based client works too: `nc 127.0.0.1 8080`.

use clockwork::net::{TcpListener, TcpStream};
use std::io;
use std::process::ExitCode;

const USAGE: &str = "usage: echo_server [--addr HOST:PORT] [--client [LINE ...]]
  --addr HOST:PORT   where to listen (server) or connect (client); default 127.0.0.1:8080
  --client           send each LINE (default: three sample lines), print each reply, exit";

struct Args {
    addr: String,
    /// `Some(lines)` in client mode.
    client: Option<Vec<String>>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args { addr: "127.0.0.1:8080".into(), client: None };
    let mut rest = std::env::args().skip(1);
    while let Some(arg) = rest.next() {
        match arg.as_str() {
            "--addr" => args.addr = rest.next().ok_or("--addr needs a value")?,
            "--client" => args.client = Some(Vec::new()),
            "-h" | "--help" => return Err(String::new()),
            line if args.client.is_some() && !line.starts_with("--") => {
                args.client.as_mut().unwrap().push(line.to_string());
            }
            other => return Err(format!("unexpected argument `{other}`")),
        }
    }
    Ok(args)
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(message) => {
            if !message.is_empty() {
                eprintln!("echo_server: {message}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    let result = clockwork::block_on(async {
        match args.client {
            Some(lines) => client(&args.addr, lines).await,
            None => serve(&args.addr).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("echo_server: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Accepts connections forever; each gets its own task.
async fn serve(addr: &str) -> io::Result<()> {
    let listener = TcpListener::bind(addr).await?;
    println!("echoing on {}", listener.local_addr()?);
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => {
                clockwork::spawn(async move {
                    if let Err(error) = echo(stream).await {
                        eprintln!("{peer}: {error}");
                    }
                });
            }
            // E.g. out of file descriptors: report it and keep serving the others.
            Err(error) => eprintln!("accept: {error}"),
        }
    }
}

/// Sends back everything it receives, until the peer closes.
async fn echo(stream: TcpStream) -> io::Result<()> {
    let mut buf = vec![0u8; 4096];
    loop {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Ok(()); // the peer closed its side
        }
        stream.write_all(&buf[..n]).await?;
    }
}

/// Sends each line and prints what comes back.
async fn client(addr: &str, mut lines: Vec<String>) -> io::Result<()> {
    if lines.is_empty() {
        lines = ["hello", "from the", "clockwork echo client"].map(String::from).to_vec();
    }
    let stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    for line in lines {
        let message = format!("{line}\n");
        stream.write_all(message.as_bytes()).await?;
        let mut reply = vec![0u8; message.len()];
        stream.read_exact(&mut reply).await?;
        print!("{}", String::from_utf8_lossy(&reply));
    }
    Ok(())
}
