//! What a bogus token or an absent account costs the server, against a cheap
//! request: `POST /reset-password` with an unknown token (looked up before
//! any password hash), `login` for an absent account (one hash, as for a
//! present one, through the bounded pool), and `GET /healthz`. Requests go
//! one at a time, so each latency is the server's work for that request.
//!
//! ```sh
//! # the product's default Argon2 cost (19 MiB, 2 iterations)
//! CONSUMACT_AUTH_IP_PER_MINUTE=1000000 CONSUMACT_AUTH_IP_BURST=100000 \
//!   cargo run --release
//! cargo bench --bench cheap_checks_first
//! ```
//!
//! Settings: `LOAD_URL` (default `http://127.0.0.1:8080`), `LOAD_REQUESTS`
//! (default 50 of each, at most 1 000).

use std::time::{Duration, Instant};

use serde_json::json;

// Only its settings are used here.
#[path = "support/client.rs"]
#[allow(dead_code)]
mod client;

use client::setting;

/// Median and 95th percentile of `samples`, in milliseconds.
fn summary(mut samples: Vec<Duration>) -> (f64, f64) {
    samples.sort();
    let at = |q: f64| {
        let index = ((samples.len() as f64 - 1.0) * q).round() as usize;
        samples[index].as_secs_f64() * 1000.0
    };
    (at(0.5), at(0.95))
}

#[tokio::main]
async fn main() {
    let base = std::env::var("LOAD_URL").unwrap_or_else(|_| "http://127.0.0.1:8080".into());
    let base = base
        .trim_end_matches('/')
        .trim_end_matches("/graphql")
        .to_owned();
    let requests = setting("LOAD_REQUESTS", 50, 1_000);
    consumact_api::install_tls_provider();
    let client = reqwest::Client::new();
    let mut rows = Vec::new();

    let mut samples = Vec::new();
    for _ in 0..requests {
        let started = Instant::now();
        let response = client.get(format!("{base}/healthz")).send().await;
        assert!(response.is_ok_and(|r| r.status().is_success()), "healthz");
        samples.push(started.elapsed());
    }
    rows.push(("GET /healthz", summary(samples)));

    let mut samples = Vec::new();
    for i in 0..requests {
        let body = format!("token=bogus{i}&new_password=a+long+enough+secret");
        let started = Instant::now();
        let response = client
            .post(format!("{base}/reset-password"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .expect("reset form answers");
        assert_eq!(response.status(), 400, "an unknown token is refused");
        samples.push(started.elapsed());
    }
    rows.push(("POST /reset-password, unknown token", summary(samples)));

    let mut samples = Vec::new();
    for i in 0..requests {
        let query = json!({
            "query": "mutation($l: String!) { login(input: { handleOrEmail: $l, password: \"a wrong guess\" }) { token } }",
            "variables": { "l": format!("absent_{i}") },
        });
        let started = Instant::now();
        let response = client
            .post(format!("{base}/graphql"))
            .json(&query)
            .send()
            .await
            .expect("login answers");
        assert!(response.status().is_success());
        samples.push(started.elapsed());
    }
    rows.push(("login, absent account (one hash)", summary(samples)));

    println!("{requests} requests each, one at a time, against {base}");
    println!("| request | median | p95 |");
    println!("|---|---|---|");
    for (what, (median, p95)) in rows {
        println!("| {what} | {median:.2} ms | {p95:.2} ms |");
    }
}
