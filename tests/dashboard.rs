//! The analysts' dashboard at `/observatory`, in real headless Chromium:
//! on a seeded data set it loads, draws the ranking, a producer's trust over
//! time and the sector and territory comparisons, and logs no console error.

use crate::common::TestApp;
use crate::common::browser::Browser;
use consumact_api::config::Config;
use consumact_api::seed::{self, SeedArgs};
use serde_json::{Value, json};

#[tokio::test]
async fn the_dashboard_draws_its_charts_from_seeded_data_without_console_errors() {
    let Some(mut browser) = Browser::launch().await else {
        return;
    };
    let app = TestApp::spawn_with(&crate::common::ADMIN_ARGS).await;
    let db = sea_orm::Database::connect(app.database_url.as_str())
        .await
        .unwrap();
    let config = Config::from_args(["consumact"]).unwrap();
    let args = SeedArgs {
        signatures: 6_000,
        ratings: 12_000,
        producers: 24,
        members: 600,
        campaigns_per_producer: 3,
        communities: 20,
        months: 6,
        seed: 7,
        products: 0,
        index_builds: 2,
    };
    let report = seed::run(&db, &config, &args).await.unwrap();
    assert_eq!(report.signatures, 6_000);
    let token = app.admin_token().await;

    browser
        .navigate(&app.url(&format!("/observatory#token={token}")))
        .await;
    let ready = browser
        .wait_for("document.body && document.body.dataset.ready", 20)
        .await;
    let status = browser
        .eval("document.getElementById('status').textContent")
        .await;
    assert_eq!(ready, json!("1"), "dashboard not ready; status: {status}");
    let drawn = browser
        .eval(
            "JSON.stringify({
                rows: document.querySelectorAll('#ranking tbody tr').length,
                trustCells: [...document.querySelectorAll('#ranking tbody tr td:nth-child(4)')].filter(td => /\\d/.test(td.textContent)).length,
                points: Number(document.getElementById('series').dataset.points),
                circles: document.querySelectorAll('#series circle').length,
                sectors: Number(document.getElementById('sectors').dataset.bars),
                territories: Number(document.getElementById('territories').dataset.bars),
                title: document.getElementById('series-title').textContent,
            })",
        )
        .await;
    let drawn: Value = serde_json::from_str(drawn.as_str().unwrap()).unwrap();
    assert_eq!(drawn["rows"], 20, "{drawn}");
    assert!(drawn["trustCells"].as_u64().unwrap() >= 3, "{drawn}");
    assert!(
        drawn["points"].as_u64().unwrap() >= 2,
        "a trend needs points: {drawn}"
    );
    assert_eq!(drawn["points"], drawn["circles"]);
    assert!(drawn["sectors"].as_u64().unwrap() >= 2, "{drawn}");
    assert!(drawn["territories"].as_u64().unwrap() >= 2, "{drawn}");
    assert!(
        drawn["title"].as_str().unwrap().contains("Producer"),
        "{drawn}"
    );

    // What the page shows comes from the API: the first row is the ranking's first.
    let first = app
        .gql_ok(
            Some(&token),
            "{ observatory { ranking(first: 1) { edges { node { producer { name } } } } } }",
            json!({}),
        )
        .await;
    let name = browser
        .eval("document.querySelector('#ranking tbody tr td:nth-child(2)').textContent")
        .await;
    assert_eq!(
        name,
        first["observatory"]["ranking"]["edges"][0]["node"]["producer"]["name"]
    );

    if let Ok(path) = std::env::var("CONSUMACT_SCREENSHOT") {
        std::fs::write(&path, browser.screenshot().await).unwrap();
    }
    // Flush pending events, then require a clean console.
    browser.eval("1").await;
    assert!(
        browser.errors.is_empty(),
        "console errors: {:#?}",
        browser.errors
    );
    browser.close().await;
}
