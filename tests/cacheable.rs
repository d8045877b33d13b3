//! Cacheable public reads: queries over GET, automatic persisted queries,
//! and `Cache-Control` with an `ETag` for anonymous answers, so that a
//! reverse proxy or a CDN can absorb a crowd watching a count.

use crate::common::TestApp;
use serde_json::{Value, json};

const COUNT: &str = "query($id: ID!) { campaign(id: $id) { title counters { signatures } } }";

fn sha256_hex(text: &str) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(text.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

fn get_url(app: &TestApp, params: &[(&str, String)]) -> String {
    let query: Vec<String> = params
        .iter()
        .map(|(key, value)| format!("{key}={}", encode(value)))
        .collect();
    format!("{}?{}", app.url("/graphql"), query.join("&"))
}

/// Percent-encodes everything but unreserved characters.
fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (byte as char).to_string()
            }
            _ => format!("%{byte:02X}"),
        })
        .collect()
}

#[tokio::test]
async fn an_anonymous_get_is_cacheable_and_revalidates_with_its_etag() {
    let app = TestApp::spawn().await;
    let (_, campaign) = app.open_campaign("cacheable", 100).await;
    let url = get_url(
        &app,
        &[
            ("query", COUNT.to_owned()),
            ("variables", json!({ "id": campaign }).to_string()),
        ],
    );
    let first = app.client.get(&url).send().await.unwrap();
    assert_eq!(first.status(), 200);
    let headers = first.headers().clone();
    assert_eq!(headers["cache-control"], "public, max-age=1");
    assert!(headers["vary"].to_str().unwrap().contains("Authorization"));
    let etag = headers["etag"].to_str().unwrap().to_owned();
    let body: Value = first.json().await.unwrap();
    assert_eq!(
        body["data"]["campaign"]["counters"]["signatures"], 0,
        "{body}"
    );

    // Nothing changed: the client's copy is still good.
    let again = app
        .client
        .get(&url)
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
    assert!(again.bytes().await.unwrap().is_empty());

    // A signature changes the answer, and its tag.
    let (signer, _) = app.register("cacheable_signer").await;
    let signed = app.sign(&signer, &campaign).await;
    assert!(signed.get("errors").is_none(), "{signed}");
    let changed = app
        .client
        .get(&url)
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(changed.status(), 200);
    assert_ne!(changed.headers()["etag"].to_str().unwrap(), etag);
    let body: Value = changed.json().await.unwrap();
    assert_eq!(
        body["data"]["campaign"]["counters"]["signatures"], 1,
        "{body}"
    );

    // A signed-in answer, or one with errors, is never stored.
    let private = app
        .client
        .get(get_url(&app, &[("query", "{ me { id } }".to_owned())]))
        .bearer_auth(&signer)
        .send()
        .await
        .unwrap();
    assert_eq!(private.status(), 200);
    assert_eq!(private.headers()["cache-control"], "private, no-store");
    assert!(private.headers().get("etag").is_none());
    let failed = app
        .client
        .get(get_url(&app, &[("query", "{ nothingHere }".to_owned())]))
        .send()
        .await
        .unwrap();
    assert_eq!(failed.headers()["cache-control"], "private, no-store");

    let off = TestApp::spawn_with(&["--public-max-age-secs", "0"]).await;
    let uncached = off
        .client
        .get(get_url(&off, &[("query", "{ __typename }".to_owned())]))
        .send()
        .await
        .unwrap();
    assert_eq!(uncached.headers()["cache-control"], "private, no-store");
}

#[tokio::test]
async fn get_runs_queries_only_and_refuses_malformed_parameters() {
    let app = TestApp::spawn().await;
    let (token, _) = app.register("get_mutator").await;
    let mutation = app
        .client
        .get(get_url(
            &app,
            &[("query", "mutation { logout }".to_owned())],
        ))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(mutation.status(), 405);
    assert_eq!(mutation.headers()["allow"], "POST");
    let body: Value = mutation.json().await.unwrap();
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "BAD_REQUEST",
        "{body}"
    );
    // The token still works: the mutation never ran.
    let me = app.gql(Some(&token), "{ me { handle } }", json!({})).await;
    assert_eq!(me["data"]["me"]["handle"], "get_mutator", "{me}");

    let named = app
        .client
        .get(get_url(
            &app,
            &[
                (
                    "query",
                    "query A { __typename } mutation B { logout }".to_owned(),
                ),
                ("operationName", "B".to_owned()),
            ],
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(named.status(), 405);

    for (params, why) in [
        (
            vec![
                ("query", "{ __typename }".to_owned()),
                ("variables", "{not json".to_owned()),
            ],
            "variables",
        ),
        (
            vec![
                ("query", "{ __typename }".to_owned()),
                ("variables", "[1]".to_owned()),
            ],
            "variables",
        ),
        (
            vec![
                ("query", "{ __typename }".to_owned()),
                ("extensions", "42".to_owned()),
            ],
            "extensions",
        ),
        (vec![("query", "".to_owned())], "no query"),
    ] {
        let refused = app.client.get(get_url(&app, &params)).send().await.unwrap();
        assert_eq!(refused.status(), 400, "{why}");
        let body: Value = refused.json().await.unwrap();
        assert_eq!(
            body["errors"][0]["extensions"]["code"], "BAD_REQUEST",
            "{why}: {body}"
        );
    }
}

/// Status and JSON body of a request.
async fn answer(request: reqwest::RequestBuilder) -> (u16, Value) {
    let response = request.send().await.unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

#[tokio::test]
async fn a_persisted_query_is_learned_once_then_sent_by_its_hash() {
    let app = TestApp::spawn().await;
    let query = "{ valueTags { slug } }";
    let hash = sha256_hex(query);
    let extensions = json!({ "persistedQuery": { "version": 1, "sha256Hash": hash } });
    let by_hash = get_url(&app, &[("extensions", extensions.to_string())]);
    let post = |body: Value| app.client.post(app.url("/graphql")).json(&body);

    // Unknown at first: the client is told to send the text.
    let (status, unknown) = answer(app.client.get(&by_hash)).await;
    assert_eq!(status, 200);
    assert_eq!(
        unknown["errors"][0]["extensions"]["code"], "PERSISTED_QUERY_NOT_FOUND",
        "{unknown}"
    );

    // Text and hash together (over POST): run and remembered.
    let (_, learned) = answer(post(json!({ "query": query, "extensions": extensions }))).await;
    assert!(
        learned["data"]["valueTags"]
            .as_array()
            .is_some_and(|tags| !tags.is_empty()),
        "{learned}"
    );

    // Then the hash alone, over a cacheable GET.
    let cached = app.client.get(&by_hash).send().await.unwrap();
    assert_eq!(cached.headers()["cache-control"], "public, max-age=1");
    let cached: Value = cached.json().await.unwrap();
    assert_eq!(cached["data"], learned["data"]);

    // A hash that is not the text's is refused, and not remembered.
    let forged =
        json!({ "persistedQuery": { "version": 1, "sha256Hash": sha256_hex("{ me { id } }") } });
    let (status, refused) = answer(post(json!({ "query": query, "extensions": forged }))).await;
    assert_eq!(status, 400);
    assert_eq!(
        refused["errors"][0]["extensions"]["code"], "BAD_REQUEST",
        "{refused}"
    );
    let (_, still_unknown) = answer(
        app.client
            .get(get_url(&app, &[("extensions", forged.to_string())])),
    )
    .await;
    assert_eq!(
        still_unknown["errors"][0]["extensions"]["code"],
        "PERSISTED_QUERY_NOT_FOUND"
    );

    // Not the protocol's shape: another version, a hash that is no hash.
    for malformed in [
        json!({ "persistedQuery": { "version": 2, "sha256Hash": hash } }),
        json!({ "persistedQuery": { "version": 1, "sha256Hash": "abc" } }),
        json!({ "persistedQuery": "yes" }),
    ] {
        let (status, refused) =
            answer(post(json!({ "query": query, "extensions": malformed }))).await;
        assert_eq!(status, 400, "{malformed}");
        assert_eq!(
            refused["errors"][0]["extensions"]["code"], "BAD_REQUEST",
            "{malformed}: {refused}"
        );
    }
}
