//! Rate limits, one place for all of them: governor token buckets keyed per
//! member and per client address, one set per action.
//!
//! IPv6 clients are keyed by their /64 (one person can rotate through a whole
//! /64 at will), and each /56 and /48 has a shared bucket 4× and 16× larger,
//! so that a whole allocation cannot multiply its quota either. Keys that
//! have been idle long enough to refill are evicted by [`RateLimits::evict_idle`],
//! which the server runs on a timer, so memory stays bounded.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use uuid::Uuid;

use crate::config::Config;
use crate::error::{AppError, Result};

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

/// The window failed logins are counted over.
pub const LOGIN_FAILURE_WINDOW: Duration = Duration::from_secs(15 * 60);

/// Failed logins per account over a sliding window. Past the limit, every
/// attempt on the account (right password included) answers
/// `RATE_LIMITED` until the oldest failure leaves the window, so that
/// guesses spread over many addresses stall; a password reset lifts it
/// ([`LoginFailures::clear`]), so the owner is never locked out.
pub struct LoginFailures {
    limit: usize,
    window: Duration,
    failures: Mutex<HashMap<Uuid, VecDeque<Instant>>>,
}

impl LoginFailures {
    pub fn new(limit: u32, window: Duration) -> Self {
        Self {
            limit: limit.max(1) as usize,
            window,
            failures: Mutex::new(HashMap::new()),
        }
    }

    fn recent<'a>(
        &self,
        failures: &'a mut HashMap<Uuid, VecDeque<Instant>>,
        member: Uuid,
    ) -> Option<&'a mut VecDeque<Instant>> {
        let times = failures.get_mut(&member)?;
        while times.front().is_some_and(|at| at.elapsed() >= self.window) {
            times.pop_front();
        }
        Some(times)
    }

    /// `RATE_LIMITED` when the account is at its limit.
    pub fn check(&self, member: Uuid) -> Result<()> {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        match self.recent(&mut failures, member) {
            Some(times) if times.len() >= self.limit => {
                let oldest = times.front().copied().unwrap_or_else(Instant::now);
                let wait = self.window.saturating_sub(oldest.elapsed());
                Err(AppError::RateLimited {
                    retry_after_ms: (wait.as_millis() as u64).max(1),
                })
            }
            _ => Ok(()),
        }
    }

    /// Counts one failed login on the account.
    pub fn record(&self, member: Uuid) {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let times = failures.entry(member).or_default();
        times.push_back(Instant::now());
        while times.len() > self.limit {
            times.pop_front();
        }
    }

    /// Forgets the account's failures (after a password reset).
    pub fn clear(&self, member: Uuid) {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        failures.remove(&member);
    }

    fn evict_idle(&self) {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        failures.retain(|_, times| times.back().is_some_and(|at| at.elapsed() < self.window));
    }
}

/// The key an address is limited under: IPv4 as is, IPv6 by its /64.
pub fn address_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let prefix = u128::from(v6) & !((1u128 << 64) - 1);
                IpAddr::V6(prefix.into())
            }
        },
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
    /// Failed logins per account (see [`LoginFailures`]).
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
            resend_member: RateLimiter::keyed(per_hour(config.resend_per_hour)),
            webhook_test_member: RateLimiter::keyed(per_hour(config.webhook_tests_per_hour)),
            login_failures: LoginFailures::new(
                config.login_failures_per_account,
                LOGIN_FAILURE_WINDOW,
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
            Action::Auth | Action::Resend | Action::WebhookTest => &self.auth_address,
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
    fn an_account_refuses_logins_past_its_failures_until_cleared() {
        let failures = LoginFailures::new(3, Duration::from_secs(900));
        let member = Uuid::now_v7();
        for _ in 0..3 {
            failures.check(member).unwrap();
            failures.record(member);
        }
        match failures.check(member) {
            Err(AppError::RateLimited { retry_after_ms }) => {
                assert!(retry_after_ms > 899_000 && retry_after_ms <= 900_000)
            }
            other => panic!("expected RATE_LIMITED, got {other:?}"),
        }
        failures.check(Uuid::now_v7()).unwrap();
        failures.clear(member);
        failures.check(member).unwrap();
    }

    #[test]
    fn old_failures_leave_the_window() {
        let failures = LoginFailures::new(2, Duration::from_millis(20));
        let member = Uuid::now_v7();
        failures.record(member);
        failures.record(member);
        assert!(failures.check(member).is_err());
        std::thread::sleep(Duration::from_millis(30));
        failures.check(member).unwrap();
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
