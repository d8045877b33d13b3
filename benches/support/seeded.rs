//! What the latency runs against a seeded database share: signing in
//! seeded members, and percentiles of sorted timings.

use std::time::Duration;

use serde_json::json;

use super::client;

/// Tokens of `count` seeded members of the data set made with `seed`
/// (every 97th, so they differ; seeded members share one password).
pub async fn sign_in(
    http: &reqwest::Client,
    endpoint: &str,
    seed: usize,
    count: usize,
) -> Vec<String> {
    let mut tokens = Vec::with_capacity(count);
    for i in 0..count {
        let handle = format!("s{seed}-member-{:07}", i * 97);
        let body = client::gql(
            http,
            endpoint,
            None,
            "mutation($h: String!, $p: String!) { login(input: { handleOrEmail: $h, password: $p }) { token } }",
            json!({ "h": handle, "p": format!("s{seed}-password") }),
        )
        .await;
        let data = client::data(body, "login of a seeded member");
        tokens.push(data["login"]["token"].as_str().expect("token").to_owned());
    }
    tokens
}

/// The `p` quantile of `sorted`.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}
