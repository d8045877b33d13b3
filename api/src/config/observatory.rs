//! The observatory's settings: its finest period, and how it protects its
//! members (k-anonymous suppression, or a differentially private release
//! with a published budget, `service::observatory::release`, flattened
//! into [`Config`](super::Config) as `config.privacy`).

use clap::builder::BoolishValueParser;
use clap::{ArgAction, Args};

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

/// The observatory's release mode.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum PrivacyMode {
    /// k-anonymity: atoms of fewer than k members enter no figure.
    Suppression,
    /// Differential privacy: closed months released once, with noise from a
    /// zCDP budget, then frozen.
    Dp,
}

/// A positive decimal kept exactly (`0.5` is 5/10), for privacy budgets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decimal {
    pub text: String,
    pub num: u64,
    pub den: u64,
}

impl Decimal {
    pub fn value(&self) -> f64 {
        self.num as f64 / self.den as f64
    }
}

impl std::str::FromStr for Decimal {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
        let digits = |part: &str| part.chars().all(|c| c.is_ascii_digit());
        if whole.is_empty() || !digits(whole) || !digits(fraction) || fraction.len() > 6 {
            return Err(format!(
                "{text:?} is not a decimal such as 0.5 (at most 6 decimal places)"
            ));
        }
        let den = 10u64.pow(fraction.len() as u32);
        let num: u64 = format!("{whole}{fraction}")
            .parse()
            .map_err(|_| format!("{text:?} is too large"))?;
        if num == 0 || num > 1_000 * den {
            return Err(format!("{text:?} must be above 0 and at most 1000"));
        }
        Ok(Decimal {
            text: text.to_owned(),
            num,
            den,
        })
    }
}

/// The observatory's privacy settings; each field is a `--flag` and an
/// environment variable.
#[derive(Args, Clone, Debug)]
pub struct Privacy {
    /// `suppression` (k-anonymous cells, `CONSUMACT_OBSERVATORY_K`) or `dp`
    /// (closed months released once with calibrated noise and frozen; see
    /// the observatory's method in README).
    #[arg(
        long,
        env = "CONSUMACT_OBSERVATORY_PRIVACY",
        default_value = "suppression"
    )]
    pub observatory_privacy: PrivacyMode,

    /// The zCDP budget ρ one month's release spends, split across its
    /// measures (docs/observatory.md); an exact decimal.
    #[arg(long, env = "CONSUMACT_DP_RHO", default_value = "0.5")]
    pub dp_rho: Decimal,

    /// The total ρ all releases together may spend; a release that would
    /// pass it is refused, and the ledger says why.
    #[arg(long, env = "CONSUMACT_DP_RHO_TOTAL", default_value = "12")]
    pub dp_rho_total: Decimal,

    /// Most producers one member counts for in one month's release; a
    /// member active on more counts for that many, chosen at random.
    #[arg(long, env = "CONSUMACT_DP_MAX_PRODUCERS", default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub dp_max_producers: u32,

    /// Cap on one member's monthly amounts pledged to one producer in one
    /// month, in cents (released in whole units of 100 cents).
    #[arg(long, env = "CONSUMACT_DP_PLEDGE_CAP_CENTS", default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(100..=10_000_000))]
    pub dp_pledge_cap_cents: u64,

    /// Release each closed month as soon as a server sees it closed; off,
    /// only `consumact observatory-release` releases.
    #[arg(long, env = "CONSUMACT_DP_AUTO_RELEASE", default_value = "true", action = ArgAction::Set, value_parser = BoolishValueParser::new())]
    pub dp_auto_release: bool,
}

impl Privacy {
    pub fn dp(&self) -> bool {
        self.observatory_privacy == PrivacyMode::Dp
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budgets_are_exact_decimals() {
        let half: Decimal = "0.5".parse().unwrap();
        assert_eq!((half.num, half.den), (5, 10));
        let twelve: Decimal = "12".parse().unwrap();
        assert_eq!((twelve.num, twelve.den), (12, 1));
        for bad in ["0", "-1", "1e3", "0.1234567", "", ".5", "abc", "2000"] {
            assert!(bad.parse::<Decimal>().is_err(), "{bad} was accepted");
        }
    }
}
