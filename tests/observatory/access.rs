//! Ratings, who may read the observatory, what a producer's metrics
//! combine, and how filters and rankings are checked.

use super::*;

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
