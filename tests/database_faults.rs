//! Faults: PostgreSQL stopping and coming back while members sign (on a
//! PostgreSQL of the test's own), and the server shutting down mid-load.
//! Requests fail cleanly with `UNAVAILABLE`, the server recovers by itself,
//! and no signature is half-written or lost.

use crate::common::postgres_server::PostgresServer;
use crate::common::{TestApp, error_code, eventually};
use serde_json::Value;

/// Signs, retrying a few times while the database is unavailable.
async fn sign_with_retries(app: &TestApp, token: &str, campaign: &str) -> Value {
    let mut body = app.sign(token, campaign).await;
    for _ in 0..5 {
        if body.get("errors").is_none() || error_code(&body) != "UNAVAILABLE" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        body = app.sign(token, campaign).await;
    }
    body
}

async fn ready_status(app: &TestApp) -> u16 {
    app.client
        .get(app.url("/readyz"))
        .send()
        .await
        .map_or(0, |response| response.status().as_u16())
}

#[tokio::test]
async fn signing_survives_a_postgres_restart() {
    let Some(postgres) = PostgresServer::start() else {
        return;
    };
    let app = TestApp::spawn_with(&[
        "--database-url",
        &postgres.url(),
        "--db-acquire-timeout-ms",
        "500",
    ])
    .await;
    let (_, campaign) = app.open_campaign("resilient", 1000).await;
    let signers = app.register_many("steadfast", 30).await;
    let mut signed = 0;
    for token in &signers[..10] {
        let body = app.sign(token, &campaign).await;
        assert!(body.get("errors").is_none(), "{body}");
        signed += 1;
    }

    postgres.stop();
    let during = futures::future::join_all(
        signers[10..20]
            .iter()
            .map(|token| app.sign(token, &campaign)),
    )
    .await;
    for body in &during {
        assert_eq!(error_code(body), "UNAVAILABLE", "{body}");
        assert!(
            !body.to_string().contains("postgres"),
            "no internals leak: {body}"
        );
    }
    assert_eq!(ready_status(&app).await, 503);

    postgres.restart();
    assert_eq!(
        eventually(20, 200, || ready_status(&app)).await,
        200,
        "the server recovers by itself"
    );
    for token in &signers[10..] {
        let body = sign_with_retries(&app, token, &campaign).await;
        assert!(body.get("errors").is_none(), "{body}");
        signed += 1;
    }
    assert_eq!(
        app.signature_rows(&campaign).await,
        signed,
        "every refused request wrote nothing"
    );
    assert_eq!(
        eventually(10, signed, || app.signature_count(&campaign)).await,
        signed
    );
}

/// Signs without assuming the server is still there: `None` when the
/// request could not be sent or answered.
async fn try_sign(app: &TestApp, token: &str, campaign: &str) -> Option<Value> {
    let response = app
        .client
        .post(app.url("/graphql"))
        .bearer_auth(token)
        .json(&serde_json::json!({
            "query": "mutation($id: ID!) { signCampaign(campaignId: $id) { id } }",
            "variables": { "id": campaign },
        }))
        .send()
        .await
        .ok()?;
    response.json().await.ok()
}

#[tokio::test]
async fn shutting_down_mid_load_leaves_no_half_written_signature() {
    let mut app = TestApp::spawn().await;
    let (_, campaign) = app.open_campaign("interrupted", 1000).await;
    let signers = app.register_many("in_flight", 60).await;
    let witness = app.spawn_sibling().await;
    let shutdown = app.take_shutdown();
    // Signers arrive every 3 ms over 180 ms; the shutdown comes at 60 ms.
    let load = futures::future::join_all(signers.iter().enumerate().map(|(i, token)| {
        let (app, campaign) = (&app, &campaign);
        async move {
            tokio::time::sleep(std::time::Duration::from_millis(3 * i as u64)).await;
            try_sign(app, token, campaign).await
        }
    }));
    let stop = async {
        tokio::time::sleep(std::time::Duration::from_millis(60)).await;
        let _ = shutdown.send(());
    };
    let (results, ()) = futures::future::join(load, stop).await;
    let answered_ok = results
        .iter()
        .flatten()
        .filter(|body| body.get("errors").is_none())
        .count() as i64;
    assert!(answered_ok > 0, "signing was under way");
    assert!(answered_ok < 60, "the shutdown refused later signers");
    // Every signature answered OK is stored, and none that was not.
    assert_eq!(witness.signature_rows(&campaign).await, answered_ok);
}

#[tokio::test]
async fn postgresql_stops_a_requests_statement_at_its_time_limit_and_upkeep_has_none() {
    let app = TestApp::spawn_with(&["--db-statement-timeout-ms", "300"]).await;
    if !app.database_url.starts_with("postgres") {
        return; // SQLite runs statements in process: they stop with the request.
    }
    let config = TestApp::config(
        &app.database_url,
        &app.redis_prefix,
        &app.data_dir,
        &["--db-statement-timeout-ms".into(), "300".into()],
    );
    let (requests, upkeep) = consumact_api::db::connect_serving(&config).await.unwrap();
    let setting = |db: sea_orm::DatabaseConnection| async move {
        use sea_orm::ConnectionTrait;
        let row = db
            .query_one_raw(sea_orm::Statement::from_string(
                db.get_database_backend(),
                "SELECT current_setting('statement_timeout') AS limit",
            ))
            .await
            .unwrap()
            .unwrap();
        row.try_get::<String>("", "limit").unwrap()
    };
    assert_eq!(setting(requests.clone()).await, "300ms");
    assert_eq!(setting(upkeep).await, "0");
    // The database itself stops the statement, and the caller is told to retry.
    let slow = sea_orm::ConnectionTrait::execute_unprepared(&requests, "SELECT pg_sleep(2)")
        .await
        .expect_err("stopped after 300 ms");
    let answer = consumact_api::error::AppError::from(slow);
    assert_eq!(answer.code(), "UNAVAILABLE");
}
