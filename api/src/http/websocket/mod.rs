//! GraphQL over websockets (`GET /graphql` with an upgrade), under the same
//! request policy as HTTP (`super::policy`): every operation carries the
//! client address and the connection's token, and queries and mutations get
//! the request timeout and metrics, so that limits, block rules, source keys
//! and surge detection hold on this door as on the other.
//!
//! The protocol is `graphql-transport-ws` as the `graphql-ws` npm client
//! speaks it, with its close codes (4400 bad message, 4401 subscribe before
//! acknowledgement, 4403 refused, 4408 no `connection_init` in time, 4409
//! duplicate id, 4429 second `connection_init`); the legacy `graphql-ws`
//! protocol is served too. Written here rather than taken from
//! async-graphql-axum, whose server has no per-operation hook for the policy
//! and closes with other codes.
//!
//! Bounds (`CONSUMACT_WS_*`): open sockets per address, operations in flight
//! and subscriptions per socket, the time before `connection_init`, a ping
//! every so often (a client that never answers is closed), an idle close when
//! nothing runs, and a maximum age. A member's socket closes (4403) within a
//! second of their logout, password change or reset, erasure or role change,
//! on every instance (`registry`).

mod protocol;
mod registry;
mod shared;

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use async_graphql::http::ClientMessage;
use async_graphql::parser::types::OperationType;
use async_graphql::{Request, ServerError};
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::stream::SplitSink;
use futures_util::{SinkExt, StreamExt};
use tokio::sync::{broadcast, mpsc};
use tokio::task::AbortHandle;
use tokio::time::{Instant, sleep_until};
use uuid::Uuid;

pub(crate) use registry::Sockets;
pub(crate) use shared::Feeds;

use super::HttpState;
use super::policy::{self, Caller};
use crate::service::identity::auth;
use protocol::{Close, Protocol};

/// A websocket's read buffer: what an idle socket holds; a longer message
/// grows it while it is read.
const WS_READ_BUFFER: usize = 1024;
/// What a websocket may hold unsent before writes fail (a client that
/// stopped reading).
const WS_MAX_WRITE_BUFFER: usize = 1024 * 1024;

/// Upgrades `GET /graphql` to a GraphQL websocket, unless the address holds
/// its maximum of sockets (HTTP 429) or offers no protocol spoken here.
pub(super) fn upgrade(
    state: HttpState,
    peer: SocketAddr,
    headers: &HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Response {
    let offered = headers
        .get(header::SEC_WEBSOCKET_PROTOCOL)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("graphql-transport-ws");
    let Some(protocol) = Protocol::negotiate(offered) else {
        return super::request_error(
            StatusCode::BAD_REQUEST,
            "speak graphql-transport-ws (or the legacy graphql-ws) over this websocket".into(),
        );
    };
    let client = super::client_ip(&state.app.config, headers, peer);
    let Some(admitted) = state.sockets.admit(client) else {
        let body = serde_json::json!({
            "errors": [{
                "message": "too many open websockets from this address",
                "extensions": { "code": "RATE_LIMITED", "retryAfterMs": 10_000 },
            }]
        });
        let mut refused = (StatusCode::TOO_MANY_REQUESTS, axum::Json(body)).into_response();
        refused
            .headers_mut()
            .insert(header::RETRY_AFTER, header::HeaderValue::from_static("10"));
        return refused;
    };
    let max_message = state.app.config.max_body_bytes;
    // An idle subscriber should cost little: small buffers (the default is
    // 128 KiB each way), grown only while a message needs them.
    upgrade
        .read_buffer_size(WS_READ_BUFFER)
        .write_buffer_size(0)
        .max_write_buffer_size(WS_MAX_WRITE_BUFFER)
        .max_message_size(max_message)
        .max_frame_size(max_message)
        .protocols([protocol.name()])
        .on_upgrade(move |socket| async move {
            Connection::new(state, protocol, client).serve(socket).await;
            drop(admitted);
        })
        .into_response()
}

/// A message an operation's task sends back to its connection; `last`
/// when it is the operation's end. `run` tells this operation from an
/// earlier one the client completed and whose id it used again. Sent boxed:
/// a channel allocates room for 32 messages at once, and every idle socket
/// has one.
struct Outgoing {
    id: String,
    run: u64,
    text: String,
    last: bool,
}

/// A socket's writing half, shared by its connection and the operations
/// of shared feeds.
type Sink = Arc<tokio::sync::Mutex<SplitSink<WebSocket, Message>>>;

/// Where an operation's task sends what it answers: its messages to the
/// connection (which keeps the operations' books), or, for a shared feed's
/// frames, straight to the socket. An operation the client completed is
/// aborted, so it writes nothing more.
struct Outlet {
    sender: mpsc::Sender<Box<Outgoing>>,
    sink: Sink,
}

/// A running operation.
struct Running {
    abort: AbortHandle,
    subscription: bool,
    run: u64,
}

/// One socket's state.
struct Connection {
    state: HttpState,
    protocol: Protocol,
    client: IpAddr,
    /// Set by `connection_init`.
    caller: Option<Arc<Caller>>,
    /// The member and role the token was for at `connection_init`.
    session: Option<(Uuid, entities::member::Role)>,
    /// Running operations, by id.
    running: HashMap<String, Running>,
    /// Operations started so far.
    runs: u64,
}

impl Connection {
    fn new(state: HttpState, protocol: Protocol, client: IpAddr) -> Self {
        Self {
            state,
            protocol,
            client,
            caller: None,
            session: None,
            running: HashMap::new(),
            runs: 0,
        }
    }

    async fn serve(mut self, socket: WebSocket) {
        let config = self.state.app.config.clone();
        let (sink, mut stream) = socket.split();
        // Shared by the operations of shared feeds, which write their frames
        // themselves: one task woken per subscriber and event, not two.
        let sink: Sink = Arc::new(tokio::sync::Mutex::new(sink));
        let (sender, mut results) = mpsc::channel::<Box<Outgoing>>(64);
        let outlet = Outlet {
            sender,
            sink: sink.clone(),
        };
        let mut changes = self.state.sockets.changes();
        let opened = Instant::now();
        let init_deadline = opened + Duration::from_millis(config.limits.ws_init_timeout_ms.max(1));
        let max_age = opened + Duration::from_secs(config.limits.ws_max_age_secs.max(1));
        let idle_after = Duration::from_secs(config.limits.ws_idle_secs.max(1));
        let ping_every = (config.limits.ws_ping_secs > 0)
            .then(|| Duration::from_secs(config.limits.ws_ping_secs));
        let mut next_ping = ping_every.map(|every| opened + every);
        let mut last_heard = opened;
        let mut last_active = opened;
        // The timers live as long as the socket and move only when their
        // deadline does: an event written to many sockets registers no timer.
        let init_timer = sleep_until(init_deadline);
        let age_timer = sleep_until(max_age);
        let idle_timer = sleep_until(last_active + idle_after);
        let ping_timer = sleep_until(next_ping.unwrap_or(max_age));
        tokio::pin!(init_timer, age_timer, idle_timer, ping_timer);
        let closing: Option<(u16, String)> = loop {
            let idle_deadline = last_active + idle_after;
            if idle_timer.deadline() != idle_deadline {
                idle_timer.as_mut().reset(idle_deadline);
            }
            let ping_deadline = next_ping.unwrap_or(max_age);
            if ping_timer.deadline() != ping_deadline {
                ping_timer.as_mut().reset(ping_deadline);
            }
            tokio::select! {
                message = stream.next() => {
                    let Some(Ok(message)) = message else { break None };
                    last_heard = Instant::now();
                    let text = match message {
                        Message::Text(text) => text,
                        // Transport-level frames tungstenite answers itself.
                        Message::Ping(_) | Message::Pong(_) => continue,
                        Message::Close(_) => break None,
                        Message::Binary(_) => break Some(close(protocol::BAD_MESSAGE)),
                    };
                    let Ok(message) = ClientMessage::from_bytes(text.as_str()) else {
                        break Some(close(protocol::BAD_MESSAGE));
                    };
                    match self.handle(message, &outlet).await {
                        Step::Reply(reply) => {
                            if sink.lock().await.send(Message::text(reply)).await.is_err() {
                                break None;
                            }
                        }
                        Step::Close(code, reason) => break Some((code, reason)),
                        Step::Done => break None,
                        Step::Nothing => {}
                    }
                    if !self.running.is_empty() {
                        last_active = Instant::now();
                    }
                }
                Some(outgoing) = results.recv() => {
                    let Outgoing { id, run, text, last } = *outgoing;
                    // Nothing more of an operation the client completed.
                    if self.running.get(&id).is_none_or(|running| running.run != run) {
                        continue;
                    }
                    if last {
                        self.running.remove(&id);
                        last_active = Instant::now();
                    }
                    if sink.lock().await.send(Message::text(text)).await.is_err() {
                        break None;
                    }
                }
                changed = changes.recv(), if self.session.is_some() => {
                    let concerned = match changed {
                        Ok(member) => member.is_nil() || self.session.is_some_and(|(id, _)| id == member),
                        Err(_) => true,
                    };
                    if concerned && !self.session_holds().await {
                        break Some(close(protocol::SESSION_ENDED));
                    }
                }
                _ = &mut init_timer, if self.caller.is_none() => {
                    break Some(close(protocol::INIT_TIMEOUT));
                }
                _ = &mut age_timer => break Some(close(protocol::TOO_OLD)),
                _ = &mut idle_timer => {
                    if self.running.is_empty() {
                        break Some(close(protocol::IDLE));
                    }
                    last_active = Instant::now();
                }
                _ = &mut ping_timer, if next_ping.is_some() => {
                    let every = ping_every.unwrap_or(idle_after);
                    // graphql-transport-ws clients answer pings; legacy ones never do.
                    if self.protocol == Protocol::TransportWs && last_heard.elapsed() > every * 3 {
                        break Some(close(protocol::NO_PONG));
                    }
                    next_ping = Some(Instant::now() + every);
                    if self.caller.is_some()
                        && sink
                            .lock()
                            .await
                            .send(Message::text(self.protocol.keep_alive()))
                            .await
                            .is_err()
                    {
                        break None;
                    }
                }
            }
        };
        for running in self.running.values() {
            running.abort.abort();
        }
        if let Some((code, reason)) = closing {
            let _ = sink
                .lock()
                .await
                .send(Message::Close(Some(CloseFrame {
                    code,
                    reason: reason.into(),
                })))
                .await;
        }
        let _ = sink.lock().await.close().await;
    }

    /// Answers one client message.
    async fn handle(&mut self, message: ClientMessage, outlet: &Outlet) -> Step {
        match message {
            ClientMessage::ConnectionInit { payload } => {
                if self.caller.is_some() {
                    return Step::close(protocol::TOO_MANY_INITS);
                }
                match self.init(payload.unwrap_or_default()).await {
                    Ok(()) => Step::Reply(self.protocol.ack()),
                    Err(refusal) => Step::close(refusal),
                }
            }
            ClientMessage::Start { id, payload } => self.start(id, payload, outlet),
            ClientMessage::Stop { id } => {
                if let Some(running) = self.running.remove(&id) {
                    running.abort.abort();
                    if self.protocol == Protocol::Legacy {
                        return Step::Reply(self.protocol.complete(&id));
                    }
                }
                Step::Nothing
            }
            ClientMessage::ConnectionTerminate => Step::Done,
            ClientMessage::Ping { payload } => Step::Reply(self.protocol.pong(payload)),
            ClientMessage::Pong { .. } => Step::Nothing,
        }
    }

    /// `connection_init`: the token in its payload (`authorization: "Bearer
    /// …"`, or `token`), checked now so that a bad one is refused at once;
    /// an absent one makes an anonymous connection.
    async fn init(&mut self, payload: serde_json::Value) -> Result<(), Close> {
        let token = init_token(&payload);
        if let Some(token) = &token {
            let member = auth::member_for_token(&self.state.app, token)
                .await
                .map_err(|_| protocol::FORBIDDEN)?;
            self.session = Some((member.id, member.role));
        }
        self.caller = Some(Arc::new(Caller {
            token,
            client: self.client,
        }));
        Ok(())
    }

    /// Whether the connection's token still stands for the same member in
    /// the same role.
    async fn session_holds(&self) -> bool {
        let (Some(caller), Some((member, role))) = (&self.caller, self.session) else {
            return true;
        };
        let Some(token) = caller.token.as_deref() else {
            return true;
        };
        match auth::member_for_token(&self.state.app, token).await {
            Ok(found) => found.id == member && found.role == role,
            Err(crate::error::AppError::Unauthenticated(_)) => false,
            // The database did not answer: keep the socket, the next
            // operation re-reads the session anyway.
            Err(_) => true,
        }
    }

    /// `subscribe`: runs operation `id` in a task of its own, within the
    /// connection's bounds.
    fn start(&mut self, id: String, request: Request, outlet: &Outlet) -> Step {
        let Some(caller) = self.caller.clone() else {
            return Step::close(protocol::UNAUTHORIZED);
        };
        if self.running.contains_key(&id) {
            let (code, reason) = protocol::duplicate(&id);
            return Step::Close(code, reason);
        }
        let subscription = matches!(
            super::cacheable::operation_type(&request),
            Some(OperationType::Subscription)
        );
        let config = &self.state.app.config;
        let (held, max) = if subscription {
            (
                self.running.values().filter(|op| op.subscription).count(),
                config.limits.ws_max_subscriptions,
            )
        } else {
            (
                self.running.values().filter(|op| !op.subscription).count(),
                config.limits.ws_max_in_flight,
            )
        };
        if held >= max as usize {
            let mut error = ServerError::new(
                if subscription {
                    "too many subscriptions on this connection: complete one first"
                } else {
                    "too many operations in flight on this connection: wait for one to finish"
                },
                None,
            );
            let mut extensions = policy::extensions("RATE_LIMITED");
            extensions.set("retryAfterMs", 1000);
            error.extensions = Some(extensions);
            return Step::Reply(self.protocol.error(&id, &[error]));
        }
        self.runs += 1;
        let run = self.runs;
        let state = self.state.clone();
        let sender = outlet.sender.clone();
        let sink = outlet.sink.clone();
        let protocol = self.protocol;
        let task_id = id.clone();
        // Anonymous subscribers of one document share its execution.
        let share =
            subscription && caller.token.is_none() && self.state.app.config.limits.ws_shared_feeds;
        let work = if share {
            Work::Shared(self.state.feeds.join(&self.state, &caller, request))
        } else {
            Work::Own(Box::new(request))
        };
        let task = tokio::spawn(async move {
            let id = task_id;
            let send = |text: String, last: bool| {
                let id = id.clone();
                let sender = sender.clone();
                async move {
                    let outgoing = Box::new(Outgoing {
                        id,
                        run,
                        text,
                        last,
                    });
                    sender.send(outgoing).await.is_ok()
                }
            };
            let request = match work {
                Work::Shared(joined) => {
                    let shared::Joined { first, mut rest } = joined;
                    let mut frame = first;
                    loop {
                        match frame {
                            shared::Frame::Waiting => {}
                            // Written here: the connection's task is not woken.
                            shared::Frame::Next(payload) => {
                                let text = protocol.next_serialised(&id, &payload);
                                if sink.lock().await.send(Message::text(text)).await.is_err() {
                                    return;
                                }
                            }
                            shared::Frame::Refused(errors) => {
                                send(protocol.error(&id, &errors), true).await;
                                return;
                            }
                            shared::Frame::Ended => break,
                        }
                        frame = loop {
                            match rest.recv().await {
                                Ok(frame) => break frame,
                                // Fell behind: skip ahead (counts are cumulative).
                                Err(broadcast::error::RecvError::Lagged(_)) => continue,
                                Err(broadcast::error::RecvError::Closed) => {
                                    break shared::Frame::Ended;
                                }
                            }
                        };
                    }
                    send(protocol.complete(&id), true).await;
                    return;
                }
                Work::Own(request) => *request,
            };
            if subscription {
                let mut stream = policy::subscribe(&state, &caller, request);
                let mut first = true;
                while let Some(response) = stream.next().await {
                    // A subscription refused before it started is an `error`.
                    if first && policy::failed_before_execution(&response) {
                        send(protocol.error(&id, &response.errors), true).await;
                        return;
                    }
                    first = false;
                    if !send(protocol.next(&id, &response), false).await {
                        return;
                    }
                }
            } else {
                let executed = policy::execute(&state, &caller, request).await;
                if policy::failed_before_execution(&executed.response) && !executed.timed_out {
                    send(protocol.error(&id, &executed.response.errors), true).await;
                    return;
                }
                if !send(protocol.next(&id, &executed.response), false).await {
                    return;
                }
            }
            send(protocol.complete(&id), true).await;
        });
        self.running.insert(
            id,
            Running {
                abort: task.abort_handle(),
                subscription,
                run,
            },
        );
        Step::Nothing
    }
}

/// What an operation's task runs: a shared feed's frames, or its own request.
enum Work {
    Shared(shared::Joined),
    Own(Box<Request>),
}

/// What the connection does after a client message.
enum Step {
    Reply(String),
    Close(u16, String),
    /// The client ended the connection.
    Done,
    Nothing,
}

impl Step {
    fn close(close: Close) -> Self {
        Step::Close(close.0, close.1.to_owned())
    }
}

fn close(close: Close) -> (u16, String) {
    (close.0, close.1.to_owned())
}

/// The bearer token of a `connection_init` payload.
fn init_token(payload: &serde_json::Value) -> Option<String> {
    let field = |name: &str| {
        payload
            .as_object()?
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .and_then(|(_, value)| value.as_str())
            .map(str::trim)
    };
    field("authorization")
        .map(|value| {
            value
                .split_once(' ')
                .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
                .map_or(value, |(_, token)| token.trim())
        })
        .or_else(|| field("token"))
        .filter(|token| !token.is_empty())
        .map(str::to_owned)
}
