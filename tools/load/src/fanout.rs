//! `fanout`: many websocket subscribers on one campaign, signatures one at a
//! time, latency from each signature's answer to each subscriber's receipt.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::http::Connection;
use crate::{Latencies, Options, Outcome, Workload, server_rss};

const SUBSCRIPTION: &str =
    "subscription($c: ID!) { campaignCounters(campaignId: $c) { signatures } }";

/// How long a signature's receipts are waited for before the next one.
const RECEIPT_WAIT: Duration = Duration::from_secs(5);

/// Receipts of one subscriber: (signature count shown, when).
type Receipts = Vec<(i64, Instant)>;

pub async fn run(
    addr: SocketAddr,
    options: &Options,
    tokens: &[String],
    campaign: &str,
) -> anyhow::Result<Outcome> {
    let idle_before = server_rss(addr).await;
    let (stop, stopped) = watch::channel(false);
    // Receipts of every subscriber, as (value, count received so far) for
    // the signer to wait on.
    let (progress, progress_rx) = watch::channel(BTreeMap::<i64, usize>::new());
    let progress = Arc::new(progress);
    let mut subscribers = Vec::with_capacity(options.subscribers);
    let mut refused = 0u64;
    for _ in 0..options.subscribers {
        let socket = match subscribe(addr, campaign).await {
            Ok(socket) => socket,
            Err(_) => {
                refused += 1;
                continue;
            }
        };
        let mut stopped = stopped.clone();
        let progress = progress.clone();
        subscribers.push(tokio::spawn(async move {
            let (mut sink, mut stream) = socket.split();
            let mut receipts: Receipts = Vec::new();
            loop {
                tokio::select! {
                    _ = stopped.changed() => break,
                    message = stream.next() => {
                        let Some(Ok(message)) = message else { break };
                        let Message::Text(text) = message else { continue };
                        let Ok(body) = serde_json::from_str::<Value>(&text) else { continue };
                        if body["type"] == "ping" {
                            let _ = sink.send(Message::text(json!({ "type": "pong" }).to_string())).await;
                            continue;
                        }
                        if let Some(value) = body["payload"]["data"]["campaignCounters"]["signatures"].as_i64() {
                            receipts.push((value, Instant::now()));
                            progress.send_modify(|seen| *seen.entry(value).or_default() += 1);
                        }
                    }
                }
            }
            let _ = sink.close().await;
            receipts
        }));
    }
    let connected = subscribers.len();
    // Subscriptions start when the server has read them; give it a moment.
    tokio::time::sleep(Duration::from_millis(500 + connected as u64 / 20)).await;
    let busy = server_rss(addr).await;
    let started = Instant::now();
    let mut answered: BTreeMap<i64, Instant> = BTreeMap::new();
    let mut errors: BTreeMap<String, u64> = BTreeMap::new();
    if refused > 0 {
        errors.insert("CONNECT".to_owned(), refused);
    }
    let mut connection = Connection::new(addr);
    let mut progress_rx = progress_rx;
    for (i, token) in tokens.iter().take(options.fanout_signatures).enumerate() {
        let body = json!({
            "query": "mutation($c: ID!) { signCampaign(campaignId: $c) { status } }",
            "variables": { "c": campaign },
        })
        .to_string();
        let response = connection.graphql(Some(token), &body).await?;
        let at = Instant::now();
        let value = i as i64 + 1;
        if response.status != 200 || response.json()?.get("errors").is_some() {
            *errors.entry("SIGN".to_owned()).or_default() += 1;
            continue;
        }
        answered.insert(value, at);
        let _ = tokio::time::timeout(
            RECEIPT_WAIT,
            progress_rx.wait_for(|seen| seen.get(&value).copied().unwrap_or(0) >= connected),
        )
        .await;
    }
    let elapsed = started.elapsed();
    let _ = stop.send(true);
    let mut latencies = Latencies::default();
    let mut delivered = 0u64;
    for subscriber in subscribers {
        let receipts = subscriber.await.context("a subscriber task failed")?;
        for (value, at) in receipts {
            if let Some(answer) = answered.get(&value) {
                delivered += 1;
                latencies.record(at.saturating_duration_since(*answer));
            }
        }
    }
    let expected = answered.len() as u64 * connected as u64;
    if delivered < expected {
        errors.insert("MISSED".to_owned(), expected - delivered);
    }
    // Memory after the subscribers left, once the server had time to let go.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = server_rss(addr).await;
    let mib = |bytes: Option<u64>| {
        bytes.map_or("-".to_owned(), |b| {
            format!("{:.1} MiB", b as f64 / 1048576.0)
        })
    };
    let mut notes = vec![format!(
        "{connected} subscribers, {} signatures; server memory {} before, {} with them ({} per subscriber), {} after they left",
        answered.len(),
        mib(idle_before),
        mib(busy),
        match (idle_before, busy) {
            (Some(before), Some(busy)) if connected > 0 => format!(
                "{:.1} KiB",
                busy.saturating_sub(before) as f64 / 1024.0 / connected as f64
            ),
            _ => "-".to_owned(),
        },
        mib(after),
    )];
    notes.push(
        "latency: from each signature's answer to each receipt; per sec: deliveries".to_owned(),
    );
    Ok(Outcome {
        workload: Workload::Fanout,
        ok: delivered,
        errors,
        elapsed,
        latencies: latencies.finish(),
        rss_bytes: None,
        notes,
    })
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Connects, is acknowledged and subscribes to `campaign`'s counters.
async fn subscribe(addr: SocketAddr, campaign: &str) -> anyhow::Result<Socket> {
    let mut request = format!("ws://{addr}/graphql").into_client_request()?;
    request
        .headers_mut()
        .insert("Sec-WebSocket-Protocol", "graphql-transport-ws".parse()?);
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await?;
    socket
        .send(Message::text(
            json!({ "type": "connection_init", "payload": {} }).to_string(),
        ))
        .await?;
    loop {
        let message = tokio::time::timeout(Duration::from_secs(10), socket.next())
            .await?
            .context("closed before acknowledging")??;
        if let Message::Text(text) = message
            && serde_json::from_str::<Value>(&text)?["type"] == "connection_ack"
        {
            break;
        }
    }
    socket
        .send(Message::text(
            json!({ "id": "1", "type": "subscribe", "payload": { "query": SUBSCRIPTION, "variables": { "c": campaign } } })
                .to_string(),
        ))
        .await?;
    Ok(socket)
}
