//! Fraud defence, as moderators meet it: where each signature came from,
//! seen as keyed values, never as addresses.

mod common;

use common::{ADMIN_ARGS, TestApp};
use serde_json::{Value, json};

/// A server that takes the client address from `x-forwarded-for`, as behind
/// a trusted proxy, so that one test can sign from many networks.
async fn spawn() -> TestApp {
    let mut args = ADMIN_ARGS.to_vec();
    args.extend(["--client-ip-header", "x-forwarded-for"]);
    TestApp::spawn_with(&args).await
}

async fn sign_from(app: &TestApp, token: &str, campaign: &str, address: &str) {
    let body: Value = app
        .client
        .post(app.url("/graphql"))
        .bearer_auth(token)
        .header("x-forwarded-for", address)
        .json(&json!({
            "query": "mutation($id: ID!) { signCampaign(campaignId: $id) { id } }",
            "variables": { "id": campaign },
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(body.get("errors").is_none(), "{body}");
}

const SOURCES: &str = "query($id: ID!) { campaign(id: $id) { signatures(first: 100) { edges { node { signer sourceKey emailDomain } } } } }";

/// Each signer's source key and e-mail domain, as `token` sees them.
async fn sources(app: &TestApp, token: &str, campaign: &str) -> Vec<(String, Value, Value)> {
    let data = app
        .gql_ok(Some(token), SOURCES, json!({ "id": campaign }))
        .await;
    data["campaign"]["signatures"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|edge| {
            let node = &edge["node"];
            (
                node["signer"].as_str().unwrap().to_owned(),
                node["sourceKey"].clone(),
                node["emailDomain"].clone(),
            )
        })
        .collect()
}

#[tokio::test]
async fn moderators_see_which_signatures_share_a_network_but_never_an_address() {
    let app = spawn().await;
    let admin = app.admin_token().await;
    let (organiser, campaign) = app.open_campaign("organiser", 100).await;
    let signers = [
        ("near_a", "203.0.113.5"),
        ("near_b", "203.0.113.77"),
        ("far", "198.51.100.1"),
        ("six_a", "2001:db8:1:2::1"),
        ("six_b", "2001:db8:1:2:ffff::9"),
    ];
    for (handle, address) in signers {
        let (token, _) = app.register(handle).await;
        sign_from(&app, &token, &campaign, address).await;
    }
    // A second instance, restarted on the same data, keys networks alike.
    let sibling = app.spawn_sibling().await;
    let (late, _) = sibling.register("near_c").await;
    sign_from(&sibling, &late, &campaign, "203.0.113.200").await;

    let seen = sources(&app, &admin, &campaign).await;
    let key = |handle: &str| -> String {
        seen.iter()
            .find(|(signer, _, _)| signer == handle)
            .and_then(|(_, key, _)| key.as_str())
            .unwrap_or_else(|| panic!("no source for {handle}: {seen:?}"))
            .to_owned()
    };
    assert_eq!(key("near_a"), key("near_b"));
    assert_eq!(key("near_a"), key("near_c"));
    assert_ne!(key("near_a"), key("far"));
    assert_eq!(key("six_a"), key("six_b"));
    assert_ne!(key("six_a"), key("far"));
    for (_, source, domain) in &seen {
        let source = source.as_str().unwrap();
        assert_eq!(source.len(), 64);
        assert!(source.chars().all(|c| c.is_ascii_hexdigit()));
        assert_eq!(domain, "example.org");
    }
    // Members, the organiser included, see neither.
    for (_, source, domain) in sources(&app, &organiser, &campaign).await {
        assert_eq!((source, domain), (Value::Null, Value::Null));
    }
}
