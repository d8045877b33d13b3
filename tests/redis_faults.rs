//! Redis failures: flushed, stopped, or never there. Signing keeps working
//! and stays exact, counts fall back to the database, `/readyz` says
//! `degraded`, and the live counters are right again once Redis is back.
//! Each test runs a Redis server of its own, so nothing else is disturbed.

use crate::common::redis_server::RedisServer;
use crate::common::{TestApp, eventually};

async fn app_on(redis: &RedisServer) -> TestApp {
    TestApp::spawn_with(&["--redis-url", &redis.url(), "--redis-timeout-ms", "200"]).await
}

#[tokio::test]
async fn flushing_redis_mid_campaign_loses_nothing() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let app = app_on(&redis).await;
    let (_, campaign) = app.open_campaign("flushed", 1000).await;
    let signers = app.register_many("before_flush", 40).await;
    futures::future::join_all(signers[..20].iter().map(|token| app.sign(token, &campaign))).await;
    assert_eq!(app.signature_count(&campaign).await, 20);

    redis.flush_all();
    let results =
        futures::future::join_all(signers[20..].iter().map(|token| app.sign(token, &campaign)))
            .await;
    assert!(results.iter().all(|body| body.get("errors").is_none()));

    assert_eq!(app.signature_rows(&campaign).await, 40);
    let live = eventually(10, 40, || app.signature_count(&campaign)).await;
    assert_eq!(live, 40, "the live count recovers from the database");
}

#[tokio::test]
async fn a_stopped_redis_degrades_but_loses_no_signature() {
    let Some(mut redis) = RedisServer::start() else {
        return;
    };
    let app = app_on(&redis).await;
    let (_, campaign) = app.open_campaign("outage", 1000).await;
    let signers = app.register_many("through_outage", 30).await;
    for token in &signers[..10] {
        app.sign(token, &campaign).await;
    }
    assert_eq!(app.counters_readiness().await, "ok");

    redis.stop();
    for token in &signers[10..20] {
        let body = app.sign(token, &campaign).await;
        assert!(body.get("errors").is_none(), "{body}");
    }
    assert_eq!(app.counters_readiness().await, "degraded");
    assert_eq!(
        app.signature_count(&campaign).await,
        20,
        "counted from the database"
    );

    redis.restart();
    for token in &signers[20..] {
        let body = app.sign(token, &campaign).await;
        assert!(body.get("errors").is_none(), "{body}");
    }
    let readiness = eventually(10, "ok".to_owned(), || app.counters_readiness()).await;
    assert_eq!(readiness, "ok");
    assert_eq!(app.signature_rows(&campaign).await, 30);
    let live = eventually(10, 30, || app.signature_count(&campaign)).await;
    assert_eq!(live, 30);
}

#[tokio::test]
async fn a_server_pointed_at_a_dead_redis_still_serves() {
    let Some(mut redis) = RedisServer::start() else {
        return;
    };
    redis.stop();
    let app = app_on(&redis).await;
    assert_eq!(app.counters_readiness().await, "degraded");
    let (_, campaign) = app.open_campaign("lonely", 1000).await;
    let signers = app.register_many("undeterred", 5).await;
    for token in &signers {
        let body = app.sign(token, &campaign).await;
        assert!(body.get("errors").is_none(), "{body}");
    }
    assert_eq!(app.signature_count(&campaign).await, 5);
    let readyz = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(readyz.status(), 200, "degraded still serves");
}
