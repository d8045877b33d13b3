//! The HTTP surface: probes, GraphiQL, and requests that are not valid GraphQL.

use crate::common::{TestApp, error_code};
use serde_json::{Value, json};

#[tokio::test]
async fn probes_answer() {
    let app = TestApp::spawn().await;
    let health = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    let ready = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 200);
    let body: Value = ready.json().await.unwrap();
    assert_eq!(body["database"], "ok");
}

#[tokio::test]
async fn graphiql_is_served_unless_disabled() {
    let app = TestApp::spawn().await;
    // As a browser asks for it.
    let page = app
        .client
        .get(app.url("/graphql"))
        .header("accept", "text/html,application/xhtml+xml,*/*;q=0.8")
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    assert!(
        page.text()
            .await
            .unwrap()
            .to_lowercase()
            .contains("graphiql")
    );
    // A client that accepts only JSON never gets the page.
    let json_only = app
        .client
        .get(app.url("/graphql"))
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(json_only.status(), 400);
    let body: Value = json_only.json().await.unwrap();
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "BAD_REQUEST",
        "{body}"
    );

    let locked = TestApp::spawn_with(&["--graphiql", "false"]).await;
    let page = locked
        .client
        .get(locked.url("/graphql"))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 404);
}

#[tokio::test]
async fn malformed_bodies_get_a_coded_error() {
    let app = TestApp::spawn().await;
    let response = app
        .client
        .post(app.url("/graphql"))
        .header("content-type", "application/json")
        .body("{\"query\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(error_code(&body), "BAD_REQUEST");
}

#[tokio::test]
async fn oversized_bodies_are_refused() {
    let app = TestApp::spawn_with(&["--max-body-bytes", "1024"]).await;
    let query = format!("{{ valueTags {{ slug }} }} # {}", "x".repeat(4096));
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
async fn syntax_and_validation_errors_carry_codes() {
    let app = TestApp::spawn().await;
    let syntax = app.gql(None, "{ valueTags { slug ", json!({})).await;
    assert_eq!(error_code(&syntax), "GRAPHQL_PARSE_FAILED");
    let unknown = app.gql(None, "{ valueTags { nope } }", json!({})).await;
    assert_eq!(error_code(&unknown), "GRAPHQL_VALIDATION_FAILED");
    let wrong_variable = app
        .gql(
            None,
            "query($c: ValueCategory) { valueTags(category: $c) { slug } }",
            json!({ "c": 7 }),
        )
        .await;
    assert_eq!(error_code(&wrong_variable), "GRAPHQL_VALIDATION_FAILED");
}

#[tokio::test]
async fn deep_queries_are_refused() {
    let app = TestApp::spawn_with(&["--graphql-max-depth", "4"]).await;
    let deep =
        "{ campaigns { edges { node { producer { campaigns { edges { node { title } } } } } } } }";
    let body = app.gql(None, deep, json!({})).await;
    assert!(body["data"].is_null());
    assert_eq!(error_code(&body), "GRAPHQL_VALIDATION_FAILED");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("nested too deep")
    );
}

#[tokio::test]
async fn value_tags_cover_every_category() {
    let app = TestApp::spawn().await;
    let all = app
        .gql_ok(None, "{ valueTags { slug category } }", json!({}))
        .await;
    let tags = all["valueTags"].as_array().unwrap();
    assert!(tags.len() >= 20, "seeded taxonomy has {} tags", tags.len());
    for category in ["PERSONAL", "SOCIETAL", "HUMANIST"] {
        let only = app
            .gql_ok(
                None,
                "query($c: ValueCategory) { valueTags(category: $c) { category } }",
                json!({ "c": category }),
            )
            .await;
        let only = only["valueTags"].as_array().unwrap();
        assert!(!only.is_empty());
        assert!(only.iter().all(|tag| tag["category"] == category));
    }
}

#[tokio::test]
async fn admins_extend_the_taxonomy() {
    let app = TestApp::spawn_with(&crate::common::ADMIN_ARGS).await;
    let create = "mutation($input: CreateValueTagInput!) { createValueTag(input: $input) { slug category } }";
    let input = json!({ "input": { "slug": "sesame-free", "name": "Sesame-free", "category": "PERSONAL" } });
    let (member, _) = app.register("plain").await;
    let refused = app.gql(Some(&member), create, input.clone()).await;
    assert_eq!(error_code(&refused), "FORBIDDEN");

    let admin = &app.admin_token().await;
    let created = app.gql_ok(Some(admin), create, input.clone()).await;
    assert_eq!(created["createValueTag"]["slug"], "sesame-free");
    let duplicate = app.gql(Some(admin), create, input).await;
    assert_eq!(error_code(&duplicate), "CONFLICT");
}

#[tokio::test]
async fn member_type_exposes_no_email_or_password() {
    let app = TestApp::spawn().await;
    let data = app
        .gql_ok(
            None,
            "{ __type(name: \"Member\") { fields { name } } }",
            json!({}),
        )
        .await;
    let fields: Vec<&str> = data["__type"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|field| field["name"].as_str().unwrap())
        .collect();
    assert!(fields.contains(&"handle"));
    assert!(
        !fields
            .iter()
            .any(|field| field.to_lowercase().contains("password"))
    );
    // Only whether the address is confirmed (a boolean, for the member
    // themself), never the address.
    let about_email: Vec<&&str> = fields
        .iter()
        .filter(|field| field.to_lowercase().contains("email"))
        .collect();
    assert_eq!(about_email, [&"emailConfirmed"]);
}

#[tokio::test]
async fn form_posts_cannot_reach_mutations() {
    let app = TestApp::spawn().await;
    for content_type in [
        "application/x-www-form-urlencoded",
        "text/plain",
        "multipart/form-data; boundary=x",
    ] {
        let response = app
            .client
            .post(app.url("/graphql"))
            .header("content-type", content_type)
            .body("{\"query\":\"mutation { logout }\"}")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 415, "{content_type}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(error_code(&body), "BAD_REQUEST");
    }
}

#[tokio::test]
async fn responses_carry_security_headers_and_a_request_id() {
    let app = TestApp::spawn().await;
    let response = app
        .client
        .post(app.url("/graphql"))
        .json(&json!({ "query": "{ valueTags { slug } }" }))
        .send()
        .await
        .unwrap();
    let headers = response.headers();
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["x-frame-options"], "DENY");
    assert_eq!(headers["referrer-policy"], "no-referrer");
    assert_eq!(headers["x-request-id"].to_str().unwrap().len(), 36);
}

#[tokio::test]
async fn cross_origin_access_is_for_configured_origins_only() {
    let app = TestApp::spawn_with(&[
        "--cors-origins",
        "https://app.example.org,https://admin.example.org",
    ])
    .await;
    let preflight = |origin: &'static str| {
        app.client
            .request(reqwest::Method::OPTIONS, app.url("/graphql"))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "content-type,authorization",
            )
            .send()
    };
    let allowed = preflight("https://admin.example.org").await.unwrap();
    assert_eq!(
        allowed.headers()["access-control-allow-origin"],
        "https://admin.example.org"
    );
    let refused = preflight("https://evil.example.com").await.unwrap();
    assert!(
        refused
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
}

#[tokio::test]
async fn slow_requests_time_out_with_a_code() {
    // Deliberately expensive password hashing against a 50 ms budget.
    let app = TestApp::spawn_with(&[
        "--request-timeout-ms",
        "50",
        "--argon2-memory-kib",
        "65536",
        "--argon2-iterations",
        "10",
    ])
    .await;
    let body = app
        .gql(
            None,
            "mutation { register(input: { handle: \"slowpoke\", email: \"slow@example.org\", password: \"long enough\" }) { token } }",
            json!({}),
        )
        .await;
    assert_eq!(error_code(&body), "TIMEOUT");
    assert!(body["errors"][0]["extensions"]["requestId"].is_string());
}

#[tokio::test]
async fn metrics_count_operations_signatures_and_refusals() {
    let app = TestApp::spawn_with(&["--sign-per-minute", "1", "--sign-burst", "1"]).await;
    app.gql_ok(None, "query Tags { valueTags { slug } }", json!({}))
        .await;
    let (_, first) = app.open_campaign("metered", 1000).await;
    let (_, second) = app.open_campaign("metered_too", 1000).await;
    let (signer, _) = app.register("counted").await;
    app.sign(&signer, &first).await;
    let refused = app.sign(&signer, &second).await;
    assert_eq!(error_code(&refused), "RATE_LIMITED");

    let response = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();
    for expected in [
        "consumact_graphql_requests_total{operation=\"Tags\"} 1",
        "consumact_signatures_total 1",
        "consumact_rate_limited_total 1",
        "consumact_subscribers 0",
        "consumact_counters_degraded 0",
    ] {
        assert!(text.contains(expected), "missing `{expected}` in:\n{text}");
    }
    assert!(text.contains("consumact_db_pool_connections "));
}

/// `GET url` with an optional bearer token: the status and the body.
async fn scrape(app: &TestApp, url: String, token: Option<&str>) -> (u16, String) {
    let mut request = app.client.get(url);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

#[tokio::test]
async fn metrics_can_ask_for_a_bearer_token() {
    let app = TestApp::spawn_with(&["--metrics-token", "scrape-secret"]).await;
    assert_eq!(scrape(&app, app.url("/metrics"), None).await.0, 401);
    let wrong = scrape(&app, app.url("/metrics"), Some("scrape-secreT")).await;
    assert_eq!(wrong.0, 401);
    let (status, text) = scrape(&app, app.url("/metrics"), Some("scrape-secret")).await;
    assert_eq!(status, 200);
    assert!(text.contains("consumact_websockets 0"), "{text}");
}

#[tokio::test]
async fn metrics_can_be_served_on_an_address_of_their_own() {
    let app = TestApp::spawn_with(&["--metrics-addr", "127.0.0.1:0"]).await;
    let beside = scrape(&app, app.url("/metrics"), None).await;
    assert_eq!(beside.0, 404, "no longer beside the API");
    let apart = app.metrics_addr.expect("a metrics address");
    assert_ne!(apart, app.addr);
    let (status, text) = scrape(&app, format!("http://{apart}/metrics"), None).await;
    assert_eq!(status, 200);
    assert!(text.contains("consumact_websockets 0"), "{text}");
}

#[tokio::test]
async fn introspection_can_be_switched_off() {
    let app = TestApp::spawn_with(&["--introspection", "false"]).await;
    // async-graphql answers introspection with nothing rather than an error.
    let body = app
        .gql(None, "{ __schema { types { name } } }", json!({}))
        .await;
    assert!(body["data"]["__schema"].is_null(), "{body}");
    let member = app
        .gql(
            None,
            "{ __type(name: \"Member\") { fields { name } } }",
            json!({}),
        )
        .await;
    assert!(member["data"]["__type"].is_null(), "{member}");
    app.gql_ok(None, "{ valueTags { slug } }", json!({})).await;
}

/// A document the server parsed and validated before answers exactly as a
/// fresh one would, whatever the variables: a shape of variables it has not
/// validated (a string for an `Int`, an unknown enum value) is validated
/// again, not run on the fast path.
#[tokio::test]
async fn a_cached_document_answers_as_a_fresh_one_for_every_shape_of_variables() {
    let warm = TestApp::spawn().await;
    let cold = TestApp::spawn_with(&["--document-cache-bytes", "0"]).await;
    let query = "query Page($n: Int!, $order: CampaignOrder!) { campaigns(first: $n, orderBy: $order) { nodes { id } } }";
    let ask = |app: &TestApp, variables: Value| {
        let client = app.client.clone();
        let url = app.url("/graphql");
        async move {
            let response = client
                .post(url)
                .header("accept", "application/graphql-response+json")
                .json(&json!({ "query": query, "variables": variables }))
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            (status, response.json::<Value>().await.unwrap())
        }
    };
    let valid = json!({ "n": 2, "order": "NEWEST" });
    for _ in 0..3 {
        let (status, body) = ask(&warm, valid.clone()).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body, json!({ "data": { "campaigns": { "nodes": [] } } }));
    }
    assert!(warm.metric("consumact_document_cache_hits").await >= 2);
    for (other, refused) in [
        (json!({ "n": "two", "order": "NEWEST" }), true),
        (json!({ "n": 2, "order": "LOUDEST" }), true),
        (json!({ "n": 5_000_000_000i64, "order": "NEWEST" }), true),
        // async-graphql's own reading of these; the cache changes nothing.
        (json!({ "n": null, "order": "NEWEST" }), false),
        (json!({ "order": "NEWEST" }), false),
    ] {
        let cached = ask(&warm, other.clone()).await;
        let fresh = ask(&cold, other.clone()).await;
        assert_eq!(cached, fresh, "variables {other}");
        if refused {
            assert_eq!(
                cached.0, 400,
                "refused before running: {other} {}",
                cached.1
            );
            assert_eq!(
                error_code(&cached.1),
                "GRAPHQL_VALIDATION_FAILED",
                "{other}"
            );
        }
    }
    // And the valid shape still runs.
    assert_eq!(ask(&warm, valid).await.0, 200);
}
