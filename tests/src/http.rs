//! Serving a fake HTTP service on 127.0.0.1 for the length of the test
//! process, the way every fake here needs it.

use std::net::SocketAddr;

use axum::Router;

/// Serves `app` on a free loopback port from a thread of its own (so it
/// outlives any test runtime) and returns the address.
pub fn serve(app: Router) -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind fake server");
    listener.set_nonblocking(true).expect("nonblocking");
    let addr = listener.local_addr().expect("fake server address");
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("fake server runtime");
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
            axum::serve(listener, app).await.expect("fake server");
        });
    });
    addr
}

/// A loopback URL where nothing listens: connections are refused at once,
/// which is how a stopped server looks.
pub fn refused_url() -> String {
    format!("http://127.0.0.1:{}", crate::scrape::free_port())
}
