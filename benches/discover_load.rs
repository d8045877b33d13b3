//! Discovery latency: `discover`, `search` and the list orderings, each
//! asked many times in a row by one client, against a running server on
//! loopback, with the median and 95th percentile of each. Meant for a
//! seeded database (100 000 campaigns and 10 000 communities below):
//!
//! ```sh
//! export DATABASE_URL=postgres://postgres@127.0.0.1:5432/consumact_bench
//! cargo run --release -- seed --producers 25000 --campaigns-per-producer 4 \
//!   --communities 10000 --signatures 1000000 --ratings 10000
//! cargo run --release &
//! cargo bench --bench discover_load
//! ```
//!
//! Settings: `LOAD_URL` (default `http://127.0.0.1:8080`), `LOAD_ITERATIONS`
//! (default 50, at most 1 000), `LOAD_MEMBERS` (seeded members signed in
//! and asked for in turn, default 10), `LOAD_SEED` (the seed the data set
//! was made with, default 42).

#[path = "support/client.rs"]
mod client;
#[path = "support/seeded.rs"]
mod seeded;

use std::time::Instant;

use serde_json::{Value, json};

const DISCOVER: &str = "query($kind: DiscoverKind!, $territory: String) {
    discover(kind: $kind, territory: $territory, first: 20) {
        edges { node { score reasons { kind detail } campaign { id title } community { id name } } }
    } }";
const SEARCH: &str = "query($q: String!, $filter: SearchFilter) {
    search(query: $q, filter: $filter, first: 20) {
        edges { node { score snippet node { __typename ... on Campaign { id title } ... on Community { id name } ... on Producer { id name } } } }
    } }";
const CAMPAIGNS: &str = "query($order: CampaignOrder) {
    campaigns(orderBy: $order, first: 20) { edges { node { id title counters { total } } } } }";
const COMMUNITIES: &str = "query($order: CommunityOrder) {
    communities(orderBy: $order, first: 20) { edges { node { id name memberCount } } } }";

#[tokio::main]
async fn main() {
    let url = std::env::var("LOAD_URL").unwrap_or_else(|_| "http://127.0.0.1:8080".into());
    let endpoint = format!("{url}/graphql");
    let iterations = client::setting("LOAD_ITERATIONS", 50, 1_000);
    let member_count = client::setting("LOAD_MEMBERS", 10, 100);
    let seed = client::setting("LOAD_SEED", 42, usize::MAX);
    consumact_api::install_tls_provider();
    let http = reqwest::Client::new();

    let tokens = seeded::sign_in(&http, &endpoint, seed, member_count).await;

    type Case = (&'static str, bool, &'static str, Value);
    let cases: Vec<Case> = vec![
        (
            "discover(CAMPAIGNS), member",
            true,
            DISCOVER,
            json!({ "kind": "CAMPAIGNS" }),
        ),
        (
            "discover(COMMUNITIES), member",
            true,
            DISCOVER,
            json!({ "kind": "COMMUNITIES" }),
        ),
        (
            "discover(CAMPAIGNS), anonymous FR",
            false,
            DISCOVER,
            json!({ "kind": "CAMPAIGNS", "territory": "FR" }),
        ),
        (
            "search \"allergene etiquetage\"",
            false,
            SEARCH,
            json!({ "q": "allergene etiquetage" }),
        ),
        (
            "search \"palm oil\"",
            false,
            SEARCH,
            json!({ "q": "palm oil" }),
        ),
        (
            "search \"local\" in FR",
            false,
            SEARCH,
            json!({ "q": "local", "filter": { "territory": "FR" } }),
        ),
        (
            "campaigns(TRENDING)",
            false,
            CAMPAIGNS,
            json!({ "order": "TRENDING" }),
        ),
        (
            "campaigns(MOST_SIGNED)",
            false,
            CAMPAIGNS,
            json!({ "order": "MOST_SIGNED" }),
        ),
        (
            "campaigns(CLOSING_SOON)",
            false,
            CAMPAIGNS,
            json!({ "order": "CLOSING_SOON" }),
        ),
        (
            "communities(LARGEST)",
            false,
            COMMUNITIES,
            json!({ "order": "LARGEST" }),
        ),
        (
            "communities(MOST_ACTIVE)",
            false,
            COMMUNITIES,
            json!({ "order": "MOST_ACTIVE" }),
        ),
    ];
    println!("discovery latency, {iterations} sequential requests per query");
    println!(
        "{:<36} {:>10} {:>10} {:>10} {:>6}",
        "query", "median", "p95", "max", "hits"
    );
    for (name, signed_in, query, variables) in &cases {
        let token = |i: usize| signed_in.then(|| tokens[i % tokens.len()].as_str());
        // Warm-up: the first requests pay for cold caches.
        let mut hits = 0;
        for i in 0..tokens.len() {
            let data = client::data(
                client::gql(&http, &endpoint, token(i), query, variables.clone()).await,
                name,
            );
            let list = data
                .as_object()
                .and_then(|fields| fields.values().next())
                .map(|field| field["edges"].as_array().map_or(0, Vec::len))
                .unwrap_or(0);
            hits = hits.max(list);
        }
        let mut times = Vec::with_capacity(iterations);
        for i in 0..iterations {
            let started = Instant::now();
            client::data(
                client::gql(&http, &endpoint, token(i), query, variables.clone()).await,
                name,
            );
            times.push(started.elapsed());
        }
        times.sort();
        println!(
            "{:<36} {:>8.1}ms {:>8.1}ms {:>8.1}ms {:>6}",
            name,
            seeded::percentile(&times, 0.5).as_secs_f64() * 1e3,
            seeded::percentile(&times, 0.95).as_secs_f64() * 1e3,
            times.last().unwrap().as_secs_f64() * 1e3,
            hits,
        );
    }
}
