//! GraphQL over HTTP: the `graphql-http` audit of the specification passes
//! with no error and no warning, and the negotiation rules hold.
//!
//! The audit needs Node.js and `npm ci` in `tools/graphql-http-audit`
//! (`.ci/run` does it); without them the audit is skipped, or fails under
//! `CONSUMACT_REQUIRE_SERVICES`.

use std::path::Path;
use std::process::Command;

use crate::common::{TestApp, services_required};
use serde_json::{Value, json};

#[tokio::test]
async fn the_graphql_http_audit_passes() {
    let tool = Path::new(env!("CARGO_MANIFEST_DIR")).join("tools/graphql-http-audit");
    if !tool.join("node_modules/graphql-http").exists() {
        assert!(
            !services_required(),
            "run `npm ci` in tools/graphql-http-audit (CONSUMACT_REQUIRE_SERVICES is set)"
        );
        eprintln!("graphql-http not installed in tools/graphql-http-audit: skipping");
        return;
    }
    let app = TestApp::spawn().await;
    let url = app.url("/graphql");
    let output = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .arg("audit.mjs")
            .arg(url)
            .current_dir(tool)
            .output()
            .expect("node runs")
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains(" 0 errors, 0 warnings"), "{stdout}");
}

async fn post(app: &TestApp, accept: Option<&str>, query: &str) -> (u16, String, Value) {
    let mut request = app
        .client
        .post(app.url("/graphql"))
        .json(&json!({ "query": query }));
    if let Some(accept) = accept {
        request = request.header("accept", accept);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    (status, content_type, response.json().await.unwrap())
}

#[tokio::test]
async fn modern_clients_get_400_without_data_for_requests_that_never_ran() {
    let app = TestApp::spawn().await;
    let modern = Some("application/graphql-response+json");
    let (status, content_type, body) = post(&app, modern, "{ valueTags { nope } }").await;
    assert_eq!(
        (status, content_type.as_str()),
        (400, "application/graphql-response+json")
    );
    assert!(body.get("data").is_none(), "{body}");
    assert_eq!(
        body["errors"][0]["extensions"]["code"],
        "GRAPHQL_VALIDATION_FAILED"
    );

    // An error while executing is still a 200 with data.
    let (status, _, body) = post(&app, modern, "{ campaign(id: \"x\") { id } }").await;
    assert_eq!(status, 200);
    assert!(body.get("data").is_some());
    assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
}

#[tokio::test]
async fn legacy_clients_get_json_with_status_200() {
    let app = TestApp::spawn().await;
    for accept in [None, Some("application/json"), Some("*/*")] {
        let (status, content_type, body) = post(&app, accept, "{ valueTags { nope } }").await;
        assert_eq!(
            (status, content_type.as_str()),
            (200, "application/json"),
            "{accept:?}"
        );
        assert!(body["data"].is_null());
    }
}
