//! A lean HTTP/1.1 keep-alive client: one connection per worker, requests
//! written as prepared bytes, responses read by their `Content-Length`. A
//! general client's work per request would be the load tool's own CPU taken
//! from the server it shares the machine with.

use std::net::SocketAddr;

use anyhow::{Context, bail};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// One keep-alive connection to the server.
pub struct Connection {
    addr: SocketAddr,
    stream: Option<TcpStream>,
    buffer: Vec<u8>,
}

/// A response: its status and body.
pub struct Response {
    pub status: u16,
    pub body: Vec<u8>,
}

impl Response {
    pub fn json(&self) -> anyhow::Result<serde_json::Value> {
        serde_json::from_slice(&self.body).context("the answer is not JSON")
    }
}

impl Connection {
    pub fn new(addr: SocketAddr) -> Self {
        Self {
            addr,
            stream: None,
            buffer: Vec::with_capacity(16 * 1024),
        }
    }

    /// Posts a GraphQL request (`body` is its JSON) to `/graphql`.
    pub async fn graphql(&mut self, token: Option<&str>, body: &str) -> anyhow::Result<Response> {
        let mut request = String::with_capacity(body.len() + 256);
        request.push_str("POST /graphql HTTP/1.1\r\nHost: ");
        request.push_str(&self.addr.to_string());
        request.push_str("\r\nContent-Type: application/json\r\nAccept: application/json\r\n");
        if let Some(token) = token {
            request.push_str("Authorization: Bearer ");
            request.push_str(token);
            request.push_str("\r\n");
        }
        request.push_str("Content-Length: ");
        request.push_str(&body.len().to_string());
        request.push_str("\r\n\r\n");
        request.push_str(body);
        self.send(request.as_bytes()).await
    }

    /// `GET path`.
    pub async fn get(&mut self, path: &str) -> anyhow::Result<Response> {
        let request = format!("GET {path} HTTP/1.1\r\nHost: {}\r\n\r\n", self.addr);
        self.send(request.as_bytes()).await
    }

    /// Sends `request` and reads its response, reconnecting once when a
    /// kept-alive connection turns out to be closed.
    async fn send(&mut self, request: &[u8]) -> anyhow::Result<Response> {
        let reused = self.stream.is_some();
        match self.exchange(request).await {
            Ok(response) => Ok(response),
            Err(_) if reused => {
                self.stream = None;
                self.exchange(request).await
            }
            Err(err) => Err(err),
        }
    }

    async fn exchange(&mut self, request: &[u8]) -> anyhow::Result<Response> {
        if self.stream.is_none() {
            let stream = TcpStream::connect(self.addr).await?;
            stream.set_nodelay(true)?;
            self.stream = Some(stream);
        }
        let result = self.round_trip(request).await;
        if result.is_err() {
            self.stream = None;
        }
        result
    }

    async fn round_trip(&mut self, request: &[u8]) -> anyhow::Result<Response> {
        let stream = self.stream.as_mut().context("not connected")?;
        stream.write_all(request).await?;
        self.buffer.clear();
        let header_end = loop {
            if let Some(end) = find(&self.buffer, b"\r\n\r\n") {
                break end + 4;
            }
            if self.buffer.len() > 64 * 1024 {
                bail!("response headers too long");
            }
            read_more(stream, &mut self.buffer).await?;
        };
        let head = std::str::from_utf8(&self.buffer[..header_end]).context("headers")?;
        let mut lines = head.split("\r\n");
        let status: u16 = lines
            .next()
            .and_then(|line| line.split(' ').nth(1))
            .and_then(|code| code.parse().ok())
            .context("status line")?;
        let mut length = None;
        let mut close = false;
        for line in lines {
            let Some((name, value)) = line.split_once(':') else {
                continue;
            };
            let value = value.trim();
            if name.eq_ignore_ascii_case("content-length") {
                length = value.parse::<usize>().ok();
            } else if name.eq_ignore_ascii_case("transfer-encoding") {
                bail!("chunked answers are not supported by the load tool");
            } else if name.eq_ignore_ascii_case("connection") {
                close = value.eq_ignore_ascii_case("close");
            }
        }
        let length = length.unwrap_or(0);
        while self.buffer.len() < header_end + length {
            read_more(stream, &mut self.buffer).await?;
        }
        let body = self.buffer[header_end..header_end + length].to_vec();
        if close {
            self.stream = None;
        }
        Ok(Response { status, body })
    }
}

async fn read_more(stream: &mut TcpStream, buffer: &mut Vec<u8>) -> anyhow::Result<()> {
    let mut chunk = [0u8; 8192];
    let read = stream.read(&mut chunk).await?;
    if read == 0 {
        bail!("the server closed the connection");
    }
    buffer.extend_from_slice(&chunk[..read]);
    Ok(())
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}
