//! In-process caches across instances: two servers on one database and one
//! Redis, each caching tokens' members, campaigns and live counts. What one
//! instance changes, the other stops serving from its cache: a logout, a role
//! change, an erasure, a campaign closing or hidden, and every signature's
//! count. Entries live 60 s by default, far longer than these tests wait,
//! so what they see is the invalidation, not an expiry.

use std::time::{Duration, Instant};

use crate::common::redis_server::RedisServer;
use crate::common::{ADMIN_ARGS, TestApp, error_code, test_redis_url};
use serde_json::{Value, json};

const ME: &str = "{ me { id role } }";
const SIGN: &str = "mutation($id: ID!) { signCampaign(campaignId: $id) { status } }";
const CAMPAIGN: &str =
    "query($id: ID!) { campaign(id: $id) { id status counters { signatures } } }";

/// Well under the caches' 60 s lifetime, well over a pub/sub delivery.
const PATIENCE: Duration = Duration::from_secs(3);

/// Two instances sharing everything, with an admin; `None` (the test is
/// skipped) where no Redis can be had. The Redis server, when the test
/// started its own, lives as long as the instances.
async fn two_instances(extra: &[&str]) -> Option<(TestApp, TestApp, Option<RedisServer>)> {
    let mut args: Vec<String> = ADMIN_ARGS
        .iter()
        .chain(extra)
        .map(|arg| (*arg).to_owned())
        .collect();
    let own = if test_redis_url().is_some() {
        None
    } else {
        let server = RedisServer::start()?;
        args.extend(["--redis-url".to_owned(), server.url()]);
        Some(server)
    };
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let a = TestApp::spawn_with(&args).await;
    let b = a.spawn_sibling().await;
    Some((a, b, own))
}

/// Asks `ask` until `done` holds, for at most [`PATIENCE`]; the last answer.
async fn until<F, Fut>(mut ask: F, done: impl Fn(&Value) -> bool) -> Value
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Value>,
{
    let deadline = Instant::now() + PATIENCE;
    loop {
        let answer = ask().await;
        if done(&answer) || Instant::now() > deadline {
            return answer;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn logout_role_change_and_erasure_reach_the_other_instance() {
    let Some((a, b, _redis)) = two_instances(&[]).await else {
        return;
    };
    let admin = a.admin_token().await;
    let (token, id) = a.register("cached_member").await;
    // B reads the member once, and caches it.
    let seen = b.gql(Some(&token), ME, json!({})).await;
    assert_eq!(seen["data"]["me"]["role"], "MEMBER", "{seen}");

    let granted = a
        .gql(
            Some(&admin),
            "mutation($id: ID!) { setMemberRole(memberId: $id, role: MODERATOR) { role } }",
            json!({ "id": id }),
        )
        .await;
    assert!(granted.get("errors").is_none(), "{granted}");
    let seen = until(
        || b.gql(Some(&token), ME, json!({})),
        |body| body["data"]["me"]["role"] == "MODERATOR",
    )
    .await;
    assert_eq!(seen["data"]["me"]["role"], "MODERATOR", "{seen}");

    let out = a.gql(Some(&token), "mutation { logout }", json!({})).await;
    assert_eq!(out["data"]["logout"], true, "{out}");
    let seen = until(
        || b.gql(Some(&token), ME, json!({})),
        |body| body.get("errors").is_some(),
    )
    .await;
    assert_eq!(error_code(&seen), "UNAUTHENTICATED", "{seen}");

    let (erased, _) = a.register("erased_member").await;
    let seen = b.gql(Some(&erased), ME, json!({})).await;
    assert!(seen["data"]["me"]["id"].is_string(), "{seen}");
    let gone = a
        .gql(
            Some(&erased),
            "mutation { deleteAccount(password: \"correct horse battery\") }",
            json!({}),
        )
        .await;
    assert_eq!(gone["data"]["deleteAccount"], true, "{gone}");
    let seen = until(
        || b.gql(Some(&erased), ME, json!({})),
        |body| body.get("errors").is_some(),
    )
    .await;
    assert_eq!(error_code(&seen), "UNAUTHENTICATED", "{seen}");
}

#[tokio::test]
async fn a_campaign_closed_or_hidden_on_one_instance_stops_on_the_other() {
    let Some((a, b, _redis)) = two_instances(&[]).await else {
        return;
    };
    let admin = a.admin_token().await;
    let signers = a.register_many("cache_signer", 3).await;

    let (organiser, closing) = a.open_campaign("cache_closer", 1000).await;
    // B caches the campaign while signing it.
    let signed = b
        .gql(Some(&signers[0]), SIGN, json!({ "id": closing }))
        .await;
    assert_eq!(
        signed["data"]["signCampaign"]["status"], "COUNTED",
        "{signed}"
    );
    let closed = a
        .gql(
            Some(&organiser),
            "mutation($id: ID!) { closeCampaign(id: $id, outcome: CLOSED) { status } }",
            json!({ "id": closing }),
        )
        .await;
    assert_eq!(
        closed["data"]["closeCampaign"]["status"], "CLOSED",
        "{closed}"
    );
    let refused = until(
        || b.gql(Some(&signers[1]), SIGN, json!({ "id": closing })),
        |body| body.get("errors").is_some(),
    )
    .await;
    assert_eq!(error_code(&refused), "CONFLICT", "{refused}");
    let seen = b.gql(None, CAMPAIGN, json!({ "id": closing })).await;
    assert_eq!(seen["data"]["campaign"]["status"], "CLOSED", "{seen}");

    let (_, hiding) = a.open_campaign("cache_hider", 1000).await;
    let seen = b.gql(None, CAMPAIGN, json!({ "id": hiding })).await;
    assert_eq!(seen["data"]["campaign"]["id"], hiding, "{seen}");
    let hidden = a
        .gql(
            Some(&admin),
            "mutation($id: ID!) { hideContent(kind: CAMPAIGN, id: $id, reason: \"Spam campaign\") }",
            json!({ "id": hiding }),
        )
        .await;
    assert!(hidden.get("errors").is_none(), "{hidden}");
    let seen = until(
        || b.gql(None, CAMPAIGN, json!({ "id": hiding })),
        |body| body["data"]["campaign"].is_null(),
    )
    .await;
    assert!(seen["data"]["campaign"].is_null(), "{seen}");
    let refused = b
        .gql(Some(&signers[2]), SIGN, json!({ "id": hiding }))
        .await;
    assert_eq!(error_code(&refused), "NOT_FOUND", "{refused}");
}

#[tokio::test]
async fn counts_read_on_one_instance_follow_every_signature_on_the_other() {
    // Counts cached for a minute: only the announced changes can move them.
    let Some((a, b, _redis)) = two_instances(&["--counter-cache-ms", "60000"]).await else {
        return;
    };
    let (_, campaign) = a.open_campaign("cache_counted", 1000).await;
    let signers = b.register_many("cache_count", 15).await;
    let count = |body: &Value| body["data"]["campaign"]["counters"]["signatures"].as_i64();
    // A caches the count before anyone signs.
    let first = a.gql(None, CAMPAIGN, json!({ "id": campaign })).await;
    assert_eq!(count(&first), Some(0), "{first}");
    let mut shown = 0;
    for (i, token) in signers.iter().enumerate() {
        let signed = b.gql(Some(token), SIGN, json!({ "id": campaign })).await;
        assert_eq!(
            signed["data"]["signCampaign"]["status"], "COUNTED",
            "{signed}"
        );
        let expected = i as i64 + 1;
        let deadline = Instant::now() + PATIENCE;
        loop {
            let seen = a.gql(None, CAMPAIGN, json!({ "id": campaign })).await;
            let now = count(&seen).unwrap_or_else(|| panic!("no count: {seen}"));
            assert!(now >= shown, "the count went back from {shown} to {now}");
            assert!(now <= expected, "counted {now} of {expected} signatures");
            shown = now;
            if now == expected {
                break;
            }
            assert!(Instant::now() < deadline, "stuck at {now} of {expected}");
        }
    }
}
