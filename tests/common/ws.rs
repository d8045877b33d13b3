//! A minimal `graphql-transport-ws` client, as the `graphql-ws` npm package speaks it.

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

pub struct Subscription {
    socket: Socket,
}

impl Subscription {
    /// Connects to `addr`, acknowledges the connection and subscribes to `query`.
    pub async fn start(addr: std::net::SocketAddr, query: &str, variables: Value) -> Self {
        Self::start_as(addr, None, query, variables).await
    }

    /// Like [`start`](Self::start), signed in with `token` in `connection_init`.
    pub async fn start_as(
        addr: std::net::SocketAddr,
        token: Option<&str>,
        query: &str,
        variables: Value,
    ) -> Self {
        let init = match token {
            Some(token) => json!({ "authorization": format!("Bearer {token}") }),
            None => json!({}),
        };
        let mut socket = Self::connect(addr, init)
            .await
            .unwrap_or_else(|refusal| panic!("connection refused: {refusal}"));
        send(
            &mut socket.socket,
            json!({ "id": "1", "type": "subscribe", "payload": { "query": query, "variables": variables } }),
        )
        .await;
        socket
    }

    /// Connects with `payload` in `connection_init`; the first answer when
    /// it is not `connection_ack` (or `null` when the server closed).
    pub async fn connect(addr: std::net::SocketAddr, payload: Value) -> Result<Self, Value> {
        let mut request = format!("ws://{addr}/graphql")
            .into_client_request()
            .unwrap();
        request.headers_mut().insert(
            "Sec-WebSocket-Protocol",
            "graphql-transport-ws".parse().unwrap(),
        );
        let (mut socket, response) = tokio_tungstenite::connect_async(request)
            .await
            .expect("websocket connects");
        assert_eq!(
            response.headers()["sec-websocket-protocol"],
            "graphql-transport-ws"
        );
        send(
            &mut socket,
            json!({ "type": "connection_init", "payload": payload }),
        )
        .await;
        match receive(&mut socket, 5).await {
            Some(ack) if ack["type"] == "connection_ack" => Ok(Subscription { socket }),
            other => Err(other.unwrap_or(Value::Null)),
        }
    }

    /// The next protocol message (`next`, `error`, `complete`…), or `None`
    /// after `seconds`.
    pub async fn next_message(&mut self, seconds: u64) -> Option<Value> {
        receive(&mut self.socket, seconds).await
    }

    /// The payload of the next `next` message, skipping pings; panics on
    /// anything else or after `seconds`.
    pub async fn next_data(&mut self, seconds: u64) -> Value {
        let message = self
            .next_message(seconds)
            .await
            .unwrap_or_else(|| panic!("no update within {seconds} s"));
        assert_eq!(message["type"], "next", "{message}");
        message["payload"]["data"].clone()
    }
}

async fn send(socket: &mut Socket, message: Value) {
    socket
        .send(Message::Text(message.to_string().into()))
        .await
        .expect("websocket send");
}

async fn receive(socket: &mut Socket, seconds: u64) -> Option<Value> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(seconds);
    loop {
        let frame = tokio::time::timeout_at(deadline, socket.next())
            .await
            .ok()??;
        match frame.ok()? {
            Message::Text(text) => {
                let message: Value = serde_json::from_str(&text).ok()?;
                if message["type"] == "ping" {
                    send(socket, json!({ "type": "pong" })).await;
                    continue;
                }
                return Some(message);
            }
            Message::Close(_) => return None,
            _ => continue,
        }
    }
}

/// A websocket that has said nothing yet, for tests of the protocol itself.
pub struct RawSocket {
    socket: Socket,
}

impl RawSocket {
    /// Opens `ws://addr/graphql` with `graphql-transport-ws`; the upgrade's
    /// HTTP status when it is refused.
    pub async fn open(addr: std::net::SocketAddr) -> Result<Self, u16> {
        let mut request = format!("ws://{addr}/graphql")
            .into_client_request()
            .unwrap();
        request.headers_mut().insert(
            "Sec-WebSocket-Protocol",
            "graphql-transport-ws".parse().unwrap(),
        );
        match tokio_tungstenite::connect_async(request).await {
            Ok((socket, _)) => Ok(Self { socket }),
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                Err(response.status().as_u16())
            }
            Err(other) => panic!("websocket connect: {other}"),
        }
    }

    pub async fn send_text(&mut self, text: &str) {
        self.socket
            .send(Message::Text(text.to_owned().into()))
            .await
            .expect("websocket send");
    }

    pub async fn send(&mut self, message: Value) {
        send(&mut self.socket, message).await;
    }

    /// The next protocol message, or `None` when closed or after `seconds`.
    pub async fn receive(&mut self, seconds: u64) -> Option<Value> {
        receive(&mut self.socket, seconds).await
    }

    /// The close code the server ends with, skipping other messages; `None`
    /// when nothing closes within `seconds`.
    pub async fn close_code(&mut self, seconds: u64) -> Option<u16> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(seconds);
        loop {
            let frame = tokio::time::timeout_at(deadline, self.socket.next())
                .await
                .ok()??;
            if let Ok(Message::Close(Some(close))) = frame {
                return Some(u16::from(close.code));
            }
            if frame.is_err() {
                return None;
            }
        }
    }
}
