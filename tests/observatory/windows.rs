//! Stored windows (last 30 days, 12 months…): they answer as their ranges
//! do, and follow their stored spans until the month rolls.

use super::*;

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
