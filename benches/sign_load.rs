//! Signing throughput: a bounded load run against a running Consumact server
//! on loopback. It registers members, opens a campaign, has every member
//! sign it once with a fixed number of concurrent clients, and reports
//! signatures per second and latency percentiles.
//!
//! Start a server with cheap password hashing and per-address limits lifted
//! (every load client shares 127.0.0.1), then run the load:
//!
//! ```sh
//! CONSUMACT_ARGON2_MEMORY_KIB=64 CONSUMACT_ARGON2_ITERATIONS=1 \
//! CONSUMACT_AUTH_IP_PER_MINUTE=1000000 CONSUMACT_AUTH_IP_BURST=100000 \
//! CONSUMACT_SIGN_IP_PER_MINUTE=1000000 CONSUMACT_SIGN_IP_BURST=100000 \
//! CONSUMACT_CREATE_PER_HOUR=1000000 CONSUMACT_CREATE_BURST=100000 \
//!   cargo run --release
//! LOAD_SIGNATURES=5000 LOAD_CONCURRENCY=32 cargo bench --bench sign_load
//! ```
//!
//! Settings: `LOAD_URL` (default `http://127.0.0.1:8080/graphql`),
//! `LOAD_SIGNATURES` (default 2000, at most 100 000), `LOAD_CONCURRENCY`
//! (default 32, at most 512), `LOAD_MAIL_DIR` (default `./data/mail`),
//! `LOAD_WEBHOOKS` (default 0, at most 20): endpoints on a loopback receiver
//! of this process subscribed to the campaign's milestones, to show what
//! they cost the signing path (run the server with
//! `CONSUMACT_WEBHOOK_ALLOW_PRIVATE=true`). `LOAD_PRODUCERS` (default 1, at
//! most 50): producers of one sector and territory, one campaign each,
//! signed in turn, so that every signing batch writes the same kept group
//! rows; `LOAD_URLS` (comma-separated, default `LOAD_URL`): instances of one
//! deployment that the signatures go to in turn.
//!
//! When the server requires confirmed addresses (its default), the run
//! confirms the organiser and every signer first, by the links in the
//! `.eml` files the server writes into `LOAD_MAIL_DIR` (run the server
//! without `CONSUMACT_SMTP_URL`), so that it measures counted signatures.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use tokio::sync::Semaphore;

#[path = "support/client.rs"]
mod client;
#[path = "support/receiver.rs"]
mod receiver;

use client::{data, gql, setting};

/// Confirms each of `addresses` through the link of its mail in `mail_dir`.
async fn confirm(client: &reqwest::Client, url: &str, mail_dir: &str, addresses: &[String]) {
    let wanted: std::collections::HashSet<&str> = addresses.iter().map(String::as_str).collect();
    let deadline = Instant::now() + Duration::from_secs(120);
    let links = loop {
        let mut links = std::collections::HashMap::new();
        for entry in std::fs::read_dir(mail_dir).into_iter().flatten().flatten() {
            let Ok(bytes) = std::fs::read(entry.path()) else {
                continue;
            };
            let Some(mail) = mail_parser::MessageParser::default().parse(&bytes) else {
                continue;
            };
            let to = mail
                .to()
                .and_then(|to| to.first())
                .and_then(|address| address.address())
                .unwrap_or_default()
                .to_owned();
            let text = mail.body_text(0).unwrap_or_default();
            if wanted.contains(to.as_str())
                && let Some((_, rest)) = text.split_once("/confirm-email?token=")
            {
                let token: String = rest.chars().take_while(|c| !c.is_whitespace()).collect();
                links.insert(to, token);
            }
        }
        if links.len() == wanted.len() {
            break links;
        }
        assert!(
            Instant::now() < deadline,
            "found {} of {} confirmation mails in {mail_dir}",
            links.len(),
            wanted.len()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let gate = Arc::new(Semaphore::new(32));
    let mut confirmations = Vec::new();
    for token in links.into_values() {
        let (client, url, gate) = (client.clone(), url.to_owned(), gate.clone());
        confirmations.push(tokio::spawn(async move {
            let _permit = gate.acquire().await.ok()?;
            let body = gql(
                &client,
                &url,
                None,
                "mutation($token: String!) { confirmEmail(token: $token) { id } }",
                json!({ "token": token }),
            )
            .await;
            body.get("errors").is_none().then_some(())
        }));
    }
    for confirmation in confirmations {
        assert!(
            matches!(confirmation.await, Ok(Some(()))),
            "a confirmation failed"
        );
    }
}

#[tokio::main]
async fn main() {
    let url = std::env::var("LOAD_URL").unwrap_or_else(|_| "http://127.0.0.1:8080/graphql".into());
    let signatures = setting("LOAD_SIGNATURES", 2000, 100_000);
    let concurrency = setting("LOAD_CONCURRENCY", 32, 512);
    let producers = setting("LOAD_PRODUCERS", 1, 50).max(1);
    let urls: Vec<String> = std::env::var("LOAD_URLS")
        .map(|urls| urls.split(',').map(|url| url.trim().to_owned()).collect())
        .unwrap_or_else(|_| vec![url.clone()]);
    consumact_api::install_tls_provider();
    let client = reqwest::Client::new();
    let run = uuid::Uuid::new_v4().simple().to_string()[..8].to_owned();

    let register = "mutation($input: RegisterInput!) { register(input: $input) { token } }";
    let organiser = data(
        gql(&client, &url, None, register, json!({ "input": {
            "handle": format!("load_{run}"), "email": format!("load_{run}@example.org"), "password": "load password",
        }}))
        .await,
        "register organiser",
    )["register"]["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut campaigns = Vec::with_capacity(producers);
    for n in 0..producers {
        let producer = data(
            gql(
                &client,
                &url,
                Some(&organiser),
                "mutation($input: CreateProducerInput!) { createProducer(input: $input) { id } }",
                json!({ "input": { "name": format!("Load {run} {n}"), "kind": "SME", "sector": "food", "territory": "FR" } }),
            )
            .await,
            "create producer",
        )["createProducer"]["id"]
            .clone();
        campaigns.push(
            data(
                gql(&client, &url, Some(&organiser),
                    "mutation($input: CreateCampaignInput!) { createCampaign(input: $input) { id } }",
                    json!({ "input": { "kind": "PETITION", "title": "Load test petition", "summary": "Measuring signing throughput.",
                                       "body": "Load run.", "producerId": producer } }))
                .await,
                "create campaign",
            )["createCampaign"]["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    let campaign = campaigns[0].clone();
    let mail_dir = std::env::var("LOAD_MAIL_DIR").unwrap_or_else(|_| "./data/mail".into());
    let publish = |id: &str| {
        gql(
            &client,
            &url,
            Some(&organiser),
            "mutation($id: ID!) { publishCampaign(id: $id) { id } }",
            json!({ "id": id }),
        )
    };
    let published = publish(&campaign).await;
    let confirmation = published["errors"][0]["extensions"]["reason"] == "EMAIL_NOT_CONFIRMED";
    if confirmation {
        let organiser_address = format!("load_{run}@example.org");
        confirm(&client, &url, &mail_dir, &[organiser_address]).await;
        data(publish(&campaign).await, "publish");
    } else {
        data(published, "publish");
    }
    for other in &campaigns[1..] {
        data(publish(other).await, "publish");
    }
    println!(
        "producers (one campaign each, one sector): {producers}; instances: {}",
        urls.len()
    );

    let webhooks = std::env::var("LOAD_WEBHOOKS")
        .ok()
        .and_then(|value| value.parse::<usize>().ok())
        .unwrap_or(0)
        .min(20);
    let receiver = receiver::Receiver::start().await;
    for n in 0..webhooks {
        data(
            gql(
                &client,
                &url,
                Some(&organiser),
                "mutation($input: CreateWebhookInput!) { createWebhook(input: $input) { secret } }",
                json!({ "input": {
                    "url": receiver.url(n),
                    "events": ["CAMPAIGN_MILESTONE", "CAMPAIGN_GOAL_REACHED"],
                    "campaignId": campaign,
                }}),
            )
            .await,
            "create webhook",
        );
    }
    println!("webhooks on the campaign's milestones: {webhooks}");

    eprintln!("registering {signatures} members…");
    let gate = Arc::new(Semaphore::new(concurrency));
    let mut registrations = Vec::with_capacity(signatures);
    for i in 0..signatures {
        let (client, url, gate) = (client.clone(), url.clone(), gate.clone());
        let handle = format!("l{run}_{i}");
        registrations.push(tokio::spawn(async move {
            let _permit = gate.acquire().await.ok()?;
            let body = gql(&client, &url, None, register, json!({ "input": {
                "handle": handle, "email": format!("{handle}@example.org"), "password": "load password",
            }}))
            .await;
            body["data"]["register"]["token"].as_str().map(str::to_owned)
        }));
    }
    let mut tokens = Vec::with_capacity(signatures);
    for registration in registrations {
        if let Ok(Some(token)) = registration.await {
            tokens.push(token);
        }
    }
    assert_eq!(tokens.len(), signatures, "some registrations failed");
    if confirmation {
        eprintln!("confirming {signatures} addresses by their mailed links…");
        let addresses: Vec<String> = (0..signatures)
            .map(|i| format!("l{run}_{i}@example.org"))
            .collect();
        confirm(&client, &url, &mail_dir, &addresses).await;
    }
    println!(
        "e-mail confirmation: {}",
        if confirmation {
            "required (every signer confirmed)"
        } else {
            "off"
        }
    );

    eprintln!("signing with {concurrency} concurrent clients…");
    let sign = "mutation($id: ID!) { signCampaign(campaignId: $id) { id } }";
    let started = Instant::now();
    let mut signings = Vec::with_capacity(signatures);
    for (i, token) in tokens.into_iter().enumerate() {
        let (client, url, gate, campaign) = (
            client.clone(),
            urls[i % urls.len()].clone(),
            gate.clone(),
            campaigns[i % campaigns.len()].clone(),
        );
        signings.push(tokio::spawn(async move {
            let _permit = gate.acquire().await.ok()?;
            let sent = Instant::now();
            let body = gql(&client, &url, Some(&token), sign, json!({ "id": campaign })).await;
            body.get("errors").is_none().then(|| sent.elapsed())
        }));
    }
    let mut latencies = Vec::with_capacity(signatures);
    let mut failures = 0;
    for signing in signings {
        match signing.await {
            Ok(Some(latency)) => latencies.push(latency),
            _ => failures += 1,
        }
    }
    let elapsed = started.elapsed();
    latencies.sort_unstable();
    let percentile = |p: f64| {
        latencies
            .get(((latencies.len() as f64 * p) as usize).min(latencies.len().saturating_sub(1)))
            .map_or(0.0, |latency| latency.as_secs_f64() * 1000.0)
    };
    let (mut live, mut rows, mut first_live) = (0, 0, None);
    for campaign in &campaigns {
        let counted = data(
            gql(&client, &url, None, "query($id: ID!) { campaign(id: $id) { counters { signatures } signatures { totalCount } } }", json!({ "id": campaign })).await,
            "read counters",
        );
        let count = counted["campaign"]["counters"]["signatures"]
            .as_u64()
            .unwrap_or(0);
        first_live.get_or_insert(count);
        live += count;
        rows += counted["campaign"]["signatures"]["totalCount"]
            .as_u64()
            .unwrap_or(0);
    }
    println!(
        "signatures: {} ok, {} failed in {:.2} s = {:.0}/s; latency p50 {:.1} ms, p99 {:.1} ms; live count {}, rows {}",
        latencies.len(),
        failures,
        elapsed.as_secs_f64(),
        latencies.len() as f64 / elapsed.as_secs_f64(),
        percentile(0.50),
        percentile(0.99),
        live,
        rows,
    );
    if webhooks > 0 {
        // The milestones the first campaign crossed, times the endpoints,
        // arrive shortly after.
        let signed = first_live.unwrap_or(0);
        let crossed = [10, 100, 1_000, 10_000, 100_000]
            .iter()
            .filter(|threshold| **threshold <= signed)
            .count() as u64;
        let expected = crossed * webhooks as u64;
        let deadline = Instant::now() + Duration::from_secs(30);
        while receiver.received() < expected && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        println!(
            "webhook deliveries received: {} of {expected}",
            receiver.received()
        );
    }
}
