//! `CLOCKWORK_TRACE=<dir>` traces a program without code changes: each runtime writes its
//! exports into `<dir>/runtime-N/` when it is dropped.
//!
//! Alone in its own test binary, because the variable is process-wide: every runtime
//! built while it is set records.
#![cfg(not(loom))]

#[test]
fn the_environment_variable_traces_any_program_and_writes_the_exports_at_drop() {
    let dir = std::env::temp_dir().join(format!("clockwork-env-trace-{}", std::process::id()));
    // Only this test runs in this binary, so no other thread reads the environment while
    // it changes (the race that makes `set_var` unsafe in edition 2024).
    std::env::set_var("CLOCKWORK_TRACE", &dir);
    let rt = clockwork::runtime::Builder::new_current_thread().build().unwrap();
    std::env::remove_var("CLOCKWORK_TRACE");
    rt.block_on(async { clockwork::spawn(async { 1 }).await.unwrap() });
    assert!(rt.trace().is_some(), "the variable switched tracing on");
    drop(rt);
    let runtime_dir = std::fs::read_dir(&dir).unwrap().next().unwrap().unwrap().path();
    for file in ["narration.txt", "trace.json", "timeline.svg", "sequence.mmd", "lints.txt"] {
        assert!(runtime_dir.join(file).exists(), "{file} missing in {}", runtime_dir.display());
    }
    let narration = std::fs::read_to_string(runtime_dir.join("narration.txt")).unwrap();
    assert!(narration.contains("returned Ready"), "{narration}");
    std::fs::remove_dir_all(&dir).unwrap();
}
