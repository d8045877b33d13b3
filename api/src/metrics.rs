//! Prometheus metrics, rendered by `GET /metrics` in the text exposition
//! format. Hand-written on atomics: a handful of counters, one histogram
//! family and a few gauges read at scrape time do not justify a registry
//! crate and its dependencies.
//!
//! Operation names come from clients, so they are labels only when short
//! and plain, and only the first [`MAX_OPERATIONS`] distinct ones; the rest
//! are counted as `other`, keeping memory and series bounded.

use std::collections::HashMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Distinct operation names tracked before the rest fold into `other`.
pub const MAX_OPERATIONS: usize = 100;

/// Upper bounds of the latency histogram, in seconds.
const BUCKETS: [f64; 10] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0];

#[derive(Default)]
struct Latency {
    buckets: [u64; BUCKETS.len()],
    count: u64,
    sum_seconds: f64,
    errors: u64,
}

/// The server's metrics.
#[derive(Default)]
pub struct Metrics {
    operations: Mutex<HashMap<String, Latency>>,
    pub signatures: AtomicU64,
    /// Transactions that wrote signatures (many signatures share one under load).
    pub signature_batches: AtomicU64,
    pub rate_limited: AtomicU64,
    pub counter_corrections: AtomicU64,
    /// Outbox messages delivered.
    pub outbox_sent: AtomicU64,
    /// Outbox delivery attempts that failed (retried or given up).
    pub outbox_failures: AtomicU64,
    /// Fold passes committed, queued writes and changes they folded, and
    /// passes that failed (see `service::fold`).
    pub fold_passes: AtomicU64,
    pub fold_writes: AtomicU64,
    pub fold_changes: AtomicU64,
    pub fold_failures: AtomicU64,
    /// How long the oldest write of the last pass had waited, in ms.
    pub fold_last_lag_ms: AtomicU64,
}

fn label(operation: Option<&str>) -> String {
    match operation {
        Some(name)
            if !name.is_empty()
                && name.len() <= 64
                && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') =>
        {
            name.to_owned()
        }
        Some(_) => "other".to_owned(),
        None => "anonymous".to_owned(),
    }
}

/// The name of the operation a document defines, when the client did not
/// say: `query Name`, `mutation Name` or `subscription Name` at its start.
pub fn operation_name_in(document: &str) -> Option<&str> {
    let mut rest = document.trim_start();
    while let Some(comment) = rest.strip_prefix('#') {
        rest = comment
            .split_once('\n')
            .map_or("", |(_, after)| after)
            .trim_start();
    }
    let after_keyword = ["query", "mutation", "subscription"]
        .iter()
        .find_map(|keyword| rest.strip_prefix(keyword))?;
    if !after_keyword.starts_with(char::is_whitespace) {
        return None;
    }
    let name = after_keyword.trim_start();
    let end = name
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(name.len());
    (end > 0).then(|| &name[..end])
}

impl Metrics {
    /// Records one GraphQL request.
    pub fn observe(&self, operation: Option<&str>, elapsed: Duration, failed: bool) {
        let mut operations = self.operations.lock().unwrap_or_else(|e| e.into_inner());
        let mut name = label(operation);
        if !operations.contains_key(&name) && operations.len() >= MAX_OPERATIONS {
            name = "other".to_owned();
        }
        let latency = operations.entry(name).or_default();
        let seconds = elapsed.as_secs_f64();
        for (bucket, bound) in latency.buckets.iter_mut().zip(BUCKETS) {
            if seconds <= bound {
                *bucket += 1;
            }
        }
        latency.count += 1;
        latency.sum_seconds += seconds;
        if failed {
            latency.errors += 1;
        }
    }

    /// Counts one more of `counter`.
    pub fn increment(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// The text exposition, with the gauges read now.
    pub fn render(&self, gauges: &[(&str, &str, f64)]) -> String {
        let mut out = String::new();
        let operations = self.operations.lock().unwrap_or_else(|e| e.into_inner());
        let _ = writeln!(
            out,
            "# HELP consumact_graphql_requests_total GraphQL requests by operation name."
        );
        let _ = writeln!(out, "# TYPE consumact_graphql_requests_total counter");
        for (name, latency) in operations.iter() {
            let _ = writeln!(
                out,
                "consumact_graphql_requests_total{{operation=\"{name}\"}} {}",
                latency.count
            );
        }
        let _ = writeln!(
            out,
            "# HELP consumact_graphql_errors_total GraphQL requests answered with errors."
        );
        let _ = writeln!(out, "# TYPE consumact_graphql_errors_total counter");
        for (name, latency) in operations.iter() {
            let _ = writeln!(
                out,
                "consumact_graphql_errors_total{{operation=\"{name}\"}} {}",
                latency.errors
            );
        }
        let _ = writeln!(
            out,
            "# HELP consumact_graphql_request_duration_seconds GraphQL request latency."
        );
        let _ = writeln!(
            out,
            "# TYPE consumact_graphql_request_duration_seconds histogram"
        );
        for (name, latency) in operations.iter() {
            for (bucket, bound) in latency.buckets.iter().zip(BUCKETS) {
                let _ = writeln!(
                    out,
                    "consumact_graphql_request_duration_seconds_bucket{{operation=\"{name}\",le=\"{bound}\"}} {bucket}"
                );
            }
            let _ = writeln!(
                out,
                "consumact_graphql_request_duration_seconds_bucket{{operation=\"{name}\",le=\"+Inf\"}} {}",
                latency.count
            );
            let _ = writeln!(
                out,
                "consumact_graphql_request_duration_seconds_sum{{operation=\"{name}\"}} {}",
                latency.sum_seconds
            );
            let _ = writeln!(
                out,
                "consumact_graphql_request_duration_seconds_count{{operation=\"{name}\"}} {}",
                latency.count
            );
        }
        for (name, help, value) in [
            (
                "consumact_signatures_total",
                "Signatures made through this instance.",
                &self.signatures,
            ),
            (
                "consumact_signature_batches_total",
                "Transactions that wrote signatures; signatures per batch = signatures / batches.",
                &self.signature_batches,
            ),
            (
                "consumact_rate_limited_total",
                "Requests refused by a rate limit.",
                &self.rate_limited,
            ),
            (
                "consumact_counter_corrections_total",
                "Live counters corrected by reconciliation.",
                &self.counter_corrections,
            ),
            (
                "consumact_outbox_sent_total",
                "Outbox messages (mail) delivered by this instance.",
                &self.outbox_sent,
            ),
            (
                "consumact_outbox_failures_total",
                "Outbox delivery attempts that failed on this instance (each is retried or given up).",
                &self.outbox_failures,
            ),
            (
                "consumact_fold_passes_total",
                "Fold passes this instance committed.",
                &self.fold_passes,
            ),
            (
                "consumact_fold_writes_total",
                "Queued writes this instance folded (a signing batch is one).",
                &self.fold_writes,
            ),
            (
                "consumact_fold_changes_total",
                "Changes (one per signature, rating or pledge moved) this instance folded.",
                &self.fold_changes,
            ),
            (
                "consumact_fold_failures_total",
                "Fold passes that failed on this instance (each is retried).",
                &self.fold_failures,
            ),
        ] {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}",
                value.load(Ordering::Relaxed)
            );
        }
        for (name, help, value) in gauges {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}"
            );
        }
        out
    }
}

/// This process's resident memory, from `/proc/self/status` (Linux).
pub fn resident_memory_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_chosen_names_cannot_grow_the_series_without_bound() {
        let metrics = Metrics::default();
        for i in 0..500 {
            metrics.observe(
                Some(&format!("Operation{i}")),
                Duration::from_millis(3),
                false,
            );
        }
        metrics.observe(Some("evil\"}\nname"), Duration::from_millis(3), true);
        let text = metrics.render(&[]);
        let series = text
            .lines()
            .filter(|l| l.starts_with("consumact_graphql_requests_total{"))
            .count();
        // The first names seen, plus `other` for everything after them.
        assert_eq!(series, MAX_OPERATIONS + 1);
        assert!(!text.contains("evil"));
    }

    #[test]
    fn operation_names_are_read_from_the_document() {
        assert_eq!(operation_name_in("query Tags { a }"), Some("Tags"));
        assert_eq!(
            operation_name_in("# c\n  mutation Sign($id: ID!) { a }"),
            Some("Sign")
        );
        assert_eq!(operation_name_in("{ a }"), None);
        assert_eq!(operation_name_in("query { a }"), None);
        assert_eq!(operation_name_in("queryX { a }"), None);
    }

    #[test]
    fn latencies_fall_into_cumulative_buckets() {
        let metrics = Metrics::default();
        metrics.observe(Some("SignCampaign"), Duration::from_millis(20), false);
        metrics.observe(Some("SignCampaign"), Duration::from_millis(300), true);
        let text = metrics.render(&[("consumact_test_gauge", "A gauge.", 2.0)]);
        assert!(text.contains("consumact_graphql_request_duration_seconds_bucket{operation=\"SignCampaign\",le=\"0.025\"} 1"));
        assert!(text.contains("consumact_graphql_request_duration_seconds_bucket{operation=\"SignCampaign\",le=\"0.5\"} 2"));
        assert!(text.contains("consumact_graphql_errors_total{operation=\"SignCampaign\"} 1"));
        assert!(text.contains("consumact_test_gauge 2"));
    }
}
