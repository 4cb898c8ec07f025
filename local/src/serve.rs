//! The HTTP server around the gateway, with the limits a server facing a network needs: a deadline for a
//! request's headers (hyper's, on a tokio timer) and for its body (the gateway's), a cap on open connections
//! in all and per client address, a pause after a failed accept (out of file descriptors, say) instead of a
//! spin, and a graceful shutdown that waits for requests in flight only so long.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::Request;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinSet;

use crate::Gateway;

/// The server's limits; each can be set from the environment (seconds, or a count).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// `HEADER_TIMEOUT_SECS` (default 10): a client that has not sent its headers by then is disconnected.
    pub header_timeout: Duration,
    /// `MAX_CONNECTIONS` (default 512): connections beyond it wait in the listen backlog.
    pub max_connections: usize,
    /// `MAX_CONNECTIONS_PER_CLIENT` (default 128): one address's connections beyond it are closed at once, so
    /// one client cannot hold every slot.
    pub max_connections_per_client: usize,
    /// `SHUTDOWN_GRACE_SECS` (default 10): how long a shutdown waits for requests in flight.
    pub shutdown_grace: Duration,
}

/// Serves the `gateway` on `listener` until `shutdown` resolves, then lets requests in flight finish for at
/// most `limits.shutdown_grace`. Each connection calls [`Gateway::handle`] itself: an axum router with one
/// fallback route in between was a few thousand instructions per request (issue 16).
pub async fn serve(
    listener: TcpListener,
    gateway: Arc<Gateway>,
    limits: Limits,
    shutdown: impl std::future::Future<Output = ()>,
) {
    let permits = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let per_client = Arc::new(Mutex::new(HashMap::<IpAddr, usize>::new()));
    let (stop, stopping) = watch::channel(false);
    let mut connections = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            permit = Arc::clone(&permits).acquire_owned() => permit.expect("the semaphore is never closed"),
            () = &mut shutdown => break,
        };
        let (stream, client) = tokio::select! {
            accepted = next_connection(&listener) => accepted,
            () = &mut shutdown => break,
        };
        let Some(slot) = ClientSlot::take(&per_client, client, limits.max_connections_per_client)
        else {
            // Dropping the stream closes it: this client holds its share already.
            continue;
        };
        let gateway = Arc::clone(&gateway);
        let service = service_fn(move |request: Request<Incoming>| {
            let gateway = Arc::clone(&gateway);
            async move {
                let request = request.map(axum::body::Body::new);
                Ok::<_, Infallible>(gateway.handle(request).await)
            }
        });
        let mut stopping = stopping.clone();
        connections.spawn(async move {
            let (_permit, _slot) = (permit, slot);
            let connection = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(limits.header_timeout)
                .serve_connection(TokioIo::new(stream), service);
            tokio::pin!(connection);
            tokio::select! {
                _ = connection.as_mut() => {}
                _ = stopping.changed() => {
                    connection.as_mut().graceful_shutdown();
                    let _ = connection.await;
                }
            }
        });
        // Finished connections are reaped as we go, so the set holds only open ones.
        while connections.try_join_next().is_some() {}
    }
    let _ = stop.send(true);
    let drained = tokio::time::timeout(limits.shutdown_grace, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            open = connections.len(),
            "shutdown grace over; closing the remaining connections"
        );
        connections.abort_all();
    }
}

/// The next connection and its client's address. A failed accept (EMFILE and the like persist until
/// connections close) is retried after a pause that grows, instead of in a spin.
async fn next_connection(listener: &TcpListener) -> (tokio::net::TcpStream, IpAddr) {
    let mut failures = 0;
    loop {
        match listener.accept().await {
            Ok((stream, address)) => return (stream, address.ip()),
            Err(error) => {
                failures += 1;
                let pause = accept_backoff(failures);
                tracing::warn!(%error, pause_ms = pause.as_millis() as u64, "accept failed");
                tokio::time::sleep(pause).await;
            }
        }
    }
}

/// How long to wait after the `failures`-th accept error in a row: 10 ms, doubling, at most one second.
pub fn accept_backoff(failures: u32) -> Duration {
    let doublings = failures.saturating_sub(1).min(7);
    Duration::from_millis(10 << doublings).min(Duration::from_secs(1))
}

/// One of a client address's connections; dropping it gives the slot back.
struct ClientSlot {
    counts: Arc<Mutex<HashMap<IpAddr, usize>>>,
    client: IpAddr,
}

impl ClientSlot {
    /// A slot for `client`, unless it holds `most` already.
    fn take(
        counts: &Arc<Mutex<HashMap<IpAddr, usize>>>,
        client: IpAddr,
        most: usize,
    ) -> Option<Self> {
        let mut held = counts.lock().unwrap_or_else(|e| e.into_inner());
        let count = held.entry(client).or_insert(0);
        if *count >= most.max(1) {
            return None;
        }
        *count += 1;
        Some(ClientSlot {
            counts: Arc::clone(counts),
            client,
        })
    }
}

impl Drop for ClientSlot {
    fn drop(&mut self) {
        let mut held = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(count) = held.get_mut(&self.client) {
            *count -= 1;
            if *count == 0 {
                held.remove(&self.client);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_accepts_back_off_to_a_second() {
        let pauses: Vec<u64> = (1..=10)
            .map(|n| accept_backoff(n).as_millis() as u64)
            .collect();
        assert_eq!(pauses, [10, 20, 40, 80, 160, 320, 640, 1000, 1000, 1000]);
    }

    #[test]
    fn a_client_holds_at_most_its_share_of_connections() {
        let counts = Arc::new(Mutex::new(HashMap::new()));
        let (one, two): (IpAddr, IpAddr) =
            ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        let held: Vec<ClientSlot> = (0..3)
            .map(|_| ClientSlot::take(&counts, one, 3).unwrap())
            .collect();
        assert!(
            ClientSlot::take(&counts, one, 3).is_none(),
            "a fourth is refused"
        );
        assert!(
            ClientSlot::take(&counts, two, 3).is_some(),
            "another client is not"
        );
        drop(held);
        assert!(
            ClientSlot::take(&counts, one, 3).is_some(),
            "closed ones give their slots back"
        );
        assert!(
            counts.lock().unwrap().get(&two).is_none(),
            "nothing kept for a client gone"
        );
    }
}
