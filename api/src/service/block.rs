//! The block-list: address ranges (CIDR) and e-mail domains (`*.` for all
//! subdomains) refused at registration and signing, and allow rules that
//! let through what they match despite block rules of the same kind.
//!
//! Every instance keeps the rules in memory, so a check costs no round
//! trip; a change is written to the database, audit-logged, and announced
//! on the event bus (Redis pub/sub across instances), on which every
//! instance reloads them. A periodic reload covers an announcement lost
//! while Redis was away. Expired rules stop applying at once, without a
//! reload.

use std::net::IpAddr;
use std::sync::{Arc, RwLock};

use chrono::{DateTime, Utc};
use entities::block_rule::{self, BlockKind};
use sea_orm::{ActiveModelTrait, ConnectionTrait, EntityTrait, QueryOrder, Select, Set};
use uuid::Uuid;

use crate::error::{AppError, Result};
use crate::events::Reload;
use crate::service::viewer::Viewer;
use crate::service::{audit, validate};
use crate::state::AppState;

/// What `add` needs.
pub struct NewRule {
    pub kind: BlockKind,
    pub pattern: String,
    pub allow: bool,
    pub reason: String,
    pub expires_at: Option<DateTime<Utc>>,
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

fn require_admin(actor: Viewer) -> Result<()> {
    if actor.is_admin() {
        Ok(())
    } else {
        Err(AppError::Forbidden(
            "only an admin manages block rules".into(),
        ))
    }
}

/// Adds a rule (admins only), audit-logged, in force on every instance
/// within a second.
pub async fn add(state: &AppState, actor: Viewer, input: NewRule) -> Result<block_rule::Model> {
    require_admin(actor)?;
    let (_, pattern) = parse(input.kind, &input.pattern)?;
    let reason = validate::text("input.reason", &input.reason, 3, 500)?;
    let now = validate::now();
    if input.expires_at.is_some_and(|at| at <= now) {
        return Err(AppError::invalid(
            "input.expiresAt",
            "input.expiresAt must be in the future",
        ));
    }
    let (writer, txn) = state.begin_write().await?;
    let rule = block_rule::ActiveModel {
        id: Set(Uuid::now_v7()),
        kind: Set(input.kind),
        pattern: Set(pattern.clone()),
        allow: Set(input.allow),
        reason: Set(reason),
        expires_at: Set(input.expires_at),
        created_by: Set(Some(actor.id)),
        created_at: Set(now),
    }
    .insert(&txn)
    .await?;
    let action = if input.allow {
        "add_allow_rule"
    } else {
        "add_block_rule"
    };
    audit::record(
        &txn,
        actor,
        action,
        "block_rule",
        Some(rule.id),
        Some(pattern),
    )
    .await?;
    txn.commit().await?;
    drop(writer);
    changed(state).await?;
    Ok(rule)
}

/// Removes a rule (admins only), audit-logged.
pub async fn remove(state: &AppState, actor: Viewer, id: Uuid) -> Result<bool> {
    require_admin(actor)?;
    let (writer, txn) = state.begin_write().await?;
    let rule = block_rule::Entity::find_by_id(id)
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound("block rule"))?;
    block_rule::Entity::delete_by_id(id).exec(&txn).await?;
    audit::record(
        &txn,
        actor,
        "remove_block_rule",
        "block_rule",
        Some(id),
        Some(rule.pattern),
    )
    .await?;
    txn.commit().await?;
    drop(writer);
    changed(state).await?;
    Ok(true)
}

/// Reloads here at once, and tells the other instances.
async fn changed(state: &AppState) -> Result<()> {
    state.blocks.reload(&state.db).await?;
    state.events.publish_reload(Reload::BlockRules).await;
    Ok(())
}

/// Every rule, for admins to page through.
pub fn list(actor: Viewer) -> Result<Select<block_rule::Entity>> {
    require_admin(actor)?;
    Ok(block_rule::Entity::find().order_by_desc(block_rule::Column::Id))
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
