//! Webhook delivery throughput: how many deliveries per second one server
//! instance sends to a receiver on loopback. The run opens a campaign,
//! registers `LOAD_ENDPOINTS` webhooks on its updates (all pointing at a
//! receiver in this process that acknowledges at once), posts
//! `LOAD_EVENTS` updates, and times the deliveries from the first post to
//! the last acknowledgement.
//!
//! ```sh
//! CONSUMACT_EMAIL_CONFIRMATION=off CONSUMACT_WEBHOOK_ALLOW_PRIVATE=true \
//! CONSUMACT_ARGON2_MEMORY_KIB=64 CONSUMACT_ARGON2_ITERATIONS=1 \
//! CONSUMACT_CREATE_PER_HOUR=1000000 CONSUMACT_CREATE_BURST=100000 \
//!   cargo run --release
//! LOAD_EVENTS=500 LOAD_ENDPOINTS=20 cargo bench --bench webhook_load
//! ```
//!
//! Settings: `LOAD_URL` (default `http://127.0.0.1:8080/graphql`),
//! `LOAD_EVENTS` (default 200, at most 10 000), `LOAD_ENDPOINTS` (default
//! 10, at most 20, the per-member limit's default).

use std::time::{Duration, Instant};

use serde_json::{Value, json};

#[path = "support/client.rs"]
mod client;
#[path = "support/receiver.rs"]
mod receiver;

use client::{data, gql, setting};

/// The `data` of a GraphQL call that must succeed.
async fn call(
    http: &reqwest::Client,
    url: &str,
    token: Option<&str>,
    query: &str,
    variables: Value,
) -> Value {
    data(gql(http, url, token, query, variables).await, query)
}

#[tokio::main]
async fn main() {
    let url = std::env::var("LOAD_URL").unwrap_or_else(|_| "http://127.0.0.1:8080/graphql".into());
    let events = setting("LOAD_EVENTS", 200, 10_000);
    let endpoints = setting("LOAD_ENDPOINTS", 10, 20);
    consumact_api::install_tls_provider();
    let client = reqwest::Client::new();
    let run = uuid::Uuid::new_v4().simple().to_string()[..8].to_owned();

    let organiser = call(
        &client,
        &url,
        None,
        "mutation($input: RegisterInput!) { register(input: $input) { token } }",
        json!({ "input": { "handle": format!("hooks_{run}"), "email": format!("hooks_{run}@example.org"), "password": "load password" } }),
    )
    .await["register"]["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let producer = call(
        &client,
        &url,
        Some(&organiser),
        "mutation($input: CreateProducerInput!) { createProducer(input: $input) { id } }",
        json!({ "input": { "name": format!("Hooks {run}"), "kind": "SME", "sector": "food" } }),
    )
    .await["createProducer"]["id"]
        .clone();
    let campaign = call(
        &client,
        &url,
        Some(&organiser),
        "mutation($input: CreateCampaignInput!) { createCampaign(input: $input) { id } }",
        json!({ "input": { "kind": "PETITION", "title": "Webhook load", "summary": "Measuring webhook delivery.", "body": "Load run.", "producerId": producer } }),
    )
    .await["createCampaign"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    call(
        &client,
        &url,
        Some(&organiser),
        "mutation($id: ID!) { publishCampaign(id: $id) { id } }",
        json!({ "id": campaign }),
    )
    .await;

    let receiver = receiver::Receiver::start().await;
    for n in 0..endpoints {
        call(
            &client,
            &url,
            Some(&organiser),
            "mutation($input: CreateWebhookInput!) { createWebhook(input: $input) { secret } }",
            json!({ "input": { "url": receiver.url(n), "events": ["CAMPAIGN_UPDATE_POSTED"], "campaignId": campaign } }),
        )
        .await;
    }

    let expected = (events * endpoints) as u64;
    eprintln!("posting {events} updates to {endpoints} endpoints ({expected} deliveries)…");
    let started = Instant::now();
    let mut posts = Vec::with_capacity(events);
    let gate = std::sync::Arc::new(tokio::sync::Semaphore::new(8));
    for i in 0..events {
        let (client, url, organiser, campaign, gate) = (
            client.clone(),
            url.clone(),
            organiser.clone(),
            campaign.clone(),
            gate.clone(),
        );
        posts.push(tokio::spawn(async move {
            let _permit = gate.acquire().await.ok()?;
            call(
                &client,
                &url,
                Some(&organiser),
                "mutation($id: ID!, $title: String!) { postCampaignUpdate(campaignId: $id, input: { title: $title, body: \"Load.\" }) { id } }",
                json!({ "id": campaign, "title": format!("Update {i}") }),
            )
            .await;
            Some(())
        }));
    }
    for post in posts {
        let _ = post.await;
    }
    let posted = started.elapsed();
    let deadline = Instant::now() + Duration::from_secs(300);
    while receiver.received() < expected && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let elapsed = started.elapsed();
    println!(
        "webhook deliveries: {} of {expected} in {:.2} s = {:.0}/s ({events} events posted in {:.2} s, {endpoints} endpoints)",
        receiver.received(),
        elapsed.as_secs_f64(),
        receiver.received() as f64 / elapsed.as_secs_f64(),
        posted.as_secs_f64(),
    );
}
