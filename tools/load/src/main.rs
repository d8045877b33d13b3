//! `consumact-load`: see the library's documentation and README's
//! Performance section.

use std::time::Duration;

use clap::Parser;
use consumact_load::{Options, Workload};

#[derive(Parser)]
#[command(about = "Runs named workloads against a Consumact server on loopback")]
struct Args {
    /// The server, http:// on a loopback address.
    #[arg(long, env = "LOAD_URL", default_value = "http://127.0.0.1:8080")]
    url: String,
    /// Workloads, in order; ratios are to the `noop` of the same run.
    #[arg(
        long,
        env = "LOAD_WORKLOADS",
        value_delimiter = ',',
        default_value = "noop,sign,read,mixed,fanout"
    )]
    workloads: Vec<Workload>,
    /// Seconds each timed workload runs.
    #[arg(long, env = "LOAD_SECONDS", default_value_t = 10.0)]
    seconds: f64,
    /// Concurrent connections.
    #[arg(long, env = "LOAD_CONCURRENCY", default_value_t = 64)]
    concurrency: usize,
    /// Members prepared for signing.
    #[arg(long, env = "LOAD_MEMBERS", default_value_t = 1000)]
    members: usize,
    /// Campaigns prepared for signing and reading.
    #[arg(long, env = "LOAD_CAMPAIGNS", default_value_t = 400)]
    campaigns: usize,
    /// Websocket subscribers of `fanout`.
    #[arg(long, env = "LOAD_SUBSCRIBERS", default_value_t = 1000)]
    subscribers: usize,
    /// Signatures `fanout` sends, one at a time.
    #[arg(long, env = "LOAD_FANOUT_SIGNATURES", default_value_t = 20)]
    fanout_signatures: usize,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if !(args.seconds.is_finite() && args.seconds > 0.0) {
        anyhow::bail!("--seconds must be positive");
    }
    let options = Options {
        url: args.url,
        workloads: args.workloads,
        duration: Duration::from_secs_f64(args.seconds.min(600.0)),
        concurrency: args.concurrency,
        members: args.members,
        campaigns: args.campaigns,
        subscribers: args.subscribers,
        fanout_signatures: args.fanout_signatures,
    };
    let report = consumact_load::run(&options).await?;
    print!("{report}");
    Ok(())
}
