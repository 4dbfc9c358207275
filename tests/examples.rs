//! Every finite example runs to completion (exit status 0) as part of `cargo test`, so
//! the code a reader runs first never rots. Servers (`echo_server`, `http_hello`, `chat`)
//! run until killed; their behaviour is covered by `tests/net_*.rs`.

#![cfg(not(loom))]

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// `cargo test` builds the examples next to the test binaries: `target/<profile>/examples`.
fn example_path(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let profile_dir = exe.parent().and_then(|deps| deps.parent()).expect("target/<profile>");
    profile_dir.join("examples").join(format!("{name}{}", std::env::consts::EXE_SUFFIX))
}

/// Runs an example with a generous hang bound and returns its stdout.
fn run(name: &str) -> String {
    let path = example_path(name);
    assert!(path.exists(), "example binary {} not built (run through `cargo test`)", path.display());
    let mut child = Command::new(&path)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if let Some(status) = child.try_wait().expect("wait for the example") {
            let out = child.wait_with_output().expect("example output");
            let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
            assert!(
                status.success(),
                "example {name} failed with {status}\nstdout:\n{stdout}\nstderr:\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
            return stdout;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("example {name} did not finish within 120 s");
        }
        std::thread::sleep(Duration::from_millis(20)); // polling a child, not ordering threads
    }
}

macro_rules! example_tests {
    ($($test:ident => $name:literal),* $(,)?) => {
        $(
            #[test]
            fn $test() {
                let out = run($name);
                assert!(!out.trim().is_empty(), "example {} printed nothing", $name);
            }
        )*
    };
}

example_tests! {
    toy_executor => "00_toy_executor",
    hello => "hello",
    state_machine => "state_machine",
    pin => "pin",
    waker => "waker",
    tour => "tour",
    timers => "timers",
    wheel => "wheel",
    channels => "channels",
    select => "select",
    parallel => "parallel",
    blocking => "blocking",
    budget => "budget",
}
