//! Hostile and malformed requests: alias bombs, too many root fields,
//! fragment cycles, invalid UTF-8, batches, huge lists and SQL-looking
//! strings. Each gets a clear, coded answer and the server stays well.

use crate::common::{TestApp, error_code};
use serde_json::{Value, json};

#[tokio::test]
async fn an_alias_bomb_is_refused_before_it_runs() {
    let app = TestApp::spawn().await;
    let fields: String = (0..1000)
        .map(|i| format!("c{i}: campaign(id: \"01900000-0000-7000-8000-000000000000\") {{ id }} "))
        .collect();
    let body = app.gql(None, &format!("{{ {fields} }}"), json!({})).await;
    assert_eq!(error_code(&body), "GRAPHQL_VALIDATION_FAILED");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("aliases"),
        "{body}"
    );
    assert!(body["data"].is_null());
}

#[tokio::test]
async fn too_many_root_fields_are_refused() {
    let app = TestApp::spawn_with(&["--graphql-max-root-fields", "3"]).await;
    let four =
        "{ me { id } valueTags { slug } communities { totalCount } producers { totalCount } }";
    let body = app.gql(None, four, json!({})).await;
    assert_eq!(error_code(&body), "GRAPHQL_VALIDATION_FAILED");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("root fields")
    );
    let through_fragment = "query { ...everything } fragment everything on Query { me { id } valueTags { slug } communities { totalCount } producers { totalCount } }";
    let body = app.gql(None, through_fragment, json!({})).await;
    assert_eq!(error_code(&body), "GRAPHQL_VALIDATION_FAILED");
    let three = "{ me { id } valueTags { slug } communities { totalCount } }";
    app.gql_ok(None, three, json!({})).await;
}

#[tokio::test]
async fn fragment_cycles_are_refused() {
    let app = TestApp::spawn().await;
    let cycle = "query { ...a } fragment a on Query { ...b } fragment b on Query { ...a }";
    let body = app.gql(None, cycle, json!({})).await;
    assert_eq!(error_code(&body), "GRAPHQL_VALIDATION_FAILED");
}

async fn raw_post(app: &TestApp, body: Vec<u8>) -> (u16, Value) {
    let response = app
        .client
        .post(app.url("/graphql"))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

#[tokio::test]
async fn invalid_utf8_and_batches_are_bad_requests() {
    let app = TestApp::spawn().await;
    let mut invalid = br#"{"query": "{ valueTags { slug } }", "x": ""#.to_vec();
    invalid.extend_from_slice(&[0xff, 0xfe, b'"', b'}']);
    let (status, body) = raw_post(&app, invalid).await;
    assert_eq!((status, error_code(&body)), (400, "BAD_REQUEST"));
    let batch = br#"[{"query": "{ me { id } }"}, {"query": "{ me { id } }"}]"#.to_vec();
    let (status, body) = raw_post(&app, batch).await;
    assert_eq!((status, error_code(&body)), (400, "BAD_REQUEST"));
    let empty = b"{}".to_vec();
    let (status, _) = raw_post(&app, empty).await;
    assert_eq!(status, 400);
    // The server is still fine.
    app.gql_ok(None, "{ valueTags { slug } }", json!({})).await;
}

#[tokio::test]
async fn huge_lists_and_null_bytes_are_refused_cleanly() {
    let app = TestApp::spawn().await;
    let (token, _) = app.register("lister").await;
    let labels: Vec<String> = (0..10_000).map(|i| format!("l{i}")).collect();
    let create = "mutation($input: CreateProducerInput!) { createProducer(input: $input) { id } }";
    let body = app
        .gql(Some(&token), create, json!({ "input": { "name": "Listy", "kind": "SME", "sector": "food", "labels": labels } }))
        .await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT");
    let body = app
        .gql(
            Some(&token),
            create,
            json!({ "input": { "name": "Nul\u{0}Co", "kind": "SME", "sector": "food" } }),
        )
        .await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT");
}

#[tokio::test]
async fn sql_looking_text_is_stored_and_returned_verbatim() {
    let app = TestApp::spawn().await;
    let (token, _) = app.register("bobby").await;
    let name = "Robert'); DROP TABLE member;--";
    let description = "1' OR '1'='1\"; SELECT * FROM auth_token; --";
    let created = app
        .gql_ok(
            Some(&token),
            "mutation($input: CreateProducerInput!) { createProducer(input: $input) { id name description } }",
            json!({ "input": { "name": name, "kind": "SME", "sector": "food", "description": description } }),
        )
        .await;
    assert_eq!(created["createProducer"]["name"], name);
    assert_eq!(created["createProducer"]["description"], description);
    let me = app
        .gql_ok(Some(&token), "{ me { handle } }", json!({}))
        .await;
    assert_eq!(me["me"]["handle"], "bobby", "the member table is intact");
}

#[tokio::test]
async fn a_one_megabyte_query_is_refused_at_the_door() {
    let app = TestApp::spawn().await;
    let query = format!("{{ valueTags {{ slug }} }} #{}", "x".repeat(1 << 20));
    let response = app
        .client
        .post(app.url("/graphql"))
        .json(&json!({ "query": query }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
    let body: Value = response.json().await.unwrap();
    assert_eq!(error_code(&body), "BAD_REQUEST");
}

#[tokio::test]
async fn deeply_nested_arguments_are_refused() {
    let app = TestApp::spawn_with(&["--graphql-max-recursion", "10"]).await;
    let nested = format!(
        "{{ valueTags(category: {}PERSONAL{}) {{ slug }} }}",
        "[".repeat(40),
        "]".repeat(40)
    );
    let body = app.gql(None, &nested, json!({})).await;
    assert!(body["data"].is_null());
    assert!(
        body["errors"][0]["extensions"]["code"]
            .as_str()
            .unwrap()
            .starts_with("GRAPHQL_"),
        "{body}"
    );
}
