//! Global object identification: `node(id:)` and `nodes(ids:)` refetch any
//! public object by its id, typed through the `Node` interface, and never
//! show what the caller could not see otherwise.

mod common;

use common::{ADMIN_ARGS, TestApp, error_code, error_field};
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
