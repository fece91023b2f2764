//! The load itself: round trips on one connection, many connections at
//! once, pipelined batches, and one-shot connections. Every function drives
//! any [`Target`] the same way.

use std::time::{Duration, Instant};

use tokio::task::JoinSet;

use crate::target::Target;

/// Latencies sorted ascending, for percentiles.
pub struct Latencies(Vec<Duration>);

impl Latencies {
    /// Sorts `samples`.
    pub fn new(mut samples: Vec<Duration>) -> Self {
        samples.sort_unstable();
        Latencies(samples)
    }

    /// The `p`-th percentile (0 < p ≤ 100), in microseconds.
    pub fn percentile_us(&self, p: f64) -> f64 {
        let rank = ((p / 100.0) * self.0.len() as f64).ceil() as usize;
        self.0[rank.clamp(1, self.0.len()) - 1].as_secs_f64() * 1e6
    }

    /// The mean, in milliseconds.
    pub fn mean_ms(&self) -> f64 {
        self.0.iter().sum::<Duration>().as_secs_f64() * 1e3 / self.0.len() as f64
    }
}

/// `samples` sequential round trips of the target's request on one
/// persistent connection, after `samples / 10` unmeasured ones.
pub async fn round_trips(target: &Target, samples: usize) -> Latencies {
    let mut conn = target.connect().await.expect("connect");
    for _ in 0..samples / 10 {
        conn.ask(&target.ask).await.expect("warm-up round trip");
    }
    let mut times = Vec::with_capacity(samples);
    for _ in 0..samples {
        let start = Instant::now();
        conn.ask(&target.ask).await.expect("round trip");
        times.push(start.elapsed());
    }
    Latencies::new(times)
}

/// Requests per second from `connections` clients, each asking in a loop
/// and waiting for every reply, for `duration`; and how many were answered.
pub async fn throughput(target: &Target, connections: usize, duration: Duration) -> (f64, u64) {
    let mut conns = Vec::with_capacity(connections);
    for _ in 0..connections {
        conns.push(target.connect().await.expect("connect"));
    }
    let ask: std::sync::Arc<[u8]> = target.ask.clone().into();
    let start = Instant::now();
    let deadline = start + duration;
    let mut clients = JoinSet::new();
    for mut conn in conns {
        let ask = ask.clone();
        clients.spawn(async move {
            let mut done = 0u64;
            while Instant::now() < deadline {
                conn.ask(&ask).await.expect("round trip under load");
                done += 1;
            }
            done
        });
    }
    let total: u64 = clients.join_all().await.into_iter().sum();
    (total as f64 / start.elapsed().as_secs_f64(), total)
}

/// Requests per second on one connection that writes `depth` requests at
/// once and then reads their `depth` replies, for `duration`.
pub async fn pipelined(target: &Target, depth: usize, duration: Duration) -> f64 {
    let mut conn = target.connect().await.expect("connect");
    let batch = target.ask.repeat(depth);
    let start = Instant::now();
    let mut done = 0u64;
    while start.elapsed() < duration {
        conn.send(&batch).await.expect("pipelined batch");
        for _ in 0..depth {
            conn.recv().await.expect("pipelined reply");
        }
        done += depth as u64;
    }
    done as f64 / start.elapsed().as_secs_f64()
}

/// What a CLI invocation costs on the wire: connect, greet, ask, close;
/// `samples` times in a row.
pub async fn one_shots(target: &Target, samples: usize) -> Latencies {
    let mut times = Vec::with_capacity(samples);
    for _ in 0..samples {
        let start = Instant::now();
        let mut conn = target.connect().await.expect("connect");
        conn.ask(&target.greet).await.expect("greeting");
        conn.ask(&target.ask).await.expect("question");
        drop(conn);
        times.push(start.elapsed());
    }
    Latencies::new(times)
}

/// Opens `count` connections, each answered once so the server holds it,
/// and keeps them open while the caller looks.
pub async fn hold_open(target: &Target, count: usize) -> Vec<crate::target::Conn> {
    let mut conns = Vec::with_capacity(count);
    for _ in 0..count {
        let mut conn = target.connect().await.expect("connect");
        conn.ask(&target.ask).await.expect("first round trip");
        conns.push(conn);
    }
    conns
}
