//! Global object identification: `node(id:)` and `nodes(ids:)` refetch any
//! public object by its id, typed through the `Node` interface, and never
//! show what the caller could not see otherwise.

use crate::common::webhook_receiver::WebhookReceiver;
use crate::common::ws::Subscription;
use crate::common::{ADMIN_ARGS, TestApp, error_code, error_field};
use serde_json::{Value, json};

const NODE: &str = "query($id: ID!) { node(id: $id) { __typename id ... on Campaign { title } ... on Producer { name } ... on Signature { signer } } }";
const NODES: &str = "query($ids: [ID!]!) { nodes(ids: $ids) { __typename id } }";

fn typename(body: &Value) -> &str {
    body["data"]["node"]["__typename"]
        .as_str()
        .unwrap_or("null")
}

#[tokio::test]
async fn every_kind_of_public_object_comes_back_by_its_id() {
    let app = TestApp::spawn().await;
    let (organiser, campaign) = app.open_campaign("node_organiser", 100).await;
    let (signer, signer_id) = app.register("node_signer").await;
    let signature = app.sign(&signer, &campaign).await["data"]["signCampaign"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let found = app
        .gql_ok(
            None,
            "query($id: ID!) { campaign(id: $id) { producer { id } community { id } } }",
            json!({ "id": campaign }),
        )
        .await;
    let producer = found["campaign"]["producer"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let tag = app.gql_ok(None, "{ valueTags { id } }", json!({})).await["valueTags"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let update = app
        .gql_ok(
            Some(&organiser),
            "mutation($id: ID!) { postCampaignUpdate(campaignId: $id, input: { title: \"Halfway\", body: \"Keep going.\" }) { id } }",
            json!({ "id": campaign }),
        )
        .await["postCampaignUpdate"]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    for (id, kind) in [
        (&campaign, "Campaign"),
        (&producer, "Producer"),
        (&signer_id, "Member"),
        (&tag, "ValueTag"),
        (&signature, "Signature"),
        (&update, "CampaignUpdate"),
    ] {
        let body = app.gql(None, NODE, json!({ "id": id })).await;
        assert_eq!(typename(&body), kind, "{body}");
        assert_eq!(body["data"]["node"]["id"], *id, "{body}");
    }
    let body = app.gql(None, NODE, json!({ "id": campaign })).await;
    assert_eq!(
        body["data"]["node"]["title"], "Label every allergen",
        "{body}"
    );
    let body = app.gql(None, NODE, json!({ "id": signature })).await;
    assert_eq!(body["data"]["node"]["signer"], "node_signer", "{body}");

    // In the order asked, null where there is nothing.
    let unknown = uuid::Uuid::new_v4().to_string();
    let body = app
        .gql_ok(None, NODES, json!({ "ids": [producer, unknown, campaign] }))
        .await;
    assert_eq!(body["nodes"][0]["__typename"], "Producer");
    assert!(body["nodes"][1].is_null());
    assert_eq!(body["nodes"][2]["__typename"], "Campaign");
}

#[tokio::test]
async fn node_shows_nothing_the_caller_could_not_see_otherwise() {
    let app = TestApp::spawn_with(&ADMIN_ARGS).await;
    let admin = app.admin_token().await;
    let (organiser, _) = app.register("node_drafter").await;
    let producer = app.create_producer(&organiser, "Draft target").await;
    let draft = app.create_campaign(&organiser, &producer).await;
    // A draft is its organiser's (and admins') only.
    let body = app.gql(None, NODE, json!({ "id": draft })).await;
    assert!(body["data"]["node"].is_null(), "{body}");
    let (stranger, _) = app.register("node_stranger").await;
    let body = app.gql(Some(&stranger), NODE, json!({ "id": draft })).await;
    assert!(body["data"]["node"].is_null(), "{body}");
    let body = app
        .gql(Some(&organiser), NODE, json!({ "id": draft }))
        .await;
    assert_eq!(typename(&body), "Campaign", "{body}");

    // A hidden campaign, and the signatures on it, are gone for the public.
    let (_, open) = app.open_campaign("node_hidden", 100).await;
    let (signer, _) = app.register("node_hidden_signer").await;
    let signature = app.sign(&signer, &open).await["data"]["signCampaign"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let hidden = app
        .gql(
            Some(&admin),
            "mutation($id: ID!) { hideContent(kind: CAMPAIGN, id: $id, reason: \"Spam campaign\") }",
            json!({ "id": open }),
        )
        .await;
    assert!(hidden.get("errors").is_none(), "{hidden}");
    for id in [&open, &signature] {
        let body = app.gql(None, NODE, json!({ "id": id })).await;
        assert!(body["data"]["node"].is_null(), "{body}");
    }
    let body = app.gql(Some(&admin), NODE, json!({ "id": open })).await;
    assert_eq!(typename(&body), "Campaign", "{body}");

    // Bad ids are input errors.
    let body = app.gql(None, NODE, json!({ "id": "not-an-id" })).await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT", "{body}");
    assert_eq!(error_field(&body), "id", "{body}");
    let too_many: Vec<String> = (0..101).map(|_| uuid::Uuid::new_v4().to_string()).collect();
    let body = app.gql(None, NODES, json!({ "ids": too_many })).await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT", "{body}");
    assert_eq!(error_field(&body), "ids", "{body}");
}

/// `token` runs `query` and the id at `path` in its answer.
async fn id_of(app: &TestApp, token: &str, query: &str, variables: Value, path: &[&str]) -> String {
    let body = app.gql(Some(token), query, variables).await;
    let mut found = &body["data"];
    for key in path {
        found = match key.parse::<usize>() {
            Ok(index) => &found[index],
            Err(_) => &found[*key],
        };
    }
    found
        .as_str()
        .unwrap_or_else(|| panic!("no id at {path:?}: {body}"))
        .to_owned()
}

#[tokio::test]
async fn restricted_objects_come_back_only_to_those_their_lists_show_them_to() {
    let mut args = ADMIN_ARGS.to_vec();
    // Every signature from this loopback client is one network: the
    // second raises a fraud signal (signing goes on).
    args.extend([
        "--webhook-allow-private",
        "true",
        "--trending-threshold",
        "2",
    ]);
    let app = TestApp::spawn_with(&args).await;
    let admin = app.admin_token().await;
    let (organiser, campaign) = app.open_campaign("node_restricted", 100).await;
    let producer = app
        .gql_ok(
            None,
            "query($id: ID!) { campaign(id: $id) { producer { id } } }",
            json!({ "id": campaign }),
        )
        .await["campaign"]["producer"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (signer, _) = app.register("node_signer_a").await;
    let (second, _) = app.register("node_signer_b").await;
    let (stranger, _) = app.register("node_nobody").await;
    let (moderator, moderator_id) = app.register("node_moderator").await;
    app.gql_ok(
        Some(&admin),
        "mutation($id: ID!) { setMemberRole(memberId: $id, role: MODERATOR) { id } }",
        json!({ "id": moderator_id }),
    )
    .await;
    for token in [&signer, &second] {
        let signed = app.sign(token, &campaign).await;
        assert!(signed.get("errors").is_none(), "{signed}");
    }
    let mut notifications = Subscription::start_as(
        app.addr,
        Some(&signer),
        "subscription { myNotifications { id event } }",
        json!({}),
    )
    .await;
    // Let the subscription register before anything happens.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;

    let flag = id_of(
        &app,
        &signer,
        "mutation($id: ID!) { flagContent(kind: CAMPAIGN, id: $id, reason: \"Misleading claims\") { id } }",
        json!({ "id": campaign }),
        &["flagContent", "id"],
    )
    .await;
    let rule = id_of(
        &app,
        &admin,
        "mutation { addBlockRule(input: { kind: EMAIL_DOMAIN, pattern: \"spam.example\", reason: \"Scripted accounts\" }) { id } }",
        json!({}),
        &["addBlockRule", "id"],
    )
    .await;
    let audit = id_of(
        &app,
        &moderator,
        "{ auditLog(first: 1) { edges { node { id } } } }",
        json!({}),
        &["auditLog", "edges", "0", "node", "id"],
    )
    .await;
    let invalidation = id_of(
        &app,
        &moderator,
        "mutation($id: ID!) { invalidateSignatures(campaignId: $id, filter: { emailDomain: \"spam.example\" }, reason: \"Checking a farm\", dryRun: true) { id } }",
        json!({ "id": campaign }),
        &["invalidateSignatures", "id"],
    )
    .await;
    // Signals are raised off the signing path: wait for it.
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
    let signal = loop {
        let listed = app
            .gql_ok(
                Some(&moderator),
                "{ fraudSignals { edges { node { id } } } }",
                json!({}),
            )
            .await;
        let found = listed["fraudSignals"]["edges"][0]["node"]["id"].as_str();
        if found.is_some() || tokio::time::Instant::now() >= deadline {
            break found.unwrap_or_default().to_owned();
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert!(!signal.is_empty(), "no fraud signal was raised");
    let tally = id_of(
        &app,
        &organiser,
        "mutation($id: ID!) { recordOfflineTally(campaignId: $id, input: { count: 12, collectedFrom: \"2026-11-01T08:00:00Z\", collectedTo: \"2026-11-01T12:00:00Z\", evidence: \"Sheets kept at the association's office.\" }) { id } }",
        json!({ "id": campaign }),
        &["recordOfflineTally", "id"],
    )
    .await;
    let pledge = id_of(
        &app,
        &signer,
        "mutation($id: ID!) { pledge(campaignId: $id, input: { kind: AVOID }) { id } }",
        json!({ "id": campaign }),
        &["pledge", "id"],
    )
    .await;
    let rating = id_of(
        &app,
        &signer,
        "mutation($id: ID!) { rateProducer(producerId: $id, input: { scores: [{ dimension: TRANSPARENCY, score: 2 }] }) { id } }",
        json!({ "id": producer }),
        &["rateProducer", "0", "id"],
    )
    .await;
    let claim = id_of(
        &app,
        &stranger,
        "mutation($id: ID!) { claimProducer(producerId: $id) { id } }",
        json!({ "id": producer }),
        &["claimProducer", "id"],
    )
    .await;
    let receiver = WebhookReceiver::start(0).await;
    let webhook = id_of(
        &app,
        &organiser,
        "mutation($input: CreateWebhookInput!) { createWebhook(input: $input) { webhook { id } } }",
        json!({ "input": { "url": receiver.url(), "events": ["CAMPAIGN_UPDATE_POSTED"], "campaignId": campaign } }),
        &["createWebhook", "webhook", "id"],
    )
    .await;
    let delivery = id_of(
        &app,
        &organiser,
        "mutation($id: ID!) { testWebhook(id: $id) { id } }",
        json!({ "id": webhook }),
        &["testWebhook", "id"],
    )
    .await;
    app.gql_ok(
        Some(&organiser),
        "mutation($id: ID!) { postCampaignUpdate(campaignId: $id, input: { title: \"Sheets counted\", body: \"Twelve more from the market.\" }) { id } }",
        json!({ "id": campaign }),
    )
    .await;
    let heard = notifications.next_data(10).await;
    assert_eq!(heard["myNotifications"]["event"], "CAMPAIGN_UPDATE_POSTED");
    let notification = heard["myNotifications"]["id"].as_str().unwrap().to_owned();

    // Who sees each (besides those checked to see nothing: everyone else
    // here, and the anonymous).
    let everyone = [&admin, &moderator, &organiser, &signer, &second, &stranger];
    let cases: [(&str, &str, Vec<&String>); 12] = [
        (&flag, "Flag", vec![&admin, &moderator, &signer]),
        (&rule, "BlockRule", vec![&admin]),
        (&audit, "AuditEntry", vec![&admin, &moderator]),
        (&invalidation, "Invalidation", vec![&admin, &moderator]),
        (&signal, "FraudSignal", vec![&admin, &moderator]),
        (&tally, "OfflineTally", vec![&admin, &moderator, &organiser]),
        (&pledge, "Pledge", vec![&signer]),
        (&rating, "TrustRating", vec![&signer]),
        (&claim, "ProducerClaim", vec![&admin, &stranger]),
        (&webhook, "Webhook", vec![&admin, &organiser]),
        (&delivery, "WebhookDelivery", vec![&admin, &organiser]),
        (
            &notification,
            "Notification",
            vec![&organiser, &signer, &second],
        ),
    ];
    for (id, kind, allowed) in cases {
        let body = app.gql(None, NODE, json!({ "id": id })).await;
        assert!(
            body["data"]["node"].is_null(),
            "anonymous got {kind}: {body}"
        );
        for token in everyone {
            let body = app.gql(Some(token), NODE, json!({ "id": id })).await;
            if allowed.contains(&token) {
                assert_eq!(typename(&body), kind, "{body}");
                assert_eq!(body["data"]["node"]["id"], id, "{body}");
            } else {
                assert!(body["data"]["node"].is_null(), "{kind} leaked: {body}");
            }
        }
    }

    // Once verified, a tally is public with its campaign. (The admin
    // verifies: this moderator's account is younger than the campaign.)
    app.gql_ok(
        Some(&admin),
        "mutation($id: ID!) { verifyOfflineTally(id: $id) { id } }",
        json!({ "id": tally }),
    )
    .await;
    let body = app.gql(None, NODE, json!({ "id": tally })).await;
    assert_eq!(typename(&body), "OfflineTally", "{body}");
}
