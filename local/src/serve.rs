//! The HTTP server around the gateway, with the limits a server facing a network needs: a deadline for a
//! request's headers (hyper's, on a tokio timer) and for its body (the gateway's), a cap on open connections,
//! and a graceful shutdown that waits for requests in flight only so long.

use std::convert::Infallible;
use std::sync::Arc;
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
    let (stop, stopping) = watch::channel(false);
    let mut connections = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            permit = Arc::clone(&permits).acquire_owned() => permit.expect("the semaphore is never closed"),
            () = &mut shutdown => break,
        };
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(error) => {
                    tracing::warn!(%error, "accept failed");
                    continue;
                }
            },
            () = &mut shutdown => break,
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
            let _permit = permit;
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
