//! The rollups the write path keeps: their rebuild gives back the same
//! rows, atoms cross k exactly once, and reads may follow a replica.

use super::*;

#[tokio::test]
async fn rebuilding_the_rollups_gives_back_what_the_write_path_stored() {
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
                stored_periods(&db).await,
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
    // Campaigns, commitments made, kept, broken, open, response requests
    // (requested, on time, overdue: none here), then the answers by class
    // of hours: Acme's within the hour.
    let (acme_facts, other_facts) = (facts_of(&acme), facts_of(&other));
    assert_eq!(acme_facts[..9], [1, 1, 1, 0, 0, 0, 0, 0, 1], "{:?}", kept.3);
    assert_eq!(acme_facts[9..].iter().sum::<i64>(), 0, "{:?}", kept.3);
    assert_eq!(other_facts[..8], [1, 0, 0, 0, 0, 0, 0, 0], "{:?}", kept.3);
    assert_eq!(
        other_facts[8..].iter().sum::<i64>(),
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
    let rebuilt = consumact_api::service::observatory::rollup::rebuild(&db, rule(2)).await;
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
        // than k: the figure is withheld even though the atom is released.
        json!({ "suppressed": false, "memberCount": 7, "metrics": { "signatures": 5, "ratingCount": null } })
    );
    let kept = producer_totals(&db).await;
    assert_eq!(
        kept[0].1[..3],
        [1, 7, 5],
        "atoms, members, signatures: {kept:?}"
    );
    // Its sector's and territory's stored totals moved with it, once.
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
    let periods = stored_periods(&db).await;
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
    consumact_api::service::observatory::rollup::rebuild(&db, rule(3))
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
        stored_periods(&db).await,
        "the rebuild agrees on periods"
    );
    assert_eq!(
        windows,
        window_rows(&db).await,
        "the rebuild agrees on windows"
    );
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
