//! Observatory latency: the main observatory queries, each asked many times
//! in a row by one client, against a running server on loopback, with the
//! median and 95th percentile of each. Meant for a seeded database:
//!
//! ```sh
//! export DATABASE_URL=postgres://postgres@127.0.0.1:5432/consumact_bench
//! cargo run --release -- seed --signatures 1000000 --ratings 100000 --producers 2000
//! CONSUMACT_ADMIN_HANDLE=bench CONSUMACT_ADMIN_EMAIL=bench@example.org \
//! CONSUMACT_ADMIN_PASSWORD='observatory bench' cargo run --release &
//! cargo bench --bench observatory_load
//! ```
//!
//! Settings: `LOAD_URL` (default `http://127.0.0.1:8080`), `LOAD_ITERATIONS`
//! (default 50, at most 1 000), `LOAD_ADMIN_HANDLE` (default `bench`) and
//! `LOAD_ADMIN_PASSWORD` (default `observatory bench`).

#[path = "support/client.rs"]
mod client;

use std::time::{Duration, Instant};

use serde_json::{Value, json};

const METRICS: &str = "suppressed memberCount metrics {
  trustIndex ratingCount signatures
  dimensions { dimension ratingCount mean trustIndex }
  pledges { buy avoid balance monthlyAmountCents }
  responses { campaigns answered responseRate medianHoursToFirstResponse }
  commitments { made kept broken open }
}";

/// The `data` of a GraphQL call to the server at `url` that must succeed.
async fn gql(
    http: &reqwest::Client,
    url: &str,
    token: Option<&str>,
    query: &str,
    variables: Value,
) -> Value {
    let endpoint = format!("{url}/graphql");
    client::data(
        client::gql(http, &endpoint, token, query, variables).await,
        query,
    )
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

#[tokio::main]
async fn main() {
    let url = std::env::var("LOAD_URL").unwrap_or_else(|_| "http://127.0.0.1:8080".into());
    let iterations = client::setting("LOAD_ITERATIONS", 50, 1_000);
    let handle = std::env::var("LOAD_ADMIN_HANDLE").unwrap_or_else(|_| "bench".into());
    let password =
        std::env::var("LOAD_ADMIN_PASSWORD").unwrap_or_else(|_| "observatory bench".into());
    consumact_api::install_tls_provider();
    let client = reqwest::Client::new();
    let token = gql(
        &client,
        &url,
        None,
        "mutation($h: String!, $p: String!) { login(input: { handleOrEmail: $h, password: $p }) { token } }",
        json!({ "h": handle, "p": password }),
    )
    .await["login"]["token"]
        .as_str()
        .expect("token")
        .to_owned();

    // Pick the busiest producer and sector of the data set.
    let top = gql(
        &client,
        &url,
        Some(&token),
        "{ observatory { ranking(first: 1, orderBy: SIGNATURES) { totalCount edges { node { producer { id sector } } } } } }",
        json!({}),
    )
    .await;
    let node = &top["observatory"]["ranking"]["edges"][0]["node"]["producer"];
    let producer = node["id"].as_str().expect("a producer").to_owned();
    let sector = node["sector"].as_str().expect("a sector").to_owned();
    let producers = top["observatory"]["ranking"]["totalCount"].clone();
    let now = chrono::Utc::now();
    let from = (now - chrono::Duration::days(365)).to_rfc3339();
    let to = now.to_rfc3339();

    let queries: Vec<(&str, String, Value)> = vec![
        (
            "producer(id)",
            format!("query($id: ID!) {{ observatory {{ producer(id: $id) {{ {METRICS} }} }} }}"),
            json!({ "id": producer }),
        ),
        (
            "ranking(first: 20)",
            format!(
                "{{ observatory {{ ranking(first: 20) {{ totalCount edges {{ node {{ producer {{ name }} {METRICS} }} }} }} }} }}"
            ),
            json!({}),
        ),
        (
            "ranking(first: 20, SIGNATURES)",
            format!(
                "{{ observatory {{ ranking(first: 20, orderBy: SIGNATURES) {{ totalCount edges {{ node {{ producer {{ name }} {METRICS} }} }} }} }} }}"
            ),
            json!({}),
        ),
        (
            "ranking(sector)",
            format!(
                "query($s: String) {{ observatory {{ ranking(first: 20, filter: {{ sector: $s }}) {{ edges {{ node {{ producer {{ name }} {METRICS} }} }} }} }} }}"
            ),
            json!({ "s": sector }),
        ),
        (
            "groups(SECTOR)",
            format!("{{ observatory {{ groups(by: SECTOR) {{ key producerCount {METRICS} }} }} }}"),
            json!({}),
        ),
        (
            "groups(TERRITORY)",
            format!(
                "{{ observatory {{ groups(by: TERRITORY) {{ key producerCount {METRICS} }} }} }}"
            ),
            json!({}),
        ),
        (
            "groups(VALUE_TAG)",
            format!(
                "{{ observatory {{ groups(by: VALUE_TAG) {{ key producerCount {METRICS} }} }} }}"
            ),
            json!({}),
        ),
        (
            "series(producer, MONTH, 1 y)",
            format!(
                "query($id: ID!, $from: DateTime!, $to: DateTime!) {{ observatory {{ series(producerId: $id, bucket: MONTH, from: $from, to: $to) {{ start {METRICS} }} }} }}"
            ),
            json!({ "id": producer, "from": from, "to": to }),
        ),
        (
            "series(sector, MONTH, 1 y)",
            format!(
                "query($s: String, $from: DateTime!, $to: DateTime!) {{ observatory {{ series(filter: {{ sector: $s }}, bucket: MONTH, from: $from, to: $to) {{ start {METRICS} }} }} }}"
            ),
            json!({ "s": sector, "from": from, "to": to }),
        ),
        (
            "series(everyone, MONTH, 1 y)",
            format!(
                "query($from: DateTime!, $to: DateTime!) {{ observatory {{ series(bucket: MONTH, from: $from, to: $to) {{ start {METRICS} }} }} }}"
            ),
            json!({ "from": from, "to": to }),
        ),
        (
            "groups(VALUE_TAG, 1 y)",
            format!(
                "query($from: DateTime!) {{ observatory {{ groups(by: VALUE_TAG, filter: {{ from: $from }}) {{ key producerCount {METRICS} }} }} }}"
            ),
            json!({ "from": from }),
        ),
        (
            "ranking(first: 20, 1 y)",
            format!(
                "query($from: DateTime!) {{ observatory {{ ranking(first: 20, filter: {{ from: $from }}) {{ edges {{ node {{ producer {{ name }} {METRICS} }} }} }} }} }}"
            ),
            json!({ "from": from }),
        ),
        (
            "ranking(first: 20, 12 months)",
            format!(
                "{{ observatory {{ ranking(first: 20, filter: {{ window: LAST_12_MONTHS }}) {{ edges {{ node {{ producer {{ name }} {METRICS} }} }} }} }} }}"
            ),
            json!({}),
        ),
        (
            "ranking(last month, SIGNATURES)",
            format!(
                "{{ observatory {{ ranking(first: 20, orderBy: SIGNATURES, filter: {{ window: LAST_FULL_MONTH }}) {{ edges {{ node {{ producer {{ name }} {METRICS} }} }} }} }} }}"
            ),
            json!({}),
        ),
        (
            "ranking(sector, 12 months)",
            format!(
                "query($s: String) {{ observatory {{ ranking(first: 20, filter: {{ sector: $s, window: LAST_12_MONTHS }}) {{ edges {{ node {{ producer {{ name }} {METRICS} }} }} }} }} }}"
            ),
            json!({ "s": sector }),
        ),
    ];
    println!(
        "observatory latency, {iterations} sequential requests per query, {producers} producers"
    );
    println!(
        "{:<30} {:>10} {:>10} {:>10}",
        "query", "median", "p95", "max"
    );
    for (name, query, variables) in &queries {
        // Warm-up: the first request pays for cold caches.
        gql(&client, &url, Some(&token), query, variables.clone()).await;
        let mut times = Vec::with_capacity(iterations);
        for _ in 0..iterations {
            let started = Instant::now();
            gql(&client, &url, Some(&token), query, variables.clone()).await;
            times.push(started.elapsed());
        }
        times.sort();
        println!(
            "{:<30} {:>8.1}ms {:>8.1}ms {:>8.1}ms",
            name,
            percentile(&times, 0.5).as_secs_f64() * 1e3,
            percentile(&times, 0.95).as_secs_f64() * 1e3,
            times.last().unwrap().as_secs_f64() * 1e3,
        );
    }
    for (name, query) in [
        ("by id", "format=csv"),
        ("in trust order", "format=csv&orderBy=TRUST_INDEX"),
        (
            "in trust order, 12 months",
            "format=csv&orderBy=TRUST_INDEX&window=LAST_12_MONTHS",
        ),
    ] {
        let started = Instant::now();
        let csv = client
            .get(format!("{url}/observatory/export?{query}"))
            .bearer_auth(&token)
            .send()
            .await
            .expect("export")
            .text()
            .await
            .expect("export body");
        let elapsed = started.elapsed().as_secs_f64();
        let rows = csv.lines().count().saturating_sub(1);
        println!(
            "export (CSV, every producer, {name}): {rows} rows, {} bytes in {:.1} ms, {:.0} producers/s",
            csv.len(),
            elapsed * 1e3,
            rows as f64 / elapsed
        );
    }
}
