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

/// The differentially private release as a public reader sees it: error
/// bars on every chart, a legend, the months and budget released,
/// territories by name, a plain word where time series need an analyst,
/// and no horizontal overflow on a laptop or a phone.
#[tokio::test]
async fn the_released_dashboard_shows_error_bars_and_reads_on_a_phone() {
    let Some(mut browser) = Browser::launch().await else {
        return;
    };
    let dp = [
        "--observatory-privacy",
        "dp",
        "--dp-rho",
        "8",
        "--dp-rho-total",
        "16",
        "--dp-auto-release",
        "false",
        "--observatory-public",
        "true",
    ];
    let mut args = crate::common::ADMIN_ARGS.to_vec();
    args.extend_from_slice(&dp);
    let app = TestApp::spawn_with(&args).await;
    let db = sea_orm::Database::connect(app.database_url.as_str())
        .await
        .unwrap();
    let seeded = SeedArgs {
        signatures: 6_000,
        ratings: 12_000,
        producers: 24,
        members: 600,
        campaigns_per_producer: 3,
        communities: 20,
        months: 4,
        seed: 7,
        products: 0,
        index_builds: 2,
    };
    seed::run(&db, &Config::from_args(["consumact"]).unwrap(), &seeded)
        .await
        .unwrap();
    let mut release_args = vec!["consumact"];
    release_args.extend_from_slice(&dp);
    let config = Config::from_args(release_args).unwrap();
    use chrono::Datelike;
    let today = chrono::Utc::now().date_naive();
    let this_month = chrono::NaiveDate::from_ymd_opt(today.year(), today.month(), 1).unwrap();
    for back in [2, 1] {
        consumact_api::service::observatory::release::release(
            &db,
            None,
            &config,
            this_month - chrono::Months::new(back),
        )
        .await
        .unwrap();
    }

    for (width, height) in [(1280, 800), (390, 844)] {
        browser
            .call(
                "Emulation.setDeviceMetricsOverride",
                json!({ "width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 500 }),
            )
            .await;
        browser.navigate(&app.url("/observatory")).await;
        let ready = browser
            .wait_for("document.body && document.body.dataset.ready", 20)
            .await;
        assert_eq!(ready, json!("1"), "dashboard not ready at {width}px");
        let seen = browser
            .eval(
                "JSON.stringify({
                    overflow: document.documentElement.scrollWidth - window.innerWidth,
                    sectorErrorBars: Number(document.getElementById('sectors').dataset.errorBars),
                    territoryErrorBars: Number(document.getElementById('territories').dataset.errorBars),
                    plusMinus: [...document.querySelectorAll('#ranking .pm')].length,
                    legend: [...document.querySelectorAll('.legend li')].filter(li => !li.hidden).map(li => li.textContent),
                    release: document.getElementById('release').textContent,
                    series: document.getElementById('series').textContent,
                    territories: document.getElementById('territories').textContent,
                })",
            )
            .await;
        let seen: Value = serde_json::from_str(seen.as_str().unwrap()).unwrap();
        assert!(seen["overflow"].as_i64().unwrap() <= 0, "{width}px: {seen}");
        assert!(seen["sectorErrorBars"].as_u64().unwrap() >= 1, "{seen}");
        assert!(seen["territoryErrorBars"].as_u64().unwrap() >= 1, "{seen}");
        assert!(seen["plusMinus"].as_u64().unwrap() >= 1, "{seen}");
        let legend = seen["legend"].to_string();
        assert!(
            legend.contains("50 or more") && legend.contains("95 % interval"),
            "{seen}"
        );
        assert!(seen["release"].as_str().unwrap().contains("(2)"), "{seen}");
        let series = seen["series"].as_str().unwrap();
        assert!(
            series.contains("open to analysts") && !series.contains("UNAUTHENTICATED"),
            "{seen}"
        );
        // Territory codes read as names.
        let territories = seen["territories"].as_str().unwrap();
        assert!(
            !territories.is_empty() && territories.chars().filter(|c| c.is_lowercase()).count() > 3,
            "{seen}"
        );
    }
    browser.eval("1").await;
    assert!(
        browser.errors.is_empty(),
        "console errors: {:#?}",
        browser.errors
    );
    browser.close().await;
}
