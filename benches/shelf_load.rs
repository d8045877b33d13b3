//! Shelf latency: `productByGtin`, `conflicts` and `alternatives`, each
//! asked many times in a row by one client for seeded barcodes, against a
//! running server on loopback, with the median and 95th percentile of each.
//! Meant for a database seeded with products (a million below, with 50 000
//! brands and an ownership forest over 100 000 producers):
//!
//! ```sh
//! export DATABASE_URL=postgres://postgres@127.0.0.1:5432/consumact_bench
//! cargo run --release -- seed --products 1000000 --producers 100000 \
//!   --campaigns-per-producer 1 --signatures 200000
//! cargo run --release &
//! cargo bench --bench shelf_load
//! ```
//!
//! Settings: `LOAD_URL` (default `http://127.0.0.1:8080`), `LOAD_ITERATIONS`
//! (default 200, at most 5 000), `LOAD_PRODUCTS` (how many products were
//! seeded: barcodes are drawn among them, default 1 000 000), `LOAD_MEMBERS`
//! (seeded members signed in and asked for in turn, default 10),
//! `LOAD_SEED` (the seed the data set was made with, default 42).

#[path = "support/client.rs"]
mod client;
#[path = "support/seeded.rs"]
mod seeded;

use std::time::Instant;

use consumact_api::seed::shelf::gtin_of;
use serde_json::{Value, json};

const BY_GTIN: &str = "query($code: String!) { productByGtin(code: $code) {
    name brand { name owner { name ultimateParent { name } } } vegan: valueStatus(slug: \"vegan\") } }";
const CONFLICTS: &str = "query($code: String!) { conflicts(code: $code) {
    conflicts { tie campaign { id } pledgersNeeded path { kind name } }
    values { valueTag { slug } status } soldInTerritory } }";
const ALTERNATIVES: &str = "query($code: String!, $values: [String!], $territory: String) {
    alternatives(code: $code, first: 10, values: $values, territory: $territory) {
    product { name gtin } reasons { kind detail } } }";

#[tokio::main]
async fn main() {
    let url = std::env::var("LOAD_URL").unwrap_or_else(|_| "http://127.0.0.1:8080".into());
    let endpoint = format!("{url}/graphql");
    let iterations = client::setting("LOAD_ITERATIONS", 200, 5_000);
    let products = client::setting("LOAD_PRODUCTS", 1_000_000, usize::MAX) as u64;
    let member_count = client::setting("LOAD_MEMBERS", 10, 100);
    let seed = client::setting("LOAD_SEED", 42, usize::MAX);
    consumact_api::install_tls_provider();
    let http = reqwest::Client::new();

    let tokens = seeded::sign_in(&http, &endpoint, seed, member_count).await;
    // Barcodes spread over the whole range, the same for every query.
    let code = |i: usize| gtin_of((i as u64).wrapping_mul(7_919) % products);

    // (name, query, signed in, variables besides the barcode)
    let cases: [(&str, &str, bool, Value); 4] = [
        ("productByGtin", BY_GTIN, false, json!({})),
        ("conflicts, member", CONFLICTS, true, json!({})),
        ("alternatives, member", ALTERNATIVES, true, json!({})),
        (
            "alternatives, vegan FR",
            ALTERNATIVES,
            false,
            json!({ "values": ["vegan"], "territory": "FR" }),
        ),
    ];
    let variables = |extra: &Value, code: String| {
        let mut all = extra.clone();
        all["code"] = json!(code);
        all
    };
    println!("shelf latency, {iterations} sequential requests per query, {products} products");
    println!(
        "{:<24} {:>10} {:>10} {:>10} {:>8}",
        "query", "median", "p95", "max", "answers"
    );
    for (name, query, signed_in, extra) in &cases {
        let token = |i: usize| signed_in.then(|| tokens[i % tokens.len()].as_str());
        // Warm-up: the first requests pay for cold caches.
        for i in 0..tokens.len() {
            client::data(
                client::gql(&http, &endpoint, token(i), query, variables(extra, code(i))).await,
                name,
            );
        }
        let mut times = Vec::with_capacity(iterations);
        let mut answered = 0;
        for i in 0..iterations {
            let started = Instant::now();
            let data = client::data(
                client::gql(
                    &http,
                    &endpoint,
                    token(i),
                    query,
                    variables(extra, code(i + 1_000)),
                )
                .await,
                name,
            );
            times.push(started.elapsed());
            let found = data.as_object().and_then(|fields| fields.values().next());
            if found.is_some_and(|value| match value {
                Value::Array(list) => !list.is_empty(),
                other => !other.is_null(),
            }) {
                answered += 1;
            }
        }
        times.sort();
        println!(
            "{:<24} {:>8.1}ms {:>8.1}ms {:>8.1}ms {:>8}",
            name,
            seeded::percentile(&times, 0.5).as_secs_f64() * 1e3,
            seeded::percentile(&times, 0.95).as_secs_f64() * 1e3,
            times.last().unwrap().as_secs_f64() * 1e3,
            answered,
        );
    }
}
