//! Hello, clockwork: `block_on`, `spawn`, and awaiting a `JoinHandle`.
//!
//! What it teaches: a runtime runs futures. `block_on` drives one future on this thread;
//! `spawn` hands another to the runtime as a *task*, and the `JoinHandle` it returns is
//! itself a future that completes with the task's output.

fn main() {
    let greeting = clockwork::block_on(async {
        let task = clockwork::spawn(async { "hello from a spawned task" });
        task.await.expect("the task neither panicked nor was aborted")
    });
    println!("{greeting}");

    let rt = clockwork::Runtime::new().expect("failed to start the multi-thread runtime");
    let sum = rt.block_on(async {
        let handles: Vec<_> = (1..=10u64).map(|i| clockwork::spawn(async move { i * i })).collect();
        let mut sum = 0;
        for handle in handles {
            sum += handle.await.unwrap();
        }
        sum
    });
    println!("sum of squares 1..=10 computed by 10 tasks on {rt:?}: {sum}");
}
