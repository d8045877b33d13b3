//! When a campaign obliges its producer to answer: the response threshold,
//! how long the producer has, the reminder and the one extension it may
//! ask for (`service::signing::response_request`). Flattened into
//! [`Config`](super::Config) as `config.responses`.

use clap::Args;

/// The response request's settings; each field is a `--flag` and an
/// environment variable.
#[derive(Args, Clone, Debug)]
pub struct Responses {
    /// Counted signatures (online and verified offline) at which a campaign
    /// requests an answer from its producer, unless its organiser set a
    /// higher threshold.
    #[arg(long, env = "CONSUMACT_RESPONSE_THRESHOLD", default_value_t = 1_000, value_parser = clap::value_parser!(u32).range(1..))]
    pub response_threshold: u32,

    /// The lowest threshold an organiser may set for a campaign.
    #[arg(long, env = "CONSUMACT_RESPONSE_THRESHOLD_MIN", default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..))]
    pub response_threshold_min: u32,

    /// Days the producer has to answer once a response is requested (0: due
    /// at once, for demonstrations and tests of the overdue state).
    #[arg(long, env = "CONSUMACT_RESPONSE_DAYS", default_value_t = 30, value_parser = clap::value_parser!(u32).range(0..=365))]
    pub response_days: u32,

    /// Days before the due date at which the producer's representatives
    /// are reminded.
    #[arg(long, env = "CONSUMACT_RESPONSE_REMINDER_DAYS", default_value_t = 7, value_parser = clap::value_parser!(u32).range(0..=365))]
    pub response_reminder_days: u32,

    /// Days one extension, which a representative may ask for once per
    /// request, adds to the due date.
    #[arg(long, env = "CONSUMACT_RESPONSE_EXTENSION_DAYS", default_value_t = 14, value_parser = clap::value_parser!(u32).range(1..=365))]
    pub response_extension_days: u32,
}
