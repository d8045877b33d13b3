//! Campaigns that follow ownership: a campaign about a brand aims at the
//! brand's owner; escalated to the owner's parent it keeps both targets,
//! and the observatory counts each signature for the producer the campaign
//! aimed at when it was signed, on the write path and after a rebuild.

use super::*;

const ESCALATE: &str = "mutation($input: EscalateCampaignInput!) {
  escalateCampaign(input: $input) {
    producer { name }
    brand { name }
    targets { producer { name } until reason }
  }
}";

async fn own(app: &TestApp, admin: &str, child: &str, parent: &str) {
    app.gql_ok(
        Some(admin),
        "mutation($input: SetOwnershipInput!) { setOwnership(input: $input) { id } }",
        json!({ "input": { "childId": child, "parentId": parent, "source": "GLEIF" } }),
    )
    .await;
}

async fn create(app: &TestApp, token: &str, target: Value) -> Value {
    let mut input = json!({
        "kind": "BOYCOTT",
        "title": "Not this brand",
        "summary": "We stop buying the brand until its owner pays growers fairly.",
        "body": "A boycott of one brand.",
    });
    input
        .as_object_mut()
        .unwrap()
        .extend(target.as_object().unwrap().clone());
    app.gql(
        Some(token),
        "mutation($input: CreateCampaignInput!) { createCampaign(input: $input) { id producer { name } brand { name } } }",
        json!({ "input": input }),
    )
    .await
}

async fn signatures_of(app: &TestApp, admin: &str, producer: &str) -> Value {
    app.gql_ok(
        Some(admin),
        "query($id: ID!) { observatory { producer(id: $id) { metrics { signatures } } } }",
        json!({ "id": producer }),
    )
    .await["observatory"]["producer"]["metrics"]["signatures"]
        .clone()
}

#[tokio::test]
async fn an_escalated_campaign_keeps_both_targets_and_its_signatures_where_they_were_signed() {
    let app = spawn(&["--observatory-k", "2"]).await;
    let admin = app.admin_token().await;
    let group = producer(&app, &admin, "Big Group", "food", "FR").await;
    let subsidiary = producer(&app, &admin, "Crisp Ltd", "food", "FR").await;
    let stranger = producer(&app, &admin, "Someone Else", "food", "FR").await;
    let brand = app
        .gql_ok(
            Some(&admin),
            "mutation($owner: ID!) { createBrand(input: { name: \"Crunchy\", ownerId: $owner }) { id } }",
            json!({ "owner": subsidiary }),
        )
        .await["createBrand"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (organiser, _) = app.register("organiser").await;

    // A campaign names a producer, a brand, or both when the producer owns
    // the brand.
    let nothing = create(&app, &organiser, json!({})).await;
    assert_eq!(error_code(&nothing), "BAD_USER_INPUT", "{nothing}");
    assert_eq!(error_field(&nothing), "input.producerId", "{nothing}");
    let unrelated = create(
        &app,
        &organiser,
        json!({ "brandId": brand, "producerId": stranger }),
    )
    .await;
    assert_eq!(error_code(&unrelated), "BAD_USER_INPUT", "{unrelated}");
    assert_eq!(error_field(&unrelated), "input.producerId", "{unrelated}");
    let unknown = create(
        &app,
        &organiser,
        json!({ "brandId": uuid::Uuid::now_v7().to_string() }),
    )
    .await;
    assert_eq!(error_code(&unknown), "NOT_FOUND", "{unknown}");
    let created = create(&app, &organiser, json!({ "brandId": brand })).await;
    let created = &created["data"]["createCampaign"];
    assert_eq!(created["producer"]["name"], "Crisp Ltd", "{created}");
    assert_eq!(created["brand"]["name"], "Crunchy");
    let id = created["id"].as_str().unwrap().to_owned();

    // Drafts are not escalated, nor a target without a known owner.
    let reason = "Crisp Ltd let the due date pass without a word.";
    let escalate = |to: Option<&str>, token: &str| {
        let variables =
            json!({ "input": { "campaignId": id, "toProducerId": to, "reason": reason } });
        let app = &app;
        let token = token.to_owned();
        async move { app.gql(Some(&token), ESCALATE, variables).await }
    };
    assert_eq!(error_code(&escalate(None, &organiser).await), "CONFLICT");
    app.publish(&organiser, &id).await;
    let orphan = escalate(None, &organiser).await;
    assert_eq!(error_code(&orphan), "CONFLICT", "{orphan}");

    let before = app.register_many("before", 2).await;
    for token in &before {
        assert!(app.sign(token, &id).await["errors"].is_null());
    }
    own(&app, &admin, &subsidiary, &group).await;

    // Only the organiser (or an admin) escalates, and only to an owner.
    let (someone, _) = app.register("someone").await;
    assert_eq!(error_code(&escalate(None, &someone).await), "FORBIDDEN");
    let sideways = escalate(Some(&stranger), &organiser).await;
    assert_eq!(error_code(&sideways), "BAD_USER_INPUT", "{sideways}");
    assert_eq!(error_field(&sideways), "input.toProducerId");
    let short = app
        .gql(
            Some(&organiser),
            ESCALATE,
            json!({ "input": { "campaignId": id, "reason": "no" } }),
        )
        .await;
    assert_eq!(error_field(&short), "input.reason", "{short}");

    let escalated = escalate(None, &organiser).await;
    let escalated = &escalated["data"]["escalateCampaign"];
    assert_eq!(escalated["producer"]["name"], "Big Group", "{escalated}");
    assert_eq!(escalated["brand"]["name"], "Crunchy");
    let targets = escalated["targets"].as_array().unwrap();
    assert_eq!(targets.len(), 2, "{escalated}");
    assert_eq!(targets[0]["producer"]["name"], "Crisp Ltd");
    assert!(targets[0]["until"].is_string());
    assert!(targets[0]["reason"].is_null());
    assert_eq!(targets[1]["producer"]["name"], "Big Group");
    assert!(targets[1]["until"].is_null());
    assert_eq!(targets[1]["reason"], reason);
    // Already at the top of the ownership graph.
    assert_eq!(error_code(&escalate(None, &organiser).await), "CONFLICT");

    // Signed before: counted for the subsidiary; after: for the group.
    let after = app.register_many("after", 3).await;
    for token in &after {
        assert!(app.sign(token, &id).await["errors"].is_null());
    }
    assert_eq!(signatures_of(&app, &admin, &subsidiary).await, 2);
    assert_eq!(signatures_of(&app, &admin, &group).await, 3);
    // A withdrawal leaves the producer it was counted for.
    app.gql_ok(
        Some(&before[0]),
        "mutation($id: ID!) { withdrawSignature(campaignId: $id) }",
        json!({ "id": id }),
    )
    .await;
    app.gql_ok(
        Some(&after[0]),
        "mutation($id: ID!) { withdrawSignature(campaignId: $id) }",
        json!({ "id": id }),
    )
    .await;
    // One member left under k = 2: withheld.
    assert_eq!(signatures_of(&app, &admin, &subsidiary).await, Value::Null);
    assert_eq!(signatures_of(&app, &admin, &group).await, 2);

    // A rebuild from the source tables gives back what the write path kept.
    let db = Database::connect(app.database_url.as_str()).await.unwrap();
    let written = every_rollup_row(&db).await;
    consumact_api::service::observatory::rollup::rebuild(&db, rule(2))
        .await
        .unwrap();
    assert_same_rollups(&written, &every_rollup_row(&db).await, "rebuild");

    // The audit log says who escalated, and why.
    let log = app
        .gql_ok(
            Some(&admin),
            "query($id: ID!) { auditLog(targetId: $id) { edges { node { action reason } } } }",
            json!({ "id": id }),
        )
        .await;
    let escalations: Vec<&Value> = log["auditLog"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|edge| &edge["node"])
        .filter(|entry| entry["action"] == "campaign.escalated")
        .collect();
    assert_eq!(escalations.len(), 1, "{log}");
    assert_eq!(escalations[0]["reason"], reason);
}
