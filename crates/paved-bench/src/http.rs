//! One keep-alive HTTP/1.1 connection to the server under test, reconnecting after errors.
//!
//! Each simulated client owns one of these, so 64 clients really are 64 TCP connections, as
//! 64 browsers or scripts would be; a shared pool would hide connection set-up costs instead.

use anyhow::{Context, Result, anyhow};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::StatusCode;
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::TcpStream;

/// A lazily opened connection; `get` reopens it when the previous one was closed or failed.
pub struct Connection {
    address: SocketAddr,
    host_header: String,
    sender: Option<SendRequest<Full<Bytes>>>,
    timeout: Duration,
}

impl Connection {
    pub fn new(address: SocketAddr, timeout: Duration) -> Self {
        Connection {
            address,
            host_header: address.to_string(),
            sender: None,
            timeout,
        }
    }

    async fn open(&mut self) -> Result<&mut SendRequest<Full<Bytes>>> {
        let needs_new = match &self.sender {
            Some(sender) => sender.is_closed(),
            None => true,
        };
        if needs_new {
            let stream = TcpStream::connect(self.address)
                .await
                .with_context(|| format!("connecting to {}", self.address))?;
            // Latency figures are about the server; Nagle's delay would add tens of ms.
            stream.set_nodelay(true)?;
            let (sender, connection) =
                hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
            tokio::spawn(async move {
                // The connection ends when the sender is dropped or the server closes it;
                // either way the next request notices and reconnects.
                let _ = connection.await;
            });
            self.sender = Some(sender);
        }
        self.sender
            .as_mut()
            .ok_or_else(|| anyhow!("connection to {} not open", self.address))
    }

    /// GET `path_and_query`; the whole body is read so the timing covers the full response.
    pub async fn get(&mut self, path_and_query: &str) -> Result<(StatusCode, Bytes)> {
        let request = hyper::Request::get(path_and_query)
            .header(hyper::header::HOST, self.host_header.as_str())
            .header(hyper::header::ACCEPT, "application/json")
            .body(Full::new(Bytes::new()))?;
        self.send(request).await
    }

    /// POST a JSON body to `path`; the whole answer is read.
    pub async fn post_json(&mut self, path: &str, json: String) -> Result<(StatusCode, Bytes)> {
        let request = hyper::Request::post(path)
            .header(hyper::header::HOST, self.host_header.as_str())
            .header(hyper::header::ACCEPT, "application/json")
            .header(hyper::header::CONTENT_TYPE, "application/json")
            .body(Full::new(Bytes::from(json)))?;
        self.send(request).await
    }

    async fn send(&mut self, request: hyper::Request<Full<Bytes>>) -> Result<(StatusCode, Bytes)> {
        let timeout = self.timeout;
        let what = format!("{} {}", request.method(), request.uri());
        let outcome = tokio::time::timeout(timeout, self.send_inner(request)).await;
        match outcome {
            Ok(Ok(response)) => Ok(response),
            Ok(Err(error)) => {
                self.sender = None;
                Err(error)
            }
            Err(_) => {
                // A half-read response leaves the connection unusable.
                self.sender = None;
                Err(anyhow!("{what}: no response within {timeout:?}"))
            }
        }
    }

    async fn send_inner(
        &mut self,
        request: hyper::Request<Full<Bytes>>,
    ) -> Result<(StatusCode, Bytes)> {
        let what = format!("{} {}", request.method(), request.uri());
        let sender = self.open().await?;
        sender.ready().await?;
        let response = sender.send_request(request).await.context(what)?;
        let status = response.status();
        let body = response.into_body().collect().await?.to_bytes();
        Ok((status, body))
    }
}

/// Percent-encodes a value for a query string or a path segment (RFC 3986 unreserved kept).
pub fn encode_component(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(byte as char)
            }
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::encode_component;

    #[test]
    fn encodes_reserved_characters_only() {
        assert_eq!(encode_component("svc-alpha_1.x~"), "svc-alpha_1.x~");
        assert_eq!(
            encode_component("kind=component,a b"),
            "kind%3Dcomponent%2Ca%20b"
        );
    }
}
