//! The traced program shared by `trace_export.rs` and `trace_json.rs`.

use clockwork::net::{TcpListener, TcpStream};
use clockwork::runtime::Builder;
use clockwork::task;
use clockwork::trace::Trace;
use std::time::Duration;

/// A short program that uses spawn, yield, a timer and a TCP round trip.
pub fn traced_run() -> Trace {
    let rt = Builder::new_current_thread().trace(true).build().unwrap();
    rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = task::Builder::new().name("echo \"server\"").spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            let mut buf = [0; 4];
            stream.read_exact(&mut buf).await.unwrap();
            stream.write_all(&buf).await.unwrap();
        });
        let client = task::Builder::new().name("client <&>").spawn(async move {
            task::yield_now().await;
            clockwork::time::sleep(Duration::from_millis(1)).await;
            let stream = TcpStream::connect(addr).await.unwrap();
            stream.write_all(b"ping").await.unwrap();
            let mut buf = [0; 4];
            stream.read_exact(&mut buf).await.unwrap();
        });
        server.unwrap().await.unwrap();
        client.unwrap().await.unwrap();
    });
    rt.trace().unwrap()
}
