//! The Consumact load tool: prepares its own members and campaigns through
//! the API, then runs named workloads against one server on loopback, each
//! for a fixed time and concurrency, and reports throughput, latency
//! percentiles, errors by `extensions.code`, the server's memory and each
//! workload's ratio to `noop` measured in the same run.
//!
//! Workloads:
//! - `noop`: `{ __typename }`, the server's floor;
//! - `sign`: distinct members sign the prepared campaigns, each (member,
//!   campaign) pair once; afterwards the live counters, the stored rows and
//!   the accepted answers are compared (nothing lost, nothing doubled);
//! - `read`: an anonymous campaign read with its live counters;
//! - `mixed`: 90 % `read`, 10 % `sign`;
//! - `fanout`: N websocket subscribers on one campaign, then signatures one
//!   at a time; latency from each signature's answer to each receipt.

mod fanout;
pub mod http;
mod setup;
mod stats;

use std::collections::BTreeMap;
use std::fmt;
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::{Value, json};

use http::Connection;
use setup::{Fixture, Setup};
pub use stats::Latencies;

/// A named workload.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Workload {
    Noop,
    Sign,
    Read,
    Mixed,
    Fanout,
}

impl fmt::Display for Workload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Workload::Noop => "noop",
            Workload::Sign => "sign",
            Workload::Read => "read",
            Workload::Mixed => "mixed",
            Workload::Fanout => "fanout",
        })
    }
}

/// What to run, against what.
#[derive(Clone, Debug)]
pub struct Options {
    /// The server's base address, `http://127.0.0.1:8080`; loopback only.
    pub url: String,
    pub workloads: Vec<Workload>,
    /// How long each timed workload runs.
    pub duration: Duration,
    /// Concurrent connections of the timed workloads.
    pub concurrency: usize,
    /// Members prepared for signing.
    pub members: usize,
    /// Campaigns prepared for signing and reading.
    pub campaigns: usize,
    /// Websocket subscribers of `fanout`.
    pub subscribers: usize,
    /// Signatures `fanout` sends, one at a time.
    pub fanout_signatures: usize,
}

/// Upper bounds, so a mistyped setting cannot turn the tool into a flood.
pub const MAX_DURATION: Duration = Duration::from_secs(600);
pub const MAX_CONCURRENCY: usize = 2048;
pub const MAX_MEMBERS: usize = 100_000;
pub const MAX_CAMPAIGNS: usize = 10_000;
pub const MAX_SUBSCRIBERS: usize = 50_000;

impl Options {
    fn check(&self) -> anyhow::Result<SocketAddr> {
        if self.duration.is_zero() || self.duration > MAX_DURATION {
            bail!("the duration must be between 1 ms and {MAX_DURATION:?}");
        }
        if !(1..=MAX_CONCURRENCY).contains(&self.concurrency) {
            bail!("the concurrency must be between 1 and {MAX_CONCURRENCY}");
        }
        if !(1..=MAX_MEMBERS).contains(&self.members) {
            bail!("members must be between 1 and {MAX_MEMBERS}");
        }
        if !(1..=MAX_CAMPAIGNS).contains(&self.campaigns) {
            bail!("campaigns must be between 1 and {MAX_CAMPAIGNS}");
        }
        if !(1..=MAX_SUBSCRIBERS).contains(&self.subscribers) {
            bail!("subscribers must be between 1 and {MAX_SUBSCRIBERS}");
        }
        if self.fanout_signatures == 0 || self.fanout_signatures > self.members {
            bail!("fanout signatures must be between 1 and the number of members");
        }
        loopback(&self.url)
    }
}

/// The address of `url`, which must be `http://` on a loopback address.
pub fn loopback(url: &str) -> anyhow::Result<SocketAddr> {
    let rest = url
        .strip_prefix("http://")
        .context("the load tool speaks plain http:// to a local server")?;
    let authority = rest.split('/').next().unwrap_or(rest);
    let addr = authority
        .to_socket_addrs()
        .with_context(|| format!("cannot resolve {authority}"))?
        .next()
        .with_context(|| format!("{authority} resolves to nothing"))?;
    if !addr.ip().is_loopback() {
        bail!("the load tool targets loopback only, not {}", addr.ip());
    }
    Ok(addr)
}

/// One workload's result.
#[derive(Clone, Debug)]
pub struct Outcome {
    pub workload: Workload,
    /// Answers without errors (for `fanout`: deliveries).
    pub ok: u64,
    /// Errors by `extensions.code` (`HTTP_<status>` or `IO` without one).
    pub errors: BTreeMap<String, u64>,
    pub elapsed: Duration,
    pub latencies: Latencies,
    /// The server's resident memory after the workload, when it reports it.
    pub rss_bytes: Option<u64>,
    /// Checks and facts worth printing (`lost or doubled: 0`, …).
    pub notes: Vec<String>,
}

impl Outcome {
    pub fn per_second(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    pub fn error_count(&self) -> u64 {
        self.errors.values().sum()
    }
}

/// Every workload's outcome, in the order run.
pub struct Report {
    pub outcomes: Vec<Outcome>,
}

impl Report {
    /// The `noop` throughput of this run, if measured.
    fn noop(&self) -> Option<f64> {
        self.outcomes
            .iter()
            .find(|o| o.workload == Workload::Noop)
            .map(Outcome::per_second)
    }

    pub fn outcome(&self, workload: Workload) -> Option<&Outcome> {
        self.outcomes.iter().find(|o| o.workload == workload)
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{:<8} {:>10} {:>9} {:>9} {:>9} {:>8} {:>10} {:>9}  errors",
            "workload", "per sec", "p50 ms", "p99 ms", "max ms", "÷ noop", "ok", "rss MiB"
        )?;
        let noop = self.noop();
        for o in &self.outcomes {
            let ratio = match (noop, o.workload) {
                (Some(noop), w) if w != Workload::Fanout => format!("{:.2}", o.per_second() / noop),
                _ => "-".to_owned(),
            };
            let rss = o
                .rss_bytes
                .map_or("-".to_owned(), |b| format!("{:.0}", b as f64 / 1048576.0));
            let errors = if o.errors.is_empty() {
                "none".to_owned()
            } else {
                o.errors
                    .iter()
                    .map(|(code, n)| format!("{code}={n}"))
                    .collect::<Vec<_>>()
                    .join(" ")
            };
            writeln!(
                f,
                "{:<8} {:>10.0} {:>9.2} {:>9.2} {:>9.2} {:>8} {:>10} {:>9}  {errors}",
                o.workload.to_string(),
                o.per_second(),
                o.latencies.percentile_ms(0.50),
                o.latencies.percentile_ms(0.99),
                o.latencies.max_ms(),
                ratio,
                o.ok,
                rss,
            )?;
            for note in &o.notes {
                writeln!(f, "         {note}")?;
            }
        }
        Ok(())
    }
}

/// Runs the workloads of `options` in order.
pub async fn run(options: &Options) -> anyhow::Result<Report> {
    let addr = options.check()?;
    let needs_members = options
        .workloads
        .iter()
        .any(|w| matches!(w, Workload::Sign | Workload::Mixed | Workload::Fanout));
    let needs_campaigns = needs_members || options.workloads.contains(&Workload::Read);
    let tag = format!(
        "{:x}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis()
    );
    let mut setup = Setup::new(addr, tag);
    let (organiser, campaigns) = if needs_campaigns {
        let organiser = setup.register("organiser").await?;
        let campaigns = setup.campaigns(&organiser, options.campaigns).await?;
        (Some(organiser), campaigns)
    } else {
        (None, Vec::new())
    };
    let tokens = if needs_members {
        setup.members(options.members).await?
    } else {
        Vec::new()
    };
    let fixture = Arc::new(Fixture {
        tokens,
        campaigns,
        next_pair: AtomicU64::new(0),
        accepted: AtomicU64::new(0),
    });
    let mut outcomes = Vec::new();
    for &workload in &options.workloads {
        let mut outcome = match workload {
            Workload::Fanout => {
                let organiser = organiser.as_deref().context("no organiser")?;
                let campaign = setup.campaigns(organiser, 1).await?.remove(0);
                fanout::run(addr, options, &fixture.tokens, &campaign).await?
            }
            _ => timed(addr, options, workload, fixture.clone()).await,
        };
        if matches!(workload, Workload::Sign | Workload::Mixed) {
            outcome.notes.push(verify(addr, &fixture).await?);
            outcome.notes.push(folded(addr).await?);
        }
        outcome.rss_bytes = server_rss(addr).await;
        outcomes.push(outcome);
    }
    Ok(Report { outcomes })
}

/// Campaigns prepared against each producer.
const CAMPAIGNS_PER_PRODUCER: usize = 4;

const NOOP: &str = r#"{"query":"{ __typename }"}"#;
const SIGN: &str = "mutation($c: ID!) { signCampaign(campaignId: $c) { status } }";
const READ: &str =
    "query($c: ID!) { campaign(id: $c) { id title status counters { signatures total } } }";

/// A timed workload: `concurrency` connections for `duration`.
async fn timed(
    addr: SocketAddr,
    options: &Options,
    workload: Workload,
    fixture: Arc<Fixture>,
) -> Outcome {
    let started = Instant::now();
    let deadline = started + options.duration;
    let mut workers = Vec::with_capacity(options.concurrency);
    for worker in 0..options.concurrency {
        let fixture = fixture.clone();
        workers.push(tokio::spawn(async move {
            let mut connection = Connection::new(addr);
            let mut rng =
                0x9E37_79B9_7F4A_7C15_u64 ^ (worker as u64 + 1).wrapping_mul(0xA24B_AED4_963E_E407);
            let mut tally = Tally::default();
            while Instant::now() < deadline {
                let roll = next_random(&mut rng);
                let signing = match workload {
                    Workload::Sign => true,
                    Workload::Mixed => roll.is_multiple_of(10),
                    _ => false,
                };
                let pair = if signing { fixture.pair() } else { None };
                if signing && pair.is_none() {
                    tally.exhausted = true;
                    if workload == Workload::Sign {
                        break;
                    }
                }
                let signing = pair.is_some();
                let (token, body) = if let Some((member, campaign)) = pair {
                    let body =
                        json!({ "query": SIGN, "variables": { "c": fixture.campaigns[campaign] } });
                    (Some(fixture.tokens[member].as_str()), body.to_string())
                } else if workload == Workload::Noop {
                    (None, NOOP.to_owned())
                } else {
                    let campaign = (roll >> 16) as usize % fixture.campaigns.len();
                    let body =
                        json!({ "query": READ, "variables": { "c": fixture.campaigns[campaign] } });
                    (None, body.to_string())
                };
                let sent = Instant::now();
                let answer = connection.graphql(token, &body).await;
                tally.latencies.record(sent.elapsed());
                match classify(answer) {
                    None => {
                        tally.ok += 1;
                        if signing {
                            fixture.accepted.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    Some(code) => *tally.errors.entry(code).or_default() += 1,
                }
            }
            tally
        }));
    }
    let mut total = Tally::default();
    for worker in workers {
        if let Ok(tally) = worker.await {
            total.merge(tally);
        }
    }
    let mut notes = Vec::new();
    if total.exhausted {
        notes.push("every (member, campaign) pair was signed before the end: prepare more members or campaigns".to_owned());
    }
    Outcome {
        workload,
        ok: total.ok,
        errors: total.errors,
        elapsed: started.elapsed(),
        latencies: total.latencies.finish(),
        rss_bytes: None,
        notes,
    }
}

#[derive(Default)]
struct Tally {
    ok: u64,
    errors: BTreeMap<String, u64>,
    latencies: Latencies,
    exhausted: bool,
}

impl Tally {
    fn merge(&mut self, other: Tally) {
        self.ok += other.ok;
        for (code, n) in other.errors {
            *self.errors.entry(code).or_default() += n;
        }
        self.latencies.merge(other.latencies);
        self.exhausted |= other.exhausted;
    }
}

/// `None` for a good answer, else the error's code.
fn classify(answer: anyhow::Result<http::Response>) -> Option<String> {
    let response = match answer {
        Ok(response) => response,
        Err(_) => return Some("IO".to_owned()),
    };
    let has = |needle: &[u8]| response.body.windows(needle.len()).any(|w| w == needle);
    if response.status == 200 && !has(b"\"errors\"") {
        // A signature that waits for its signer's confirmation does not count.
        return has(b"\"PENDING\"").then(|| "PENDING".to_owned());
    }
    let code = response.json().ok().and_then(|body| {
        body["errors"][0]["extensions"]["code"]
            .as_str()
            .map(str::to_owned)
    });
    Some(code.unwrap_or_else(|| format!("HTTP_{}", response.status)))
}

fn next_random(state: &mut u64) -> u64 {
    // xorshift64*: enough to spread requests, no crate needed.
    *state ^= *state >> 12;
    *state ^= *state << 25;
    *state ^= *state >> 27;
    state.wrapping_mul(0x2545_F491_4F6C_DD1D)
}

/// Compares the signatures accepted so far with the live counters and the
/// stored rows of every prepared campaign.
async fn verify(addr: SocketAddr, fixture: &Fixture) -> anyhow::Result<String> {
    // Counters are bumped before a signer gets its answer; the pause only
    // lets in-flight answers of the last requests land.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut connection = Connection::new(addr);
    let (mut counted, mut rows) = (0i64, 0i64);
    // Ten root fields a request, well inside the server's limits.
    for chunk in fixture.campaigns.chunks(10) {
        let fields: String = chunk
            .iter()
            .enumerate()
            .map(|(i, id)| {
                format!("c{i}: campaign(id: \"{id}\") {{ counters {{ signatures }} signatures(first: 1) {{ totalCount }} }} ")
            })
            .collect();
        let body = json!({ "query": format!("{{ {fields} }}") }).to_string();
        let data = data_of(connection.graphql(None, &body).await?)?;
        for i in 0..chunk.len() {
            counted += data[format!("c{i}")]["counters"]["signatures"]
                .as_i64()
                .unwrap_or(0);
            rows += data[format!("c{i}")]["signatures"]["totalCount"]
                .as_i64()
                .unwrap_or(0);
        }
    }
    let accepted = fixture.accepted.load(Ordering::Relaxed) as i64;
    let verdict = if counted == accepted && rows == accepted {
        "lost or doubled: 0".to_owned()
    } else {
        format!(
            "MISMATCH: lost or doubled: {}",
            (counted - accepted).abs().max((rows - accepted).abs())
        )
    };
    Ok(format!(
        "signatures accepted so far {accepted}, live counters {counted}, stored rows {rows}; {verdict}"
    ))
}

/// Waits for the server's fold to catch up (`consumact_fold_queued` 0 on
/// `/metrics`), then checks the kept ordering against the live counts:
/// `campaigns(orderBy: MOST_SIGNED)` walks the kept totals, which must
/// give the live totals in non-increasing order.
async fn folded(addr: SocketAddr) -> anyhow::Result<String> {
    let started = std::time::Instant::now();
    let mut lag_at_end = None;
    loop {
        let queued = metric(addr, "consumact_fold_queued").await.unwrap_or(-1.0);
        if lag_at_end.is_none() {
            lag_at_end = metric(addr, "consumact_fold_lag_seconds").await;
        }
        if queued == 0.0 {
            break;
        }
        if started.elapsed() > Duration::from_secs(60) {
            return Ok(format!(
                "MISMATCH: the fold still had {queued} writes queued after 60 s"
            ));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let drained = started.elapsed();
    let body = json!({ "query": "{ campaigns(orderBy: MOST_SIGNED, first: 100) { nodes { counters { total } } } }" })
        .to_string();
    let data = data_of(Connection::new(addr).graphql(None, &body).await?)?;
    let totals: Vec<i64> = data["campaigns"]["nodes"]
        .as_array()
        .map(|nodes| {
            nodes
                .iter()
                .filter_map(|node| node["counters"]["total"].as_i64())
                .collect()
        })
        .unwrap_or_default();
    let ordered = totals.windows(2).all(|pair| pair[0] >= pair[1]);
    Ok(format!(
        "fold lag at the end {:.0} ms, drained {} ms later; MOST_SIGNED {}",
        lag_at_end.unwrap_or(0.0) * 1_000.0,
        drained.as_millis(),
        if ordered {
            "follows the live counts".to_owned()
        } else {
            format!("MISMATCH: out of order {totals:?}")
        }
    ))
}

/// A gauge or counter of the server's `/metrics`.
async fn metric(addr: SocketAddr, name: &str) -> Option<f64> {
    let response = Connection::new(addr).get("/metrics").await.ok()?;
    let text = String::from_utf8(response.body).ok()?;
    let prefix = format!("{name} ");
    text.lines()
        .find_map(|line| line.strip_prefix(prefix.as_str()))
        .and_then(|value| value.trim().parse::<f64>().ok())
}

fn data_of(response: http::Response) -> anyhow::Result<Value> {
    let body = response.json()?;
    if let Some(errors) = body.get("errors") {
        bail!("the server refused a preparation step: {errors}");
    }
    Ok(body["data"].clone())
}

/// The server's resident memory, from its `/metrics`.
pub async fn server_rss(addr: SocketAddr) -> Option<u64> {
    metric(addr, "process_resident_memory_bytes")
        .await
        .map(|bytes| bytes as u64)
}
