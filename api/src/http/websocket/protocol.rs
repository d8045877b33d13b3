//! The two GraphQL-over-websocket protocols, as messages: `graphql-transport-ws`
//! (the `graphql-ws` npm client's, and the one to use) and the legacy
//! `graphql-ws` of subscriptions-transport-ws, kept for older clients. Client
//! messages are parsed with async-graphql's `ClientMessage`, which knows both
//! vocabularies; what the server sends is written here.

use async_graphql::Response;
use serde_json::{Value, json};

/// Which protocol a socket speaks, from `Sec-WebSocket-Protocol`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Protocol {
    /// `graphql-transport-ws`.
    TransportWs,
    /// The legacy `graphql-ws` (subscriptions-transport-ws).
    Legacy,
}

impl Protocol {
    /// The first protocol of the client's list that this server speaks.
    pub fn negotiate(offered: &str) -> Option<Self> {
        offered.split(',').map(str::trim).find_map(|name| {
            match name.to_ascii_lowercase().as_str() {
                "graphql-transport-ws" => Some(Protocol::TransportWs),
                "graphql-ws" => Some(Protocol::Legacy),
                _ => None,
            }
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Protocol::TransportWs => "graphql-transport-ws",
            Protocol::Legacy => "graphql-ws",
        }
    }

    pub fn ack(self) -> String {
        json!({ "type": "connection_ack" }).to_string()
    }

    /// A keep-alive the client answers (`ping`), or the legacy `ka`.
    pub fn keep_alive(self) -> String {
        match self {
            Protocol::TransportWs => json!({ "type": "ping" }).to_string(),
            Protocol::Legacy => json!({ "type": "ka" }).to_string(),
        }
    }

    pub fn pong(self, payload: Option<Value>) -> String {
        match payload {
            Some(payload) => json!({ "type": "pong", "payload": payload }).to_string(),
            None => json!({ "type": "pong" }).to_string(),
        }
    }

    /// One result of operation `id`.
    pub fn next(self, id: &str, response: &Response) -> String {
        let payload = serde_json::to_string(response).unwrap_or_else(|err| {
            tracing::error!(%err, "cannot serialise a result");
            "null".into()
        });
        self.next_serialised(id, &payload)
    }

    /// One result of operation `id`, already serialised (shared by the
    /// subscribers of one feed, `shared`): only the envelope is written.
    pub fn next_serialised(self, id: &str, payload: &str) -> String {
        let kind = match self {
            Protocol::TransportWs => "next",
            Protocol::Legacy => "data",
        };
        let id = Value::from(id).to_string();
        let mut text = String::with_capacity(payload.len() + id.len() + 32);
        text.push_str("{\"id\":");
        text.push_str(&id);
        text.push_str(",\"payload\":");
        text.push_str(payload);
        text.push_str(",\"type\":\"");
        text.push_str(kind);
        text.push_str("\"}");
        text
    }

    /// Operation `id` failed before it ran (or was refused): no `complete`
    /// follows in `graphql-transport-ws`.
    pub fn error(self, id: &str, errors: &[async_graphql::ServerError]) -> String {
        match self {
            Protocol::TransportWs => json!({ "id": id, "type": "error", "payload": errors }),
            Protocol::Legacy => json!({ "id": id, "type": "error", "payload": errors.first() }),
        }
        .to_string()
    }

    pub fn complete(self, id: &str) -> String {
        json!({ "id": id, "type": "complete" }).to_string()
    }
}

/// A close code and reason, as the protocol names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Close(pub u16, pub &'static str);

/// Not a message of the protocol (or not text).
pub(crate) const BAD_MESSAGE: Close = Close(4400, "Invalid message received");
/// `subscribe` before the connection was acknowledged.
pub(crate) const UNAUTHORIZED: Close = Close(4401, "Unauthorized");
/// `connection_init` refused (a bad token, or an address the block-list refuses).
pub(crate) const FORBIDDEN: Close = Close(4403, "Forbidden");
/// The session ended (logout, password change or reset, erasure) or the
/// member's role changed: connect again to carry on as whoever one now is.
pub(crate) const SESSION_ENDED: Close = Close(4403, "Forbidden: the session ended or changed");
/// No `connection_init` in time.
pub(crate) const INIT_TIMEOUT: Close = Close(4408, "Connection initialisation timeout");
/// A second `connection_init`.
pub(crate) const TOO_MANY_INITS: Close = Close(4429, "Too many initialisation requests");
/// Nothing ran and nothing was asked for `CONSUMACT_WS_IDLE_SECS`.
pub(crate) const IDLE: Close = Close(1000, "idle");
/// The connection reached `CONSUMACT_WS_MAX_AGE_SECS`: connect again.
pub(crate) const TOO_OLD: Close = Close(1000, "the connection reached its maximum age");
/// Pings went unanswered.
pub(crate) const NO_PONG: Close = Close(1001, "no answer to pings");

/// `subscribe` with an id that is still running.
pub(crate) fn duplicate(id: &str) -> (u16, String) {
    (4409, format!("Subscriber for {id} already exists"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_protocol_offered_that_is_spoken_wins() {
        assert_eq!(
            Protocol::negotiate("foo, graphql-transport-ws, graphql-ws"),
            Some(Protocol::TransportWs)
        );
        assert_eq!(Protocol::negotiate("graphql-ws"), Some(Protocol::Legacy));
        assert_eq!(Protocol::negotiate("mqtt"), None);
    }

    #[test]
    fn legacy_clients_get_their_own_vocabulary() {
        let response = Response::new(async_graphql::Value::Null);
        let next: Value = serde_json::from_str(&Protocol::Legacy.next("7", &response)).unwrap();
        assert_eq!(next["type"], "data");
        let next: Value =
            serde_json::from_str(&Protocol::TransportWs.next("7", &response)).unwrap();
        assert_eq!(next["type"], "next");
        assert_eq!(next["id"], "7");
    }
}
