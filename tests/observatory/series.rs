//! Time series, the export, closed periods, and rankings read from kept
//! sums, compared with the atoms they summarise.

use super::*;

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
        let args = consumact_api::seed::SeedArgs {
            signatures: 2_000,
            ratings: 4_000,
            producers: 2,
            members: 400,
            campaigns_per_producer: 2,
            communities: 20,
            months: 3,
            seed: 3,
            products: 0,
            index_builds: 2,
        };
        consumact_api::seed::run(&db, &config, &args).await.unwrap();
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
async fn rankings_read_page_by_page_from_stored_totals_match_the_full_ranking() {
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
    // Rankings the stored totals do not index are ranked in full.
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
async fn stored_period_sums_answer_series_and_ranges_as_the_atoms_do() {
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
    // read from the stored period sums, each bucket is the sum of the same
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
