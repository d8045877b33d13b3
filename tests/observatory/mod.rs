//! The consumer-trust observatory, as analysts and frontends see it: trust
//! ratings, metrics per producer, per group and over time, access rules, the
//! open-data export, the rollups' rebuild, and above all privacy: no answer,
//! and no difference of answers, reveals a group smaller than k.

use crate::common::postgres_server::PostgresServer;
use crate::common::{TestApp, error_code, error_field, eventually};
use sea_orm::{ConnectionTrait, Database, Statement};
use serde_json::{Value, json};

mod access;
mod cumulative;
mod fold;
mod privacy;
mod release;
mod rollups;
mod seeding;
mod series;
mod targets;
mod windows;

const RATE: &str = "mutation($id: ID!, $scores: [TrustScoreInput!]!) {
  rateProducer(producerId: $id, input: { scores: $scores }) { dimension score period }
}";

const METRICS: &str = "suppressed memberCount metrics {
  trustIndex ratingCount signatures
  dimensions { dimension ratingCount mean trustIndex }
  pledges { buy avoid switch reduce balance monthlyAmountCents }
  responses { campaigns answered responseRate medianHoursToFirstResponse }
  commitments { made kept broken open }
}";

async fn spawn(extra: &[&str]) -> TestApp {
    let mut args: Vec<&str> = crate::common::ADMIN_ARGS.to_vec();
    args.extend_from_slice(extra);
    TestApp::spawn_with(&args).await
}

async fn producer(app: &TestApp, token: &str, name: &str, sector: &str, territory: &str) -> String {
    app.gql_ok(
        Some(token),
        "mutation($input: CreateProducerInput!) { createProducer(input: $input) { id } }",
        json!({ "input": { "name": name, "kind": "SME", "sector": sector, "territory": territory } }),
    )
    .await["createProducer"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// A published petition against `producer`, with values and a community.
async fn campaign(
    app: &TestApp,
    token: &str,
    producer: &str,
    community: Option<&str>,
    tags: &[&str],
) -> String {
    let id = app
        .gql_ok(
            Some(token),
            "mutation($input: CreateCampaignInput!) { createCampaign(input: $input) { id } }",
            json!({ "input": {
                "kind": "PETITION",
                "title": "Tell us where it comes from",
                "summary": "Publish the origin of every ingredient on the label.",
                "body": "Members want to buy what is grown near them.",
                "producerId": producer,
                "communityId": community,
                "valueTags": tags,
            }}),
        )
        .await["createCampaign"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.publish(token, &id).await;
    id
}

async fn rate(app: &TestApp, token: &str, producer: &str, scores: &[(&str, i64)]) -> Value {
    let scores: Vec<Value> = scores
        .iter()
        .map(|(dimension, score)| json!({ "dimension": dimension, "score": score }))
        .collect();
    app.gql(
        Some(token),
        RATE,
        json!({ "id": producer, "scores": scores }),
    )
    .await
}

async fn observatory(app: &TestApp, token: Option<&str>, query: &str, variables: Value) -> Value {
    let body = app.gql(token, query, variables).await;
    assert!(body.get("errors").is_none(), "{body}");
    body["data"]["observatory"].clone()
}

async fn export(
    app: &TestApp,
    token: Option<&str>,
    query: &str,
    accept: Option<&str>,
) -> (u16, String, String) {
    let mut request = app
        .client
        .get(app.url(&format!("/observatory/export?{query}")));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(accept) = accept {
        request = request.header("accept", accept);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, content_type, response.text().await.unwrap())
}

fn month_range() -> (String, String) {
    let now = chrono::Utc::now();
    let from = now - chrono::Duration::days(400);
    let to = now + chrono::Duration::days(1);
    (from.to_rfc3339(), to.to_rfc3339())
}

async fn community_id(app: &TestApp, slug: &str) -> String {
    app.gql_ok(
        None,
        "query($slug: String!) { community(slug: $slug) { id } }",
        json!({ "slug": slug }),
    )
    .await["community"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// A member the admin approved as `producer`'s representative.
async fn representative(app: &TestApp, admin: &str, producer: &str) -> String {
    app.representative(
        admin,
        producer,
        &format!("rep_{}", &producer[producer.len() - 12..]),
    )
    .await
}

/// Every row of a kept table in key order: its keys' values as text (the
/// first `ids` of them are ids), then the named columns' values.
async fn stored_rows(
    db: &sea_orm::DatabaseConnection,
    table: &str,
    keys: &[&str],
    ids: usize,
    columns: &[String],
) -> Vec<(Vec<String>, Vec<i64>)> {
    let selected: Vec<&str> = keys
        .iter()
        .copied()
        .chain(columns.iter().map(String::as_str))
        .collect();
    let sql = format!(
        "SELECT {selected} FROM {table} ORDER BY {keys}",
        selected = selected.join(", "),
        keys = keys.join(", "),
    );
    db.query_all_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .unwrap()
        .iter()
        .map(|row| {
            let key = (0..keys.len())
                .map(|i| match i < ids {
                    true => row.try_get_by_index::<uuid::Uuid>(i).unwrap().to_string(),
                    false => row.try_get_by_index::<String>(i).unwrap(),
                })
                .collect();
            let values = (keys.len()..keys.len() + columns.len())
                .map(|i| row.try_get_by_index(i).unwrap())
                .collect();
            (key, values)
        })
        .collect()
}

/// Every column of every producer's stored facts, by producer.
async fn producer_facts(db: &sea_orm::DatabaseConnection) -> Vec<(uuid::Uuid, Vec<i64>)> {
    use consumact_api::service::observatory::facts;
    let columns: Vec<String> = facts::columns().collect();
    stored_rows(db, "obs_producer_fact", &["producer_id"], 1, &columns)
        .await
        .into_iter()
        .map(|(key, values)| (key[0].parse().unwrap(), values))
        .collect()
}

fn rule(k: u32) -> consumact_api::service::observatory::rollup::AtomRule {
    consumact_api::service::observatory::rollup::AtomRule {
        grain: consumact_api::config::Grain::Month,
        k,
    }
}

/// Every column of every producer's stored total, by producer.
async fn producer_totals(db: &sea_orm::DatabaseConnection) -> Vec<(uuid::Uuid, Vec<i64>)> {
    db.query_all_raw(Statement::from_string(
        db.get_database_backend(),
        "SELECT producer_id, atoms, members, signatures, ratings_transparency, ratings_fairness, \
         ratings_commitment_keeping, ratings_quality, score_transparency, score_fairness, \
         score_commitment_keeping, score_quality, pledges_buy, pledges_avoid, pledges_switch, \
         pledges_reduce, pledged_cents FROM obs_producer_total ORDER BY producer_id",
    ))
    .await
    .unwrap()
    .iter()
    .map(|row| {
        let values = (1..17).map(|i| row.try_get_by_index(i).unwrap()).collect();
        (row.try_get_by_index(0).unwrap(), values)
    })
    .collect()
}

/// Every kept period row: each producer's facts by period ([producer,
/// period], facts), each group's sums by period ([dimension, key, period],
/// sums).
#[allow(clippy::type_complexity)]
async fn stored_periods(
    db: &sea_orm::DatabaseConnection,
) -> (Vec<(Vec<String>, Vec<i64>)>, Vec<(Vec<String>, Vec<i64>)>) {
    use consumact_api::service::observatory::{facts, groups};
    let facts: Vec<String> = facts::columns().collect();
    let producers = stored_rows(
        db,
        "obs_producer_period",
        &["producer_id", "period_start"],
        1,
        &facts,
    )
    .await;
    let keys = ["dimension", "group_key", "period_start"];
    let groups = stored_rows(db, "obs_group_period", &keys, 0, &groups::period_columns()).await;
    (producers, groups)
}

/// Every kept group total: (dimension, key, producers then every sum).
async fn group_totals(db: &sea_orm::DatabaseConnection) -> Vec<(String, String, Vec<i64>)> {
    use consumact_api::service::observatory::groups;
    let keys = ["dimension", "group_key"];
    stored_rows(db, "obs_group_total", &keys, 0, &groups::columns())
        .await
        .into_iter()
        .map(|(mut key, values)| (key.remove(0), key.remove(0), values))
        .collect()
}

/// Every kept group membership: (dimension, key, producer).
async fn group_members(db: &sea_orm::DatabaseConnection) -> Vec<(String, String, uuid::Uuid)> {
    db.query_all_raw(Statement::from_string(
        db.get_database_backend(),
        "SELECT dimension, group_key, producer_id FROM obs_group_member \
         ORDER BY dimension, group_key, producer_id",
    ))
    .await
    .unwrap()
    .iter()
    .map(|row| {
        (
            row.try_get_by_index(0).unwrap(),
            row.try_get_by_index(1).unwrap(),
            row.try_get_by_index(2).unwrap(),
        )
    })
    .collect()
}

/// Midnight on the first day of the month `back` months before `now`'s.
fn first_of_month(now: chrono::DateTime<chrono::Utc>, back: u32) -> String {
    use chrono::Datelike;
    let first = chrono::NaiveDate::from_ymd_opt(now.year(), now.month(), 1).unwrap()
        - chrono::Months::new(back);
    format!("{first}T00:00:00Z")
}

/// A released cell's figures that add up across cells: null where the
/// k-rule kept one back inside the cell.
type Figures = Vec<Option<i64>>;

/// Adds `figures` into `sum`: a figure withheld in any part leaves its
/// sum unknown.
fn add_into(sum: &mut Option<Figures>, figures: Figures) {
    let sum = sum.get_or_insert_with(|| vec![Some(0); figures.len()]);
    for (slot, value) in sum.iter_mut().zip(figures) {
        *slot = slot.zip(value).map(|(a, b)| a + b);
    }
}

/// Whether the whole agrees with the sum of its parts: on every figure
/// each part shows (a figure withheld in a part may show in the whole).
fn agrees(whole: &Option<Figures>, parts: &Option<Figures>) -> bool {
    match (whole, parts) {
        (None, None) => true,
        (Some(whole), Some(parts)) => {
            whole.len() == parts.len()
                && whole.iter().zip(parts).all(|(w, p)| p.is_none() || w == p)
        }
        _ => false,
    }
}

fn additive(cell: &Value) -> Option<Figures> {
    if cell["suppressed"] == true {
        return None;
    }
    let metrics = &cell["metrics"];
    let paths: [&[&str]; 12] = [
        &["ratingCount"],
        &["signatures"],
        &["pledges", "buy"],
        &["pledges", "avoid"],
        &["pledges", "switch"],
        &["pledges", "reduce"],
        &["pledges", "monthlyAmountCents"],
        &["responses", "campaigns"],
        &["responses", "answered"],
        &["commitments", "made"],
        &["commitments", "kept"],
        &["commitments", "open"],
    ];
    let mut out = vec![Some(cell["memberCount"].as_i64().unwrap())];
    for path in paths {
        let value = path.iter().fold(metrics, |value, key| &value[*key]);
        assert!(value.is_null() || value.is_i64(), "{path:?}: {value}");
        out.push(value.as_i64());
    }
    Some(out)
}

/// Every kept window row: ([producer, span], sums then facts).
async fn window_rows(db: &sea_orm::DatabaseConnection) -> Vec<(Vec<String>, Vec<i64>)> {
    use consumact_api::service::observatory::groups;
    let keys = ["producer_id", "span"];
    stored_rows(
        db,
        "obs_producer_window",
        &keys,
        1,
        &groups::period_columns(),
    )
    .await
}

/// The active periods, and every cumulative row ([producer, period], sums
/// in the producer totals' order).
async fn cumulative_rows(
    db: &sea_orm::DatabaseConnection,
) -> (Vec<String>, Vec<(Vec<String>, Vec<i64>)>) {
    use consumact_api::service::observatory::rollup::total_columns;
    let periods = stored_rows(db, "obs_cumulative_period", &["period_start"], 0, &[])
        .await
        .into_iter()
        .map(|(key, _)| key[0].clone())
        .collect();
    let columns: Vec<String> = total_columns().map(str::to_owned).collect();
    let rows = stored_rows(
        db,
        "obs_producer_cumulative",
        &["producer_id", "period_start"],
        1,
        &columns,
    )
    .await;
    (periods, rows)
}

/// Seeds `months` months of activity through `consumact seed` (k = 2, as
/// the server keeps it).
async fn seed_months(app: &TestApp, months: u32) -> sea_orm::DatabaseConnection {
    let db = Database::connect(app.database_url.as_str()).await.unwrap();
    let config =
        consumact_api::config::Config::from_args(["consumact", "--observatory-k", "2"]).unwrap();
    let args = consumact_api::seed::SeedArgs {
        signatures: 6_000,
        ratings: 3_000,
        producers: 8,
        members: 300,
        campaigns_per_producer: 3,
        communities: 4,
        months,
        seed: 11,
        products: 0,
        index_builds: 2,
    };
    consumact_api::seed::run(&db, &config, &args).await.unwrap();
    db
}

/// Whether a ranking cursor is one the stored totals' index issued.
fn stored_cursor(cursor: &Value) -> bool {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor.as_str().unwrap())
        .unwrap();
    String::from_utf8(bytes).unwrap().starts_with("r1:")
}

/// Every row of a ranking (`producer { id }` and the metrics), paged three
/// at a time through its keyset cursors; each page reports `total`
/// producers.
async fn every_ranked(
    app: &TestApp,
    admin: &str,
    filter: &Value,
    order: &str,
    total: i64,
) -> Vec<Value> {
    let mut rows = Vec::new();
    let mut after = Value::Null;
    loop {
        let page = observatory(
            app,
            Some(admin),
            &format!("query($f: ObservatoryFilter, $o: RankingOrder!, $a: String) {{ observatory {{ ranking(first: 3, after: $a, orderBy: $o, filter: $f) {{ totalCount pageInfo {{ hasNextPage endCursor }} edges {{ cursor node {{ producer {{ id }} {METRICS} }} }} }} }} }}"),
            json!({ "f": filter, "o": order, "a": after }),
        )
        .await["ranking"]
            .clone();
        assert_eq!(page["totalCount"], total, "{filter} by {order}");
        for edge in page["edges"].as_array().unwrap() {
            assert!(
                stored_cursor(&edge["cursor"]),
                "{filter} by {order}: {edge}"
            );
            rows.push(edge["node"].clone());
        }
        if page["pageInfo"]["hasNextPage"] == false {
            return rows;
        }
        after = page["pageInfo"]["endCursor"].clone();
    }
}

/// Every rollup row, table by table: atoms, contributors, producer totals
/// and facts, group totals and members, periods, windows, cumulative sums.
type Rollups = (
    Vec<(Vec<String>, Vec<i64>)>,
    Vec<(Vec<String>, Vec<i64>)>,
    Vec<(uuid::Uuid, Vec<i64>)>,
    Vec<(uuid::Uuid, Vec<i64>)>,
    Vec<(String, String, Vec<i64>)>,
    Vec<(String, String, uuid::Uuid)>,
    (Vec<(Vec<String>, Vec<i64>)>, Vec<(Vec<String>, Vec<i64>)>),
    Vec<(Vec<String>, Vec<i64>)>,
    (Vec<String>, Vec<(Vec<String>, Vec<i64>)>),
);

/// Asserts two snapshots of the rollups equal, naming the first table that
/// differs.
fn assert_same_rollups(expected: &Rollups, actual: &Rollups, context: &str) {
    assert_eq!(expected.0, actual.0, "atoms, {context}");
    assert_eq!(expected.1, actual.1, "contributors, {context}");
    assert_eq!(expected.2, actual.2, "producer totals, {context}");
    assert_eq!(expected.3, actual.3, "producer facts, {context}");
    assert_eq!(expected.4, actual.4, "group totals, {context}");
    assert_eq!(expected.5, actual.5, "group members, {context}");
    assert_eq!(
        expected.6, actual.6,
        "producer and group periods, {context}"
    );
    assert_eq!(expected.7, actual.7, "window rows, {context}");
    assert_eq!(expected.8, actual.8, "cumulative sums, {context}");
}

async fn every_rollup_row(db: &sea_orm::DatabaseConnection) -> Rollups {
    use consumact_api::service::observatory::rollup::COUNT_COLUMNS;
    let atom_columns: Vec<String> = std::iter::once("members")
        .chain(COUNT_COLUMNS)
        .map(str::to_owned)
        .collect();
    let atoms = stored_rows(
        db,
        "obs_atom",
        &["producer_id", "period_start"],
        1,
        &atom_columns,
    )
    .await;
    let contributors = stored_rows(
        db,
        "obs_contributor",
        &["producer_id", "member_id", "period_start"],
        2,
        &["CAST(weight AS BIGINT)".to_owned()],
    )
    .await;
    (
        atoms,
        contributors,
        producer_totals(db).await,
        producer_facts(db).await,
        group_totals(db).await,
        group_members(db).await,
        stored_periods(db).await,
        window_rows(db).await,
        cumulative_rows(db).await,
    )
}

/// Every index and constraint of the test's database, as definitions,
/// sorted.
async fn index_and_key_definitions(db: &sea_orm::DatabaseConnection) -> Vec<String> {
    let sql = match db.get_database_backend() {
        sea_orm::DbBackend::Postgres => {
            "SELECT indexdef FROM pg_indexes WHERE schemaname = current_schema() \
             UNION ALL SELECT conrelid::regclass::text || ' ' || conname || ' ' || pg_get_constraintdef(oid) \
             FROM pg_constraint WHERE connamespace = \
               (SELECT oid FROM pg_namespace WHERE nspname = current_schema())"
        }
        _ => "SELECT COALESCE(sql, name) FROM sqlite_master WHERE type = 'index'",
    };
    let mut definitions: Vec<String> = db
        .query_all_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .unwrap()
        .iter()
        .map(|row| row.try_get_by_index(0).unwrap())
        .collect();
    definitions.sort();
    definitions
}
