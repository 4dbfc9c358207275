//! The peer benchmark suite: the same workloads on clockwork, tokio and smol, in one run,
//! reported as ratios (these machines are noisy; only same-run ratios mean much).
//!
//! Run: `cargo run --release --manifest-path benches/peers/Cargo.toml [-- filter] [--runs N]`
//!
//! Each workload runs once to warm up, then `--runs` times (default 9) per runtime; the
//! table shows the median. Multi-thread workloads use 2 workers, as on the CI machine.
//!
//! `--traced` measures clockwork's event recorder instead: each workload on clockwork
//! untraced and traced (`Builder::trace(true)`), the two alternating run by run, and
//! prints the medians, their ratio, and every run's own traced/untraced ratio.

mod latch;
mod rt;
mod workloads;

use rt::{Clockwork, Rt, Smol, Tokio};
use std::fmt::Write;
use std::time::Duration;

/// One measured result: the median wall time of a workload on one runtime.
struct Row {
    workload: &'static str,
    results: Vec<(&'static str, Duration)>,
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn measure<R: Rt>(runs: usize, workload: fn(&R) -> Duration, workers: usize) -> Duration {
    let mut times = Vec::with_capacity(runs);
    for i in 0..=runs {
        let rt = R::new(workers);
        let t = workload(&rt);
        drop(rt);
        if i > 0 {
            times.push(t); // the first run warms up allocator and caches
        }
    }
    median(times)
}

/// Untraced and traced clockwork, alternating (which goes first alternates too), so both
/// see the same machine load. Returns the (untraced, traced) times of each measured run.
fn measure_traced(
    runs: usize,
    workload: fn(&Clockwork) -> Duration,
    traced: fn(&Clockwork<true>) -> Duration,
    workers: usize,
) -> Vec<(Duration, Duration)> {
    let mut pairs = Vec::with_capacity(runs);
    for i in 0..=runs {
        let off = || workload(&<Clockwork>::new(workers));
        let on = || traced(&Clockwork::<true>::new(workers));
        let pair = if i % 2 == 0 {
            let a = off();
            (a, on())
        } else {
            let b = on();
            (off(), b)
        };
        if i > 0 {
            pairs.push(pair);
        }
    }
    pairs
}

/// What a row's ratio compares. `timers`: the overhead (the 50 ms every run must wait is
/// nobody's cost). `idle_*` (CPU time in an idle window): at least 1 ms, so that two idle
/// runtimes (tens of µs, all noise) compare as 1.00x and a busy loop as its milliseconds.
fn cost(workload: &str, d: Duration) -> Duration {
    if workload.starts_with("timers") {
        d.saturating_sub(workloads::TIMERS_LONGEST)
    } else if workload.starts_with("idle_") {
        d.max(IDLE_FLOOR)
    } else {
        d
    }
}

/// The least CPU time an `idle_*` row's ratio counts (see `cost`).
const IDLE_FLOOR: Duration = Duration::from_millis(1);

/// One `--traced` row: medians, the ratio of the medians, and every run's ratio
/// (compared as the peer table compares them: `cost`).
fn traced_row(name: &str, pairs: &[(Duration, Duration)]) -> String {
    let cost = |d: Duration| cost(name, d);
    let off = cost(median(pairs.iter().map(|p| p.0).collect()));
    let on = cost(median(pairs.iter().map(|p| p.1).collect()));
    let mut each = String::new();
    for (a, b) in pairs {
        let _ = write!(each, "{:.2} ", cost(*b).as_secs_f64() / cost(*a).as_secs_f64());
    }
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    format!(
        "| {name} | {:.3} ms | {:.3} ms | {:.2}x | {} |",
        ms(off),
        ms(on),
        on.as_secs_f64() / off.as_secs_f64(),
        each.trim_end()
    )
}

macro_rules! all_runtimes {
    ($runs:expr, $name:expr, $workers:expr, $f:ident) => {
        Row {
            workload: $name,
            results: vec![
                (<Clockwork>::NAME, measure::<Clockwork>($runs, workloads::$f::<Clockwork>, $workers)),
                (Tokio::NAME, measure::<Tokio>($runs, workloads::$f::<Tokio>, $workers)),
                (Smol::NAME, measure::<Smol>($runs, workloads::$f::<Smol>, $workers)),
            ],
        }
    };
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut runs = 9; // 9, not 5: on a shared 2-vCPU machine a median of 5 still jumps 2x
    let mut filter = None;
    let mut traced = false;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--runs" => runs = it.next().and_then(|n| n.parse().ok()).expect("--runs takes a number"),
            "--traced" => traced = true,
            "--help" | "-h" => {
                println!("usage: peers [FILTER] [--runs N] [--traced]");
                return;
            }
            other => filter = Some(other.to_string()),
        }
    }
    let wanted = |name: &str| filter.as_deref().is_none_or(|f| name.contains(f));
    let mut rows = Vec::new();
    let mut traced_rows = Vec::new();
    macro_rules! bench {
        ($name:expr, $workers:expr, $f:ident) => {
            if wanted($name) {
                eprintln!("running {} ...", $name);
                if traced {
                    let pairs = measure_traced(
                        runs,
                        workloads::$f::<Clockwork>,
                        workloads::$f::<Clockwork<true>>,
                        $workers,
                    );
                    traced_rows.push(traced_row($name, &pairs));
                } else {
                    rows.push(all_runtimes!(runs, $name, $workers, $f));
                }
            }
        };
    }
    bench!("ct_spawn_join (100k, current-thread)", 0, ct_spawn_join);
    bench!("spawn_many (100k from a worker)", 2, spawn_many);
    bench!("spawn_many_remote (100k from outside)", 2, spawn_many_remote);
    bench!("yield_many (200 x 1000)", 2, yield_many);
    bench!("chained_spawn (1000)", 2, chained_spawn);
    bench!("ping_pong (1000 pairs, 2 oneshots each)", 2, ping_pong);
    bench!("timers (100k sleeps of 1..=50 ms; overhead = wall - 50 ms)", 2, timers);
    bench!("timer_cancel (100k x sleep(10 s), poll once, drop)", 2, timer_cancel);
    bench!("join_all_chain (10k children, one woken at a time)", 0, join_all_chain);
    bench!("tcp_echo (32 clients x 2000 round trips of 64 B)", 2, tcp_echo);
    bench!("mpsc_cancel (100k senders waiting, cancelled in random order)", 2, mpsc_cancel);
    bench!("idle_foreign_waiters (300 recv_from in join_all, CPU in 200 ms idle)", 2, idle_foreign_waiters);
    if traced {
        println!();
        println!("| workload | clockwork | clockwork traced | traced / untraced | each run's ratio |");
        println!("|---|---|---|---|---|");
        traced_rows.iter().for_each(|row| println!("{row}"));
    } else {
        print_table(&rows);
    }
}

fn print_table(rows: &[Row]) {
    println!();
    println!("| workload | clockwork | tokio | smol | clockwork / best peer |");
    println!("|---|---|---|---|---|");
    for row in rows {
        let get = |name: &str| row.results.iter().find(|(n, _)| *n == name).map(|(_, d)| *d).unwrap();
        let timers = row.workload.starts_with("timers");
        let echo = row.workload.starts_with("tcp_echo");
        let idle = row.workload.starts_with("idle_");
        let cost = |d: Duration| cost(row.workload, d);
        let cw = cost(get("clockwork"));
        let best = cost(get("tokio")).min(cost(get("smol")));
        let fmt = |d: Duration| {
            let ms = d.as_secs_f64() * 1e3;
            if timers {
                format!("{ms:.1} ms ({:.1} ms overhead)", cost(d).as_secs_f64() * 1e3)
            } else if idle {
                format!("{ms:.3} ms CPU")
            } else if echo {
                let trips = (workloads::ECHO_CLIENTS * workloads::ECHO_ROUND_TRIPS) as f64;
                format!("{ms:.1} ms ({:.0}k round trips/s)", trips / d.as_secs_f64() / 1e3)
            } else {
                format!("{ms:.3} ms")
            }
        };
        println!(
            "| {} | {} | {} | {} | {:.2}x |",
            row.workload,
            fmt(get("clockwork")),
            fmt(get("tokio")),
            fmt(get("smol")),
            cw.as_secs_f64() / best.as_secs_f64()
        );
    }
}
