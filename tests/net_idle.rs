//! An idle runtime waiting on a socket sleeps in the kernel: it uses (almost) no CPU.
//!
//! This file holds a single test on purpose: it measures the CPU time of the whole test
//! process, so no other test may run beside it.

#![cfg(not(loom))] // the sockets need the real reactor, which loom builds leave out

use clockwork::net::{TcpListener, TcpStream};
use std::io::Write;
use std::time::Duration;

/// User + system CPU time of this process, from `/proc/self/stat` (Linux only).
fn process_cpu_time() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which is in parentheses and may contain spaces):
    // state is field 3, utime 14 and stime 15, in clock ticks (USER_HZ, 100 on Linux).
    let after_name = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(Duration::from_millis((utime + stime) * 10))
}

/// Waits ~300 ms for one byte from a silent peer and returns the CPU time used meanwhile.
async fn cpu_used_while_waiting() -> Duration {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    // A std thread connects, stays silent for 300 ms, then sends one byte.
    let peer = std::thread::spawn(move || {
        let mut stream = std::net::TcpStream::connect(addr).unwrap();
        std::thread::sleep(Duration::from_millis(300));
        stream.write_all(b"!").unwrap();
        stream
    });
    let (stream, _): (TcpStream, _) = listener.accept().await.unwrap();
    let cpu_before = process_cpu_time().unwrap();
    let mut buf = [0u8; 1];
    assert_eq!(stream.read(&mut buf).await.unwrap(), 1);
    let used = process_cpu_time().unwrap() - cpu_before;
    drop(peer.join().unwrap());
    used
}

#[test]
fn waiting_on_a_socket_uses_no_cpu() {
    if process_cpu_time().is_none() {
        eprintln!("skipped: no /proc/self/stat on this system");
        return;
    }
    // A busy loop would burn ~300 ms; a sleeping runtime a few ticks at most.
    let used = clockwork::block_on(cpu_used_while_waiting());
    assert!(used < Duration::from_millis(100), "current-thread runtime used {used:?} idle");
    let runtime = clockwork::Runtime::new().unwrap();
    let used = runtime.block_on(cpu_used_while_waiting());
    assert!(used < Duration::from_millis(100), "multi-thread runtime used {used:?} idle");
}
