//! Append, then fold: writes commit their rows and a queued description of
//! what they move; the folder applies it. Whatever happens to a folder (a
//! pass that dies before committing, two instances folding at once), every
//! derived row ends equal to a rebuild, and each campaign's kept total to
//! its counted rows.

use super::*;
use consumact_api::service::fold::{Folder, Stop};

/// Campaigns' kept totals beside their counted signatures, by campaign.
async fn kept_and_counted(db: &sea_orm::DatabaseConnection) -> Vec<(uuid::Uuid, i64, i64)> {
    let rows = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT c.id, CAST(c.signature_total AS BIGINT), \
               CAST((SELECT COUNT(*) FROM signature s WHERE s.campaign_id = c.id AND s.status = 'COUNTED') AS BIGINT) \
             FROM campaign c ORDER BY c.id",
        ))
        .await
        .unwrap();
    rows.iter()
        .map(|row| {
            (
                row.try_get_by_index(0).unwrap(),
                row.try_get_by_index(1).unwrap(),
                row.try_get_by_index(2).unwrap(),
            )
        })
        .collect()
}

/// Every campaign's kept total equals its counted rows.
async fn assert_kept_totals_counted(db: &sea_orm::DatabaseConnection, context: &str) {
    for (campaign, kept, counted) in kept_and_counted(db).await {
        assert_eq!(kept, counted, "{context}: campaign {campaign}");
    }
}

/// The rollups as the fold left them equal a rebuild's.
async fn assert_fold_equals_rebuild(db: &sea_orm::DatabaseConnection, context: &str) {
    let folded = every_rollup_row(db).await;
    assert!(!folded.0.is_empty(), "{context}: the atoms are there");
    consumact_api::service::observatory::rollup::rebuild(db, rule(2))
        .await
        .unwrap();
    assert_same_rollups(&folded, &every_rollup_row(db).await, context);
}

async fn queued(db: &sea_orm::DatabaseConnection) -> i64 {
    let row = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT CAST(COUNT(*) AS BIGINT) FROM fold_change",
        ))
        .await
        .unwrap()
        .unwrap();
    row.try_get_by_index(0).unwrap()
}

/// Signers on two campaigns of two producers, ratings, pledges, and
/// withdrawals of some of each, all made through `apps` in turn.
async fn activity(apps: &[&TestApp], organiser: &str, members: &[String]) -> Vec<String> {
    let app = apps[0];
    let acme = producer(app, organiser, "Acme Foods", "food", "FR").await;
    let other = producer(app, organiser, "Other Foods", "food", "ES").await;
    let first = campaign(app, organiser, &acme, None, &[]).await;
    let second = campaign(app, organiser, &other, None, &["local"]).await;
    // Everyone signs the first campaign at once, through every instance.
    let signed = futures::future::join_all(
        members
            .iter()
            .enumerate()
            .map(|(i, token)| apps[i % apps.len()].sign_only(token, &first)),
    )
    .await;
    for body in signed {
        assert!(body.get("errors").is_none(), "{body}");
    }
    for (i, token) in members.iter().enumerate() {
        let app = apps[i % apps.len()];
        if i % 2 == 0 {
            let body = app.sign_only(token, &second).await;
            assert!(body.get("errors").is_none(), "{body}");
        }
        rate(app, token, &acme, &[("QUALITY", 1 + (i as i64 % 5))]).await;
        if i % 3 == 0 {
            app.gql_ok(
                Some(token),
                "mutation($id: ID!) { pledge(campaignId: $id, input: { kind: AVOID, monthlyAmountCents: 300 }) { id } }",
                json!({ "id": second }),
            )
            .await;
        }
    }
    // Some withdraw while others sign again elsewhere.
    let withdrawals = members
        .iter()
        .enumerate()
        .filter(|(i, _)| i % 4 == 1)
        .map(|(i, token)| {
            let app = apps[i % apps.len()];
            let first = first.clone();
            async move {
                app.gql_ok(
                    Some(token),
                    "mutation($id: ID!) { withdrawSignature(campaignId: $id) }",
                    json!({ "id": first }),
                )
                .await;
            }
        });
    futures::future::join_all(withdrawals).await;
    vec![first, second]
}

#[tokio::test]
async fn a_fold_that_dies_before_committing_loses_and_doubles_nothing() {
    // This instance queues but never folds.
    let app = spawn(&["--observatory-k", "2", "--fold-worker", "false"]).await;
    let (organiser, _) = app.register("organiser").await;
    let members = app.register_many("member", 10).await;
    activity(&[&app], &organiser, &members).await;
    let db = Database::connect(app.database_url.as_str()).await.unwrap();
    let waiting = queued(&db).await;
    assert!(waiting > 10, "the writes wait in the queue: {waiting}");
    let before = every_rollup_row(&db).await;
    assert!(before.0.is_empty(), "nothing folded yet: {:?}", before.0);
    assert!(
        kept_and_counted(&db)
            .await
            .iter()
            .all(|(_, kept, _)| *kept == 0),
        "no kept total moved at commit"
    );

    // A folder takes every queued write, applies them all, and dies before
    // its commit.
    let config = TestApp::config(
        &app.database_url,
        &app.redis_prefix,
        &app.data_dir,
        &[
            "--observatory-k".to_owned(),
            "2".to_owned(),
            "--fold-batch".to_owned(),
            "100000".to_owned(),
        ],
    );
    let folder = Folder::new(
        db.clone(),
        None,
        std::sync::Arc::new(consumact_api::metrics::Metrics::default()),
        &config,
    );
    let taken = folder.pass(Stop::BeforeCommit).await.unwrap();
    assert_eq!(taken as i64, waiting, "the dying pass took the whole queue");
    assert_eq!(
        queued(&db).await,
        waiting,
        "its writes are back in the queue"
    );
    assert_same_rollups(&before, &every_rollup_row(&db).await, "after the dead pass");

    // A sibling that folds catches up: once, everything.
    let sibling = app.spawn_sibling_with(&["--fold-worker", "true"]).await;
    assert_eq!(sibling.folded().await, 0, "the sibling folded the queue");
    assert_kept_totals_counted(&db, "after the sibling's fold").await;
    assert_fold_equals_rebuild(&db, "rebuild after the fold").await;
}

#[tokio::test]
async fn two_instances_folding_concurrent_writes_agree_with_a_rebuild() {
    let app = spawn(&["--observatory-k", "2", "--fold-batch", "3"]).await;
    let sibling = app.spawn_sibling().await;
    let (organiser, _) = app.register("organiser").await;
    let members = app.register_many("member", 16).await;
    let campaigns = activity(&[&app, &sibling], &organiser, &members).await;
    // A moderator strikes out the second campaign's signatures of one
    // domain, then undoes it, while the sibling folds.
    let admin = app.admin_token().await;
    let struck = app
        .gql_ok(
            Some(&admin),
            "mutation($id: ID!) { invalidateSignatures(campaignId: $id, filter: { from: \"2000-01-01T00:00:00Z\" }, reason: \"checking the fold\") { id count } }",
            json!({ "id": campaigns[1] }),
        )
        .await;
    let invalidation = struck["invalidateSignatures"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        struck["invalidateSignatures"]["count"].as_i64().unwrap() > 0,
        "{struck}"
    );
    assert_eq!(app.folded().await, 0);
    let db = Database::connect(app.database_url.as_str()).await.unwrap();
    assert_kept_totals_counted(&db, "struck").await;
    sibling
        .gql_ok(
            Some(&admin),
            "mutation($id: ID!) { revalidateSignatures(invalidationId: $id) { id } }",
            json!({ "id": invalidation }),
        )
        .await;
    assert_eq!(sibling.folded().await, 0);
    assert_kept_totals_counted(&db, "restored").await;
    assert_fold_equals_rebuild(&db, "rebuild after two folders").await;
}
