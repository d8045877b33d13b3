//! Producers: registering, finding and listing them.

use crate::common::{TestApp, error_code, error_field};
use serde_json::{Value, json};

const CREATE: &str = "mutation($input: CreateProducerInput!) {
  createProducer(input: $input) { id name kind sector territory labels website description }
}";

#[tokio::test]
async fn any_member_registers_a_producer() {
    let app = TestApp::spawn().await;
    let (token, _) = app.register("clara").await;
    let data = app
        .gql_ok(
            Some(&token),
            CREATE,
            json!({ "input": {
                "name": "  La Ferme   Coop ",
                "kind": "COOPERATIVE",
                "sector": "dairy",
                "territory": "fr-bre",
                "labels": ["organic", "organic", "AB"],
                "website": "https://ferme.example",
            }}),
        )
        .await;
    let producer = &data["createProducer"];
    assert_eq!(producer["name"], "La Ferme   Coop");
    assert_eq!(producer["kind"], "COOPERATIVE");
    assert_eq!(producer["territory"], "FR-BRE");
    assert_eq!(producer["labels"], json!(["organic", "AB"]));
    assert_eq!(producer["description"], "");

    let fetched = app
        .gql_ok(
            None,
            "query($id: ID!) { producer(id: $id) { name website } }",
            json!({ "id": producer["id"] }),
        )
        .await;
    assert_eq!(fetched["producer"]["website"], "https://ferme.example");

    let duplicate = app
        .gql(
            Some(&token),
            CREATE,
            json!({ "input": { "name": "la ferme coop", "kind": "SME", "sector": "dairy" } }),
        )
        .await;
    assert_eq!(error_code(&duplicate), "CONFLICT");
}

#[tokio::test]
async fn producer_input_is_validated() {
    let app = TestApp::spawn().await;
    let anonymous = app
        .gql(
            None,
            CREATE,
            json!({ "input": { "name": "Acme", "kind": "SME", "sector": "food" } }),
        )
        .await;
    assert_eq!(error_code(&anonymous), "UNAUTHENTICATED");

    let (token, _) = app.register("val").await;
    let cases = [
        (
            json!({ "name": "A", "kind": "SME", "sector": "food" }),
            "input.name",
        ),
        (
            json!({ "name": "Acme", "kind": "SME", "sector": "Food & Drink" }),
            "input.sector",
        ),
        (
            json!({ "name": "Acme", "kind": "SME", "sector": "food", "website": "ftp://acme" }),
            "input.website",
        ),
        (
            json!({ "name": "Acme", "kind": "SME", "sector": "food", "territory": "EU" }),
            "input.territory",
        ),
        (
            json!({ "name": "Acme", "kind": "SME", "sector": "food", "labels": [""] }),
            "input.labels",
        ),
    ];
    for (input, field) in cases {
        let body = app
            .gql(Some(&token), CREATE, json!({ "input": input }))
            .await;
        assert_eq!(error_code(&body), "BAD_USER_INPUT", "{input}");
        assert_eq!(error_field(&body), field, "{input}");
    }
    let bad_enum = app
        .gql(
            Some(&token),
            CREATE,
            json!({ "input": { "name": "Acme", "kind": "MEGACORP", "sector": "food" } }),
        )
        .await;
    assert!(bad_enum["data"].is_null());
    assert!(bad_enum["errors"][0]["extensions"]["code"].is_string());
}

#[tokio::test]
async fn unknown_or_malformed_ids_are_told_apart() {
    let app = TestApp::spawn().await;
    let query = "query($id: ID!) { producer(id: $id) { name } }";
    let unknown = app
        .gql_ok(
            None,
            query,
            json!({ "id": "01900000-0000-7000-8000-000000000000" }),
        )
        .await;
    assert!(unknown["producer"].is_null());
    let malformed = app
        .gql(None, query, json!({ "id": "'; DROP TABLE producer; --" }))
        .await;
    assert_eq!(error_code(&malformed), "BAD_USER_INPUT");
}

const LIST: &str = "query($filter: ProducerFilter) {
  producers(first: 50, filter: $filter) { totalCount edges { node { name } } }
}";

fn names(data: &Value) -> Vec<String> {
    data["producers"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|edge| edge["node"]["name"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn lists_filter_by_sector_kind_and_territory() {
    let app = TestApp::spawn().await;
    let (token, _) = app.register("lister").await;
    for (name, kind, sector, territory) in [
        ("Big Dairy", "LARGE_GROUP", "dairy", "FR"),
        ("Small Dairy", "SME", "dairy", "FR-NOR"),
        ("Soap Co", "SME", "cosmetics", "BE"),
    ] {
        app.gql_ok(
            Some(&token),
            CREATE,
            json!({ "input": { "name": name, "kind": kind, "sector": sector, "territory": territory } }),
        )
        .await;
    }
    let all = app.gql_ok(None, LIST, json!({})).await;
    assert_eq!(names(&all), ["Soap Co", "Small Dairy", "Big Dairy"]);
    assert_eq!(all["producers"]["totalCount"], 3);
    let dairy = app
        .gql_ok(None, LIST, json!({ "filter": { "sector": "dairy" } }))
        .await;
    assert_eq!(names(&dairy), ["Small Dairy", "Big Dairy"]);
    let smes = app
        .gql_ok(None, LIST, json!({ "filter": { "kind": "SME" } }))
        .await;
    assert_eq!(names(&smes), ["Soap Co", "Small Dairy"]);
    let normandy = app
        .gql_ok(None, LIST, json!({ "filter": { "territory": "FR-NOR" } }))
        .await;
    assert_eq!(names(&normandy), ["Small Dairy"]);
    let france = app
        .gql_ok(
            None,
            LIST,
            json!({ "filter": { "territory": "FR", "kind": "LARGE_GROUP" } }),
        )
        .await;
    assert_eq!(names(&france), ["Big Dairy"]);
}

#[tokio::test]
async fn creating_content_is_limited_per_member_and_needs_a_confirmed_address() {
    let app = TestApp::spawn_with(&["--create-per-hour", "2", "--create-burst", "2"]).await;
    let (token, _) = app.register("prolific").await;
    let producer = app.create_producer(&token, "First").await;
    app.create_campaign(&token, &producer).await;
    // Producers, campaigns, communities… share one budget.
    let input = json!({ "input": { "name": "Third", "kind": "SME", "sector": "food" } });
    let refused = app.gql(Some(&token), CREATE, input.clone()).await;
    assert_eq!(error_code(&refused), "RATE_LIMITED");
    assert!(
        refused["errors"][0]["extensions"]["retryAfterMs"]
            .as_u64()
            .unwrap()
            > 0
    );
    // Another member has a budget of their own.
    let (other, _) = app.register("other").await;
    app.gql_ok(Some(&other), CREATE, input.clone()).await;

    let confirming = TestApp::spawn_with(&["--email-confirmation", "required"]).await;
    let (unconfirmed, _) = confirming.register("newcomer").await;
    let refused = confirming.gql(Some(&unconfirmed), CREATE, input).await;
    assert_eq!(error_code(&refused), "FORBIDDEN");
    assert_eq!(
        refused["errors"][0]["extensions"]["reason"],
        "EMAIL_NOT_CONFIRMED"
    );
}
