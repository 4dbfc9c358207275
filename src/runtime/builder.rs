//! `Builder`: choose a runtime flavour and its settings, then `build`.
//!
//! Next to read: `src/runtime/handle.rs`.

use super::{blocking, current_thread, multi_thread, scheduler, Runtime};
use std::io;
use std::time::Duration;

/// Configures and builds a [`Runtime`].
///
/// ```
/// let rt = clockwork::runtime::Builder::new_multi_thread().worker_threads(2).build().unwrap();
/// assert_eq!(rt.block_on(async { clockwork::spawn(async { 7 }).await.unwrap() }), 7);
/// ```
#[derive(Debug, Clone)]
pub struct Builder {
    kind: Kind,
    worker_threads: Option<usize>,
    max_blocking_threads: usize,
    thread_keep_alive: Duration,
    thread_stack_size: Option<usize>,
    trace: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    CurrentThread,
    MultiThread,
}

impl Builder {
    /// A multi-thread runtime: N worker threads share the tasks (default: one per core).
    pub fn new_multi_thread() -> Builder {
        Builder::with_kind(Kind::MultiThread)
    }

    /// A current-thread runtime: tasks run on the thread that calls `block_on`.
    pub fn new_current_thread() -> Builder {
        Builder::with_kind(Kind::CurrentThread)
    }

    fn with_kind(kind: Kind) -> Builder {
        Builder {
            kind,
            worker_threads: None,
            max_blocking_threads: 512,
            thread_keep_alive: blocking::DEFAULT_KEEP_ALIVE,
            thread_stack_size: None,
            trace: false,
        }
    }

    /// Sets the number of worker threads of a multi-thread runtime (ignored by the
    /// current-thread runtime).
    ///
    /// # Panics
    ///
    /// Panics if `n` is 0: a runtime with no worker could never run a task.
    #[track_caller]
    pub fn worker_threads(&mut self, n: usize) -> &mut Builder {
        assert!(n >= 1, "Builder::worker_threads(0): a runtime needs at least one worker thread");
        self.worker_threads = Some(n);
        self
    }

    /// Caps the threads of the `spawn_blocking` pool (default 512).
    ///
    /// # Panics
    ///
    /// Panics if `n` is 0.
    #[track_caller]
    pub fn max_blocking_threads(&mut self, n: usize) -> &mut Builder {
        assert!(n >= 1, "Builder::max_blocking_threads(0): the blocking pool needs at least one thread");
        self.max_blocking_threads = n;
        self
    }

    /// How long a `spawn_blocking` thread waits for a new job before it exits (default 10 s).
    ///
    /// ```
    /// use std::time::Duration;
    /// let rt = clockwork::runtime::Builder::new_current_thread()
    ///     .thread_keep_alive(Duration::from_millis(100))
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(rt.block_on(rt.spawn_blocking(|| 3)).unwrap(), 3);
    /// ```
    pub fn thread_keep_alive(&mut self, keep_alive: Duration) -> &mut Builder {
        self.thread_keep_alive = keep_alive;
        self
    }

    /// Sets the stack size, in bytes, of the threads the runtime starts: its workers (a
    /// multi-thread runtime) and its `spawn_blocking` threads. Default: std's, 2 MiB,
    /// as in tokio. The current-thread runtime runs tasks on the caller's thread, whose
    /// stack is the caller's business.
    ///
    /// A task's future lives on the heap, but each poll runs on the thread's stack, and a
    /// future built *inside* a task (a local array, a large `async` block about to be
    /// spawned) is on that stack until it is moved to the heap: a worker with 2 MiB cannot
    /// build a 1 MiB future in an unoptimised build, where each frame keeps its own copy.
    ///
    /// ```
    /// let rt = clockwork::runtime::Builder::new_multi_thread()
    ///     .worker_threads(1)
    ///     .thread_stack_size(8 * 1024 * 1024)
    ///     .build()
    ///     .unwrap();
    /// let sum = rt.block_on(rt.spawn(async {
    ///     let big = [1u8; 1024 * 1024]; // on the worker's stack
    ///     clockwork::task::yield_now().await;
    ///     big.iter().map(|&b| b as usize).sum::<usize>()
    /// }));
    /// assert_eq!(sum.unwrap(), 1024 * 1024);
    /// ```
    ///
    /// # Panics
    ///
    /// Panics if `size` is 0.
    #[track_caller]
    pub fn thread_stack_size(&mut self, size: usize) -> &mut Builder {
        assert!(size > 0, "Builder::thread_stack_size(0): a thread needs a stack");
        self.thread_stack_size = Some(size);
        self
    }

    /// Records every runtime event (spawns, polls, wakes and who caused them, timers,
    /// reactor waits, parks) so that [`Runtime::trace`] can show the run as a narration, a
    /// Perfetto file, an SVG timeline or a Mermaid diagram; see [`crate::trace`].
    ///
    /// Off by default. Setting the environment variable `CLOCKWORK_TRACE=<dir>` turns it
    /// on for every runtime of a program, and writes the exports into `<dir>` when each
    /// runtime is dropped. Cost: off, one predictable branch per event site; on, one 16-byte
    /// record appended per event, without a lock (DESIGN.md §9 has the numbers).
    ///
    /// ```
    /// let rt = clockwork::runtime::Builder::new_current_thread().trace(true).build().unwrap();
    /// rt.block_on(async { clockwork::spawn(async {}).await.unwrap() });
    /// let trace = rt.trace().expect("tracing is on");
    /// assert!(trace.narration().contains("returned Ready"));
    /// ```
    pub fn trace(&mut self, on: bool) -> &mut Builder {
        self.trace = on;
        self
    }

    /// Does nothing: timers and I/O are always on here. For code ported from tokio, whose
    /// builders start with both drivers off.
    pub fn enable_all(&mut self) -> &mut Builder {
        self
    }

    /// Does nothing (I/O is always on); see [`Builder::enable_all`].
    pub fn enable_io(&mut self) -> &mut Builder {
        self
    }

    /// Does nothing (timers are always on); see [`Builder::enable_all`].
    pub fn enable_time(&mut self) -> &mut Builder {
        self
    }

    /// Creates the runtime (and, for multi-thread, starts its workers).
    pub fn build(&mut self) -> io::Result<Runtime> {
        let blocking = blocking::Spawner::with_stack_size(
            self.max_blocking_threads,
            self.thread_keep_alive,
            self.thread_stack_size,
        );
        let runtime = match self.kind {
            Kind::CurrentThread => {
                let shared = current_thread::Shared::new(blocking)?;
                Runtime::from_parts(scheduler::Handle::CurrentThread(shared), None)
            }
            Kind::MultiThread => {
                let n = self.worker_threads.unwrap_or_else(default_workers);
                let (shared, workers) = multi_thread::start(n, self.thread_stack_size, blocking)?;
                Runtime::from_parts(scheduler::Handle::MultiThread(shared), Some(workers))
            }
        };
        let export_dir = crate::trace::env_dir();
        if self.trace || export_dir.is_some() {
            let _ = runtime.handle.inner.driver().trace.set(crate::trace::new_recorder(export_dir));
        }
        Ok(runtime)
    }
}

fn default_workers() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
}
