//! The consumer-trust observatory, as analysts and frontends see it: trust
//! ratings, metrics per producer, per group and over time, access rules, the
//! open-data export, the rollups' rebuild, and above all privacy: no answer,
//! and no difference of answers, reveals a group smaller than k.

use crate::common::postgres_server::PostgresServer;
use crate::common::{TestApp, error_code, error_field, eventually};
use sea_orm::{ConnectionTrait, Database, Statement};
use serde_json::{Value, json};

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

#[tokio::test]
async fn ratings_replace_this_months_rating_and_are_checked() {
    let app = spawn(&["--rate-burst", "2", "--rate-per-minute", "1"]).await;
    let (organiser, _) = app.register("organiser").await;
    let acme = producer(&app, &organiser, "Acme Foods", "food", "FR").await;
    let (member, _) = app.register("rater").await;

    let first = rate(&app, &member, &acme, &[("QUALITY", 4), ("FAIRNESS", 2)]).await;
    let ratings = first["data"]["rateProducer"].as_array().unwrap();
    assert_eq!(ratings.len(), 2, "{first}");
    let period = chrono::Utc::now().format("%Y-%m").to_string();
    assert!(ratings.iter().all(|r| r["period"] == period.as_str()));

    let again = rate(&app, &member, &acme, &[("QUALITY", 1)]).await;
    let ratings = again["data"]["rateProducer"].as_array().unwrap();
    assert_eq!(ratings.len(), 2, "re-rating replaces, never adds: {again}");
    let quality = ratings
        .iter()
        .find(|r| r["dimension"] == "QUALITY")
        .unwrap();
    assert_eq!(quality["score"], 1);
    let mine = app
        .gql_ok(
            Some(&member),
            "query($id: ID!) { producer(id: $id) { viewerRatings { dimension score } } }",
            json!({ "id": acme }),
        )
        .await;
    assert_eq!(
        mine["producer"]["viewerRatings"].as_array().unwrap().len(),
        2
    );

    // The burst of two is spent: the limiter answers with a retry delay.
    let limited = rate(&app, &member, &acme, &[("QUALITY", 3)]).await;
    assert_eq!(error_code(&limited), "RATE_LIMITED", "{limited}");
    assert!(
        limited["errors"][0]["extensions"]["retryAfterMs"]
            .as_u64()
            .unwrap()
            > 0
    );

    let (other, _) = app.register("other").await;
    let (third, _) = app.register("third").await;
    for (scores, field) in [
        (
            json!([{ "dimension": "QUALITY", "score": 6 }]),
            "input.scores",
        ),
        (
            json!([{ "dimension": "QUALITY", "score": 0 }]),
            "input.scores",
        ),
        (json!([]), "input.scores"),
        (
            json!([{ "dimension": "QUALITY", "score": 3 }, { "dimension": "QUALITY", "score": 4 }]),
            "input.scores",
        ),
    ] {
        let body = app
            .gql(Some(&other), RATE, json!({ "id": acme, "scores": scores }))
            .await;
        assert_eq!(error_code(&body), "BAD_USER_INPUT", "{body}");
        assert_eq!(error_field(&body), field);
    }
    let unknown = rate(
        &app,
        &third,
        &uuid::Uuid::now_v7().to_string(),
        &[("QUALITY", 3)],
    )
    .await;
    assert_eq!(error_code(&unknown), "NOT_FOUND");
    let anonymous = app
        .gql(
            None,
            RATE,
            json!({ "id": acme, "scores": [{ "dimension": "QUALITY", "score": 3 }] }),
        )
        .await;
    assert_eq!(error_code(&anonymous), "UNAUTHENTICATED");
}

#[tokio::test]
async fn the_observatory_is_for_analysts_unless_opened() {
    let app = spawn(&[]).await;
    let query = "{ observatory { ranking { totalCount } } }";
    assert_eq!(
        error_code(&app.gql(None, query, json!({})).await),
        "UNAUTHENTICATED"
    );
    let (member, member_id) = app.register("member").await;
    assert_eq!(
        error_code(&app.gql(Some(&member), query, json!({})).await),
        "FORBIDDEN"
    );
    let admin = app.admin_token().await;
    app.gql_ok(Some(&admin), query, json!({})).await;
    app.gql_ok(
        Some(&admin),
        "mutation($id: ID!) { setMemberRole(memberId: $id, role: ANALYST) { role } }",
        json!({ "id": member_id }),
    )
    .await;
    app.gql_ok(Some(&member), query, json!({})).await;
    let (status, _, body) = export(&app, None, "", None).await;
    assert_eq!(status, 401, "{body}");
    assert!(body.contains("UNAUTHENTICATED"));

    let public = spawn(&["--observatory-public", "true"]).await;
    public.gql_ok(None, query, json!({})).await;
    public
        .gql_ok(
            None,
            "{ observatory { groups(by: SECTOR) { key } } }",
            json!({}),
        )
        .await;
    let (status, _, _) = export(&public, None, "", None).await;
    assert_eq!(status, 200);
    // Series stay with analysts even then.
    let (from, to) = month_range();
    let series = public
        .gql(
            None,
            "query($from: DateTime!, $to: DateTime!) { observatory { series(bucket: MONTH, from: $from, to: $to) { start } } }",
            json!({ "from": from, "to": to }),
        )
        .await;
    assert_eq!(error_code(&series), "UNAUTHENTICATED");
}

#[tokio::test]
async fn producer_metrics_combine_ratings_signatures_pledges_and_responses() {
    let app = spawn(&["--observatory-k", "3"]).await;
    let admin = app.admin_token().await;
    let (organiser, _) = app.register("organiser").await;
    let acme = producer(&app, &organiser, "Acme Foods", "food", "FR-IDF").await;
    let petition = campaign(&app, &organiser, &acme, None, &["local"]).await;
    let members = app.register_many("member", 4).await;
    for (i, token) in members.iter().enumerate() {
        app.sign(token, &petition).await;
        rate(
            &app,
            token,
            &acme,
            &[("QUALITY", 5), ("TRANSPARENCY", 1 + i as i64)],
        )
        .await;
    }
    for (token, kind) in [
        (&members[0], "BUY"),
        (&members[1], "BUY"),
        (&members[2], "AVOID"),
    ] {
        app.gql_ok(
            Some(token),
            "mutation($id: ID!, $kind: PledgeKind!) { pledge(campaignId: $id, input: { kind: $kind, monthlyAmountCents: 1000 }) { id } }",
            json!({ "id": petition, "kind": kind }),
        )
        .await;
    }
    // A representative answers with a commitment.
    let (rep, _) = app.register("representative").await;
    let claim = app
        .gql_ok(
            Some(&rep),
            "mutation($id: ID!) { claimProducer(producerId: $id) { id } }",
            json!({ "id": acme }),
        )
        .await["claimProducer"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.gql_ok(
        Some(&admin),
        "mutation($id: ID!) { decideProducerClaim(claimId: $id, approve: true) { status } }",
        json!({ "id": claim }),
    )
    .await;
    app.gql_ok(
        Some(&rep),
        "mutation($id: ID!) { respondToCampaign(campaignId: $id, input: { body: \"We will label origins by spring.\", commitment: \"Origins on every label\" }) { id } }",
        json!({ "id": petition }),
    )
    .await;
    // Representatives may not rate their own producer.
    let own = rate(&app, &rep, &acme, &[("QUALITY", 5)]).await;
    assert_eq!(error_code(&own), "FORBIDDEN");

    let query = format!(
        "query($id: ID!) {{ observatory {{ producer(id: $id) {{ producer {{ name }} {METRICS} }} }} }}"
    );
    let trust =
        observatory(&app, Some(&admin), &query, json!({ "id": acme })).await["producer"].clone();
    assert_eq!(trust["suppressed"], false, "{trust}");
    assert_eq!(trust["memberCount"], 4);
    let metrics = &trust["metrics"];
    assert_eq!(metrics["ratingCount"], 8);
    // 4 × QUALITY 5 (100 each) + TRANSPARENCY 1..4 (0, 25, 50, 75), prior 50 × 20.
    let expected = (20.0 * 50.0 + 400.0 + 150.0) / (20.0 + 8.0);
    assert!(
        (metrics["trustIndex"].as_f64().unwrap() - expected).abs() < 1e-9,
        "{metrics}"
    );
    let transparency = metrics["dimensions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["dimension"] == "TRANSPARENCY")
        .unwrap();
    assert_eq!(transparency["mean"], 2.5);
    assert_eq!(metrics["signatures"], 4);
    // Two BUY and one AVOID are each fewer than k (3): null, and so is the
    // balance; the three pledges sum into the amount, which shows.
    assert_eq!(
        metrics["pledges"],
        json!({ "buy": null, "avoid": null, "switch": null, "reduce": null,
                "balance": null, "monthlyAmountCents": 3000 })
    );
    assert_eq!(metrics["responses"]["campaigns"], 1);
    assert_eq!(metrics["responses"]["answered"], 1);
    assert_eq!(metrics["responses"]["responseRate"], 1.0);
    // Answered within the hour: the median is read as the middle of the
    // first class of hours, [0, 1).
    assert_eq!(metrics["responses"]["medianHoursToFirstResponse"], 0.5);
    assert_eq!(metrics["commitments"]["made"], 1);
    assert_eq!(metrics["commitments"]["open"], 1);

    // The same numbers per sector, per territory (FR includes FR-IDF) and per value.
    for (by, filter, key) in [
        ("SECTOR", json!({}), "food"),
        ("TERRITORY", json!({ "territory": "FR" }), "FR-IDF"),
        ("VALUE_TAG", json!({}), "local"),
    ] {
        let groups = observatory(
            &app,
            Some(&admin),
            &format!("query($by: ObservatoryGroupBy!, $filter: ObservatoryFilter) {{ observatory {{ groups(by: $by, filter: $filter) {{ key producerCount {METRICS} }} }} }}"),
            json!({ "by": by, "filter": filter }),
        )
        .await["groups"]
            .clone();
        let cell = groups
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["key"] == key)
            .unwrap_or_else(|| panic!("{by}: {groups}"));
        assert_eq!(cell["metrics"], trust["metrics"], "{by}");
        assert_eq!(cell["producerCount"], 1);
    }

    // A withdrawn signature and pledge leave the figures.
    app.gql_ok(
        Some(&members[3]),
        "mutation($id: ID!) { withdrawSignature(campaignId: $id) }",
        json!({ "id": petition }),
    )
    .await;
    let after = observatory(&app, Some(&admin), &query, json!({ "id": acme })).await;
    assert_eq!(after["producer"]["metrics"]["signatures"], 3);
    // The member still rated: still counted once.
    assert_eq!(after["producer"]["memberCount"], 4);

    // Over time: this month holds everything; the months before are empty.
    let (from, to) = month_range();
    let series = observatory(
        &app,
        Some(&admin),
        &format!("query($id: ID!, $from: DateTime!, $to: DateTime!) {{ observatory {{ series(producerId: $id, bucket: MONTH, from: $from, to: $to) {{ start end {METRICS} }} }} }}"),
        json!({ "id": acme, "from": from, "to": to }),
    )
    .await["series"]
        .clone();
    let points = series.as_array().unwrap();
    assert!((13..=15).contains(&points.len()), "{}", points.len());
    let released: Vec<&Value> = points.iter().filter(|p| p["suppressed"] == false).collect();
    assert_eq!(released.len(), 1, "{series}");
    assert_eq!(released[0]["metrics"]["ratingCount"], 8);
    let this_month = chrono::Utc::now().format("%Y-%m-01T00:00:00").to_string();
    assert!(
        released[0]["start"]
            .as_str()
            .unwrap()
            .starts_with(&this_month),
        "{}",
        released[0]["start"]
    );
}

/// The acceptance test of the privacy rule: in a sector of 50 raters, three
/// who rate one producer stay hidden under every query the API allows. Every
/// answer is taken, the three change every score they gave, and every answer
/// must come back byte for byte the same.
#[tokio::test]
async fn three_raters_in_a_sector_of_fifty_stay_hidden_under_every_query() {
    let app = spawn(&[]).await;
    let admin = app.admin_token().await;
    let (organiser, _) = app.register("organiser").await;
    let community = app
        .gql_ok(
            Some(&organiser),
            "mutation { createCommunity(input: { name: \"Label readers\", slug: \"label-readers\" }) { id } }",
            json!({}),
        )
        .await["createCommunity"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let big = producer(&app, &organiser, "Big Dairy", "dairy", "FR").await;
    let small = producer(&app, &organiser, "Small Creamery", "dairy", "DE").await;
    campaign(&app, &organiser, &big, Some(&community), &["local"]).await;
    campaign(&app, &organiser, &small, Some(&community), &["vegan"]).await;
    let members = app.register_many("rater", 50).await;
    let (many, few) = members.split_at(47);
    for token in many {
        let body = rate(&app, token, &big, &[("QUALITY", 4), ("FAIRNESS", 3)]).await;
        assert!(body.get("errors").is_none(), "{body}");
    }
    for token in few {
        let body = rate(
            &app,
            token,
            &small,
            &[("QUALITY", 1), ("FAIRNESS", 1), ("TRANSPARENCY", 2)],
        )
        .await;
        assert!(body.get("errors").is_none(), "{body}");
    }

    let (from, to) = month_range();
    let filters = [
        json!(null),
        json!({ "sector": "dairy" }),
        json!({ "territory": "DE" }),
        json!({ "territory": "FR" }),
        json!({ "valueTag": "vegan" }),
        json!({ "valueTag": "local" }),
        json!({ "community": "label-readers" }),
        json!({ "sector": "dairy", "territory": "DE" }),
        json!({ "kind": "SME" }),
        json!({ "from": from, "to": to }),
    ];
    let snapshot = || async {
        let mut answers = Vec::new();
        for filter in &filters {
            answers.push(
                observatory(
                    &app,
                    Some(&admin),
                    &format!("query($f: ObservatoryFilter) {{ observatory {{ ranking(first: 20, filter: $f) {{ totalCount edges {{ node {{ producer {{ name }} {METRICS} }} }} }} }} }}"),
                    json!({ "f": filter }),
                )
                .await,
            );
            for by in ["SECTOR", "TERRITORY", "COMMUNITY", "VALUE_TAG"] {
                answers.push(
                    observatory(
                        &app,
                        Some(&admin),
                        &format!("query($by: ObservatoryGroupBy!, $f: ObservatoryFilter) {{ observatory {{ groups(by: $by, filter: $f) {{ key label producerCount {METRICS} }} }} }}"),
                        json!({ "by": by, "f": filter }),
                    )
                    .await,
                );
            }
            answers.push(
                observatory(
                    &app,
                    Some(&admin),
                    &format!("query($f: ObservatoryFilter, $from: DateTime!, $to: DateTime!) {{ observatory {{ series(filter: $f, bucket: MONTH, from: $from, to: $to) {{ start {METRICS} }} }} }}"),
                    json!({ "f": filter, "from": from, "to": to }),
                )
                .await,
            );
        }
        for id in [&big, &small] {
            answers.push(
                observatory(
                    &app,
                    Some(&admin),
                    &format!("query($id: ID!, $from: DateTime!, $to: DateTime!) {{ observatory {{
                        producer(id: $id) {{ {METRICS} }}
                        series(producerId: $id, bucket: MONTH, from: $from, to: $to) {{ start {METRICS} }}
                    }} }}"),
                    json!({ "id": id, "from": from, "to": to }),
                )
                .await,
            );
        }
        for query in [
            "format=csv",
            "format=ndjson",
            "level=groups&by=SECTOR",
            "level=groups&by=TERRITORY&format=ndjson",
            "level=groups&by=VALUE_TAG&sector=dairy",
            "level=groups&by=COMMUNITY",
            "territory=DE",
        ] {
            let (status, _, body) = export(&app, Some(&admin), query, None).await;
            assert_eq!(status, 200, "{query}: {body}");
            answers.push(Value::String(body));
        }
        answers
    };

    let before = snapshot().await;
    // The small producer is suppressed; the sector holds the big one only.
    let small_trust = &before[before.len() - 8]["producer"];
    assert_eq!(small_trust["suppressed"], true, "{small_trust}");
    assert_eq!(small_trust["memberCount"], Value::Null);
    assert_eq!(small_trust["metrics"], Value::Null);
    let sectors = &before[1]["groups"];
    let dairy = sectors
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["key"] == "dairy")
        .unwrap();
    assert_eq!(dairy["memberCount"], 47, "{dairy}");
    assert_eq!(dairy["metrics"]["ratingCount"], 94);

    // The three change every score they gave, and add a dimension.
    for token in few {
        let body = rate(
            &app,
            token,
            &small,
            &[
                ("QUALITY", 5),
                ("FAIRNESS", 5),
                ("TRANSPARENCY", 5),
                ("COMMITMENT_KEEPING", 4),
            ],
        )
        .await;
        assert!(body.get("errors").is_none(), "{body}");
    }
    let after = snapshot().await;
    assert_eq!(before.len(), after.len());
    for (i, (b, a)) in before.iter().zip(&after).enumerate() {
        assert_eq!(b, a, "answer {i} moved with the three hidden raters");
    }

    // Not a test that cannot fail: one of the 47 changing a score shows.
    rate(&app, &many[0], &big, &[("QUALITY", 1)]).await;
    let moved = snapshot().await;
    assert_ne!(
        moved[1], before[1],
        "a released rater's change must show in the sector"
    );
}

#[tokio::test]
async fn one_rater_and_one_pledger_inside_a_released_period_stay_hidden() {
    // k = 10 (the default): ten signers release the producer's period.
    let app = spawn(&[]).await;
    let admin = app.admin_token().await;
    let (organiser, _) = app.register("organiser").await;
    let acme = producer(&app, &organiser, "Acme Oils", "oils", "FR").await;
    let petition = campaign(&app, &organiser, &acme, None, &[]).await;
    for token in app.register_many("signer", 10).await {
        assert!(app.sign(&token, &petition).await.get("errors").is_none());
    }
    let (lone, _) = app.register("lone_member").await;
    rate(&app, &lone, &acme, &[("QUALITY", 2)]).await;
    let pledge = "mutation($id: ID!, $cents: Int) { pledge(campaignId: $id, input: { kind: AVOID, monthlyAmountCents: $cents }) { id } }";
    let pledged = app
        .gql_ok(
            Some(&lone),
            pledge,
            json!({ "id": petition, "cents": 4200 }),
        )
        .await["pledge"]["id"]
        .clone();

    let (from, to) = month_range();
    let snapshot = || async {
        let mut answers = vec![
            observatory(
                &app,
                Some(&admin),
                &format!("query($id: ID!, $from: DateTime!, $to: DateTime!) {{ observatory {{
                    producer(id: $id) {{ {METRICS} }}
                    series(producerId: $id, bucket: MONTH, from: $from, to: $to) {{ start {METRICS} }}
                    groups(by: SECTOR) {{ key {METRICS} }}
                    ranking(first: 5) {{ edges {{ node {{ {METRICS} }} }} }}
                }} }}"),
                json!({ "id": acme, "from": from, "to": to }),
            )
            .await,
            app.gql_ok(
                None,
                "query($id: ID!) { campaign(id: $id) { pledgeTotals { pledgers monthlyAmountCents } } }",
                json!({ "id": petition }),
            )
            .await,
        ];
        for query in ["format=csv", "level=groups&by=SECTOR&format=ndjson"] {
            let (status, _, body) = export(&app, Some(&admin), query, None).await;
            assert_eq!(status, 200, "{query}: {body}");
            answers.push(Value::String(body));
        }
        answers
    };
    let before = snapshot().await;
    let trust = &before[0]["producer"];
    assert_eq!(trust["suppressed"], false, "{trust}");
    assert_eq!(trust["memberCount"], 11);
    let metrics = &trust["metrics"];
    assert_eq!(metrics["signatures"], 10);
    assert_eq!(metrics["ratingCount"], Value::Null, "{metrics}");
    assert_eq!(metrics["trustIndex"], Value::Null);
    for dimension in metrics["dimensions"].as_array().unwrap() {
        assert_eq!(
            dimension,
            &json!({ "dimension": dimension["dimension"], "ratingCount": null, "mean": null, "trustIndex": null }),
        );
    }
    assert_eq!(
        metrics["pledges"],
        json!({ "buy": null, "avoid": null, "switch": null, "reduce": null,
                "balance": null, "monthlyAmountCents": null })
    );
    assert_eq!(
        before[1]["campaign"]["pledgeTotals"],
        json!({ "pledgers": 1, "monthlyAmountCents": null })
    );

    // The lone member changes their score, rates another dimension,
    // withdraws and pledges another amount: no answer moves.
    rate(&app, &lone, &acme, &[("QUALITY", 5), ("FAIRNESS", 1)]).await;
    app.gql_ok(
        Some(&lone),
        "mutation($id: ID!) { withdrawPledge(pledgeId: $id) { id } }",
        json!({ "id": pledged }),
    )
    .await;
    app.gql_ok(
        Some(&lone),
        pledge,
        json!({ "id": petition, "cents": 9900 }),
    )
    .await;
    let after = snapshot().await;
    for (i, (b, a)) in before.iter().zip(&after).enumerate() {
        assert_eq!(b, a, "answer {i} moved with the lone rater and pledger");
    }

    // Not a test that cannot fail: with k raters, the dimension shows.
    for token in app.register_many("rater", 9).await {
        rate(&app, &token, &acme, &[("QUALITY", 4), ("FAIRNESS", 3)]).await;
    }
    let shown = snapshot().await;
    let quality = shown[0]["producer"]["metrics"]["dimensions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["dimension"] == "QUALITY")
        .unwrap()
        .clone();
    assert_eq!(quality["ratingCount"], 10, "{quality}");
    assert_eq!(quality["mean"], 4.1);
    assert_eq!(shown[0]["producer"]["metrics"]["ratingCount"], 20);
}

#[tokio::test]
async fn groups_count_only_public_campaigns() {
    let app = spawn(&["--campaign-sponsors", "2"]).await;
    let admin = app.admin_token().await;
    let (organiser, _) = app.register("organiser").await;
    app.gql_ok(
        Some(&organiser),
        "mutation { createCommunity(input: { name: \"Vegan Nantes\", slug: \"vegan-nantes\" }) { id } }",
        json!({}),
    )
    .await;
    let acme = producer(&app, &organiser, "Acme Spreads", "spreads", "FR").await;
    let id = app
        .gql_ok(
            Some(&organiser),
            "mutation($input: CreateCampaignInput!) { createCampaign(input: $input) { id } }",
            json!({ "input": {
                "kind": "PETITION", "title": "Drop palm oil from the spread",
                "summary": "Replace palm oil with a local oil in every jar.",
                "body": "Members of the community avoid palm oil.",
                "producerId": acme, "communityId": community_id(&app, "vegan-nantes").await,
                "valueTags": ["vegan"],
            }}),
        )
        .await["createCampaign"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let published = app
        .gql_ok(
            Some(&organiser),
            "mutation($id: ID!) { publishCampaign(id: $id) { status sponsorCode } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(published["publishCampaign"]["status"], "SPONSORING");
    let keys = |by: &'static str| {
        let app = &app;
        let admin = admin.clone();
        async move {
            observatory(
                app,
                Some(&admin),
                &format!("{{ observatory {{ groups(by: {by}) {{ key producerCount }} }} }}"),
                json!({}),
            )
            .await["groups"]
                .as_array()
                .unwrap()
                .iter()
                .map(|group| group["key"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        }
    };
    // Still gathering sponsors: not public, so in no community or value group.
    assert!(!keys("COMMUNITY").await.contains(&"vegan-nantes".to_owned()));
    assert!(!keys("VALUE_TAG").await.contains(&"vegan".to_owned()));
    let code = published["publishCampaign"]["sponsorCode"].clone();
    for handle in ["sponsor_one", "sponsor_two"] {
        let (token, _) = app.register(handle).await;
        app.gql_ok(
            Some(&token),
            "mutation($code: String!) { sponsorCampaign(code: $code) { status } }",
            json!({ "code": code }),
        )
        .await;
    }
    // Open: now it counts for its community and value.
    assert!(keys("COMMUNITY").await.contains(&"vegan-nantes".to_owned()));
    assert!(keys("VALUE_TAG").await.contains(&"vegan".to_owned()));
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

#[tokio::test]
async fn rebuilding_the_rollups_gives_back_what_the_write_path_kept() {
    let app = spawn(&["--observatory-k", "2"]).await;
    let (organiser, _) = app.register("organiser").await;
    let acme = producer(&app, &organiser, "Acme Foods", "food", "FR").await;
    let other = producer(&app, &organiser, "Other Foods", "food", "ES").await;
    let first = campaign(&app, &organiser, &acme, None, &[]).await;
    let second = campaign(&app, &organiser, &other, None, &["local"]).await;
    let members = app.register_many("member", 6).await;
    for (i, token) in members.iter().enumerate() {
        app.sign(token, &first).await;
        if i % 2 == 0 {
            app.sign(token, &second).await;
        }
        rate(&app, token, &acme, &[("QUALITY", 1 + (i as i64 % 5))]).await;
        rate(&app, token, &acme, &[("QUALITY", 5), ("FAIRNESS", 2)]).await;
        let pledge = app
            .gql_ok(
                Some(token),
                "mutation($id: ID!) { pledge(campaignId: $id, input: { kind: SWITCH, monthlyAmountCents: 250 }) { id } }",
                json!({ "id": first }),
            )
            .await["pledge"]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        if i % 3 == 0 {
            app.gql_ok(
                Some(token),
                "mutation($id: ID!) { withdrawPledge(pledgeId: $id) { status } }",
                json!({ "id": pledge }),
            )
            .await;
        }
    }
    app.gql_ok(
        Some(&members[1]),
        "mutation($id: ID!) { withdrawSignature(campaignId: $id) }",
        json!({ "id": first }),
    )
    .await;
    app.gql_ok(
        Some(&members[2]),
        "mutation($id: ID!) { withdrawSignature(campaignId: $id) }",
        json!({ "id": second }),
    )
    .await;
    // The producers' side: Acme answers with a commitment its signers judge
    // kept; Other's answer is hidden by a moderator.
    let admin = app.admin_token().await;
    let acme_rep = representative(&app, &admin, &acme).await;
    let other_rep = representative(&app, &admin, &other).await;
    let answer = |token: String, campaign: String, input: &'static str| {
        let app = &app;
        async move {
            app.gql_ok(
                Some(&token),
                &format!("mutation($id: ID!) {{ respondToCampaign(campaignId: $id, input: {input}) {{ id }} }}"),
                json!({ "id": campaign }),
            )
            .await["respondToCampaign"]["id"]
                .as_str()
                .unwrap()
                .to_owned()
        }
    };
    let promise = answer(
        acme_rep,
        first.clone(),
        "{ body: \"Yes.\", commitment: \"Origins on every label\" }",
    )
    .await;
    let hidden = answer(other_rep, second.clone(), "{ body: \"No.\" }").await;
    app.gql_ok(
        Some(&members[0]),
        "mutation($id: ID!) { reviewCommitment(responseId: $id, verdict: KEPT) { keptReviews } }",
        json!({ "id": promise }),
    )
    .await;
    app.gql_ok(
        Some(&organiser),
        "mutation($id: ID!) { closeCommitment(responseId: $id) { commitmentStatus } }",
        json!({ "id": promise }),
    )
    .await;
    app.gql_ok(
        Some(&admin),
        "mutation($id: ID!) { hideContent(kind: RESPONSE, id: $id, reason: \"off topic\") }",
        json!({ "id": hidden }),
    )
    .await;
    // Other's campaign, hidden, takes Other out of the value's group; back,
    // it brings Other back with everything Other has.
    let local = || async {
        let groups = observatory(
            &app,
            Some(&admin),
            "{ observatory { groups(by: VALUE_TAG) { key producerCount memberCount metrics { signatures responses { campaigns } } } } }",
            json!({}),
        )
        .await;
        groups["groups"]
            .as_array()
            .unwrap()
            .iter()
            .find(|group| group["key"] == "local")
            .cloned()
    };
    for (mutation, expected) in [
        ("hideContent", None),
        (
            "restoreContent",
            Some(
                json!({ "key": "local", "producerCount": 1, "memberCount": 2, "metrics": { "signatures": 2, "responses": { "campaigns": 1 } } }),
            ),
        ),
    ] {
        app.gql_ok(
            Some(&admin),
            &format!(
                "mutation($id: ID!) {{ {mutation}(kind: CAMPAIGN, id: $id, reason: \"checking\") }}"
            ),
            json!({ "id": second }),
        )
        .await;
        assert_eq!(local().await, expected, "after {mutation}");
        // Without its one campaign, Other has no facts row, as a rebuild
        // would leave it; back, it has one again.
        let db = Database::connect(app.database_url.as_str()).await.unwrap();
        let has_facts = producer_facts(&db)
            .await
            .iter()
            .any(|facts| facts.0.to_string() == other);
        assert_eq!(has_facts, expected.is_some(), "after {mutation}");
    }

    let db = Database::connect(app.database_url.as_str()).await.unwrap();
    let read = |db: &sea_orm::DatabaseConnection| {
        let backend = db.get_database_backend();
        let db = db.clone();
        async move {
            let atoms = db
                .query_all_raw(Statement::from_string(
                    backend,
                    "SELECT producer_id, period_start, members, signatures, ratings_quality, \
                     ratings_fairness, score_quality, score_fairness, pledges_switch, pledged_cents \
                     FROM obs_atom ORDER BY producer_id, period_start",
                ))
                .await
                .unwrap()
                .iter()
                .map(|row| {
                    let counts: Vec<i64> = (2..10).map(|i| row.try_get_by_index(i).unwrap()).collect();
                    (
                        row.try_get_by_index::<uuid::Uuid>(0).unwrap(),
                        row.try_get_by_index::<String>(1).unwrap(),
                        counts,
                    )
                })
                .collect::<Vec<_>>();
            let contributors = db
                .query_all_raw(Statement::from_string(
                    backend,
                    "SELECT producer_id, member_id, weight FROM obs_contributor ORDER BY producer_id, period_start, member_id",
                ))
                .await
                .unwrap()
                .iter()
                .map(|row| {
                    (
                        row.try_get_by_index::<uuid::Uuid>(0).unwrap(),
                        row.try_get_by_index::<uuid::Uuid>(1).unwrap(),
                        row.try_get_by_index::<i32>(2).unwrap(),
                    )
                })
                .collect::<Vec<_>>();
            let totals = db
                .query_all_raw(Statement::from_string(
                    backend,
                    "SELECT producer_id, atoms, members, signatures, ratings_quality, \
                     ratings_fairness, score_quality, score_fairness, pledges_switch, pledged_cents \
                     FROM obs_producer_total ORDER BY producer_id",
                ))
                .await
                .unwrap()
                .iter()
                .map(|row| {
                    let counts: Vec<i64> =
                        (1..10).map(|i| row.try_get_by_index(i).unwrap()).collect();
                    (row.try_get_by_index::<uuid::Uuid>(0).unwrap(), counts)
                })
                .collect::<Vec<_>>();
            (
                atoms,
                contributors,
                totals,
                producer_facts(&db).await,
                group_totals(&db).await,
                group_members(&db).await,
                kept_periods(&db).await,
                window_rows(&db).await,
            )
        }
    };
    let kept = read(&db).await;
    let facts_of = |producer: &str| {
        kept.3
            .iter()
            .find(|facts| facts.0.to_string() == producer)
            .unwrap()
            .1
            .clone()
    };
    // Campaigns, commitments made, kept, broken, open, then the answers by
    // class of hours: Acme's within the hour.
    let (acme_facts, other_facts) = (facts_of(&acme), facts_of(&other));
    assert_eq!(acme_facts[..6], [1, 1, 1, 0, 0, 1], "{:?}", kept.3);
    assert_eq!(acme_facts[6..].iter().sum::<i64>(), 0, "{:?}", kept.3);
    assert_eq!(other_facts[..5], [1, 0, 0, 0, 0], "{:?}", kept.3);
    assert_eq!(
        other_facts[5..].iter().sum::<i64>(),
        0,
        "its answer is hidden"
    );
    assert_eq!(
        kept.0.len(),
        2,
        "one atom per producer this month: {:?}",
        kept.0
    );
    // Six signed the first campaign, one withdrew; all six rated and pledged.
    let acme_atom = kept
        .0
        .iter()
        .find(|atom| atom.0.to_string() == acme)
        .unwrap();
    assert_eq!(
        acme_atom.2[..2],
        [6, 5],
        "members, signatures: {acme_atom:?}"
    );
    assert_eq!(
        acme_atom.2[2..6],
        [6, 6, 30, 12],
        "ratings and scores: {acme_atom:?}"
    );
    // Pledges of members 0 and 3 were withdrawn.
    assert_eq!(acme_atom.2[6..], [4, 1_000], "pledges: {acme_atom:?}");
    // Each atom has at least k = 2 members: each producer's total is its atom.
    for (producer, _, atom) in &kept.0 {
        let total = kept.2.iter().find(|total| total.0 == *producer).unwrap();
        assert_eq!(total.1[0], 1, "one released atom: {total:?}");
        assert_eq!(total.1[1..], atom[..], "total = atom for {producer}");
    }
    let written = every_rollup_row(&db).await;
    let rebuilt = consumact_api::service::observatory::rollup::rebuild(&db, keeping(2)).await;
    assert_eq!(rebuilt.unwrap().atoms as usize, kept.0.len());
    assert_same_rollups(&written, &every_rollup_row(&db).await, "rebuild");
    // This month is in the last 12 months (and not in the last full one):
    // each producer's row there is its total and facts.
    assert_eq!(kept.7.len(), kept.3.len(), "{:?}", kept.7);
    let totals = producer_totals(&db).await;
    for (key, row) in &kept.7 {
        assert_eq!(key[1], "LAST_12_MONTHS");
        let total = totals.iter().find(|total| total.0.to_string() == key[0]);
        let facts = kept.3.iter().find(|facts| facts.0.to_string() == key[0]);
        let whole: Vec<i64> = total
            .unwrap()
            .1
            .iter()
            .chain(&facts.unwrap().1)
            .copied()
            .collect();
        assert_eq!(row, &whole, "{key:?}");
    }
    // This month is every period: a group's row of it is its all-time row.
    let (producer_periods, group_periods) = &kept.6;
    assert_eq!(producer_periods.len(), kept.3.len(), "{producer_periods:?}");
    for (dimension, key, sums) in &kept.4 {
        let period = group_periods
            .iter()
            .find(|period| period.0[..2] == [dimension.clone(), key.clone()])
            .unwrap_or_else(|| panic!("no period of {dimension} {key}: {group_periods:?}"));
        assert_eq!(period.1[..], sums[1..], "{dimension} {key}");
    }
}

/// A member the admin approved as `producer`'s representative.
async fn representative(app: &TestApp, admin: &str, producer: &str) -> String {
    let (token, _) = app
        .register(&format!("rep_{}", &producer[producer.len() - 12..]))
        .await;
    let claim = app
        .gql_ok(
            Some(&token),
            "mutation($id: ID!) { claimProducer(producerId: $id) { id } }",
            json!({ "id": producer }),
        )
        .await["claimProducer"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.gql_ok(
        Some(admin),
        "mutation($id: ID!) { decideProducerClaim(claimId: $id, approve: true) { status } }",
        json!({ "id": claim }),
    )
    .await;
    token
}

/// Every row of a kept table in key order: its keys' values as text (the
/// first `ids` of them are ids), then the named columns' values.
async fn kept_rows(
    db: &sea_orm::DatabaseConnection,
    table: &str,
    keys: &[&str],
    ids: usize,
    columns: &[String],
) -> Vec<(Vec<String>, Vec<i64>)> {
    let sql = format!(
        "SELECT {keys}, {columns} FROM {table} ORDER BY {keys}",
        keys = keys.join(", "),
        columns = columns.join(", ")
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

/// Every column of every producer's kept facts, by producer.
async fn producer_facts(db: &sea_orm::DatabaseConnection) -> Vec<(uuid::Uuid, Vec<i64>)> {
    use consumact_api::service::observatory::facts;
    let columns: Vec<String> = facts::columns().collect();
    kept_rows(db, "obs_producer_fact", &["producer_id"], 1, &columns)
        .await
        .into_iter()
        .map(|(key, values)| (key[0].parse().unwrap(), values))
        .collect()
}

fn keeping(k: u32) -> consumact_api::service::observatory::rollup::Keeping {
    consumact_api::service::observatory::rollup::Keeping {
        grain: consumact_api::config::Grain::Month,
        k,
    }
}

/// Every column of every producer's kept total, by producer.
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

#[tokio::test]
async fn an_atom_crossing_k_both_ways_under_concurrent_writes_enters_and_leaves_the_total_once() {
    let app = spawn(&["--observatory-k", "3"]).await;
    let admin = app.admin_token().await;
    let (organiser, _) = app.register("organiser").await;
    let acme = producer(&app, &organiser, "Acme Foods", "food", "FR").await;
    let target = campaign(&app, &organiser, &acme, None, &[]).await;
    let db = Database::connect(app.database_url.as_str()).await.unwrap();
    let picture = || async {
        let body = app
            .gql_ok(
                Some(&admin),
                "query($id: ID!) { observatory { producer(id: $id) { suppressed memberCount metrics { signatures ratingCount } } } }",
                json!({ "id": acme }),
            )
            .await;
        body["observatory"]["producer"].clone()
    };
    let withdraw = |token: String| {
        let app = &app;
        let target = &target;
        async move {
            app.gql_ok(
                Some(&token),
                "mutation($id: ID!) { withdrawSignature(campaignId: $id) }",
                json!({ "id": target }),
            )
            .await;
        }
    };

    // Up: eight sign at once (the atom passes k = 3 while they land).
    let first = app.register_many("first", 8).await;
    for signed in
        futures::future::join_all(first.iter().map(|token| app.sign(token, &target))).await
    {
        assert!(signed.get("errors").is_none(), "{signed}");
    }
    assert_eq!(
        picture().await,
        // No ratings yet: fewer than k, null like any figure under k.
        json!({ "suppressed": false, "memberCount": 8, "metrics": { "signatures": 8, "ratingCount": null } })
    );

    // Down: six withdraw at once while two others rate: two members are left.
    let raters = &first[6..];
    let (_, rated) = futures::future::join(
        futures::future::join_all(first[..6].iter().cloned().map(withdraw)),
        futures::future::join_all(
            raters
                .iter()
                .map(|token| rate(&app, token, &acme, &[("QUALITY", 4)])),
        ),
    )
    .await;
    for rated in rated {
        assert!(rated.get("errors").is_none(), "{rated}");
    }
    assert_eq!(
        picture().await,
        json!({ "suppressed": true, "memberCount": null, "metrics": null })
    );
    let totals = producer_totals(&db).await;
    assert_eq!(totals.len(), 1);
    assert!(
        totals[0].1.iter().all(|value| *value == 0),
        "the atom left the total whole: {totals:?}"
    );

    // Up again: five newcomers sign while the two raters withdraw.
    let second = app.register_many("second", 5).await;
    let (signed, _) = futures::future::join(
        futures::future::join_all(second.iter().map(|token| app.sign(token, &target))),
        futures::future::join_all(raters.iter().cloned().map(withdraw)),
    )
    .await;
    for signed in signed {
        assert!(signed.get("errors").is_none(), "{signed}");
    }
    // The raters stay members of the atom through their ratings.
    assert_eq!(
        picture().await,
        // The two raters' ratings count in the atom, but two are fewer
        // than k: the figure is kept back even though the atom is released.
        json!({ "suppressed": false, "memberCount": 7, "metrics": { "signatures": 5, "ratingCount": null } })
    );
    let kept = producer_totals(&db).await;
    assert_eq!(
        kept[0].1[..3],
        [1, 7, 5],
        "atoms, members, signatures: {kept:?}"
    );
    // Its sector's and territory's kept totals moved with it, once.
    let groups = group_totals(&db).await;
    for (dimension, key) in [("SECTOR", "food"), ("TERRITORY", "FR")] {
        let group = groups
            .iter()
            .find(|group| group.0 == dimension && group.1 == key)
            .unwrap_or_else(|| panic!("no {dimension} {key}: {groups:?}"));
        assert_eq!(
            group.2[..4],
            [1, 1, 7, 5],
            "producers, atoms, members, signatures"
        );
    }
    // And so did their rows of this month, and their producer's row of
    // the last 12 months.
    let periods = kept_periods(&db).await;
    let windows = window_rows(&db).await;
    assert_eq!(windows.len(), 1, "{windows:?}");
    assert_eq!(windows[0].1[..3], [1, 7, 5], "atoms, members, signatures");
    for (dimension, key) in [("SECTOR", "food"), ("TERRITORY", "FR")] {
        let period = periods
            .1
            .iter()
            .find(|period| period.0[..2] == [dimension, key])
            .unwrap_or_else(|| panic!("no period of {dimension} {key}: {periods:?}"));
        assert_eq!(period.1[..3], [1, 7, 5], "atoms, members, signatures");
    }
    consumact_api::service::observatory::rollup::rebuild(&db, keeping(3))
        .await
        .unwrap();
    assert_eq!(kept, producer_totals(&db).await, "the rebuild agrees");
    assert_eq!(
        groups,
        group_totals(&db).await,
        "the rebuild agrees on groups"
    );
    assert_eq!(
        periods,
        kept_periods(&db).await,
        "the rebuild agrees on periods"
    );
    assert_eq!(
        windows,
        window_rows(&db).await,
        "the rebuild agrees on windows"
    );
}

/// Every kept period row: each producer's facts by period ([producer,
/// period], facts), each group's sums by period ([dimension, key, period],
/// sums).
#[allow(clippy::type_complexity)]
async fn kept_periods(
    db: &sea_orm::DatabaseConnection,
) -> (Vec<(Vec<String>, Vec<i64>)>, Vec<(Vec<String>, Vec<i64>)>) {
    use consumact_api::service::observatory::{facts, groups};
    let facts: Vec<String> = facts::columns().collect();
    let producers = kept_rows(
        db,
        "obs_producer_period",
        &["producer_id", "period_start"],
        1,
        &facts,
    )
    .await;
    let keys = ["dimension", "group_key", "period_start"];
    let groups = kept_rows(db, "obs_group_period", &keys, 0, &groups::period_columns()).await;
    (producers, groups)
}

/// Every kept group total: (dimension, key, producers then every sum).
async fn group_totals(db: &sea_orm::DatabaseConnection) -> Vec<(String, String, Vec<i64>)> {
    use consumact_api::service::observatory::groups;
    let keys = ["dimension", "group_key"];
    kept_rows(db, "obs_group_total", &keys, 0, &groups::columns())
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

#[tokio::test]
async fn series_follow_the_grain_and_refuse_what_it_cannot_answer() {
    let month = spawn(&["--observatory-k", "2"]).await;
    let admin = month.admin_token().await;
    let (from, to) = month_range();
    let query = "query($b: TimeBucket!, $from: DateTime!, $to: DateTime!) { observatory { series(bucket: $b, from: $from, to: $to) { start end suppressed } } }";
    let day = month
        .gql(
            Some(&admin),
            query,
            json!({ "b": "DAY", "from": from, "to": to }),
        )
        .await;
    assert_eq!(error_code(&day), "BAD_USER_INPUT");
    assert_eq!(error_field(&day), "bucket");
    let backwards = month
        .gql(
            Some(&admin),
            query,
            json!({ "b": "MONTH", "from": to, "to": from }),
        )
        .await;
    assert_eq!(error_code(&backwards), "BAD_USER_INPUT");
    let unknown = month
        .gql(
            Some(&admin),
            "query($id: ID!, $from: DateTime!, $to: DateTime!) { observatory { series(producerId: $id, bucket: MONTH, from: $from, to: $to) { start } } }",
            json!({ "id": uuid::Uuid::now_v7().to_string(), "from": from, "to": to }),
        )
        .await;
    assert_eq!(error_code(&unknown), "NOT_FOUND", "{unknown}");
    let far = month
        .gql(
            Some(&admin),
            query,
            json!({ "b": "MONTH", "from": "0100-01-01T00:00:00Z", "to": "0100-12-31T23:59:59Z" }),
        )
        .await;
    assert_eq!(error_code(&far), "BAD_USER_INPUT", "{far}");
    let ancient = month
        .gql(
            Some(&admin),
            "{ observatory { ranking(filter: { from: \"0001-01-01T00:00:00Z\" }) { totalCount } } }",
            json!({}),
        )
        .await;
    assert_eq!(error_field(&ancient), "filter.from", "{ancient}");

    let daily = spawn(&["--observatory-k", "2", "--observatory-grain", "day"]).await;
    let admin = daily.admin_token().await;
    let (organiser, _) = daily.register("organiser").await;
    let acme = producer(&daily, &organiser, "Acme Foods", "food", "FR").await;
    for token in daily.register_many("member", 3).await {
        rate(&daily, &token, &acme, &[("QUALITY", 4)]).await;
    }
    let now = chrono::Utc::now();
    let week = json!({ "b": "DAY", "from": (now - chrono::Duration::days(6)).to_rfc3339(), "to": (now + chrono::Duration::hours(1)).to_rfc3339() });
    let points = daily.gql_ok(Some(&admin), query, week).await["observatory"]["series"].clone();
    let points = points.as_array().unwrap();
    assert!((7..=8).contains(&points.len()), "{points:?}");
    let today = now.format("%Y-%m-%dT00:00:00").to_string();
    for point in points {
        let is_today = point["start"].as_str().unwrap().starts_with(&today);
        assert_eq!(point["suppressed"], !is_today, "{point}");
    }
    let weeks = daily
        .gql_ok(Some(&admin), query, json!({ "b": "WEEK", "from": (now - chrono::Duration::days(30)).to_rfc3339(), "to": now.to_rfc3339() }))
        .await;
    let weeks = weeks["observatory"]["series"].as_array().unwrap().clone();
    assert!(weeks.iter().all(|w| {
        let start = chrono::DateTime::parse_from_rfc3339(w["start"].as_str().unwrap()).unwrap();
        chrono::Datelike::weekday(&start) == chrono::Weekday::Mon
    }));
    assert_eq!(weeks.last().unwrap()["suppressed"], false);
    let too_long = daily
        .gql(Some(&admin), query, json!({ "b": "DAY", "from": (now - chrono::Duration::days(900)).to_rfc3339(), "to": now.to_rfc3339() }))
        .await;
    assert_eq!(error_code(&too_long), "BAD_USER_INPUT", "{too_long}");
}

#[tokio::test]
async fn the_export_streams_csv_and_ndjson_with_the_same_suppression() {
    let app = spawn(&["--observatory-k", "2"]).await;
    let admin = app.admin_token().await;
    let (organiser, _) = app.register("organiser").await;
    let rated = producer(&app, &organiser, "Rated, \"Quoted\" & Co", "food", "FR").await;
    let lonely = producer(&app, &organiser, "Lonely Bakery", "food", "BE").await;
    for token in app.register_many("member", 2).await {
        rate(&app, &token, &rated, &[("QUALITY", 5)]).await;
    }
    let (only, _) = app.register("only").await;
    rate(&app, &only, &lonely, &[("QUALITY", 1)]).await;

    let (status, content_type, csv) = export(&app, Some(&admin), "", Some("text/csv")).await;
    assert_eq!(status, 200);
    assert!(content_type.starts_with("text/csv"), "{content_type}");
    let lines: Vec<&str> = csv.lines().collect();
    assert!(
        lines[0].starts_with("producer_id,producer_name,suppressed,member_count,trust_index"),
        "{}",
        lines[0]
    );
    assert_eq!(lines.len(), 3, "{csv}");
    let rated_line = lines.iter().find(|l| l.starts_with(&rated)).unwrap();
    assert!(
        rated_line.contains("\"Rated, \"\"Quoted\"\" & Co\",false,2,"),
        "{rated_line}"
    );
    let lonely_line = lines.iter().find(|l| l.starts_with(&lonely)).unwrap();
    assert!(
        lonely_line.starts_with(&format!("{lonely},Lonely Bakery,true,,,")),
        "{lonely_line}"
    );

    let (_, content_type, ndjson) =
        export(&app, Some(&admin), "", Some("application/x-ndjson")).await;
    assert_eq!(content_type, "application/x-ndjson");
    let rows: Vec<Value> = ndjson
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 2);
    let row = rows
        .iter()
        .find(|r| r["producer_id"] == rated.as_str())
        .unwrap();
    assert_eq!(row["member_count"], 2);
    assert_eq!(row["quality_mean"], 5.0);
    let hidden = rows
        .iter()
        .find(|r| r["producer_id"] == lonely.as_str())
        .unwrap();
    assert_eq!(hidden["suppressed"], true);
    assert_eq!(hidden["trust_index"], Value::Null);

    let (_, _, groups) = export(
        &app,
        Some(&admin),
        "level=groups&by=TERRITORY&format=ndjson",
        None,
    )
    .await;
    let groups: Vec<Value> = groups
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let fr = groups.iter().find(|g| g["group_key"] == "FR").unwrap();
    assert_eq!(fr["suppressed"], false);
    let be = groups.iter().find(|g| g["group_key"] == "BE").unwrap();
    assert_eq!(be["suppressed"], true);
    assert_eq!(be["member_count"], Value::Null);

    for (query, field) in [
        ("format=xml", "format"),
        ("level=groups", "by"),
        ("level=groups&by=COLOUR", "by"),
        ("valueTag=no-such-value", "filter.valueTag"),
        ("territory=ZZ", "filter.territory"),
        ("from=yesterday", "from"),
    ] {
        let (status, _, body) = export(&app, Some(&admin), query, None).await;
        assert_eq!(status, 400, "{query}: {body}");
        let body: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(error_code(&body), "BAD_USER_INPUT", "{query}");
        assert_eq!(error_field(&body), field, "{query}");
    }
}

#[tokio::test]
async fn filters_are_checked_and_rankings_page() {
    let app = spawn(&["--observatory-k", "2"]).await;
    let admin = app.admin_token().await;
    let (organiser, _) = app.register("organiser").await;
    let mut producers = Vec::new();
    for i in 0..5 {
        producers.push(producer(&app, &organiser, &format!("Producer {i}"), "food", "FR").await);
    }
    let members = app.register_many("member", 2).await;
    for (i, id) in producers.iter().enumerate().take(3) {
        for token in &members {
            rate(&app, token, id, &[("QUALITY", 1 + i as i64)]).await;
        }
    }
    let page = "query($after: String) { observatory { ranking(first: 2, after: $after) { totalCount pageInfo { hasNextPage endCursor } edges { node { suppressed producer { name } metrics { trustIndex } } } } } }";
    let mut names = Vec::new();
    let mut after = Value::Null;
    loop {
        let data = app
            .gql_ok(Some(&admin), page, json!({ "after": after }))
            .await;
        let ranking = &data["observatory"]["ranking"];
        assert_eq!(ranking["totalCount"], 5);
        for edge in ranking["edges"].as_array().unwrap() {
            names.push(
                edge["node"]["producer"]["name"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
            );
        }
        if ranking["pageInfo"]["hasNextPage"] == false {
            break;
        }
        after = ranking["pageInfo"]["endCursor"].clone();
    }
    assert_eq!(names.len(), 5);
    // Best first: producer 2 was rated highest; the unrated come last.
    assert_eq!(&names[..3], ["Producer 2", "Producer 1", "Producer 0"]);

    for (filter, field) in [
        (json!({ "sector": "Not A Slug!" }), "filter.sector"),
        (json!({ "territory": "XX" }), "filter.territory"),
        (json!({ "valueTag": "nope-nope" }), "filter.valueTag"),
        (json!({ "community": "nope-nope" }), "filter.community"),
    ] {
        let body = app
            .gql(Some(&admin), "query($f: ObservatoryFilter) { observatory { ranking(filter: $f) { totalCount } } }", json!({ "f": filter }))
            .await;
        assert_eq!(error_code(&body), "BAD_USER_INPUT", "{body}");
        assert_eq!(error_field(&body), field);
    }
    let forged = app
        .gql(Some(&admin), page, json!({ "after": "bm90LWEtY3Vyc29y" }))
        .await;
    assert_eq!(error_code(&forged), "BAD_USER_INPUT");
    let unknown = app
        .gql_ok(
            Some(&admin),
            "query($id: ID!) { observatory { producer(id: $id) { suppressed } } }",
            json!({ "id": uuid::Uuid::now_v7().to_string() }),
        )
        .await;
    assert_eq!(unknown["observatory"]["producer"], Value::Null);
    let malformed = app
        .gql(
            Some(&admin),
            "{ observatory { producer(id: \"not-an-id\") { suppressed } } }",
            json!({}),
        )
        .await;
    assert_eq!(error_code(&malformed), "BAD_USER_INPUT", "{malformed}");
    assert_eq!(error_field(&malformed), "id");
}

/// Midnight on the first day of the month `back` months before `now`'s.
fn first_of_month(now: chrono::DateTime<chrono::Utc>, back: u32) -> String {
    use chrono::Datelike;
    let first = chrono::NaiveDate::from_ymd_opt(now.year(), now.month(), 1).unwrap()
        - chrono::Months::new(back);
    format!("{first}T00:00:00Z")
}

#[tokio::test]
async fn closed_periods_only_publishes_months_that_have_ended() {
    let seeded = |closed: &'static str| async move {
        let app = spawn(&[
            "--observatory-k",
            "3",
            "--observatory-closed-periods",
            closed,
        ])
        .await;
        let db = Database::connect(app.database_url.as_str()).await.unwrap();
        // Kept as the server keeps them.
        let config =
            consumact_api::config::Config::from_args(["consumact", "--observatory-k", "3"])
                .unwrap();
        let args = consumact_api::service::observatory::seed::SeedArgs {
            signatures: 2_000,
            ratings: 4_000,
            producers: 2,
            members: 400,
            campaigns_per_producer: 2,
            communities: 20,
            months: 3,
            seed: 3,
            index_builds: 2,
        };
        consumact_api::service::observatory::seed::run(&db, &config, &args)
            .await
            .unwrap();
        let admin = app.admin_token().await;
        let now = chrono::Utc::now();
        let data = observatory(
            &app,
            Some(&admin),
            "query($from: DateTime!, $to: DateTime!) { observatory {
                closedPeriodsOnly
                series(bucket: MONTH, from: $from, to: $to) { start suppressed metrics { ratingCount } }
            } }",
            json!({ "from": first_of_month(now, 2), "to": now.to_rfc3339() }),
        )
        .await;
        (app, data)
    };
    let (_live_app, live) = seeded("false").await;
    let (_closed_app, closed) = seeded("true").await;
    assert_eq!(live["closedPeriodsOnly"], false);
    assert_eq!(closed["closedPeriodsOnly"], true);
    let live = live["series"].as_array().unwrap();
    let closed = closed["series"].as_array().unwrap();
    assert_eq!(live.len(), 3, "{live:?}");
    // Live: every month of the seeded set shows, this one included.
    assert!(live.iter().all(|p| p["suppressed"] == false), "{live:?}");
    // Closed: the months that have ended show the same figures; this one waits.
    assert_eq!(closed[..2], live[..2]);
    assert_eq!(closed[2]["suppressed"], true, "{:?}", closed[2]);
}

#[tokio::test]
async fn rankings_read_page_by_page_from_kept_totals_match_the_full_ranking() {
    let app = spawn(&["--observatory-k", "2"]).await;
    let admin = app.admin_token().await;
    let (organiser, _) = app.register("organiser").await;
    let members = app.register_many("member", 4).await;
    let mut producers = Vec::new();
    for i in 0..7 {
        let id = producer(&app, &organiser, &format!("Producer {i}"), "food", "FR").await;
        let target = campaign(&app, &organiser, &id, None, &[]).await;
        producers.push((id, target));
    }
    // Signers and raters (with their QUALITY score) of each producer, by
    // member index.
    type Plan<'a> = (&'a [usize], &'a [(usize, i64)]);
    let plan: [Plan; 7] = [
        (&[0, 1, 2], &[]),
        (&[0, 1, 3], &[]), // ties producer 0 on signatures
        (&[0, 1], &[(0, 5), (1, 5)]),
        (&[0], &[]),              // one member: suppressed
        (&[], &[]),               // nothing at all
        (&[], &[(2, 1), (3, 1)]), // released without signatures
        (&[0, 1, 2, 3], &[(2, 3), (3, 3)]),
    ];
    for ((id, target), (signers, raters)) in producers.iter().zip(plan) {
        for &signer in signers {
            let signed = app.sign(&members[signer], target).await;
            assert!(signed.get("errors").is_none(), "{signed}");
        }
        for &(rater, score) in raters {
            let rated = rate(&app, &members[rater], id, &[("QUALITY", score)]).await;
            assert!(rated.get("errors").is_none(), "{rated}");
        }
    }
    let node = "suppressed producer { name } metrics { signatures trustIndex }";
    for order in ["TRUST_INDEX", "SIGNATURES"] {
        // A range covering all time is ranked in full, from the atoms.
        let full = app
            .gql_ok(
                Some(&admin),
                &format!("query($o: RankingOrder!) {{ observatory {{ ranking(first: 100, orderBy: $o, filter: {{ from: \"1970-01-01T00:00:00Z\" }}) {{ edges {{ node {{ {node} }} }} }} }} }}"),
                json!({ "o": order }),
            )
            .await["observatory"]["ranking"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|edge| edge["node"].clone())
            .collect::<Vec<_>>();
        assert_eq!(full.len(), 7);
        let mut paged = Vec::new();
        let mut after = Value::Null;
        loop {
            let data = app
                .gql_ok(
                    Some(&admin),
                    &format!("query($o: RankingOrder!, $after: String) {{ observatory {{ ranking(first: 2, after: $after, orderBy: $o) {{ totalCount pageInfo {{ hasNextPage hasPreviousPage endCursor }} edges {{ node {{ {node} }} }} }} }} }}"),
                    json!({ "o": order, "after": after }),
                )
                .await;
            let ranking = &data["observatory"]["ranking"];
            assert_eq!(ranking["totalCount"], 7);
            assert_eq!(ranking["pageInfo"]["hasPreviousPage"], !after.is_null());
            for edge in ranking["edges"].as_array().unwrap() {
                paged.push(edge["node"].clone());
            }
            if ranking["pageInfo"]["hasNextPage"] == false {
                break;
            }
            after = ranking["pageInfo"]["endCursor"].clone();
        }
        assert_eq!(paged, full, "{order}");
        let names: Vec<&str> = paged
            .iter()
            .map(|node| node["producer"]["name"].as_str().unwrap())
            .collect();
        match order {
            "SIGNATURES" => {
                assert_eq!(names[0], "Producer 6");
                assert_eq!(names[3..5], ["Producer 2", "Producer 5"]);
                // The suppressed and the empty come last, by id.
                let mut rest = names[5..].to_vec();
                rest.sort();
                assert_eq!(rest, ["Producer 3", "Producer 4"]);
            }
            _ => assert_eq!(names[..3], ["Producer 2", "Producer 6", "Producer 5"]),
        }
        // The export streams the same order when asked.
        let (status, _, body) = export(
            &app,
            Some(&admin),
            &format!("format=ndjson&orderBy={order}"),
            None,
        )
        .await;
        assert_eq!(status, 200, "{body}");
        let exported: Vec<String> = body
            .lines()
            .map(|line| {
                let row: Value = serde_json::from_str(line).unwrap();
                row["producer_name"].as_str().unwrap().to_owned()
            })
            .collect();
        assert_eq!(exported, names, "export by {order}");
    }
    // Rankings the kept totals do not index are ranked in full.
    let (status, _, body) = export(&app, Some(&admin), "orderBy=RESPONSE_RATE", None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body.lines().count(),
        8,
        "a header and seven producers: {body}"
    );
    let (status, _, body) = export(&app, Some(&admin), "orderBy=BEST", None).await;
    assert_eq!(status, 400, "{body}");
    let error: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(error_code(&error), "BAD_USER_INPUT", "{body}");
    assert_eq!(error_field(&error), "orderBy", "{body}");
    // A position cursor from a ranked-in-full page means nothing here.
    let forged = app
        .gql(
            Some(&admin),
            "query($after: String) { observatory { ranking(after: $after) { totalCount } } }",
            json!({ "after": "cjE6dDpub3QtYS1udW1iZXI6eA" }),
        )
        .await;
    assert_eq!(error_code(&forged), "BAD_USER_INPUT", "{forged}");
    assert_eq!(error_field(&forged), "after");
}

#[tokio::test]
async fn observatory_reads_follow_a_streaming_replica_of_the_primary() {
    // A primary of the test's own and a hot standby fed by streaming
    // replication from it.
    let Some(primary) = PostgresServer::start() else {
        return;
    };
    let replica = PostgresServer::replica_of(&primary);
    let app = spawn(&[
        "--observatory-k",
        "2",
        "--database-url",
        &primary.url(),
        "--observatory-database-url",
        &replica.url(),
        "--db-acquire-timeout-ms",
        "500",
    ])
    .await;
    let admin = app.admin_token().await;
    let (organiser, _) = app.register("organiser").await;
    let id = producer(&app, &organiser, "Replicated Foods", "food", "FR").await;
    for token in app.register_many("rater", 2).await {
        let rated = rate(&app, &token, &id, &[("QUALITY", 4)]).await;
        assert!(rated.get("errors").is_none(), "{rated}");
    }
    // The ratings reach the observatory once the standby replayed them.
    let ranking = || {
        let (app, admin) = (&app, admin.clone());
        async move {
            app.gql(
                Some(&admin),
                "{ observatory { ranking { totalCount edges { node { producer { name } suppressed metrics { ratingCount } } } } } }",
                json!({}),
            )
            .await
        }
    };
    let replayed = json!({ "data": { "observatory": { "ranking": { "totalCount": 1, "edges": [
        { "node": { "producer": { "name": "Replicated Foods" }, "suppressed": false, "metrics": { "ratingCount": 2 } } }
    ] } } } });
    assert_eq!(eventually(10, replayed.clone(), ranking).await, replayed);
    let (status, _, csv) = export(&app, Some(&admin), "format=csv", None).await;
    assert_eq!(status, 200, "{csv}");
    assert!(csv.contains("Replicated Foods"), "{csv}");
    // With the standby down, the observatory and its export are
    // unavailable while everything else still answers from the primary.
    replica.stop();
    let down = ranking().await;
    assert_eq!(error_code(&down), "UNAVAILABLE", "{down}");
    let (status, _, body) = export(&app, Some(&admin), "format=csv", None).await;
    assert_eq!(status, 503, "{body}");
    let listed = app
        .gql_ok(
            None,
            "{ producers(first: 10) { edges { node { name } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        listed["producers"]["edges"][0]["node"]["name"],
        "Replicated Foods"
    );
    // Back, it answers again, with what the primary wrote meanwhile.
    let third = app.register_many("late_rater", 1).await;
    let rated = rate(&app, &third[0], &id, &[("QUALITY", 2)]).await;
    assert!(rated.get("errors").is_none(), "{rated}");
    replica.restart();
    let caught_up = || {
        let ranking = ranking();
        async move {
            ranking.await["data"]["observatory"]["ranking"]["edges"][0]["node"]["metrics"]["ratingCount"].clone()
        }
    };
    assert_eq!(eventually(15, json!(3), caught_up).await, json!(3));
}

/// A released cell's figures that add up across cells: null where the
/// k-rule kept one back inside the cell.
type Figures = Vec<Option<i64>>;

/// Adds `figures` into `sum`: a figure kept back in any part leaves its
/// sum unknown.
fn add_into(sum: &mut Option<Figures>, figures: Figures) {
    let sum = sum.get_or_insert_with(|| vec![Some(0); figures.len()]);
    for (slot, value) in sum.iter_mut().zip(figures) {
        *slot = slot.zip(value).map(|(a, b)| a + b);
    }
}

/// Whether the whole agrees with the sum of its parts: on every figure
/// each part shows (a figure kept back in a part may show in the whole).
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

#[tokio::test]
async fn kept_period_sums_answer_series_and_ranges_as_the_atoms_do() {
    let app = spawn(&["--observatory-k", "2"]).await;
    seed_months(&app, 6).await;
    let admin = app.admin_token().await;
    let now = chrono::Utc::now();
    let (from, to) = (first_of_month(now, 5), now.to_rfc3339());
    let kinds = [
        "COOPERATIVE",
        "SOLE_TRADER",
        "SME",
        "LARGE_GROUP",
        "PUBLIC_BODY",
        "NON_PROFIT",
    ];
    let keys = |by: &'static str| {
        let app = &app;
        let admin = admin.clone();
        async move {
            observatory(
                app,
                Some(&admin),
                &format!("{{ observatory {{ groups(by: {by}) {{ key }} }} }}"),
                json!({}),
            )
            .await["groups"]
                .as_array()
                .unwrap()
                .iter()
                .map(|group| group["key"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        }
    };
    let sector = keys("SECTOR").await[0].clone();
    let territory = keys("TERRITORY").await[0].clone();
    let country = territory.split('-').next().unwrap().to_owned();
    let value_tag = keys("VALUE_TAG").await[0].clone();
    let community = keys("COMMUNITY").await[0].clone();
    let series = |filter: Value, producer: Option<String>| {
        let app = &app;
        let admin = admin.clone();
        let (from, to) = (from.clone(), to.clone());
        async move {
            observatory(
                app,
                Some(&admin),
                &format!("query($f: ObservatoryFilter, $p: ID, $from: DateTime!, $to: DateTime!) {{ observatory {{ series(producerId: $p, filter: $f, bucket: MONTH, from: $from, to: $to) {{ {METRICS} }} }} }}"),
                json!({ "f": filter, "p": producer, "from": from, "to": to }),
            )
            .await["series"]
                .as_array()
                .unwrap()
                .clone()
        }
    };
    // Everyone, one group of each kind (a country with its subdivisions):
    // read from the kept period sums, each bucket is the sum of the same
    // producers split by kind, which the atoms answer.
    for filter in [
        json!({}),
        json!({ "sector": sector }),
        json!({ "territory": country }),
        json!({ "valueTag": value_tag }),
        json!({ "community": community }),
    ] {
        let kept = series(filter.clone(), None).await;
        assert_eq!(kept.len(), 6, "{filter}: {kept:?}");
        let mut summed: Vec<Option<Figures>> = vec![None; kept.len()];
        for kind in kinds {
            let mut split = filter.clone();
            split["kind"] = json!(kind);
            for (i, cell) in series(split, None).await.iter().enumerate() {
                if let Some(figures) = additive(cell) {
                    add_into(&mut summed[i], figures);
                } else {
                    assert_eq!(
                        cell["metrics"],
                        Value::Null,
                        "{filter} {kind}: a suppressed cell shows nothing"
                    );
                }
            }
        }
        let kept: Vec<Option<Figures>> = kept.iter().map(additive).collect();
        assert!(
            kept.iter().filter(|cell| cell.is_some()).count() >= 5,
            "{filter}: the seeded months show: {kept:?}"
        );
        assert_eq!(kept.len(), summed.len());
        for (whole, parts) in kept.iter().zip(&summed) {
            assert!(agrees(whole, parts), "{filter}: {kept:?} != {summed:?}");
        }
    }
    // One producer: its atoms and kept period facts, against the same
    // producer asked with its sector too, which counts from the rows.
    let ranked = observatory(
        &app,
        Some(&admin),
        "{ observatory { ranking(first: 1, orderBy: SIGNATURES) { edges { node { producer { id sector } } } } } }",
        json!({}),
    )
    .await;
    let node = &ranked["ranking"]["edges"][0]["node"]["producer"];
    let id = node["id"].as_str().unwrap().to_owned();
    let kept = series(json!({}), Some(id.clone())).await;
    let counted = series(json!({ "sector": node["sector"] }), Some(id)).await;
    assert!(kept.iter().any(|cell| cell["suppressed"] == false));
    assert_eq!(kept, counted);
    // Groups over a range: every group's period rows in range, against the
    // groups of each kind counted from the range's atoms.
    for by in ["SECTOR", "TERRITORY", "VALUE_TAG", "COMMUNITY"] {
        let groups = |filter: Value| {
            let app = &app;
            let admin = admin.clone();
            async move {
                observatory(
                    app,
                    Some(&admin),
                    &format!("query($f: ObservatoryFilter) {{ observatory {{ groups(by: {by}, filter: $f) {{ key producerCount {METRICS} }} }} }}"),
                    json!({ "f": filter }),
                )
                .await["groups"]
                    .as_array()
                    .unwrap()
                    .clone()
            }
        };
        // Whole months, and a range ending mid-month: both count whole
        // periods, the campaigns of the last one as its signatures.
        // (The seed publishes campaigns all through the first three
        // quarters of its six months: some after the 15th of that month.)
        let mid_month = format!("{}15T00:00:00Z", &first_of_month(now, 3)[..8]);
        for range in [
            json!({ "from": first_of_month(now, 3) }),
            json!({ "from": first_of_month(now, 5), "to": mid_month }),
        ] {
            let kept = groups(range.clone()).await;
            let mut summed: std::collections::BTreeMap<String, (i64, Option<Figures>)> =
                Default::default();
            for kind in kinds {
                let mut split = range.clone();
                split["kind"] = json!(kind);
                for group in groups(split).await {
                    let entry = summed
                        .entry(group["key"].as_str().unwrap().to_owned())
                        .or_default();
                    entry.0 += group["producerCount"].as_i64().unwrap();
                    if let Some(figures) = additive(&group) {
                        add_into(&mut entry.1, figures);
                    }
                }
            }
            let kept: std::collections::BTreeMap<String, (i64, Option<Figures>)> = kept
                .iter()
                .map(|group| {
                    (
                        group["key"].as_str().unwrap().to_owned(),
                        (group["producerCount"].as_i64().unwrap(), additive(group)),
                    )
                })
                .collect();
            assert!(
                kept.values().any(|group| group.1.is_some()),
                "{by}: {kept:?}"
            );
            assert_eq!(
                kept.keys().collect::<Vec<_>>(),
                summed.keys().collect::<Vec<_>>(),
                "{by} over {range}"
            );
            for (key, (count, whole)) in &kept {
                let (parts_count, parts) = &summed[key];
                assert_eq!(count, parts_count, "{by} {key} over {range}");
                assert!(
                    agrees(whole, parts),
                    "{by} {key} over {range}: {whole:?} != {parts:?}"
                );
            }
        }
    }
}

/// Every kept window row: ([producer, span], sums then facts).
async fn window_rows(db: &sea_orm::DatabaseConnection) -> Vec<(Vec<String>, Vec<i64>)> {
    use consumact_api::service::observatory::groups;
    let keys = ["producer_id", "span"];
    kept_rows(
        db,
        "obs_producer_window",
        &keys,
        1,
        &groups::period_columns(),
    )
    .await
}

/// Seeds `months` months of activity through `consumact seed` (k = 2, as
/// the server keeps it).
async fn seed_months(app: &TestApp, months: u32) -> sea_orm::DatabaseConnection {
    let db = Database::connect(app.database_url.as_str()).await.unwrap();
    let config =
        consumact_api::config::Config::from_args(["consumact", "--observatory-k", "2"]).unwrap();
    let args = consumact_api::service::observatory::seed::SeedArgs {
        signatures: 6_000,
        ratings: 3_000,
        producers: 8,
        members: 300,
        campaigns_per_producer: 3,
        communities: 4,
        months,
        seed: 11,
        index_builds: 2,
    };
    consumact_api::service::observatory::seed::run(&db, &config, &args)
        .await
        .unwrap();
    db
}

/// Whether a ranking cursor is one the kept totals' index issued.
fn kept_cursor(cursor: &Value) -> bool {
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
            assert!(kept_cursor(&edge["cursor"]), "{filter} by {order}: {edge}");
            rows.push(edge["node"].clone());
        }
        if page["pageInfo"]["hasNextPage"] == false {
            return rows;
        }
        after = page["pageInfo"]["endCursor"].clone();
    }
}

#[tokio::test]
async fn windows_answer_rankings_producers_and_groups_as_their_ranges_do() {
    let app = spawn(&["--observatory-k", "2"]).await;
    seed_months(&app, 14).await;
    let admin = app.admin_token().await;
    let now = chrono::Utc::now();
    let node = format!("producer {{ id }} {METRICS}");
    let ranking = |filter: Value, order: &'static str, first: i64, after: Value| {
        let (app, admin, node) = (&app, admin.clone(), node.clone());
        async move {
            observatory(
                app,
                Some(&admin),
                &format!("query($f: ObservatoryFilter, $o: RankingOrder!, $n: Int, $a: String) {{ observatory {{ ranking(first: $n, after: $a, orderBy: $o, filter: $f) {{ totalCount pageInfo {{ hasNextPage endCursor }} edges {{ cursor node {{ {node} }} }} }} }} }}"),
                json!({ "f": filter, "o": order, "n": first, "a": after }),
            )
            .await["ranking"]
                .clone()
        }
    };
    // Each window, and a range of the same periods that is not its span
    // (so it is counted from the atoms): to the year 9999, or ending on
    // the 20th of last month (a whole month at the month grain).
    let last_month_20th = format!("{}20T00:00:00Z", &first_of_month(now, 1)[..8]);
    let windows = [
        (
            "LAST_12_MONTHS",
            json!({ "from": first_of_month(now, 11), "to": "9999-01-01T00:00:00Z" }),
        ),
        (
            "LAST_FULL_MONTH",
            json!({ "from": first_of_month(now, 1), "to": last_month_20th }),
        ),
    ];
    // The windows' days, for labels.
    let spans = observatory(
        &app,
        None,
        "{ observatory { windows { window from to } } }",
        json!({}),
    )
    .await["windows"]
        .clone();
    let at = |value: &Value| {
        value.as_str().map(|text| {
            chrono::DateTime::parse_from_rfc3339(text)
                .unwrap()
                .with_timezone(&chrono::Utc)
        })
    };
    let month = |back: u32| at(&json!(first_of_month(now, back)));
    assert_eq!(spans[0]["window"], "LAST_12_MONTHS", "{spans}");
    assert_eq!(
        (at(&spans[0]["from"]), at(&spans[0]["to"])),
        (month(11), None)
    );
    assert_eq!(spans[1]["window"], "LAST_FULL_MONTH", "{spans}");
    assert_eq!(
        (at(&spans[1]["from"]), at(&spans[1]["to"])),
        (month(1), month(0))
    );
    let everything = ranking(json!({}), "SIGNATURES", 10, Value::Null).await;
    for (window, range) in &windows {
        for order in ["TRUST_INDEX", "SIGNATURES"] {
            let counted = ranking(range.clone(), order, 10, Value::Null).await;
            let counted: Vec<Value> = counted["edges"]
                .as_array()
                .unwrap()
                .iter()
                .map(|edge| edge["node"].clone())
                .collect();
            assert_eq!(counted.len(), 8);
            assert!(
                counted.iter().any(|node| node["suppressed"] == false),
                "{window}: {counted:?}"
            );
            let paged = every_ranked(&app, &admin, &json!({ "window": window }), order, 8).await;
            assert_eq!(paged, counted, "{window} by {order}");
        }
        // The window holds less than all time (the seed's 14 months).
        let counted = ranking(range.clone(), "SIGNATURES", 10, Value::Null).await;
        let signatures = |ranking: &Value| -> i64 {
            ranking["edges"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|edge| edge["node"]["metrics"]["signatures"].as_i64())
                .sum()
        };
        assert!(
            signatures(&counted) < signatures(&everything),
            "{window}: {counted}"
        );
        // One producer, and the groups of a filtered set, over the window.
        let top = counted["edges"][0]["node"]["producer"]["id"].clone();
        let producer = |filter: Value| {
            let app = &app;
            let admin = admin.clone();
            let top = top.clone();
            async move {
                observatory(
                    app,
                    Some(&admin),
                    &format!("query($id: ID!, $f: ObservatoryFilter) {{ observatory {{ producer(id: $id, filter: $f) {{ {METRICS} }} }} }}"),
                    json!({ "id": top, "f": filter }),
                )
                .await["producer"]
                    .clone()
            }
        };
        let kept = producer(json!({ "window": window })).await;
        assert_eq!(kept["suppressed"], false, "{window}: {kept}");
        assert_eq!(kept, producer(range.clone()).await, "{window}");
        for (by, filter) in [("SECTOR", "kind"), ("VALUE_TAG", "kind")] {
            for kind in ["COOPERATIVE", "SME", "LARGE_GROUP"] {
                let groups = |mut filter_value: Value| {
                    let app = &app;
                    let admin = admin.clone();
                    filter_value[filter] = json!(kind);
                    async move {
                        observatory(
                            app,
                            Some(&admin),
                            &format!("query($f: ObservatoryFilter) {{ observatory {{ groups(by: {by}, filter: $f) {{ key producerCount {METRICS} }} }} }}"),
                            json!({ "f": filter_value }),
                        )
                        .await["groups"]
                            .clone()
                    }
                };
                let kept = groups(json!({ "window": window })).await;
                assert_eq!(kept, groups(range.clone()).await, "{window} {by} {kind}");
            }
        }
        // The export in rank order streams the window's ranking.
        let query = |filter: &str| format!("format=ndjson&orderBy=SIGNATURES&{filter}");
        let (status, _, kept) = export(
            &app,
            Some(&admin),
            &query(&format!("window={window}")),
            None,
        )
        .await;
        assert_eq!(status, 200, "{kept}");
        let range_query = format!(
            "from={}&to={}",
            range["from"].as_str().unwrap(),
            range["to"].as_str().unwrap()
        );
        let (status, _, counted) = export(&app, Some(&admin), &query(&range_query), None).await;
        assert_eq!(status, 200, "{counted}");
        assert_eq!(kept.lines().count(), 8, "{kept}");
        assert_eq!(kept, counted, "export over {window}");
    }
    // A window replaces a range: not both, and only a known one.
    let both = app
        .gql(
            Some(&admin),
            "query($f: ObservatoryFilter) { observatory { ranking(filter: $f) { totalCount } } }",
            json!({ "f": { "window": "LAST_FULL_MONTH", "from": first_of_month(now, 1) } }),
        )
        .await;
    assert_eq!(error_code(&both), "BAD_USER_INPUT", "{both}");
    assert_eq!(error_field(&both), "filter.window", "{both}");
    let (status, _, body) = export(&app, Some(&admin), "window=LAST_WEEK", None).await;
    assert_eq!(status, 400, "{body}");
    let error: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(error_code(&error), "BAD_USER_INPUT", "{body}");
    assert_eq!(error_field(&error), "window", "{body}");
}

#[tokio::test]
async fn window_rows_follow_their_stored_spans_until_the_month_rolls() {
    use consumact_api::service::observatory::windows;
    let app = spawn(&["--observatory-k", "2"]).await;
    let db = seed_months(&app, 3).await;
    let today = chrono::Utc::now().date_naive();
    let next_month = today + chrono::Months::new(1);
    // As of next month, this month is the last full one: the writes below
    // land in its rows only if the write path follows the stored spans.
    assert!(windows::roll(&db, None, 2, next_month).await.unwrap());
    assert!(!windows::roll(&db, None, 2, next_month).await.unwrap());
    let (organiser, _) = app.register("organiser").await;
    let members = app.register_many("member", 3).await;
    let fresh = producer(&app, &organiser, "Fresh Farm", "food", "FR").await;
    let target = campaign(&app, &organiser, &fresh, None, &[]).await;
    for member in &members {
        assert!(app.sign(member, &target).await.get("errors").is_none());
        let rated = rate(&app, member, &fresh, &[("QUALITY", 4)]).await;
        assert!(rated.get("errors").is_none(), "{rated}");
    }
    let kept = window_rows(&db).await;
    let of = |span: &str| {
        kept.iter()
            .find(|(key, _)| key == &[fresh.clone(), span.to_owned()])
            .unwrap_or_else(|| panic!("no {span} row of {fresh}: {kept:?}"))
            .1
            .clone()
    };
    // A released atom of 3 members and 3 signatures, and its campaign.
    let last_full_month = of("LAST_FULL_MONTH");
    assert_eq!(last_full_month[..3], [1, 3, 3], "{last_full_month:?}");
    assert_eq!(of("LAST_12_MONTHS"), last_full_month);
    // The rows equal those recomputed for the same spans.
    let txn = sea_orm::TransactionTrait::begin(&db).await.unwrap();
    windows::reset(&txn, 2, next_month).await.unwrap();
    txn.commit().await.unwrap();
    assert_eq!(kept, window_rows(&db).await);
    // Rolled back to this month, nothing of this month is a full month yet.
    assert!(windows::roll(&db, None, 2, today).await.unwrap());
    let rolled = window_rows(&db).await;
    assert!(
        rolled
            .iter()
            .all(|(key, _)| key != &[fresh.clone(), "LAST_FULL_MONTH".to_owned()]),
        "{rolled:?}"
    );
    assert_eq!(
        rolled
            .iter()
            .find(|(key, _)| key == &[fresh.clone(), "LAST_12_MONTHS".to_owned()])
            .map(|row| row.1.clone()),
        Some(last_full_month)
    );
}

/// Every rollup row, table by table: atoms, contributors, producer totals
/// and facts, group totals and members, periods, windows.
type Rollups = (
    Vec<(Vec<String>, Vec<i64>)>,
    Vec<(Vec<String>, Vec<i64>)>,
    Vec<(uuid::Uuid, Vec<i64>)>,
    Vec<(uuid::Uuid, Vec<i64>)>,
    Vec<(String, String, Vec<i64>)>,
    Vec<(String, String, uuid::Uuid)>,
    (Vec<(Vec<String>, Vec<i64>)>, Vec<(Vec<String>, Vec<i64>)>),
    Vec<(Vec<String>, Vec<i64>)>,
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
}

async fn every_rollup_row(db: &sea_orm::DatabaseConnection) -> Rollups {
    use consumact_api::service::observatory::rollup::COUNT_COLUMNS;
    let atom_columns: Vec<String> = std::iter::once("members")
        .chain(COUNT_COLUMNS)
        .map(str::to_owned)
        .collect();
    let atoms = kept_rows(
        db,
        "obs_atom",
        &["producer_id", "period_start"],
        1,
        &atom_columns,
    )
    .await;
    let contributors = kept_rows(
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
        kept_periods(db).await,
        window_rows(db).await,
    )
}

#[tokio::test]
async fn the_seed_counts_the_rollups_as_a_rebuild_from_its_rows_does() {
    use consumact_api::service::observatory::{rollup, seed};
    for grain in ["month", "day"] {
        let app = spawn(&["--observatory-k", "2", "--observatory-grain", grain]).await;
        let db = Database::connect(app.database_url.as_str()).await.unwrap();
        let config = consumact_api::config::Config::from_args([
            "consumact",
            "--observatory-k",
            "2",
            "--observatory-grain",
            grain,
        ])
        .unwrap();
        let mut args = seed::SeedArgs {
            signatures: 5_000,
            ratings: 2_000,
            producers: 12,
            members: 300,
            campaigns_per_producer: 3,
            communities: 4,
            months: 3,
            seed: 5,
            index_builds: 2,
        };
        // A fresh database: the seed counts the atoms and contributors as it
        // writes the rows.
        let report = seed::run(&db, &config, &args).await.unwrap();
        let seeded = every_rollup_row(&db).await;
        assert_eq!(seeded.0.len() as u64, report.atoms, "{grain}");
        // Members who signed two campaigns of a producer in a period, or
        // rated it on several dimensions, weigh more than one.
        assert!(seeded.1.iter().any(|(_, weight)| weight[0] > 1), "{grain}");
        let keeping = rollup::Keeping::of(&config);
        let rebuilt = rollup::rebuild(&db, keeping).await.unwrap();
        assert_eq!(rebuilt.atoms, report.atoms, "{grain}");
        assert_eq!(rebuilt.contributors as usize, seeded.1.len(), "{grain}");
        assert_same_rollups(&seeded, &every_rollup_row(&db).await, grain);
        // A second data set beside the first is rebuilt from all the rows.
        args.seed = 6;
        let second = seed::run(&db, &config, &args).await.unwrap();
        let both = every_rollup_row(&db).await;
        assert_eq!(both.0.len() as u64, second.atoms, "{grain}");
        assert!(second.atoms > report.atoms, "{grain}: {}", second.atoms);
        rollup::rebuild(&db, keeping).await.unwrap();
        assert_same_rollups(&both, &every_rollup_row(&db).await, grain);
    }
}

#[tokio::test]
async fn a_seed_whose_rows_fill_their_batches_exactly_writes_them_all() {
    use consumact_api::service::observatory::seed;
    let app = spawn(&["--observatory-k", "2"]).await;
    let db = Database::connect(app.database_url.as_str()).await.unwrap();
    let config =
        consumact_api::config::Config::from_args(["consumact", "--observatory-k", "2"]).unwrap();
    // The last batch of signatures is then empty, which the bulk writers
    // must take as nothing to write.
    let signatures = seed::BULK_BATCH as u64;
    let args = seed::SeedArgs {
        signatures,
        ratings: 400,
        producers: 20,
        members: 20_000,
        campaigns_per_producer: 2,
        communities: 2,
        months: 2,
        seed: 9,
        index_builds: 2,
    };
    let report = seed::run(&db, &config, &args).await.unwrap();
    assert_eq!(report.signatures, signatures);
    let stored: i64 = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT COUNT(*) FROM signature",
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get_by_index(0)
        .unwrap();
    assert_eq!(stored as u64, signatures);
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

#[tokio::test]
async fn a_seed_builds_again_every_index_and_key_it_set_aside() {
    use consumact_api::service::observatory::seed;
    let app = spawn(&["--observatory-k", "2"]).await;
    let db = Database::connect(app.database_url.as_str()).await.unwrap();
    let config =
        consumact_api::config::Config::from_args(["consumact", "--observatory-k", "2"]).unwrap();
    let before = index_and_key_definitions(&db).await;
    assert!(
        before
            .iter()
            .any(|definition| definition.contains("uq_signature_campaign_member")),
        "{before:#?}"
    );
    // More builders than some tables have indexes: keys, indexes and
    // foreign keys of one table wait for each other.
    let args = seed::SeedArgs {
        signatures: 3_000,
        ratings: 600,
        producers: 6,
        members: 200,
        campaigns_per_producer: 2,
        communities: 2,
        months: 2,
        seed: 13,
        index_builds: 3,
    };
    seed::run(&db, &config, &args).await.unwrap();
    let same = |after: &[String]| {
        let missing: Vec<&String> = before.iter().filter(|d| !after.contains(d)).collect();
        let added: Vec<&String> = after.iter().filter(|d| !before.contains(d)).collect();
        assert!(
            missing.is_empty() && added.is_empty(),
            "missing {missing:#?}, added {added:#?}"
        );
    };
    same(&index_and_key_definitions(&db).await);
    // The same data set again is refused before anything is set aside.
    let again = seed::run(&db, &config, &args).await.unwrap_err();
    assert_eq!(again.code(), "CONFLICT", "{again:?}");
    assert!(again.message().contains("--seed 13"), "{}", again.message());
    same(&index_and_key_definitions(&db).await);
}

/// An index whose columns only repeat the leading columns of another (same
/// table, same method, neither partial, the first not unique) costs every
/// write and every bulk load's rebuild, and serves no query the other does
/// not.
#[tokio::test]
async fn no_index_only_repeats_the_leading_columns_of_another() {
    let app = spawn(&[]).await;
    let db = Database::connect(app.database_url.as_str()).await.unwrap();
    // (table, index, method, unique, partial, columns): indexes on
    // expressions left out.
    let sql = match db.get_database_backend() {
        sea_orm::DbBackend::Postgres => {
            "SELECT t.relname::text, c.relname::text, am.amname::text, x.indisunique, x.indpred IS NOT NULL, \
               (SELECT string_agg(a.attname::text, ',' ORDER BY k.ord) \
                FROM unnest(x.indkey::int2[]) WITH ORDINALITY k(attnum, ord) \
                JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum) \
             FROM pg_index x JOIN pg_class c ON c.oid = x.indexrelid \
             JOIN pg_class t ON t.oid = x.indrelid JOIN pg_am am ON am.oid = c.relam \
             JOIN pg_namespace n ON n.oid = t.relnamespace \
             WHERE n.nspname = current_schema() AND x.indexprs IS NULL"
        }
        _ => {
            "SELECT m.name, l.name, 'btree', l.\"unique\" = 1, l.partial = 1, \
               (SELECT group_concat(i.name, ',') FROM \
                 (SELECT name FROM pragma_index_info(l.name) ORDER BY seqno) i) \
             FROM sqlite_master m JOIN pragma_index_list(m.name) l \
             WHERE m.type = 'table' AND NOT EXISTS \
               (SELECT 1 FROM pragma_index_info(l.name) e WHERE e.name IS NULL)"
        }
    };
    let indexes: Vec<(String, String, String, bool, bool, Vec<String>)> = db
        .query_all_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .unwrap()
        .iter()
        .map(|row| {
            let columns: String = row.try_get_by_index(5).unwrap();
            (
                row.try_get_by_index(0).unwrap(),
                row.try_get_by_index(1).unwrap(),
                row.try_get_by_index(2).unwrap(),
                row.try_get_by_index(3).unwrap(),
                row.try_get_by_index(4).unwrap(),
                columns.split(',').map(str::to_owned).collect(),
            )
        })
        .collect();
    assert!(
        indexes
            .iter()
            .any(|index| index.1 == "idx_signature_member_status"),
        "{indexes:#?}"
    );
    let mut repeated = Vec::new();
    for (table, name, method, unique, partial, columns) in &indexes {
        if *unique || *partial {
            continue;
        }
        for (other_table, other, other_method, _, other_partial, other_columns) in &indexes {
            if other != name
                && other_table == table
                && other_method == method
                && !other_partial
                && other_columns.starts_with(columns)
            {
                repeated.push(format!(
                    "{name} ({columns:?}) repeats {other} ({other_columns:?})"
                ));
            }
        }
    }
    assert!(repeated.is_empty(), "{repeated:#?}");
}

#[tokio::test]
async fn a_ranking_over_a_custom_range_is_paged_in_the_order_it_is_exported() {
    let app = spawn(&["--observatory-k", "2"]).await;
    seed_months(&app, 14).await;
    let admin = app.admin_token().await;
    let now = chrono::Utc::now();
    // From mid-month five months back to the 20th of last month: no
    // window's span, so summed from the range's atoms.
    let from = format!("{}15T00:00:00Z", &first_of_month(now, 5)[..8]);
    let to = format!("{}20T00:00:00Z", &first_of_month(now, 1)[..8]);
    let range = json!({ "from": from, "to": to });
    for order in ["TRUST_INDEX", "SIGNATURES"] {
        let paged = every_ranked(&app, &admin, &range, order, 8).await;
        assert_eq!(paged.len(), 8, "{order}");
        assert!(
            paged.iter().any(|node| node["suppressed"] == false)
                && paged
                    .iter()
                    .any(|node| node["metrics"]["responses"]["campaigns"].as_i64() > Some(0)),
            "{order}: {paged:?}"
        );
        // Each row is the producer's own trust over the range, facts
        // included.
        for node in &paged {
            let id = node["producer"]["id"].clone();
            let alone = observatory(
                &app,
                Some(&admin),
                &format!("query($id: ID!, $f: ObservatoryFilter) {{ observatory {{ producer(id: $id, filter: $f) {{ {METRICS} }} }} }}"),
                json!({ "id": id, "f": range }),
            )
            .await["producer"]
                .clone();
            let mut expected = alone.clone();
            expected["producer"] = json!({ "id": id });
            assert_eq!(node, &expected, "{order}");
        }
        // In the order the export ranks the range in full.
        let query = format!(
            "format=ndjson&orderBy={order}&from={}&to={}",
            from.replace(':', "%3A"),
            to.replace(':', "%3A")
        );
        let (status, _, exported) = export(&app, Some(&admin), &query, None).await;
        assert_eq!(status, 200, "{exported}");
        let exported: Vec<Value> = exported
            .lines()
            .map(|line| serde_json::from_str::<Value>(line).unwrap()["producer_id"].clone())
            .collect();
        let ranked: Vec<Value> = paged
            .iter()
            .map(|node| node["producer"]["id"].clone())
            .collect();
        assert_eq!(ranked, exported, "{order}");
    }
    // A cursor this server did not issue (an offset, as custom ranges once
    // took) is refused.
    let stale = app
        .gql(
            Some(&admin),
            "query($f: ObservatoryFilter) { observatory { ranking(first: 3, after: \"MTk\", filter: $f) { totalCount } } }",
            json!({ "f": range }),
        )
        .await;
    assert_eq!(error_code(&stale), "BAD_USER_INPUT", "{stale}");
    assert_eq!(error_field(&stale), "after", "{stale}");
}
