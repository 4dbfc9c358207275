//! One trait, three runtimes: the operations the workloads need, each mapped to the
//! runtime's own API (its own spawn, yield, oneshot, sleep), so each is measured as its
//! users would use it.

use std::future::Future;
use std::time::{Duration, Instant};

pub trait Rt: Clone + Send + Sync + 'static {
    const NAME: &'static str;
    /// A runtime with `workers` worker threads (0 = a current-thread runtime).
    fn new(workers: usize) -> Self;
    fn block_on<F: Future>(&self, f: F) -> F::Output;
    /// Spawns a detached task.
    fn spawn<F: Future<Output = ()> + Send + 'static>(&self, f: F);
    /// Spawns a task and returns a future for its output.
    fn spawn_join<T: Send + 'static, F: Future<Output = T> + Send + 'static>(
        &self,
        f: F,
    ) -> impl Future<Output = T> + Send + 'static;
    fn yield_now() -> impl Future<Output = ()> + Send;
    /// A copy for tasks to capture: it can spawn, but does not own the runtime.
    fn handle_only(&self) -> Self;
    /// A oneshot channel carrying `()`, from the runtime's own library (smol has none:
    /// `futures::channel::oneshot`, which smol users reach for). The sender is a closure.
    fn oneshot() -> (impl FnOnce() + Send + 'static, impl Future<Output = ()> + Send + 'static);
    /// The runtime's own sleep.
    fn sleep(duration: Duration) -> impl Future<Output = ()> + Send;
    /// Awaits every future, outputs in order: `clockwork::future::join_all` for clockwork,
    /// `futures::future::join_all` (what their users reach for) for tokio and smol.
    fn join_all<F: Future>(futures: Vec<F>) -> impl Future<Output = Vec<F::Output>>;
    /// The `tcp_echo` workload with the runtime's own TCP types: an echo server task on
    /// loopback, `clients` client tasks doing `trips` round trips of `size` bytes each.
    /// Returns the time from the first connect to the last reply.
    fn tcp_echo(&self, clients: usize, trips: usize, size: usize) -> Duration;

    /// A bounded multi-producer channel of `usize`, from the runtime's own library
    /// (smol: `async-channel`, which smol re-exports as `smol::channel`).
    type Tx: Clone + Send + Sync + 'static;
    type Rx: Send + 'static;
    fn channel(capacity: usize) -> (Self::Tx, Self::Rx);
    /// Sends, waiting for room; `false` if the receiver is gone.
    fn send(tx: &Self::Tx, value: usize) -> impl Future<Output = bool> + Send + '_;
    /// The next value; `None` once every sender is dropped and the channel is empty.
    fn recv(rx: &mut Self::Rx) -> impl Future<Output = Option<usize>> + Send + '_;

    /// A UDP socket of the runtime's own type, bound to an ephemeral loopback port (call
    /// it inside `block_on`).
    type Udp: Send + Sync + 'static;
    fn udp_bind() -> impl Future<Output = Self::Udp>;
    fn udp_local_addr(socket: &Self::Udp) -> std::net::SocketAddr;
    /// Waits for one datagram into `buf`; returns its length.
    fn udp_recv_from<'a>(socket: &'a Self::Udp, buf: &'a mut [u8]) -> impl Future<Output = usize> + Send + 'a;
}

/// The runtime is owned by the benchmark (an `Arc` only so the struct can be cloned into
/// the measuring code); tasks capture the handle. Dropping the last owner inside a task
/// would be a shutdown from inside the runtime, which both clockwork and tokio refuse.
///
/// `TRACED`: built with `.trace(true)`, so `--traced` can measure recording against the
/// same workload untraced, in the same run (DESIGN.md §9).
#[derive(Clone)]
#[allow(dead_code)] // field 0 owns the runtime: dropping the last owner shuts it down
pub struct Clockwork<const TRACED: bool = false>(
    Option<std::sync::Arc<clockwork::Runtime>>,
    clockwork::runtime::Handle,
);

impl<const TRACED: bool> Rt for Clockwork<TRACED> {
    const NAME: &'static str = if TRACED { "clockwork traced" } else { "clockwork" };
    fn new(workers: usize) -> Self {
        // `CLOCKWORK_BENCH_TRACE=1` traces the plain variant too (the whole table traced).
        let trace = TRACED || std::env::var_os("CLOCKWORK_BENCH_TRACE").is_some();
        let rt = if workers == 0 {
            clockwork::runtime::Builder::new_current_thread().trace(trace).build()
        } else {
            clockwork::runtime::Builder::new_multi_thread().worker_threads(workers).trace(trace).build()
        }
        .unwrap();
        let handle = rt.handle();
        Clockwork(Some(std::sync::Arc::new(rt)), handle)
    }
    fn block_on<F: Future>(&self, f: F) -> F::Output {
        self.1.block_on(f)
    }
    fn spawn<F: Future<Output = ()> + Send + 'static>(&self, f: F) {
        drop(self.1.spawn(f));
    }
    fn spawn_join<T: Send + 'static, F: Future<Output = T> + Send + 'static>(
        &self,
        f: F,
    ) -> impl Future<Output = T> + Send + 'static {
        let h = self.1.spawn(f);
        async move { h.await.unwrap() }
    }
    fn yield_now() -> impl Future<Output = ()> + Send {
        clockwork::task::yield_now()
    }
    fn handle_only(&self) -> Self {
        Clockwork(None, self.1.clone())
    }
    fn oneshot() -> (impl FnOnce() + Send + 'static, impl Future<Output = ()> + Send + 'static) {
        let (tx, rx) = clockwork::sync::oneshot::channel();
        (move || tx.send(()).unwrap(), async move { rx.await.unwrap() })
    }
    fn sleep(duration: Duration) -> impl Future<Output = ()> + Send {
        clockwork::time::sleep(duration)
    }
    fn join_all<F: Future>(futures: Vec<F>) -> impl Future<Output = Vec<F::Output>> {
        clockwork::future::join_all(futures)
    }

    fn tcp_echo(&self, clients: usize, trips: usize, size: usize) -> Duration {
        use clockwork::net::{TcpListener, TcpStream};
        let rt = self.handle_only();
        self.block_on(async move {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let rt2 = rt.handle_only();
            rt.spawn(async move {
                while let Ok((stream, _)) = listener.accept().await {
                    stream.set_nodelay(true).unwrap();
                    rt2.spawn(async move {
                        let mut buf = vec![0u8; size];
                        while stream.read_exact(&mut buf).await.is_ok() {
                            if stream.write_all(&buf).await.is_err() {
                                break;
                            }
                        }
                    });
                }
            });
            let start = Instant::now();
            let clients: Vec<_> = (0..clients)
                .map(|_| {
                    rt.spawn_join(async move {
                        let stream = TcpStream::connect(addr).await.unwrap();
                        stream.set_nodelay(true).unwrap();
                        let mut buf = vec![7u8; size];
                        for _ in 0..trips {
                            stream.write_all(&buf).await.unwrap();
                            stream.read_exact(&mut buf).await.unwrap();
                        }
                    })
                })
                .collect();
            for client in clients {
                client.await;
            }
            start.elapsed()
        })
    }

    type Tx = clockwork::sync::mpsc::Sender<usize>;
    type Rx = clockwork::sync::mpsc::Receiver<usize>;
    fn channel(capacity: usize) -> (Self::Tx, Self::Rx) {
        clockwork::sync::mpsc::channel(capacity)
    }
    async fn send(tx: &Self::Tx, value: usize) -> bool {
        tx.send(value).await.is_ok()
    }
    fn recv(rx: &mut Self::Rx) -> impl Future<Output = Option<usize>> + Send + '_ {
        rx.recv()
    }

    type Udp = clockwork::net::UdpSocket;
    async fn udp_bind() -> Self::Udp {
        clockwork::net::UdpSocket::bind("127.0.0.1:0").await.unwrap()
    }
    fn udp_local_addr(socket: &Self::Udp) -> std::net::SocketAddr {
        socket.local_addr().unwrap()
    }
    async fn udp_recv_from<'a>(socket: &'a Self::Udp, buf: &'a mut [u8]) -> usize {
        socket.recv_from(buf).await.unwrap().0
    }
}

#[derive(Clone)]
#[allow(dead_code)] // field 0 owns the runtime
pub struct Tokio(Option<std::sync::Arc<tokio::runtime::Runtime>>, tokio::runtime::Handle);

impl Rt for Tokio {
    const NAME: &'static str = "tokio";
    fn new(workers: usize) -> Self {
        let rt = if workers == 0 {
            tokio::runtime::Builder::new_current_thread().enable_all().build()
        } else {
            tokio::runtime::Builder::new_multi_thread().worker_threads(workers).enable_all().build()
        }
        .unwrap();
        let handle = rt.handle().clone();
        Tokio(Some(std::sync::Arc::new(rt)), handle)
    }
    fn block_on<F: Future>(&self, f: F) -> F::Output {
        // tokio's `Handle::block_on` does not drive a current-thread runtime's tasks.
        self.0.as_ref().expect("block_on on the owning copy").block_on(f)
    }
    fn spawn<F: Future<Output = ()> + Send + 'static>(&self, f: F) {
        drop(self.1.spawn(f));
    }
    fn spawn_join<T: Send + 'static, F: Future<Output = T> + Send + 'static>(
        &self,
        f: F,
    ) -> impl Future<Output = T> + Send + 'static {
        let h = self.1.spawn(f);
        async move { h.await.unwrap() }
    }
    fn yield_now() -> impl Future<Output = ()> + Send {
        tokio::task::yield_now()
    }
    fn handle_only(&self) -> Self {
        Tokio(None, self.1.clone())
    }
    fn oneshot() -> (impl FnOnce() + Send + 'static, impl Future<Output = ()> + Send + 'static) {
        let (tx, rx) = tokio::sync::oneshot::channel();
        (move || tx.send(()).unwrap(), async move { rx.await.unwrap() })
    }
    fn sleep(duration: Duration) -> impl Future<Output = ()> + Send {
        tokio::time::sleep(duration)
    }
    fn join_all<F: Future>(futures: Vec<F>) -> impl Future<Output = Vec<F::Output>> {
        futures::future::join_all(futures)
    }

    fn tcp_echo(&self, clients: usize, trips: usize, size: usize) -> Duration {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        use tokio::net::{TcpListener, TcpStream};
        let rt = self.handle_only();
        self.block_on(async move {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let rt2 = rt.handle_only();
            rt.spawn(async move {
                while let Ok((mut stream, _)) = listener.accept().await {
                    stream.set_nodelay(true).unwrap();
                    rt2.spawn(async move {
                        let mut buf = vec![0u8; size];
                        while stream.read_exact(&mut buf).await.is_ok() {
                            if stream.write_all(&buf).await.is_err() {
                                break;
                            }
                        }
                    });
                }
            });
            let start = Instant::now();
            let clients: Vec<_> = (0..clients)
                .map(|_| {
                    rt.spawn_join(async move {
                        let mut stream = TcpStream::connect(addr).await.unwrap();
                        stream.set_nodelay(true).unwrap();
                        let mut buf = vec![7u8; size];
                        for _ in 0..trips {
                            stream.write_all(&buf).await.unwrap();
                            stream.read_exact(&mut buf).await.unwrap();
                        }
                    })
                })
                .collect();
            for client in clients {
                client.await;
            }
            start.elapsed()
        })
    }

    type Tx = tokio::sync::mpsc::Sender<usize>;
    type Rx = tokio::sync::mpsc::Receiver<usize>;
    fn channel(capacity: usize) -> (Self::Tx, Self::Rx) {
        tokio::sync::mpsc::channel(capacity)
    }
    async fn send(tx: &Self::Tx, value: usize) -> bool {
        tx.send(value).await.is_ok()
    }
    fn recv(rx: &mut Self::Rx) -> impl Future<Output = Option<usize>> + Send + '_ {
        rx.recv()
    }

    type Udp = tokio::net::UdpSocket;
    async fn udp_bind() -> Self::Udp {
        tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap()
    }
    fn udp_local_addr(socket: &Self::Udp) -> std::net::SocketAddr {
        socket.local_addr().unwrap()
    }
    async fn udp_recv_from<'a>(socket: &'a Self::Udp, buf: &'a mut [u8]) -> usize {
        socket.recv_from(buf).await.unwrap().0
    }
}

/// smol's executor (async-executor) run by N threads, `block_on` from async-io on the
/// calling thread, as in the smol examples. With 0 workers, the executor runs inside
/// `block_on` itself (the single-threaded setup).
#[derive(Clone)]
pub struct Smol(std::sync::Arc<SmolInner>);

pub struct SmolInner {
    ex: std::sync::Arc<async_executor::Executor<'static>>,
    workers: usize,
    /// Dropping it ends the worker threads' `run`.
    _stop: async_channel::Sender<()>,
}

impl Rt for Smol {
    const NAME: &'static str = "smol";
    fn new(workers: usize) -> Self {
        let ex = std::sync::Arc::new(async_executor::Executor::new());
        let (stop, stopped) = async_channel::bounded::<()>(1);
        for i in 0..workers {
            let (ex, stopped) = (ex.clone(), stopped.clone());
            std::thread::Builder::new()
                .name(format!("smol-{i}"))
                .spawn(move || {
                    async_io::block_on(ex.run(async move {
                        let _ = stopped.recv().await;
                    }))
                })
                .unwrap();
        }
        Smol(std::sync::Arc::new(SmolInner { ex, workers, _stop: stop }))
    }
    fn block_on<F: Future>(&self, f: F) -> F::Output {
        if self.0.workers == 0 {
            async_io::block_on(self.0.ex.run(f))
        } else {
            async_io::block_on(f)
        }
    }
    fn spawn<F: Future<Output = ()> + Send + 'static>(&self, f: F) {
        self.0.ex.spawn(f).detach();
    }
    fn spawn_join<T: Send + 'static, F: Future<Output = T> + Send + 'static>(
        &self,
        f: F,
    ) -> impl Future<Output = T> + Send + 'static {
        self.0.ex.spawn(f)
    }
    fn yield_now() -> impl Future<Output = ()> + Send {
        futures_lite::future::yield_now()
    }
    fn handle_only(&self) -> Self {
        self.clone()
    }
    fn oneshot() -> (impl FnOnce() + Send + 'static, impl Future<Output = ()> + Send + 'static) {
        let (tx, rx) = futures::channel::oneshot::channel();
        (move || tx.send(()).unwrap(), async move { rx.await.unwrap() })
    }
    fn sleep(duration: Duration) -> impl Future<Output = ()> + Send {
        async move {
            async_io::Timer::after(duration).await;
        }
    }
    fn join_all<F: Future>(futures: Vec<F>) -> impl Future<Output = Vec<F::Output>> {
        futures::future::join_all(futures)
    }

    fn tcp_echo(&self, clients: usize, trips: usize, size: usize) -> Duration {
        use async_net::{TcpListener, TcpStream};
        use futures_lite::{AsyncReadExt, AsyncWriteExt};
        let rt = self.handle_only();
        self.block_on(async move {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let rt2 = rt.handle_only();
            rt.spawn(async move {
                while let Ok((mut stream, _)) = listener.accept().await {
                    stream.set_nodelay(true).unwrap();
                    rt2.spawn(async move {
                        let mut buf = vec![0u8; size];
                        while stream.read_exact(&mut buf).await.is_ok() {
                            if stream.write_all(&buf).await.is_err() {
                                break;
                            }
                        }
                    });
                }
            });
            let start = Instant::now();
            let clients: Vec<_> = (0..clients)
                .map(|_| {
                    rt.spawn_join(async move {
                        let mut stream = TcpStream::connect(addr).await.unwrap();
                        stream.set_nodelay(true).unwrap();
                        let mut buf = vec![7u8; size];
                        for _ in 0..trips {
                            stream.write_all(&buf).await.unwrap();
                            stream.read_exact(&mut buf).await.unwrap();
                        }
                    })
                })
                .collect();
            for client in clients {
                client.await;
            }
            start.elapsed()
        })
    }

    type Tx = async_channel::Sender<usize>;
    type Rx = async_channel::Receiver<usize>;
    fn channel(capacity: usize) -> (Self::Tx, Self::Rx) {
        async_channel::bounded(capacity)
    }
    async fn send(tx: &Self::Tx, value: usize) -> bool {
        tx.send(value).await.is_ok()
    }
    async fn recv(rx: &mut Self::Rx) -> Option<usize> {
        rx.recv().await.ok()
    }

    type Udp = async_net::UdpSocket;
    async fn udp_bind() -> Self::Udp {
        async_net::UdpSocket::bind("127.0.0.1:0").await.unwrap()
    }
    fn udp_local_addr(socket: &Self::Udp) -> std::net::SocketAddr {
        socket.local_addr().unwrap()
    }
    async fn udp_recv_from<'a>(socket: &'a Self::Udp, buf: &'a mut [u8]) -> usize {
        socket.recv_from(buf).await.unwrap().0
    }
}
