//! The limits of the request policy (`http::policy`) and of what members
//! may create: websockets, password hashing, failed logins, mails asked for
//! again, content creation, webhooks, persisted queries, freed handles,
//! offline tallies. Flattened
//! into [`Config`](super::Config) as `config.limits`, with the same flags and
//! environment variables, kept apart so that `config.rs` stays readable.

use clap::Args;

/// Limits of the request policy; each field is a `--flag` and an
/// environment variable.
#[derive(Args, Clone, Debug)]
pub struct Limits {
    /// Websockets one client address (an IPv6 /64) may hold open at once;
    /// past it the upgrade answers HTTP 429.
    #[arg(long, env = "CONSUMACT_WS_MAX_PER_ADDRESS", default_value_t = 100)]
    pub ws_max_per_address: u32,

    /// Queries and mutations one websocket may run at once; past it an
    /// operation gets an `error` with code `RATE_LIMITED`.
    #[arg(long, env = "CONSUMACT_WS_MAX_IN_FLIGHT", default_value_t = 8)]
    pub ws_max_in_flight: u32,

    /// Subscriptions one websocket may hold at once; past it a subscription
    /// gets an `error` with code `RATE_LIMITED`.
    #[arg(long, env = "CONSUMACT_WS_MAX_SUBSCRIPTIONS", default_value_t = 20)]
    pub ws_max_subscriptions: u32,

    /// Anonymous subscribers of the same document and variables share one
    /// execution and one serialised frame per event (`http::websocket::shared`);
    /// off, each runs its own.
    #[arg(long, env = "CONSUMACT_WS_SHARED_FEEDS", default_value = "true", action = clap::ArgAction::Set, value_parser = clap::builder::BoolishValueParser::new())]
    pub ws_shared_feeds: bool,

    /// How long a websocket may wait before `connection_init`, in
    /// milliseconds (then it is closed with 4408).
    #[arg(long, env = "CONSUMACT_WS_INIT_TIMEOUT_MS", default_value_t = 10_000)]
    pub ws_init_timeout_ms: u64,

    /// Seconds between the server's keep-alive pings on a websocket (0: none).
    /// A `graphql-transport-ws` client that answers nothing for three of
    /// them is closed.
    #[arg(long, env = "CONSUMACT_WS_PING_SECS", default_value_t = 30)]
    pub ws_ping_secs: u64,

    /// Seconds a websocket may stay open with nothing running before it is
    /// closed.
    #[arg(long, env = "CONSUMACT_WS_IDLE_SECS", default_value_t = 300)]
    pub ws_idle_secs: u64,

    /// Longest a websocket stays open, in seconds; the client connects again.
    #[arg(long, env = "CONSUMACT_WS_MAX_AGE_SECS", default_value_t = 86_400)]
    pub ws_max_age_secs: u64,

    /// Password hashes (login, registration, resets) computed at once, each
    /// holding its Argon2 memory; 0: one per core.
    #[arg(long, env = "CONSUMACT_HASH_CONCURRENCY", default_value_t = 0)]
    pub hash_concurrency: usize,

    /// Password hashes that may wait for a place; past that a login or
    /// registration answers `RATE_LIMITED` at once.
    #[arg(long, env = "CONSUMACT_HASH_QUEUE", default_value_t = 256)]
    pub hash_queue: usize,

    /// Pieces of content one member may create per hour (campaigns,
    /// producers, communities, proposals, updates, flags and producer claims
    /// together); past it `RATE_LIMITED`.
    #[arg(long, env = "CONSUMACT_CREATE_PER_HOUR", default_value_t = 60)]
    pub create_per_hour: u32,

    /// Pieces of content one member may create in a burst.
    #[arg(long, env = "CONSUMACT_CREATE_BURST", default_value_t = 20)]
    pub create_burst: u32,

    /// Bytes of automatic persisted query texts kept per instance (the least
    /// recently used go first); a text is kept only once it parsed and
    /// validated.
    #[arg(long, env = "CONSUMACT_PERSISTED_QUERIES_BYTES", default_value_t = 16 * 1024 * 1024)]
    pub persisted_queries_bytes: usize,

    /// Bytes of parsed and validated GraphQL documents kept per instance
    /// (the least recently used go first; a document costs about ten
    /// times its text): a document seen before is neither parsed nor fully
    /// validated again. 0 turns the cache off.
    #[arg(long, env = "CONSUMACT_DOCUMENT_CACHE_BYTES", default_value_t = 16 * 1024 * 1024)]
    pub document_cache_bytes: usize,

    /// Days a handle given up by an erased account stays refused to new
    /// accounts (0: free at once).
    #[arg(long, env = "CONSUMACT_HANDLE_QUARANTINE_DAYS", default_value_t = 90)]
    pub handle_quarantine_days: u32,

    /// Offline signatures one campaign may hold in its tallies, pending or
    /// verified; past it recording answers `CONFLICT`.
    #[arg(
        long,
        env = "CONSUMACT_OFFLINE_TALLY_CAMPAIGN_MAX",
        default_value_t = 100_000
    )]
    pub offline_tally_campaign_max: u32,

    /// Offline tallies one campaign may have recorded in 24 hours; past it
    /// `RATE_LIMITED`.
    #[arg(long, env = "CONSUMACT_OFFLINE_TALLIES_PER_DAY", default_value_t = 20)]
    pub offline_tallies_per_day: u32,

    /// The first wait, in seconds, once an account's failures from one
    /// network pass `CONSUMACT_LOGIN_FAILURES_PER_ACCOUNT`.
    #[arg(long, env = "CONSUMACT_LOGIN_DELAY_SECS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..))]
    pub login_delay_secs: u64,

    /// Failed logins one account accepts from one network (an IPv4 /24, an
    /// IPv6 /48) before each further attempt from that network waits
    /// `CONSUMACT_LOGIN_DELAY_SECS`, doubling up to 15 minutes. Other networks
    /// are not slowed; a success or a password reset lifts it.
    #[arg(long, env = "CONSUMACT_LOGIN_FAILURES_PER_ACCOUNT", default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..))]
    pub login_failures_per_account: u32,

    /// Catalogue proposals and ownership disputes one member may file per
    /// day (`proposeProduct`, `proposeBrand`, `proposeOwnership`,
    /// `disputeOwnership`).
    #[arg(long, env = "CONSUMACT_CATALOGUE_PROPOSALS_PER_DAY", default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..))]
    pub catalogue_proposals_per_day: u32,

    /// Largest number of signatures one offline tally may record.
    #[arg(long, env = "CONSUMACT_OFFLINE_TALLY_MAX", default_value_t = 100_000, value_parser = clap::value_parser!(u32).range(1..))]
    pub offline_tally_max: u32,

    /// Confirmation mails one member may ask to be sent again per hour.
    #[arg(long, env = "CONSUMACT_RESEND_PER_HOUR", default_value_t = 3)]
    pub resend_per_hour: u32,

    /// `testWebhook` calls one member may make per hour.
    #[arg(long, env = "CONSUMACT_WEBHOOK_TESTS_PER_HOUR", default_value_t = 30)]
    pub webhook_tests_per_hour: u32,

    /// Webhooks one member may register.
    #[arg(long, env = "CONSUMACT_WEBHOOKS_PER_MEMBER", default_value_t = 20)]
    pub webhooks_per_member: u32,
}
