//! The differentially private release (`CONSUMACT_OBSERVATORY_PRIVACY=dp`):
//! closed months released once and frozen, the same figures through every
//! question, filter, grouping, export and restart; small cells left out;
//! groups that add up; a ledger that refuses to overspend.

use super::*;

const DP: [&str; 8] = [
    "--observatory-privacy",
    "dp",
    "--dp-rho",
    "8",
    "--dp-rho-total",
    "20",
    "--dp-auto-release",
    "false",
];

const FIGURES: &str = "suppressed memberCount metrics {
  trustIndex ratingCount signatures
  pledges { buy avoid switch reduce monthlyAmountCents }
  standardErrors { memberCount signatures ratingCount trustIndex pledgesBuy monthlyAmountCents }
}";

fn release_config() -> consumact_api::config::Config {
    let mut args = vec!["consumact"];
    args.extend_from_slice(&DP);
    consumact_api::config::Config::from_args(args).unwrap()
}

async fn release(
    db: &sea_orm::DatabaseConnection,
    back: u32,
) -> Result<consumact_api::service::observatory::release::Released, String> {
    let month = chrono::NaiveDate::parse_from_str(
        &first_of_month(chrono::Utc::now(), back)[..10],
        "%Y-%m-%d",
    )
    .unwrap();
    consumact_api::service::observatory::release::release(db, None, &release_config(), month)
        .await
        .map_err(|err| format!("{}: {}", err.code(), err.message()))
}

/// Every answer a reader can get about the producers: the ranking, each
/// producer, the sectors, a series and the export.
async fn every_answer(app: &TestApp, admin: &str, producers: &[String]) -> Value {
    let ranking = observatory(
        app,
        Some(admin),
        &format!("{{ observatory {{ ranking(first: 50, orderBy: SIGNATURES) {{ edges {{ node {{ producer {{ id }} {FIGURES} }} }} }} }} }}"),
        json!({}),
    )
    .await["ranking"]["edges"]
        .clone();
    let mut each = Vec::new();
    for id in producers {
        each.push(
            observatory(
                app,
                Some(admin),
                &format!("query($id: ID!) {{ observatory {{ producer(id: $id) {{ producer {{ id }} {FIGURES} }} }} }}"),
                json!({ "id": id }),
            )
            .await["producer"]
                .clone(),
        );
    }
    let sectors = observatory(
        app,
        Some(admin),
        &format!("{{ observatory {{ groups(by: SECTOR) {{ key producerCount {FIGURES} }} }} }}"),
        json!({}),
    )
    .await["groups"]
        .clone();
    let now = chrono::Utc::now();
    let series = observatory(
        app,
        Some(admin),
        &format!("query($f: DateTime!, $t: DateTime!) {{ observatory {{ series(bucket: MONTH, from: $f, to: $t) {{ start {FIGURES} }} }} }}"),
        json!({ "f": first_of_month(now, 5), "t": first_of_month(now, 0) }),
    )
    .await["series"]
        .clone();
    let (status, _, csv) = export(app, Some(admin), "", None).await;
    assert_eq!(status, 200, "{csv}");
    json!({ "ranking": ranking, "each": each, "sectors": sectors, "series": series, "export": csv })
}

/// Moves the ratings whose `column` is `id` to the start of `month`.
async fn backdate(db: &sea_orm::DatabaseConnection, column: &str, id: &str, month: &str) {
    let backend = db.get_database_backend();
    let sql = match backend {
        sea_orm::DbBackend::Postgres => {
            format!("UPDATE trust_rating SET created_at = $1 WHERE {column} = $2")
        }
        _ => format!("UPDATE trust_rating SET created_at = ? WHERE {column} = ?"),
    };
    let at = chrono::DateTime::parse_from_rfc3339(month)
        .unwrap()
        .with_timezone(&chrono::Utc);
    let changed = db
        .execute_raw(Statement::from_sql_and_values(
            backend,
            sql,
            [at.into(), uuid::Uuid::parse_str(id).unwrap().into()],
        ))
        .await
        .unwrap();
    assert!(changed.rows_affected() > 0);
}

/// A plain GET (with a bearer token unless empty): status and body.
async fn get(app: &TestApp, token: &str, path: &str) -> (u16, String) {
    let mut request = app.client.get(app.url(path));
    if !token.is_empty() {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

fn signatures(cell: &Value) -> i64 {
    cell["metrics"]["signatures"].as_i64().unwrap_or(0)
}

#[tokio::test]
async fn a_released_month_is_frozen_and_answers_the_same_everywhere() {
    let app = spawn(&DP).await;
    let db = seed_months(&app, 4).await;
    let admin = app.admin_token().await;
    let producers: Vec<String> = observatory(
        &app,
        Some(&admin),
        "{ observatory { ranking(first: 50) { edges { node { producer { id } } } } } }",
        json!({}),
    )
    .await["ranking"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|edge| edge["node"]["producer"]["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(producers.len(), 8);
    // A producer two members rated last month: too small to publish.
    let small = producer(&app, &admin, "Small Dairy", "food", "FR").await;
    for handle in ["dp_rater_1", "dp_rater_2"] {
        let (token, _) = app.register(handle).await;
        let rated = rate(&app, &token, &small, &[("QUALITY", 5)]).await;
        assert!(rated.get("errors").is_none(), "{rated}");
    }
    let last_month = first_of_month(chrono::Utc::now(), 1);
    backdate(&db, "producer_id", &small, &last_month).await;

    // Nothing is published before a release.
    let before = every_answer(&app, &admin, &producers).await;
    assert!(
        before["ranking"]
            .as_array()
            .unwrap()
            .iter()
            .all(|edge| edge["node"]["suppressed"] == true),
        "{before}"
    );
    // The open month is refused, the closed ones are released once.
    let open = release(&db, 0).await.unwrap_err();
    assert!(open.starts_with("BAD_USER_INPUT"), "{open}");
    let released = release(&db, 1).await.unwrap();
    assert_eq!(released.producers, 9);
    assert!(released.published >= 1, "{released:?}");
    let again = release(&db, 1).await.unwrap_err();
    assert!(
        again.starts_with("CONFLICT") && again.contains("released already"),
        "{again}"
    );
    release(&db, 2).await.unwrap();
    // 16 of 20 spent: a third month would pass the total.
    let refused = release(&db, 3).await.unwrap_err();
    assert!(
        refused.starts_with("CONFLICT") && refused.contains("budget"),
        "{refused}"
    );

    let first = every_answer(&app, &admin, &producers).await;
    // Published producers show noisy figures with their standard errors.
    let ranked = first["ranking"].as_array().unwrap();
    let published: Vec<&Value> = ranked
        .iter()
        .map(|edge| &edge["node"])
        .filter(|node| node["suppressed"] == false)
        .collect();
    assert!(!published.is_empty(), "{first}");
    for node in &published {
        let errors = &node["metrics"]["standardErrors"];
        assert!(errors["signatures"].as_f64().unwrap() > 0.0, "{node}");
        assert!(node["memberCount"].as_i64().unwrap() >= released.threshold);
    }
    // The two raters' producer stays out of every figure.
    let small_cell = ranked
        .iter()
        .find(|edge| edge["node"]["producer"]["id"] == small.as_str())
        .unwrap();
    assert_eq!(small_cell["node"]["suppressed"], true, "{small_cell}");
    // One producer asked alone reads as in the ranking.
    for node in first["each"].as_array().unwrap() {
        let in_ranking = ranked
            .iter()
            .find(|edge| edge["node"]["producer"]["id"] == node["producer"]["id"])
            .unwrap();
        assert_eq!(&in_ranking["node"], node);
    }
    // A filter narrows the producers, never their figures.
    let sector = app
        .gql_ok(
            Some(&admin),
            "query($id: ID!) { producer(id: $id) { sector } }",
            json!({ "id": published[0]["producer"]["id"] }),
        )
        .await["producer"]["sector"]
        .as_str()
        .unwrap()
        .to_owned();
    let filtered = observatory(
        &app,
        Some(&admin),
        &format!("query($s: String!) {{ observatory {{ ranking(first: 50, orderBy: SIGNATURES, filter: {{ sector: $s }}) {{ edges {{ node {{ producer {{ id }} {FIGURES} }} }} }} }} }}"),
        json!({ "s": sector }),
    )
    .await["ranking"]["edges"]
        .clone();
    assert!(!filtered.as_array().unwrap().is_empty());
    for edge in filtered.as_array().unwrap() {
        let unfiltered = ranked
            .iter()
            .find(|other| other["node"]["producer"]["id"] == edge["node"]["producer"]["id"])
            .unwrap();
        assert_eq!(unfiltered["node"], edge["node"]);
    }
    // Sectors add up to their producers, and to the whole.
    let total: i64 = published.iter().map(|node| signatures(node)).sum();
    let by_sector: i64 = first["sectors"]
        .as_array()
        .unwrap()
        .iter()
        .map(signatures)
        .sum();
    assert_eq!(by_sector, total, "{}", first["sectors"]);
    // The series shows released months only, and adds up to the totals.
    let series = first["series"].as_array().unwrap();
    let shown: Vec<&Value> = series.iter().filter(|p| p["suppressed"] == false).collect();
    assert_eq!(shown.len(), 2, "{series:?}");
    assert_eq!(shown.iter().map(|p| signatures(p)).sum::<i64>(), total);
    // The export has the same figures.
    let csv = first["export"].as_str().unwrap();
    for node in &published {
        let id = node["producer"]["id"].as_str().unwrap();
        let line = csv.lines().find(|line| line.contains(id)).unwrap();
        assert!(
            line.split(',')
                .any(|field| field == signatures(node).to_string()),
            "{line} lacks {}",
            signatures(node)
        );
    }

    // A rating added to a released month afterwards changes nothing.
    let (late, late_id) = app.register("dp_late").await;
    let rated = rate(&app, &late, &producers[0], &[("FAIRNESS", 1)]).await;
    assert!(rated.get("errors").is_none(), "{rated}");
    backdate(&db, "member_id", &late_id, &last_month).await;
    assert_eq!(every_answer(&app, &admin, &producers).await, first);
    // Nor does a restart.
    let sibling = app.spawn_sibling().await;
    let sibling_admin = sibling.admin_token().await;
    assert_eq!(
        every_answer(&sibling, &sibling_admin, &producers).await,
        first
    );

    // The ledger says what was spent, on what, and why no more.
    let privacy = observatory(
        &app,
        None,
        "{ observatory { privacy { mode mechanism rhoPerPeriod rhoTotal rhoSpent rhoRemaining threshold refusal epsilonAtDelta(delta: 1e-9) contributionBounds { maxProducersPerMember pledgeCapCents } periodsReleased { period rho producers published threshold dataUrl measures { measure rho sensitivity standardDeviation } } } } }",
        json!({}),
    )
    .await["privacy"]
        .clone();
    assert_eq!(privacy["mode"], "DP", "{privacy}");
    assert_eq!(privacy["rhoSpent"], 16.0);
    assert_eq!(privacy["rhoRemaining"], 4.0);
    assert!(
        privacy["refusal"]
            .as_str()
            .unwrap()
            .contains("CONSUMACT_DP_RHO_TOTAL")
    );
    let epsilon = privacy["epsilonAtDelta"].as_f64().unwrap();
    assert!((epsilon - (8.0 + 2.0 * (8.0 * 1e9f64.ln()).sqrt())).abs() < 1e-9);
    let periods = privacy["periodsReleased"].as_array().unwrap();
    assert_eq!(periods.len(), 2);
    assert_eq!(periods[1]["period"], &last_month[..10]);
    let measures = periods[1]["measures"].as_array().unwrap();
    assert_eq!(measures.len(), 15);
    let spent: f64 = measures.iter().map(|m| m["rho"].as_f64().unwrap()).sum();
    assert!((spent - 8.0).abs() < 1e-9, "{measures:?}");

    for delta in ["0", "1.5", "-1e-9"] {
        let body = app
            .gql(
                None,
                &format!("{{ observatory {{ privacy {{ epsilonAtDelta(delta: {delta}) }} }} }}"),
                json!({}),
            )
            .await;
        assert_eq!(error_code(&body), "BAD_USER_INPUT", "{body}");
        assert_eq!(error_field(&body), "delta", "{body}");
    }

    // Each released month is open data with its card, adding up to the
    // figures above.
    let mut from_files = 0;
    for period in periods {
        let csv = get(&app, &admin, period["dataUrl"].as_str().unwrap()).await;
        assert_eq!(csv.0, 200, "{}", csv.1);
        let mut lines = csv.1.lines();
        let header: Vec<&str> = lines.next().unwrap().split(',').collect();
        let column = header.iter().position(|c| *c == "signatures").unwrap();
        let rows: Vec<Vec<String>> = lines
            .map(|line| line.split(',').map(str::to_owned).collect())
            .collect();
        assert_eq!(rows.len() as i64, period["published"].as_i64().unwrap());
        from_files += rows
            .iter()
            .map(|row| row[column].parse::<i64>().unwrap())
            .sum::<i64>();
        let card = get(
            &app,
            &admin,
            &period["dataUrl"].as_str().unwrap().replace(".csv", ".json"),
        )
        .await;
        assert_eq!(card.0, 200);
        let card: Value = serde_json::from_str(&card.1).unwrap();
        assert_eq!(card["licence"], "CC-BY-4.0");
        assert_eq!(card["guarantee"]["rho_zcdp"], 8.0);
        assert_eq!(card["columns"].as_array().unwrap().len(), header.len());
    }
    assert_eq!(from_files, total);
    for missing in [
        "/observatory/releases/2001-01.csv",
        "/observatory/releases/latest.csv",
        "/observatory/releases/2026-13.json",
    ] {
        let (status, body) = get(&app, &admin, missing).await;
        assert_eq!(status, 404, "{missing}: {body}");
        assert!(body.contains("NOT_FOUND"), "{body}");
    }
    let (status, _) = get(&app, "", periods[0]["dataUrl"].as_str().unwrap()).await;
    assert_eq!(status, 401, "open data follows the observatory's access");
    let (status, page) = get(&app, "", "/observatory/privacy").await;
    assert_eq!(status, 200);
    assert!(
        page.contains(&last_month[..7]) && page.contains("No further month"),
        "{page}"
    );

    // Time series stay with analysts; a bucket finer than the release's
    // month is refused.
    let body = app
        .gql(
            Some(&admin),
            "query($f: DateTime!, $t: DateTime!) { observatory { series(bucket: WEEK, from: $f, to: $t) { start } } }",
            json!({ "f": first_of_month(chrono::Utc::now(), 2), "t": first_of_month(chrono::Utc::now(), 0) }),
        )
        .await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT", "{body}");
}
