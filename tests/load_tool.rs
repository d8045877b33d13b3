//! The load tool (`tools/load`), run for a second against a test server:
//! it prepares its members and campaigns, runs every workload, finds no
//! error, and its own check finds no signature lost or doubled.

use std::time::Duration;

use crate::common::TestApp;
use consumact_load::{Options, Workload};

const LIFTED_LIMITS: [&str; 4] = ["--sign-per-minute", "1000000", "--sign-burst", "100000"];

#[tokio::test]
async fn every_workload_runs_for_a_second_without_errors() {
    let app = TestApp::spawn_with(&LIFTED_LIMITS).await;
    let options = Options {
        url: format!("http://{}", app.addr),
        workloads: vec![
            Workload::Noop,
            Workload::Sign,
            Workload::Read,
            Workload::Mixed,
            Workload::Fanout,
        ],
        duration: Duration::from_secs(1),
        concurrency: 4,
        members: 30,
        campaigns: 5,
        subscribers: 6,
        fanout_signatures: 3,
    };
    let report = consumact_load::run(&options)
        .await
        .expect("the run completes");
    let text = report.to_string();
    println!("{text}");
    for workload in &options.workloads {
        let outcome = report.outcome(*workload).expect("each workload reports");
        assert!(outcome.ok > 0, "{workload} answered nothing:\n{text}");
        assert!(outcome.errors.is_empty(), "{workload} had errors:\n{text}");
        assert!(
            outcome.latencies.len() as u64 >= outcome.ok.min(1),
            "{text}"
        );
        assert!(
            outcome.rss_bytes.is_some_and(|rss| rss > 0),
            "no server memory:\n{text}"
        );
    }
    for workload in [Workload::Sign, Workload::Mixed] {
        let notes = &report.outcome(workload).unwrap().notes;
        assert!(
            notes
                .iter()
                .any(|note| note.ends_with("lost or doubled: 0")),
            "{workload}: {notes:?}"
        );
        // The fold caught up, and the kept ordering follows the counts.
        assert!(
            notes
                .iter()
                .any(|note| note.ends_with("MOST_SIGNED follows the live counts")),
            "{workload}: {notes:?}"
        );
    }
    // Three signatures, six subscribers: every subscriber sees each count.
    assert_eq!(report.outcome(Workload::Fanout).unwrap().ok, 18, "{text}");
    assert!(text.contains("÷ noop"), "{text}");
}

#[tokio::test]
async fn the_tool_refuses_what_is_not_loopback() {
    assert!(consumact_load::loopback("http://127.0.0.1:8080").is_ok());
    assert!(consumact_load::loopback("http://[::1]:8080/graphql").is_ok());
    assert!(consumact_load::loopback("http://192.0.2.1:8080").is_err());
    assert!(consumact_load::loopback("https://127.0.0.1:8080").is_err());
    let options = Options {
        url: "http://192.0.2.1:80".to_owned(),
        workloads: vec![Workload::Noop],
        duration: Duration::from_secs(1),
        concurrency: 1,
        members: 1,
        campaigns: 1,
        subscribers: 1,
        fanout_signatures: 1,
    };
    let refused = consumact_load::run(&options).await.err().expect("refused");
    assert!(refused.to_string().contains("loopback"), "{refused}");
}
