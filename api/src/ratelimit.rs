//! Rate limits, one place for all of them: governor token buckets keyed per
//! member and per client address, one set per action.
//!
//! IPv6 clients are keyed by their /64 (one person can rotate through a whole
//! /64 at will), and each /56 and /48 has a shared bucket 4× and 16× larger,
//! so that a whole allocation cannot multiply its quota either. Keys that
//! have been idle long enough to refill are evicted by [`RateLimits::evict_idle`],
//! which the server runs on a timer, so memory stays bounded.

use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use uuid::Uuid;

use crate::config::Config;
use crate::error::{AppError, Result};
pub use crate::net::address_key;

/// What is being limited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Signing a campaign.
    Sign,
    /// Registering or logging in.
    Auth,
    /// Voting on a proposal.
    Vote,
    /// Rating a producer.
    Rate,
    /// Asking for a mail again (confirmation, password reset).
    Resend,
    /// Sending a test event to a webhook.
    WebhookTest,
    /// Creating content: a campaign, producer, community, proposal, update,
    /// flag or producer claim (one budget for all of them).
    Create,
}

/// Buckets for one client address, with IPv6 prefixes grouped.
struct AddressLimits {
    address: DefaultKeyedRateLimiter<IpAddr>,
    v6_56: DefaultKeyedRateLimiter<u64>,
    v6_48: DefaultKeyedRateLimiter<u64>,
}

impl AddressLimits {
    fn new(per_minute: u32, burst: u32) -> Self {
        Self {
            address: RateLimiter::keyed(quota(per_minute, burst)),
            v6_56: RateLimiter::keyed(quota(per_minute * 4, burst * 4)),
            v6_48: RateLimiter::keyed(quota(per_minute * 16, burst * 16)),
        }
    }
}

fn quota(per_minute: u32, burst: u32) -> Quota {
    let rate = NonZeroU32::new(per_minute.max(1)).unwrap_or(NonZeroU32::MIN);
    let burst = NonZeroU32::new(burst.max(1)).unwrap_or(NonZeroU32::MIN);
    Quota::per_minute(rate).allow_burst(burst)
}

fn per_hour(count: u32) -> Quota {
    let count = NonZeroU32::new(count.max(1)).unwrap_or(NonZeroU32::MIN);
    Quota::per_hour(count).allow_burst(count)
}

/// How long a (account, network) pair's failures are remembered after the
/// last one, and the longest delay they impose.
pub const LOGIN_FAILURE_WINDOW: Duration = Duration::from_secs(15 * 60);

/// (Account, network) pairs remembered at most; past it, pairs that impose
/// no delay yet are let go first.
const LOGIN_FAILURE_CAPACITY: usize = 100_000;

/// Failed password checks per account *and source network* (an IPv4 /24,
/// an IPv6 /48), with a growing delay, never a lock:
/// - the first `free` failures from a network cost nothing; each one after
///   makes the next attempt from that network wait `delay`, doubling each
///   time up to [`LOGIN_FAILURE_WINDOW`] (`RATE_LIMITED` with `retryAfterMs`
///   until then);
/// - other networks are not slowed: a stranger failing from elsewhere never
///   stops the owner's right password from their own network;
/// - a success from a network forgets that network's failures, a password
///   reset forgets them all;
/// - the key is whatever the caller names, so that an absent account (keyed
///   by the login it was asked under) is treated exactly as a present one.
pub struct LoginFailures {
    free: u32,
    delay: Duration,
    failures: Mutex<HashMap<(String, IpAddr), Failures>>,
}

#[derive(Clone, Copy)]
struct Failures {
    count: u32,
    last: Instant,
}

impl Failures {
    /// How long after the last failure the next attempt must wait.
    fn wait(&self, free: u32, delay: Duration) -> Duration {
        if self.count < free {
            return Duration::ZERO;
        }
        let doublings = (self.count - free).min(16);
        delay
            .saturating_mul(1 << doublings)
            .min(LOGIN_FAILURE_WINDOW)
    }
}

/// The network a failure is counted under: an IPv4 /24, an IPv6 /48.
pub fn login_network(ip: IpAddr) -> IpAddr {
    match address_key(ip) {
        IpAddr::V4(v4) => IpAddr::V4((u32::from(v4) & 0xffff_ff00).into()),
        IpAddr::V6(v6) => IpAddr::V6((u128::from(v6) & !((1u128 << 80) - 1)).into()),
    }
}

impl LoginFailures {
    pub fn new(free: u32, delay: Duration) -> Self {
        Self {
            free: free.max(1),
            delay: delay.max(Duration::from_millis(1)),
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// `RATE_LIMITED` while `account` must wait before another attempt from
    /// `client`'s network.
    pub fn check(&self, account: &str, client: IpAddr) -> Result<()> {
        let failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let Some(found) = failures.get(&(account.to_owned(), login_network(client))) else {
            return Ok(());
        };
        let wait = found
            .wait(self.free, self.delay)
            .saturating_sub(found.last.elapsed());
        if wait.is_zero() {
            Ok(())
        } else {
            Err(AppError::RateLimited {
                retry_after_ms: (wait.as_millis() as u64).max(1),
            })
        }
    }

    /// Counts one failure on `account` from `client`'s network.
    pub fn record(&self, account: &str, client: IpAddr) {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        if failures.len() >= LOGIN_FAILURE_CAPACITY {
            let free = self.free;
            failures.retain(|_, found| {
                found.count >= free && found.last.elapsed() < LOGIN_FAILURE_WINDOW
            });
        }
        let found = failures
            .entry((account.to_owned(), login_network(client)))
            .or_insert(Failures {
                count: 0,
                last: Instant::now(),
            });
        found.count = found.count.saturating_add(1);
        found.last = Instant::now();
    }

    /// A success from `client`'s network: its failures are forgotten.
    pub fn succeeded(&self, account: &str, client: IpAddr) {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        failures.remove(&(account.to_owned(), login_network(client)));
    }

    /// Forgets every network's failures on `account` (after a password reset).
    pub fn clear(&self, account: &str) {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        failures.retain(|(key, _), _| key != account);
    }

    fn evict_idle(&self) {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        failures.retain(|_, found| found.last.elapsed() < LOGIN_FAILURE_WINDOW);
    }
}

/// The top `bits` of an IPv6 address, for prefix buckets.
fn v6_prefix(ip: IpAddr, bits: u32) -> Option<u64> {
    match address_key(ip) {
        IpAddr::V6(v6) => Some((u128::from(v6) >> (128 - bits)) as u64),
        IpAddr::V4(_) => None,
    }
}

/// Every limiter of the server.
pub struct RateLimits {
    sign_member: DefaultKeyedRateLimiter<Uuid>,
    vote_member: DefaultKeyedRateLimiter<Uuid>,
    rate_member: DefaultKeyedRateLimiter<Uuid>,
    resend_member: DefaultKeyedRateLimiter<Uuid>,
    webhook_test_member: DefaultKeyedRateLimiter<Uuid>,
    create_member: DefaultKeyedRateLimiter<Uuid>,
    /// Failed password checks per account and network (see [`LoginFailures`]).
    pub login_failures: LoginFailures,
    sign_address: AddressLimits,
    auth_address: AddressLimits,
    clock: DefaultClock,
}

impl RateLimits {
    pub fn new(config: &Config) -> Self {
        Self {
            sign_member: RateLimiter::keyed(quota(config.sign_per_minute, config.sign_burst)),
            vote_member: RateLimiter::keyed(quota(config.vote_per_minute, config.vote_burst)),
            rate_member: RateLimiter::keyed(quota(config.rate_per_minute, config.rate_burst)),
            resend_member: RateLimiter::keyed(per_hour(config.limits.resend_per_hour)),
            webhook_test_member: RateLimiter::keyed(per_hour(config.limits.webhook_tests_per_hour)),
            create_member: RateLimiter::keyed(
                Quota::per_hour(
                    NonZeroU32::new(config.limits.create_per_hour.max(1))
                        .unwrap_or(NonZeroU32::MIN),
                )
                .allow_burst(
                    NonZeroU32::new(config.limits.create_burst.max(1)).unwrap_or(NonZeroU32::MIN),
                ),
            ),
            login_failures: LoginFailures::new(
                config.limits.login_failures_per_account,
                Duration::from_secs(config.limits.login_delay_secs),
            ),
            sign_address: AddressLimits::new(config.sign_ip_per_minute, config.sign_ip_burst),
            auth_address: AddressLimits::new(config.auth_ip_per_minute, config.auth_ip_burst),
            clock: DefaultClock::default(),
        }
    }

    fn refused(&self, not_until: governor::NotUntil<governor::clock::QuantaInstant>) -> AppError {
        let wait = not_until.wait_time_from(self.clock.now());
        AppError::RateLimited {
            retry_after_ms: (wait.as_millis() as u64).max(1),
        }
    }

    /// Takes one token for `member` doing `action`, or `RATE_LIMITED`.
    pub fn check_member(&self, action: Action, member: Uuid) -> Result<()> {
        match action {
            Action::Sign => self
                .sign_member
                .check_key(&member)
                .map_err(|refusal| self.refused(refusal)),
            Action::Vote => self
                .vote_member
                .check_key(&member)
                .map_err(|refusal| self.refused(refusal)),
            Action::Rate => self
                .rate_member
                .check_key(&member)
                .map_err(|refusal| self.refused(refusal)),
            Action::Resend => self
                .resend_member
                .check_key(&member)
                .map_err(|refusal| self.refused(refusal)),
            Action::WebhookTest => self
                .webhook_test_member
                .check_key(&member)
                .map_err(|refusal| self.refused(refusal)),
            Action::Create => self
                .create_member
                .check_key(&member)
                .map_err(|refusal| self.refused(refusal)),
            // Logins have no member yet: they are limited by address, and
            // failures per account by `login_failures`.
            Action::Auth => Ok(()),
        }
    }

    /// Takes one token for the client address `ip` doing `action`, or `RATE_LIMITED`.
    pub fn check_address(&self, action: Action, ip: IpAddr) -> Result<()> {
        let limits = match action {
            // Votes and ratings share the signing budget of an address.
            Action::Sign | Action::Vote | Action::Rate => &self.sign_address,
            Action::Auth | Action::Resend | Action::WebhookTest | Action::Create => {
                &self.auth_address
            }
        };
        if let Some(prefix) = v6_prefix(ip, 48) {
            limits
                .v6_48
                .check_key(&prefix)
                .map_err(|refusal| self.refused(refusal))?;
        }
        if let Some(prefix) = v6_prefix(ip, 56) {
            limits
                .v6_56
                .check_key(&prefix)
                .map_err(|refusal| self.refused(refusal))?;
        }
        limits
            .address
            .check_key(&address_key(ip))
            .map_err(|refusal| self.refused(refusal))
    }

    /// Forgets keys whose buckets are full again.
    pub fn evict_idle(&self) {
        self.sign_member.retain_recent();
        self.vote_member.retain_recent();
        self.rate_member.retain_recent();
        self.resend_member.retain_recent();
        self.webhook_test_member.retain_recent();
        self.create_member.retain_recent();
        self.login_failures.evict_idle();
        for limits in [&self.sign_address, &self.auth_address] {
            limits.address.retain_recent();
            limits.v6_56.retain_recent();
            limits.v6_48.retain_recent();
        }
    }

    /// Keys currently held, across every limiter.
    pub fn tracked_keys(&self) -> usize {
        self.sign_member.len()
            + self.vote_member.len()
            + self.rate_member.len()
            + self.resend_member.len()
            + self.webhook_test_member.len()
            + self.create_member.len()
            + [&self.sign_address, &self.auth_address]
                .iter()
                .map(|limits| limits.address.len() + limits.v6_56.len() + limits.v6_48.len())
                .sum::<usize>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(args: &[&str]) -> RateLimits {
        let mut all = vec!["consumact"];
        all.extend_from_slice(args);
        RateLimits::new(&Config::from_args(all).unwrap())
    }

    #[test]
    fn a_member_gets_exactly_the_burst_then_a_retry_delay() {
        let limits = limits(&["--sign-per-minute", "6", "--sign-burst", "3"]);
        let member = Uuid::now_v7();
        for _ in 0..3 {
            limits.check_member(Action::Sign, member).unwrap();
        }
        match limits.check_member(Action::Sign, member) {
            Err(AppError::RateLimited { retry_after_ms }) => {
                // One token every 10 s at 6 a minute.
                assert!(
                    (9_000..=10_000).contains(&retry_after_ms),
                    "{retry_after_ms}"
                );
            }
            other => panic!("expected RATE_LIMITED, got {other:?}"),
        }
        // Another member is unaffected.
        limits.check_member(Action::Sign, Uuid::now_v7()).unwrap();
    }

    #[test]
    fn ipv6_addresses_in_one_64_share_a_bucket() {
        let limits = limits(&["--sign-ip-per-minute", "2", "--sign-ip-burst", "2"]);
        let first: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let second: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        let elsewhere: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        limits.check_address(Action::Sign, first).unwrap();
        limits.check_address(Action::Sign, second).unwrap();
        assert!(limits.check_address(Action::Sign, first).is_err());
        assert!(limits.check_address(Action::Sign, second).is_err());
        limits.check_address(Action::Sign, elsewhere).unwrap();
    }

    #[test]
    fn a_whole_56_cannot_multiply_its_quota() {
        let limits = limits(&["--sign-ip-per-minute", "1", "--sign-ip-burst", "1"]);
        // Sixteen /64s inside one /56: the /56 bucket holds 4.
        let allowed = (0..16)
            .filter(|i| {
                let ip: IpAddr = format!("2001:db8:0:{i:x}::1").parse().unwrap();
                limits.check_address(Action::Sign, ip).is_ok()
            })
            .count();
        assert_eq!(allowed, 4);
    }

    #[test]
    fn ipv4_mapped_addresses_count_as_ipv4() {
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap();
        assert_eq!(address_key(mapped), "192.0.2.7".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn failures_past_the_free_ones_make_that_network_wait_longer_each_time() {
        let failures = LoginFailures::new(3, Duration::from_secs(30));
        let here: IpAddr = "192.0.2.7".parse().unwrap();
        let same_24: IpAddr = "192.0.2.200".parse().unwrap();
        let elsewhere: IpAddr = "198.51.100.7".parse().unwrap();
        for _ in 0..2 {
            failures.check("bob", here).unwrap();
            failures.record("bob", here);
        }
        failures.check("bob", here).unwrap();
        failures.record("bob", here);
        let waits = |ip| match failures.check("bob", ip) {
            Err(AppError::RateLimited { retry_after_ms }) => retry_after_ms,
            Ok(()) => 0,
            other => panic!("expected RATE_LIMITED, got {other:?}"),
        };
        assert!((29_000..=30_000).contains(&waits(here)), "{}", waits(here));
        assert!(waits(same_24) > 29_000, "one /24 is one network");
        assert_eq!(waits(elsewhere), 0, "another network is not slowed");
        failures.record("bob", here);
        assert!(
            (59_000..=60_000).contains(&waits(here)),
            "the delay doubles"
        );
        assert_eq!(failures.check("alice", here).ok(), Some(()));
        for _ in 0..20 {
            failures.record("bob", here);
        }
        assert!(waits(here) <= LOGIN_FAILURE_WINDOW.as_millis() as u64);
        failures.succeeded("bob", elsewhere);
        assert!(waits(here) > 0, "a success elsewhere lifts nothing here");
        failures.succeeded("bob", here);
        assert_eq!(waits(here), 0);
        failures.record("bob", here);
        failures.record("bob", elsewhere);
        failures.clear("bob");
        assert!(failures.failures.lock().unwrap().is_empty());
    }

    #[test]
    fn networks_are_a_24_or_a_48() {
        let v4: IpAddr = "203.0.113.77".parse().unwrap();
        assert_eq!(login_network(v4), "203.0.113.0".parse::<IpAddr>().unwrap());
        let v6: IpAddr = "2001:db8:aa:bb:cc::1".parse().unwrap();
        assert_eq!(
            login_network(v6),
            "2001:db8:aa::".parse::<IpAddr>().unwrap()
        );
    }

    #[test]
    fn remembered_failures_leave_after_the_window() {
        let failures = LoginFailures::new(1, Duration::from_secs(1));
        let here: IpAddr = "192.0.2.7".parse().unwrap();
        failures.record("bob", here);
        failures
            .failures
            .lock()
            .unwrap()
            .values_mut()
            .for_each(|found| {
                found.last = Instant::now() - LOGIN_FAILURE_WINDOW - Duration::from_secs(1);
            });
        failures.check("bob", here).unwrap();
        failures.evict_idle();
        assert!(failures.failures.lock().unwrap().is_empty());
    }

    #[test]
    fn idle_keys_are_evicted() {
        let limits = limits(&["--sign-per-minute", "60000", "--sign-burst", "1"]);
        for _ in 0..100 {
            limits.check_member(Action::Sign, Uuid::now_v7()).unwrap();
        }
        assert_eq!(limits.tracked_keys(), 100);
        // At 1 000 a second a single-token bucket is full again after 1 ms.
        std::thread::sleep(std::time::Duration::from_millis(5));
        limits.evict_idle();
        assert_eq!(limits.tracked_keys(), 0);
    }
}
