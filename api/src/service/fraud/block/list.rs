//! The block-list as every instance holds it in memory: rules parsed into
//! matchers (address ranges as 128-bit masks, IPv4 mapped into IPv6, and
//! domains), checked without a round trip. Hand-written: a CIDR here is a
//! mask and a comparison, which the parser below validates as strictly as
//! a crate would (host bits must be zero), and the domain rules are ours.

use std::net::IpAddr;
use std::sync::{Arc, RwLock};

use chrono::{DateTime, Utc};
use entities::block_rule::{self, BlockKind};
use sea_orm::{ConnectionTrait, EntityTrait};

use crate::error::{AppError, Result};
use crate::service::validate;

/// The canonical form of a rule's pattern (`BAD_USER_INPUT` when it does
/// not parse), as it is stored.
pub(super) fn normalise(kind: BlockKind, pattern: &str) -> Result<String> {
    parse(kind, pattern).map(|(_, pattern)| pattern)
}

/// A rule ready to match.
#[derive(Clone, Debug)]
struct Rule {
    matcher: Matcher,
    allow: bool,
    expires_at: Option<DateTime<Utc>>,
}

#[derive(Clone, Debug, PartialEq)]
enum Matcher {
    /// Network address and prefix length, as bits of a 128-bit value (IPv4
    /// mapped into IPv6, so one comparison serves both).
    Range { network: u128, bits: u32 },
    /// A domain, or (`subdomains`) everything below it.
    Domain { domain: String, subdomains: bool },
}

fn as_v6_bits(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(v4) => u128::from(v4.to_ipv6_mapped()),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => u128::from(v4.to_ipv6_mapped()),
            None => u128::from(v6),
        },
    }
}

fn mask(bits: u32) -> u128 {
    if bits == 0 {
        0
    } else {
        u128::MAX << (128 - bits)
    }
}

/// Parses a pattern of `kind` into its matcher and its normalised text.
fn parse(kind: BlockKind, pattern: &str) -> Result<(Matcher, String)> {
    let pattern = pattern.trim().to_lowercase();
    let invalid = |why: &str| AppError::invalid("input.pattern", why.to_owned());
    match kind {
        BlockKind::IpRange => {
            let (address, length) = match pattern.split_once('/') {
                Some((address, length)) => (address, Some(length)),
                None => (pattern.as_str(), None),
            };
            let ip: IpAddr = address
                .parse()
                .map_err(|_| invalid("input.pattern must be an address or a CIDR range"))?;
            let max = if ip.is_ipv4() { 32 } else { 128 };
            let length: u32 = match length {
                Some(length) => length
                    .parse()
                    .ok()
                    .filter(|length| *length <= max)
                    .ok_or_else(|| invalid("input.pattern has an invalid prefix length"))?,
                None => max,
            };
            if length < max / 4 {
                return Err(invalid(
                    "input.pattern is too wide (at least /8 for IPv4, /32 for IPv6)",
                ));
            }
            let bits = if ip.is_ipv4() { 96 + length } else { length };
            let network = as_v6_bits(ip) & mask(bits);
            let shown = match ip {
                IpAddr::V4(_) => {
                    let v4 = std::net::Ipv6Addr::from(network)
                        .to_ipv4_mapped()
                        .map(IpAddr::V4)
                        .unwrap_or(ip);
                    format!("{v4}/{length}")
                }
                IpAddr::V6(_) => format!("{}/{length}", std::net::Ipv6Addr::from(network)),
            };
            Ok((Matcher::Range { network, bits }, shown))
        }
        BlockKind::EmailDomain => {
            let (domain, subdomains) = match pattern.strip_prefix("*.") {
                Some(rest) => (rest.to_owned(), true),
                None => (pattern.clone(), false),
            };
            let valid = domain.contains('.')
                && domain.len() <= 253
                && domain.split('.').all(|label| {
                    !label.is_empty()
                        && label.len() <= 63
                        && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                });
            if !valid {
                return Err(invalid(
                    "input.pattern must be a domain such as `example.org` or `*.example.org`",
                ));
            }
            Ok((Matcher::Domain { domain, subdomains }, pattern))
        }
    }
}

impl Matcher {
    fn matches(&self, ip: Option<IpAddr>, domain: Option<&str>) -> bool {
        match self {
            Matcher::Range { network, bits } => {
                ip.is_some_and(|ip| as_v6_bits(ip) & mask(*bits) == *network)
            }
            Matcher::Domain {
                domain: rule,
                subdomains,
            } => domain.is_some_and(|domain| {
                if *subdomains {
                    domain
                        .strip_suffix(rule.as_str())
                        .is_some_and(|head| head.ends_with('.'))
                } else {
                    domain == rule
                }
            }),
        }
    }

    fn kind(&self) -> BlockKind {
        match self {
            Matcher::Range { .. } => BlockKind::IpRange,
            Matcher::Domain { .. } => BlockKind::EmailDomain,
        }
    }
}

/// The rules in force on this instance.
#[derive(Default)]
pub struct BlockList {
    rules: RwLock<Arc<Vec<Rule>>>,
}

impl BlockList {
    /// Replaces the rules with the database's.
    pub async fn reload(&self, db: &impl ConnectionTrait) -> Result<usize> {
        let rows = block_rule::Entity::find().all(db).await?;
        let rules: Vec<Rule> = rows
            .iter()
            .filter_map(|row| {
                let (matcher, _) = parse(row.kind, &row.pattern).ok()?;
                Some(Rule {
                    matcher,
                    allow: row.allow,
                    expires_at: row.expires_at,
                })
            })
            .collect();
        let count = rules.len();
        *self.rules.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(rules);
        Ok(count)
    }

    /// `FORBIDDEN` (reason `BLOCKED`) when a block rule matches the client
    /// address or the e-mail domain and no allow rule of its kind does.
    pub fn check(&self, ip: Option<IpAddr>, domain: Option<&str>) -> Result<()> {
        let rules = self.rules.read().unwrap_or_else(|e| e.into_inner()).clone();
        if rules.is_empty() {
            return Ok(());
        }
        let now = validate::now();
        let live = |rule: &&Rule| rule.expires_at.is_none_or(|at| at > now);
        for kind in [BlockKind::IpRange, BlockKind::EmailDomain] {
            let of_kind = || {
                rules
                    .iter()
                    .filter(live)
                    .filter(|r| r.matcher.kind() == kind)
            };
            let blocked = of_kind().any(|r| !r.allow && r.matcher.matches(ip, domain));
            if blocked && !of_kind().any(|r| r.allow && r.matcher.matches(ip, domain)) {
                return Err(AppError::Refused {
                    reason: "BLOCKED",
                    message: "requests from this network or e-mail domain are not accepted".into(),
                });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(rules: &[(BlockKind, &str, bool)]) -> BlockList {
        let rules = rules
            .iter()
            .map(|(kind, pattern, allow)| Rule {
                matcher: parse(*kind, pattern).unwrap().0,
                allow: *allow,
                expires_at: None,
            })
            .collect();
        BlockList {
            rules: RwLock::new(Arc::new(rules)),
        }
    }

    fn ip(text: &str) -> Option<IpAddr> {
        Some(text.parse().unwrap())
    }

    #[test]
    fn ranges_match_their_addresses_only() {
        let blocks = list(&[
            (BlockKind::IpRange, "198.51.100.0/24", false),
            (BlockKind::IpRange, "2001:db8:bad::/48", false),
        ]);
        assert!(blocks.check(ip("198.51.100.9"), None).is_err());
        assert!(blocks.check(ip("::ffff:198.51.100.9"), None).is_err());
        assert!(blocks.check(ip("198.51.101.9"), None).is_ok());
        assert!(blocks.check(ip("2001:db8:bad:1::1"), None).is_err());
        assert!(blocks.check(ip("2001:db8:bae::1"), None).is_ok());
        assert!(blocks.check(None, Some("example.org")).is_ok());
    }

    #[test]
    fn an_allow_rule_overrides_blocks_of_its_kind() {
        let blocks = list(&[
            (BlockKind::IpRange, "10.0.0.0/8", false),
            (BlockKind::IpRange, "10.1.2.0/24", true),
            (BlockKind::EmailDomain, "*.throwaway.test", false),
            (BlockKind::EmailDomain, "club.throwaway.test", true),
        ]);
        assert!(blocks.check(ip("10.9.9.9"), None).is_err());
        assert!(blocks.check(ip("10.1.2.3"), None).is_ok());
        assert!(blocks.check(None, Some("a.throwaway.test")).is_err());
        assert!(blocks.check(None, Some("club.throwaway.test")).is_ok());
        // `*.` covers subdomains, not the domain itself.
        assert!(blocks.check(None, Some("throwaway.test")).is_ok());
        // An allowed address does not lift a blocked domain.
        assert!(
            blocks
                .check(ip("10.1.2.3"), Some("x.throwaway.test"))
                .is_err()
        );
    }

    #[test]
    fn patterns_are_checked_and_normalised() {
        let (_, shown) = parse(BlockKind::IpRange, "198.51.100.77/24").unwrap();
        assert_eq!(shown, "198.51.100.0/24");
        let (_, shown) = parse(BlockKind::IpRange, "2001:DB8::1").unwrap();
        assert_eq!(shown, "2001:db8::1/128");
        assert!(parse(BlockKind::IpRange, "0.0.0.0/0").is_err());
        assert!(parse(BlockKind::IpRange, "198.51.100.0/33").is_err());
        assert!(parse(BlockKind::IpRange, "example.org").is_err());
        let (_, shown) = parse(BlockKind::EmailDomain, " *.Mailinator.COM ").unwrap();
        assert_eq!(shown, "*.mailinator.com");
        assert!(parse(BlockKind::EmailDomain, "not a domain").is_err());
        assert!(parse(BlockKind::EmailDomain, "localhost").is_err());
    }
}
