//! Typed configuration, read from flags with environment fallbacks. Every
//! setting has a default (`docs/configuration.md`, generated from here by
//! [`reference`]) so that `cargo run` works on a fresh machine.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::ArgAction;
use clap::builder::{BoolishValueParser, TypedValueParser};
pub use limits::Limits;
pub use reference::reference;
pub use responses::Responses;

mod limits;
mod reference;
mod responses;

/// Server configuration. Each field is a `--flag` and an environment variable.
#[derive(clap::Args, Clone, Debug)]
pub struct Config {
    /// Limits of the request policy and of what members create (`limits`).
    #[command(flatten)]
    pub limits: Limits,
    /// When campaigns oblige their producer to answer (`responses`).
    #[command(flatten)]
    pub responses: Responses,

    /// Address the HTTP server listens on (`127.0.0.1:0` picks a free port).
    #[arg(long, env = "CONSUMACT_ADDR", default_value = "127.0.0.1:8080")]
    pub addr: SocketAddr,

    /// Directory holding the embedded SQLite database when `DATABASE_URL` is unset.
    #[arg(long, env = "CONSUMACT_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,

    /// `postgres://…` for PostgreSQL, `sqlite://path` or `sqlite::memory:` for SQLite.
    /// Unset: an SQLite file in the data directory.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,

    /// A read replica of `DATABASE_URL` (same schema, kept by the
    /// database's own replication) for observatory and export reads; unset:
    /// they read `DATABASE_URL`.
    #[arg(
        long,
        env = "CONSUMACT_OBSERVATORY_DATABASE_URL",
        hide_env_values = true
    )]
    pub observatory_database_url: Option<String>,

    /// `redis://…` for live counters and cross-instance updates; unset keeps
    /// them in process (one instance only).
    #[arg(long, env = "REDIS_URL", hide_env_values = true)]
    pub redis_url: Option<String>,

    /// Prefix of every Redis key and channel, so several deployments (or
    /// tests) can share one Redis.
    #[arg(long, env = "CONSUMACT_REDIS_PREFIX", default_value = "consumact")]
    pub redis_prefix: String,

    /// How long a request waits on Redis before falling back to the database, in ms.
    #[arg(long, env = "CONSUMACT_REDIS_TIMEOUT_MS", default_value_t = 250)]
    pub redis_timeout_ms: u64,

    /// Seconds between passes that correct live counters from the database.
    #[arg(long, env = "CONSUMACT_RECONCILE_SECS", default_value_t = 60)]
    pub reconcile_secs: u64,

    /// Signatures one member may make per minute (sustained rate).
    #[arg(long, env = "CONSUMACT_SIGN_PER_MINUTE", default_value_t = 10)]
    pub sign_per_minute: u32,

    /// Signatures one member may make in a burst.
    #[arg(long, env = "CONSUMACT_SIGN_BURST", default_value_t = 5)]
    pub sign_burst: u32,

    /// Votes one member may cast per minute.
    #[arg(long, env = "CONSUMACT_VOTE_PER_MINUTE", default_value_t = 60)]
    pub vote_per_minute: u32,

    /// Votes one member may cast in a burst.
    #[arg(long, env = "CONSUMACT_VOTE_BURST", default_value_t = 30)]
    pub vote_burst: u32,

    /// Signatures (and votes) per minute from one client address (an IPv6 /64).
    #[arg(long, env = "CONSUMACT_SIGN_IP_PER_MINUTE", default_value_t = 120)]
    pub sign_ip_per_minute: u32,

    /// Burst of signatures from one client address.
    #[arg(long, env = "CONSUMACT_SIGN_IP_BURST", default_value_t = 60)]
    pub sign_ip_burst: u32,

    /// Register and login attempts per minute from one client address.
    #[arg(long, env = "CONSUMACT_AUTH_IP_PER_MINUTE", default_value_t = 30)]
    pub auth_ip_per_minute: u32,

    /// Burst of register and login attempts from one client address.
    #[arg(long, env = "CONSUMACT_AUTH_IP_BURST", default_value_t = 10)]
    pub auth_ip_burst: u32,

    /// Header holding the client address when behind a trusted reverse proxy
    /// (e.g. `x-forwarded-for`, whose last entry is used). Unset: the socket
    /// address, which is the only safe choice without such a proxy.
    #[arg(long, env = "CONSUMACT_CLIENT_IP_HEADER")]
    pub client_ip_header: Option<String>,

    /// An address of its own for `GET /metrics` (e.g. an internal
    /// interface, `127.0.0.1:9090`); unset: served beside the API.
    #[arg(long, env = "CONSUMACT_METRICS_ADDR")]
    pub metrics_addr: Option<SocketAddr>,

    /// A bearer token `GET /metrics` asks for (`Authorization: Bearer …`);
    /// unset: the metrics are open to whoever reaches the address they are
    /// served on.
    #[arg(long, env = "CONSUMACT_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,

    /// Largest number of pooled database connections.
    #[arg(long, env = "CONSUMACT_DB_MAX_CONNECTIONS", default_value_t = 16)]
    pub db_max_connections: u32,

    /// How long a request waits for a database connection before it is
    /// answered with `UNAVAILABLE`, in milliseconds.
    #[arg(long, env = "CONSUMACT_DB_ACQUIRE_TIMEOUT_MS", default_value_t = 5_000)]
    pub db_acquire_timeout_ms: u64,

    /// On PostgreSQL, longest a statement of a request may run, in
    /// milliseconds, before the database stops it (`statement_timeout`;
    /// never longer than `CONSUMACT_REQUEST_TIMEOUT_MS`), so that a request
    /// that timed out leaves nothing running; 0: no limit. Upkeep and the
    /// operator's commands are not limited.
    #[arg(
        long,
        env = "CONSUMACT_DB_STATEMENT_TIMEOUT_MS",
        default_value_t = 9_000
    )]
    pub db_statement_timeout_ms: u64,

    /// Apply pending migrations at start-up.
    #[arg(long, env = "CONSUMACT_AUTO_MIGRATE", default_value = "true", action = ArgAction::Set, value_parser = BoolishValueParser::new())]
    pub auto_migrate: bool,

    /// Argon2 memory cost in KiB (OWASP's 19 MiB by default; tests use far less).
    #[arg(long, env = "CONSUMACT_ARGON2_MEMORY_KIB", default_value_t = 19_456)]
    pub argon2_memory_kib: u32,

    /// Argon2 iterations.
    #[arg(long, env = "CONSUMACT_ARGON2_ITERATIONS", default_value_t = 2)]
    pub argon2_iterations: u32,

    /// How long a bearer token stays valid, in hours.
    #[arg(long, env = "CONSUMACT_TOKEN_TTL_HOURS", default_value_t = 720)]
    pub token_ttl_hours: u32,

    /// Largest accepted request body, in bytes.
    #[arg(long, env = "CONSUMACT_MAX_BODY_BYTES", default_value_t = 262_144)]
    pub max_body_bytes: usize,

    /// Longest a GraphQL request may run, in milliseconds, before it is
    /// answered with `TIMEOUT`.
    #[arg(long, env = "CONSUMACT_REQUEST_TIMEOUT_MS", default_value_t = 10_000)]
    pub request_timeout_ms: u64,

    /// Browser origins allowed to call the API cross-origin, comma-separated
    /// (e.g. `https://app.example.org`); unset allows none.
    #[arg(long, env = "CONSUMACT_CORS_ORIGINS", value_delimiter = ',')]
    pub cors_origins: Vec<String>,

    /// Deepest selection set a query may nest.
    #[arg(long, env = "CONSUMACT_GRAPHQL_MAX_DEPTH", default_value_t = 12)]
    pub graphql_max_depth: usize,

    /// Largest complexity (roughly, fields resolved) a query may have.
    #[arg(
        long,
        env = "CONSUMACT_GRAPHQL_MAX_COMPLEXITY",
        default_value_t = 2_000
    )]
    pub graphql_max_complexity: usize,

    /// Deepest nesting the parser accepts (selections, lists, objects),
    /// which bounds its stack use on hostile documents.
    #[arg(long, env = "CONSUMACT_GRAPHQL_MAX_RECURSION", default_value_t = 32)]
    pub graphql_max_recursion: usize,

    /// Most directives one field may carry.
    #[arg(long, env = "CONSUMACT_GRAPHQL_MAX_DIRECTIVES", default_value_t = 16)]
    pub graphql_max_directives: usize,

    /// Most aliases one query document may use.
    #[arg(long, env = "CONSUMACT_GRAPHQL_MAX_ALIASES", default_value_t = 50)]
    pub graphql_max_aliases: usize,

    /// Most root fields one operation may select.
    #[arg(long, env = "CONSUMACT_GRAPHQL_MAX_ROOT_FIELDS", default_value_t = 20)]
    pub graphql_max_root_fields: usize,

    /// Serve GraphiQL on `GET /graphql`.
    #[arg(long, env = "CONSUMACT_GRAPHIQL", default_value = "true", action = ArgAction::Set, value_parser = BoolishValueParser::new())]
    pub graphiql: bool,

    /// Answer introspection queries.
    #[arg(long, env = "CONSUMACT_INTROSPECTION", default_value = "true", action = ArgAction::Set, value_parser = BoolishValueParser::new())]
    pub introspection: bool,

    /// Page size of a list when the client gives no `first`.
    #[arg(long, env = "CONSUMACT_PAGE_SIZE_DEFAULT", default_value_t = 20)]
    pub page_size_default: u64,

    /// Largest `first` a client may ask for.
    #[arg(long, env = "CONSUMACT_PAGE_SIZE_MAX", default_value_t = 100)]
    pub page_size_max: u64,

    /// Handle of the first admin, created (or promoted) at start-up with the
    /// email and password below. All three must be set for it to happen.
    #[arg(long, env = "CONSUMACT_ADMIN_HANDLE")]
    pub admin_handle: Option<String>,

    /// Email of the first admin.
    #[arg(long, env = "CONSUMACT_ADMIN_EMAIL")]
    pub admin_email: Option<String>,

    /// Password of the first admin.
    #[arg(long, env = "CONSUMACT_ADMIN_PASSWORD", hide_env_values = true)]
    pub admin_password: Option<String>,

    /// OpenTelemetry collector to export traces to over OTLP/HTTP, e.g.
    /// `http://127.0.0.1:4318`; unset exports nothing.
    #[arg(long, env = "CONSUMACT_OTLP_ENDPOINT", hide_env_values = true)]
    pub otlp_endpoint: Option<String>,

    /// Log format: `text` for people, `json` for log collectors.
    #[arg(long, env = "CONSUMACT_LOG_FORMAT", default_value = "text")]
    pub log_format: LogFormat,

    /// Writers of signature batches (each takes what is queued when free).
    /// Two measured best on PostgreSQL: more writers contend for the same
    /// stored rows (campaign totals, observatory atoms) and make smaller batches.
    #[arg(long, env = "CONSUMACT_SIGN_BATCH_WORKERS", default_value_t = 2, value_parser = clap::value_parser!(u16).range(1..=64).map(usize::from))]
    pub sign_batch_workers: usize,

    /// Most signatures one batch (one transaction) may write.
    #[arg(long, env = "CONSUMACT_SIGN_BATCH_MAX", default_value_t = 256, value_parser = clap::value_parser!(u16).range(1..=4096).map(usize::from))]
    pub sign_batch_max: usize,

    /// Trust ratings one member may submit per minute.
    #[arg(long, env = "CONSUMACT_RATE_PER_MINUTE", default_value_t = 10)]
    pub rate_per_minute: u32,

    /// Trust ratings one member may submit in a burst.
    #[arg(long, env = "CONSUMACT_RATE_BURST", default_value_t = 5)]
    pub rate_burst: u32,

    /// Fewest distinct members a producer-period, or any one published
    /// figure, may be built from (k-anonymity).
    #[arg(long, env = "CONSUMACT_OBSERVATORY_K", default_value_t = 10, value_parser = clap::value_parser!(u32).range(2..))]
    pub observatory_k: u32,

    /// Open the current picture (`producer`, `ranking`, `groups` and the
    /// export) to everyone; time series stay with analysts and admins.
    #[arg(long, env = "CONSUMACT_OBSERVATORY_PUBLIC", default_value = "false", action = ArgAction::Set, value_parser = BoolishValueParser::new())]
    pub observatory_public: bool,

    /// The observatory's finest period: `month` (the rating period) or
    /// `day` (finer series, more cells below k). Changing it rebuilds the
    /// rollups at start-up.
    #[arg(long, env = "CONSUMACT_OBSERVATORY_GRAIN", default_value = "month")]
    pub observatory_grain: Grain,

    /// Publish a period only once it has ended: figures then never move with
    /// one member's action of the moment (no before/after differencing), at
    /// the cost of showing the current period only when it closes.
    #[arg(long, env = "CONSUMACT_OBSERVATORY_CLOSED_PERIODS", default_value = "false", action = ArgAction::Set, value_parser = BoolishValueParser::new())]
    pub observatory_closed_periods: bool,

    /// Most points one time series may return.
    #[arg(long, env = "CONSUMACT_OBSERVATORY_MAX_POINTS", default_value_t = 400)]
    pub observatory_max_points: usize,

    /// Prior mean of the trust index, 0–100: where a producer with few
    /// ratings sits.
    #[arg(long, env = "CONSUMACT_TRUST_PRIOR_MEAN", default_value_t = 50.0)]
    pub trust_prior_mean: f64,

    /// Weight of the prior, in ratings: how many ratings it takes to move
    /// the index halfway from the prior to the ratings' own mean.
    #[arg(long, env = "CONSUMACT_TRUST_PRIOR_WEIGHT", default_value_t = 20.0)]
    pub trust_prior_weight: f64,

    /// `required`: a member's signature counts only once their e-mail
    /// address is confirmed, and pledges, votes, ratings and proposals need a
    /// confirmed address. `off`: every member counts as confirmed.
    #[arg(long, env = "CONSUMACT_EMAIL_CONFIRMATION", default_value = "required")]
    pub email_confirmation: EmailConfirmation,

    /// How long a confirmation link stays valid, in hours; pending
    /// signatures of members who never confirm are removed after it.
    #[arg(long, env = "CONSUMACT_CONFIRM_TTL_HOURS", default_value_t = 48, value_parser = clap::value_parser!(u32).range(1..=8760))]
    pub confirm_ttl_hours: u32,

    /// Base of the links in mails (`…/confirm-email`, `…/reset-password`);
    /// unset: `http://` + the address the server listens on.
    #[arg(long, env = "CONSUMACT_PUBLIC_URL")]
    pub public_url: Option<String>,

    /// SMTP server mail is sent through: `smtp://host:25` (plain),
    /// `smtp://host:587?tls=required` (STARTTLS), `smtps://user:pass@host`
    /// (implicit TLS). Unset: mail is written as `.eml` files instead.
    #[arg(long, env = "CONSUMACT_SMTP_URL", hide_env_values = true)]
    pub smtp_url: Option<String>,

    /// PEM file of certificates to trust for the SMTP server's TLS besides
    /// the public roots (a private CA, or the server's own certificate).
    #[arg(long, env = "CONSUMACT_SMTP_CA_FILE")]
    pub smtp_ca_file: Option<PathBuf>,

    /// Where mail goes as `.eml` files when no SMTP server is set; unset:
    /// `mail/` in the data directory.
    #[arg(long, env = "CONSUMACT_MAIL_DIR")]
    pub mail_dir: Option<PathBuf>,

    /// The sender of every mail.
    #[arg(
        long,
        env = "CONSUMACT_MAIL_FROM",
        default_value = "Consumact <no-reply@consumact.localhost>"
    )]
    pub mail_from: String,

    /// Longest one SMTP delivery may take, in seconds.
    #[arg(long, env = "CONSUMACT_SMTP_TIMEOUT_SECS", default_value_t = 20)]
    pub smtp_timeout_secs: u64,

    /// How often an outbox worker looks for due messages, in ms (a message
    /// written by this instance wakes it at once).
    #[arg(long, env = "CONSUMACT_OUTBOX_POLL_MS", default_value_t = 1_000)]
    pub outbox_poll_ms: u64,

    /// How long a worker holds the messages it claimed before another
    /// worker (of any instance) may take them, in seconds.
    #[arg(long, env = "CONSUMACT_OUTBOX_LEASE_SECS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..))]
    pub outbox_lease_secs: u64,

    /// First retry delay after a failed delivery, in ms; doubled at each
    /// further failure (with jitter), at most one hour.
    #[arg(long, env = "CONSUMACT_OUTBOX_RETRY_BASE_MS", default_value_t = 5_000)]
    pub outbox_retry_base_ms: u64,

    /// Delivery attempts before a message is given up.
    #[arg(long, env = "CONSUMACT_OUTBOX_MAX_ATTEMPTS", default_value_t = 12, value_parser = clap::value_parser!(u32).range(1..))]
    pub outbox_max_attempts: u32,

    /// Days a sent (or given up) outbox message is kept before it is deleted.
    #[arg(long, env = "CONSUMACT_OUTBOX_KEEP_DAYS", default_value_t = 7, value_parser = clap::value_parser!(u32).range(1..))]
    pub outbox_keep_days: u32,

    /// Key of the HMAC that turns a signer's network into a signature's
    /// source key. Unset: one generated into `source.key` in the data
    /// directory. Instances sharing a database must share it.
    #[arg(long, env = "CONSUMACT_SOURCE_KEY", hide_env_values = true)]
    pub source_key: Option<String>,

    /// Signatures from one source (network) or e-mail domain on one campaign
    /// within the trending window that raise a fraud signal; 0 turns
    /// surge detection off.
    #[arg(long, env = "CONSUMACT_TRENDING_THRESHOLD", default_value_t = 50)]
    pub trending_threshold: u32,

    /// The trending window, in seconds.
    #[arg(long, env = "CONSUMACT_TRENDING_WINDOW_SECS", default_value_t = 300, value_parser = clap::value_parser!(u64).range(1..))]
    pub trending_window_secs: u64,

    /// Hold further signatures from a trending source or domain `PENDING`
    /// until a moderator decides.
    #[arg(long, env = "CONSUMACT_HOLD_TRENDING", default_value = "false", action = ArgAction::Set, value_parser = BoolishValueParser::new())]
    pub hold_trending: bool,

    /// Days after a campaign ends before its signatures lose their member,
    /// comment and source (counts, territory and dates stay).
    #[arg(long, env = "CONSUMACT_RETENTION_DAYS", default_value_t = 180)]
    pub retention_days: u32,

    /// Confirmed members who must back a campaign before it opens (0: none).
    #[arg(long, env = "CONSUMACT_CAMPAIGN_SPONSORS", default_value_t = 0)]
    pub campaign_sponsors: u32,

    /// A moderator approves each campaign before it opens.
    #[arg(long, env = "CONSUMACT_CAMPAIGN_REVIEW", default_value = "false", action = ArgAction::Set, value_parser = BoolishValueParser::new())]
    pub campaign_review: bool,

    /// First retry delay after a failed webhook attempt, in ms; doubled at
    /// each further failure (with jitter), at most one hour between tries.
    #[arg(long, env = "CONSUMACT_WEBHOOK_RETRY_BASE_MS", default_value_t = 5_000)]
    pub webhook_retry_base_ms: u64,

    /// Hours an event is retried for before its delivery is given up.
    #[arg(long, env = "CONSUMACT_WEBHOOK_RETRY_HOURS", default_value_t = 24, value_parser = clap::value_parser!(u32).range(1..))]
    pub webhook_retry_hours: u32,

    /// Time one webhook attempt may take (connect, send, answer), in ms.
    #[arg(long, env = "CONSUMACT_WEBHOOK_TIMEOUT_MS", default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub webhook_timeout_ms: u64,

    /// Consecutive failed attempts after which an endpoint is disabled (and
    /// its owner mailed).
    #[arg(long, env = "CONSUMACT_WEBHOOK_MAX_FAILURES", default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..))]
    pub webhook_max_failures: u32,

    /// Let webhooks reach loopback, private, link-local and metadata
    /// addresses (tests and closed networks only).
    #[arg(long, env = "CONSUMACT_WEBHOOK_ALLOW_PRIVATE", default_value = "false", action = ArgAction::Set, value_parser = BoolishValueParser::new())]
    pub webhook_allow_private: bool,

    /// Seconds a notification digest waits after its first event, gathering
    /// the next ones into the same mail.
    #[arg(long, env = "CONSUMACT_NOTIFY_DELAY_SECS", default_value_t = 300)]
    pub notify_delay_secs: u64,

    /// Least time between two digests of one campaign to one member, in
    /// seconds (a day: at most one mail per campaign per member per day).
    #[arg(long, env = "CONSUMACT_NOTIFY_INTERVAL_SECS", default_value_t = 86_400)]
    pub notify_interval_secs: u64,

    /// `discover`: weight of shared values (per value, at most three).
    #[arg(long, env = "CONSUMACT_DISCOVER_VALUE_WEIGHT", default_value_t = 3.0)]
    pub discover_value_weight: f64,

    /// `discover`: weight of the same territory (same place 1, same country ½).
    #[arg(
        long,
        env = "CONSUMACT_DISCOVER_TERRITORY_WEIGHT",
        default_value_t = 2.0
    )]
    pub discover_territory_weight: f64,

    /// `discover`: weight of a campaign in one of the viewer's communities.
    #[arg(
        long,
        env = "CONSUMACT_DISCOVER_COMMUNITY_WEIGHT",
        default_value_t = 2.0
    )]
    pub discover_community_weight: f64,

    /// `discover`: weight of momentum (1 000 actions a day count fully).
    #[arg(
        long,
        env = "CONSUMACT_DISCOVER_MOMENTUM_WEIGHT",
        default_value_t = 1.5
    )]
    pub discover_momentum_weight: f64,

    /// `discover`: weight of a deadline coming up.
    #[arg(long, env = "CONSUMACT_DISCOVER_CLOSING_WEIGHT", default_value_t = 1.0)]
    pub discover_closing_weight: f64,

    /// `discover`: weight of freshness.
    #[arg(
        long,
        env = "CONSUMACT_DISCOVER_FRESHNESS_WEIGHT",
        default_value_t = 1.0
    )]
    pub discover_freshness_weight: f64,

    /// `discover`: days before its deadline from which a campaign is closing soon.
    #[arg(long, env = "CONSUMACT_DISCOVER_CLOSING_DAYS", default_value_t = 14, value_parser = clap::value_parser!(u32).range(1..))]
    pub discover_closing_days: u32,

    /// `discover`: days over which freshness fades (to 1/e), and within
    /// which something counts as new.
    #[arg(long, env = "CONSUMACT_DISCOVER_FRESH_DAYS", default_value_t = 7, value_parser = clap::value_parser!(u32).range(1..))]
    pub discover_fresh_days: u32,

    /// `discover`: momentum (actions in about the last day) from which
    /// `TRENDING` is given as a reason.
    #[arg(long, env = "CONSUMACT_DISCOVER_TRENDING_MIN", default_value_t = 5.0)]
    pub discover_trending_min: f64,

    /// `discover`: candidates taken from each index-backed list before
    /// scoring; pages end when they are used up.
    #[arg(long, env = "CONSUMACT_DISCOVER_CANDIDATES", default_value_t = 100, value_parser = clap::value_parser!(u64).range(10..=5_000))]
    pub discover_candidates: u64,

    /// Seconds an in-process cache entry (a token's member, a campaign)
    /// lives at most; changes reach every instance sooner, by
    /// invalidation. 0 turns these caches off.
    #[arg(long, env = "CONSUMACT_CACHE_TTL_SECS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(0..=86_400))]
    pub cache_ttl_secs: u64,

    /// Milliseconds a campaign's live counters, read from Redis, answer
    /// reads from memory; changes announced by any instance update them
    /// sooner. 0 reads Redis every time.
    #[arg(long, env = "CONSUMACT_COUNTER_CACHE_MS", default_value_t = 1_000, value_parser = clap::value_parser!(u64).range(0..=60_000))]
    pub counter_cache_ms: u64,

    /// Seconds a shared cache (reverse proxy, CDN) may keep an anonymous
    /// `GET /graphql` answer (`Cache-Control: public, max-age`); 0 marks
    /// them `no-store`.
    #[arg(long, env = "CONSUMACT_PUBLIC_MAX_AGE_SECS", default_value_t = 1, value_parser = clap::value_parser!(u64).range(0..=86_400))]
    pub public_max_age_secs: u64,
}

/// The observatory's finest period.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Grain {
    Day,
    Month,
}

impl Grain {
    /// The name stored beside the rollups.
    pub fn as_str(self) -> &'static str {
        match self {
            Grain::Day => "day",
            Grain::Month => "month",
        }
    }
}

/// Whether signatures wait for a confirmed e-mail address.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum EmailConfirmation {
    Required,
    Off,
}

/// How log lines are written.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

impl Config {
    /// Where `.eml` files go when no SMTP server is set.
    pub fn mail_dir(&self) -> PathBuf {
        self.mail_dir
            .clone()
            .unwrap_or_else(|| self.data_dir.join("mail"))
    }

    /// Whether members must confirm their address before their actions count.
    pub fn confirmation_required(&self) -> bool {
        self.email_confirmation == EmailConfirmation::Required
    }

    /// Parse a configuration from command-line style arguments (the first one is
    /// the program name), with the environment filling what they leave out.
    pub fn from_args<I, T>(args: I) -> Result<Self, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        #[derive(clap::Parser)]
        struct Wrapper {
            #[command(flatten)]
            config: Config,
        }
        use clap::Parser;
        Wrapper::try_parse_from(args).map(|wrapper| wrapper.config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_serve_embedded_on_loopback() {
        let config = Config::from_args(["consumact"]).unwrap();
        assert_eq!(config.addr.port(), 8080);
        assert!(config.addr.ip().is_loopback());
        assert!(config.auto_migrate);
        assert_eq!(config.page_size_max, 100);
    }

    #[test]
    fn help_never_prints_the_value_of_a_secret() {
        use clap::Args;
        let command = Config::augment_args(clap::Command::new("consumact"));
        // URLs may carry a password, and the rest are secrets themselves;
        // the public URL is printed in every mail anyway.
        let secret = |name: &str| {
            name != "public_url"
                && ["_url", "password", "_key", "_token", "_endpoint"]
                    .iter()
                    .any(|word| name.ends_with(word))
        };
        let exposed: Vec<_> = command
            .get_arguments()
            .filter(|arg| arg.get_env().is_some() && secret(arg.get_id().as_str()))
            .filter(|arg| !arg.is_hide_env_values_set())
            .map(|arg| arg.get_id().to_string())
            .collect();
        assert!(
            exposed.is_empty(),
            "{exposed:?} print their value in --help"
        );
    }

    #[test]
    fn booleans_accept_common_spellings() {
        let config = Config::from_args(["consumact", "--auto-migrate", "no"]).unwrap();
        assert!(!config.auto_migrate);
    }
}
