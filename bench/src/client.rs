//! The load generator's HTTP client: one keep-alive HTTP/1.1 connection to the server per client, reopened
//! when the server closes it, signed in as one user.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use tokio::net::TcpStream;

/// How long one request may take before the client gives up on it (and counts it as unanswered).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// One HTTP answer: status, `ETag` and JSON body (`Null` when empty or not JSON).
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: StatusCode,
    pub etag: Option<String>,
    pub body: Value,
}

impl Answer {
    /// The version its `ETag` names.
    pub fn version(&self) -> Option<u64> {
        self.etag.as_deref()?.trim_matches('"').parse().ok()
    }
}

/// A keep-alive HTTP/1.1 connection to the server, reopened when the server closes it.
pub struct Client {
    address: SocketAddr,
    sender: Option<SendRequest<Full<Bytes>>>,
    token: Option<String>,
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Unanswered(String);

impl Client {
    pub fn new(address: SocketAddr) -> Self {
        Client {
            address,
            sender: None,
            token: None,
        }
    }

    async fn connection(&mut self) -> Result<&mut SendRequest<Full<Bytes>>, Unanswered> {
        if self.sender.as_ref().is_none_or(SendRequest::is_closed) {
            let stream = TcpStream::connect(self.address)
                .await
                .map_err(|e| Unanswered(format!("connect: {e}")))?;
            let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
                .await
                .map_err(|e| Unanswered(format!("handshake: {e}")))?;
            tokio::spawn(connection);
            self.sender = Some(sender);
        }
        Ok(self.sender.as_mut().expect("connected above"))
    }

    /// Sends one request; `Err` means no answer arrived (refused, reset, or timed out).
    pub async fn call(
        &mut self,
        method: Method,
        path: &str,
        body: Option<Value>,
        headers: &[(&str, String)],
    ) -> Result<Answer, Unanswered> {
        let mut request = Request::builder()
            .method(method)
            .uri(path)
            .header("host", self.address.to_string());
        if let Some(token) = &self.token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        let payload = match body {
            Some(body) => {
                request = request.header("content-type", "application/json");
                Bytes::from(body.to_string())
            }
            None => Bytes::new(),
        };
        let request = request
            .body(Full::new(payload))
            .map_err(|e| Unanswered(e.to_string()))?;
        let sender = self.connection().await?;
        let exchange = async {
            sender.ready().await?;
            let response = sender.send_request(request).await?;
            let (parts, body) = response.into_parts();
            Ok::<_, hyper::Error>((parts, body.collect().await?.to_bytes()))
        };
        let (parts, bytes) = match tokio::time::timeout(REQUEST_TIMEOUT, exchange).await {
            Ok(Ok(answer)) => answer,
            Ok(Err(e)) => {
                self.sender = None;
                return Err(Unanswered(e.to_string()));
            }
            Err(_) => {
                self.sender = None;
                return Err(Unanswered("timed out".into()));
            }
        };
        Ok(Answer {
            status: parts.status,
            etag: parts
                .headers
                .get("etag")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
            body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        })
    }

    /// Later calls carry `token` (another client's, from its [`Client::sign_up`]).
    pub fn use_token(&mut self, token: String) {
        self.token = Some(token);
    }

    pub fn token(&self) -> Option<&str> {
        self.token.as_deref()
    }

    /// Registers a fresh user and logs in; later calls carry its token.
    pub async fn sign_up(&mut self, username: &str) -> Result<(), String> {
        let password = format!("pw-{username}-load");
        let registered = self
            .call(
                Method::POST,
                "/users",
                Some(
                    json!({"username": username, "email": format!("{username}@example.com"),
                            "full_name": "Load Test", "password": password}),
                ),
                &[],
            )
            .await
            .map_err(|e| e.to_string())?;
        if registered.status != StatusCode::CREATED {
            return Err(format!("register {username}: {}", registered.status));
        }
        let login = self
            .call(
                Method::POST,
                "/login",
                Some(json!({"username": username, "password": password})),
                &[],
            )
            .await
            .map_err(|e| e.to_string())?;
        self.token = login.body["token"].as_str().map(str::to_owned);
        self.token
            .as_ref()
            .map(|_| ())
            .ok_or_else(|| format!("login {username}: {}", login.status))
    }
}
