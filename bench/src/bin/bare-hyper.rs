//! `bare-hyper`: the reference for the gateway's throughput (`make bench-gateway`): a hyper HTTP/1.1 server
//! that answers every request with the same small JSON body, and nothing else: no routing, no authorizer, no
//! event, no store. What the local gateway adds to a request is measured against it.
//!
//!     bare-hyper [PORT]

use std::convert::Infallible;

use bytes::Bytes;
use clap::Parser;
use http_body_util::Full;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

const BODY: &str = r#"{"data":{"debt_id":"01a223b8-b741-73cd-8a93-80711542bb70","debt_name":"Car loan","current_balance":"12000.50","version":1}}"#;

async fn answer(_: Request<hyper::body::Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let mut response = Response::new(Full::new(Bytes::from_static(BODY.as_bytes())));
    response.headers_mut().insert(
        "content-type",
        "application/json".parse().expect("a valid header"),
    );
    Ok(response)
}

/// A hyper server that answers every request with the same small JSON body.
#[derive(Parser)]
struct Args {
    #[arg(default_value_t = 3001)]
    port: u16,
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let port = Args::parse().port;
    let listener = TcpListener::bind(("127.0.0.1", port)).await?;
    loop {
        let (stream, _) = listener.accept().await?;
        tokio::spawn(
            http1::Builder::new().serve_connection(TokioIo::new(stream), service_fn(answer)),
        );
    }
}
