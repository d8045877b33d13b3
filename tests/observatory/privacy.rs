//! Privacy: no answer, and no difference of answers, reveals a group
//! smaller than k, per atom and per figure; groups count public campaigns.

use super::*;

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
