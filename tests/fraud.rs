//! Fraud defence, as moderators meet it: where each signature came from,
//! seen as keyed values, never as addresses.

use crate::common::{ADMIN_ARGS, TestApp};
use serde_json::{Value, json};

/// A server with the first admin that takes the client address from
/// `x-forwarded-for`, as behind a trusted proxy, so that one test can sign
/// from many networks; `extra` flags on top.
async fn spawn(extra: &[&str]) -> TestApp {
    let mut args = ADMIN_ARGS.to_vec();
    args.extend(["--client-ip-header", "x-forwarded-for"]);
    args.extend_from_slice(extra);
    TestApp::spawn_with(&args).await
}

/// Signs as a client at `address`, failing the test on an error.
async fn sign_from(app: &TestApp, token: &str, campaign: &str, address: &str) {
    let body = app.sign_from(token, campaign, address).await;
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
    let app = spawn(&[]).await;
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

const REGISTER: &str = "mutation($input: RegisterInput!) { register(input: $input) { token } }";

/// Registers `handle` at `email` from `address`; the whole answer.
async fn register_from(app: &TestApp, handle: &str, email: &str, address: &str) -> Value {
    let input = json!({ "input": { "handle": handle, "email": email, "password": "correct horse battery" } });
    app.gql_from(None, address, REGISTER, input).await
}

const ADD_RULE: &str =
    "mutation($input: BlockRuleInput!) { addBlockRule(input: $input) { id pattern allow } }";

#[tokio::test]
async fn a_block_rule_added_on_one_instance_refuses_the_next_registration_on_another() {
    // Two instances share a Redis of their own, which carries the change.
    let Some(redis) = crate::common::redis_server::RedisServer::start() else {
        return;
    };
    let first = spawn(&["--redis-url", &redis.url()]).await;
    let second = first.spawn_sibling().await;
    let admin = first.admin_token().await;
    let ok = register_from(&second, "before", "before@example.org", "198.51.100.7").await;
    assert!(ok.get("errors").is_none(), "{ok}");

    let added = first
        .gql_ok(
            Some(&admin),
            ADD_RULE,
            json!({ "input": { "kind": "IP_RANGE", "pattern": "198.51.100.99/24", "reason": "a farm of scripted accounts" } }),
        )
        .await;
    assert_eq!(added["addBlockRule"]["pattern"], "198.51.100.0/24");
    let rule = added["addBlockRule"]["id"].as_str().unwrap().to_owned();
    // Within a second, the other instance refuses that network.
    let mut attempt = 0;
    let refused = crate::common::eventually(1, "BLOCKED".to_owned(), || {
        attempt += 1;
        let handle = format!("farm_{attempt}");
        let second = &second;
        async move {
            let body = register_from(
                second,
                &handle,
                &format!("{handle}@example.org"),
                "198.51.100.8",
            )
            .await;
            body["errors"][0]["extensions"]["reason"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        }
    })
    .await;
    assert_eq!(refused, "BLOCKED");
    let body = register_from(&second, "farm_x", "farm_x@example.org", "198.51.100.9").await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "FORBIDDEN");
    // Elsewhere, registration goes on.
    let other = register_from(
        &second,
        "neighbour",
        "neighbour@example.org",
        "198.51.101.8",
    )
    .await;
    assert!(other.get("errors").is_none(), "{other}");

    // A throwaway domain, with one club let through.
    first
        .gql_ok(
            Some(&admin),
            ADD_RULE,
            json!({ "input": { "kind": "EMAIL_DOMAIN", "pattern": "*.throwaway.test", "reason": "disposable addresses" } }),
        )
        .await;
    first
        .gql_ok(
            Some(&admin),
            ADD_RULE,
            json!({ "input": { "kind": "EMAIL_DOMAIN", "pattern": "club.throwaway.test", "reason": "a real members' club", "allow": true } }),
        )
        .await;
    let disposable = crate::common::eventually(1, "BLOCKED".to_owned(), || async {
        let body = register_from(&second, "disposable", "x@a.throwaway.test", "192.0.2.1").await;
        body["errors"][0]["extensions"]["reason"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    })
    .await;
    assert_eq!(disposable, "BLOCKED");
    let club = crate::common::eventually(1, true, || async {
        let body = register_from(&second, "clubber", "x@club.throwaway.test", "192.0.2.1").await;
        body.get("errors").is_none()
    })
    .await;
    assert!(club, "the allow rule lets the club through");

    // Signing from a blocked network is refused too, for members already in.
    let (_, campaign) = first.open_campaign("organiser", 100).await;
    let member = ok["data"]["register"]["token"].as_str().unwrap();
    let signed = second.sign_from(member, &campaign, "198.51.100.7").await;
    assert_eq!(
        signed["errors"][0]["extensions"]["reason"], "BLOCKED",
        "{signed}"
    );

    // Removing the rule lifts it everywhere; both changes are audit-logged.
    first
        .gql_ok(
            Some(&admin),
            "mutation($id: ID!) { removeBlockRule(id: $id) }",
            json!({ "id": rule }),
        )
        .await;
    let lifted = crate::common::eventually(1, true, || async {
        register_from(&second, "after", "after@example.org", "198.51.100.8")
            .await
            .get("errors")
            .is_none()
    })
    .await;
    assert!(lifted);
    let audit = first
        .gql_ok(
            Some(&admin),
            "query($id: ID!) { auditLog(targetId: $id) { edges { node { action } } } }",
            json!({ "id": rule }),
        )
        .await;
    let actions: Vec<&str> = audit["auditLog"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|edge| edge["node"]["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["remove_block_rule", "add_block_rule"]);
    let rules = first
        .gql_ok(Some(&admin), "{ blockRules { totalCount } }", json!({}))
        .await;
    assert_eq!(rules["blockRules"]["totalCount"], 2);
    let refused = first
        .gql(Some(member), "{ blockRules { totalCount } }", json!({}))
        .await;
    assert_eq!(crate::common::error_code(&refused), "FORBIDDEN");
}

const INVALIDATE: &str = "mutation($id: ID!, $filter: InvalidationFilter!, $dry: Boolean) {
  invalidateSignatures(campaignId: $id, filter: $filter, reason: \"one network, scripted accounts\", dryRun: $dry) { id count dryRun }
}";

/// What the public, the observatory and the milestones say of a campaign.
async fn standing(app: &TestApp, admin: &str, campaign: &str) -> (i64, i64, i64, Value) {
    // The observatory's figure follows the fold of the signatures just made.
    app.folded().await;
    let data = app
        .gql_ok(
            Some(admin),
            "query($id: ID!) { campaign(id: $id) { counters { signatures } signatures { totalCount }
               producer { id } milestones { threshold reachedBeforeInvalidation } } }",
            json!({ "id": campaign }),
        )
        .await;
    let producer = data["campaign"]["producer"]["id"].clone();
    let trust = app
        .gql_ok(
            Some(admin),
            "query($id: ID!) { observatory { producer(id: $id) { metrics { signatures } } } }",
            json!({ "id": producer }),
        )
        .await;
    (
        data["campaign"]["counters"]["signatures"].as_i64().unwrap(),
        data["campaign"]["signatures"]["totalCount"]
            .as_i64()
            .unwrap(),
        trust["observatory"]["producer"]["metrics"]["signatures"]
            .as_i64()
            .unwrap_or(-1),
        data["campaign"]["milestones"].clone(),
    )
}

#[tokio::test]
async fn invalidating_one_network_strikes_exactly_its_signatures_and_revalidating_restores_them() {
    const FARM: usize = 30;
    const HONEST: usize = 20;
    const LATE: usize = 20;
    let app = spawn(&["--observatory-k", "2"]).await;
    let admin = app.admin_token().await;
    let (organiser, campaign) = app.open_campaign("organiser", 45).await;
    let farm = app.register_many("farm", FARM).await;
    let honest = app.register_many("honest", HONEST).await;
    let late = app.register_many("late", LATE).await;
    futures::future::join_all(farm.iter().enumerate().map(|(i, token)| {
        let address = format!("203.0.113.{}", i + 1);
        let (app, campaign) = (&app, &campaign);
        async move { sign_from(app, token, campaign, &address).await }
    }))
    .await;
    for (i, token) in honest.iter().enumerate() {
        sign_from(&app, token, &campaign, &format!("10.{i}.0.1")).await;
    }
    assert_eq!(standing(&app, &admin, &campaign).await.0, 50);
    let mut subscription = crate::common::ws::Subscription::start(
        app.addr,
        "subscription($id: ID!) { campaignCounters(campaignId: $id) { signatures } }",
        json!({ "id": campaign }),
    )
    .await;
    assert_eq!(
        subscription.next_data(5).await["campaignCounters"]["signatures"],
        50
    );

    let farm_key = sources(&app, &admin, &campaign)
        .await
        .into_iter()
        .find(|(signer, _, _)| signer == "farm_0")
        .and_then(|(_, key, _)| key.as_str().map(str::to_owned))
        .unwrap();
    let filter = json!({ "sourceKey": farm_key });
    // Who may, and with what.
    let member = app
        .gql(
            Some(&organiser),
            INVALIDATE,
            json!({ "id": campaign, "filter": filter }),
        )
        .await;
    assert_eq!(crate::common::error_code(&member), "FORBIDDEN");
    let everything = app
        .gql(
            Some(&admin),
            INVALIDATE,
            json!({ "id": campaign, "filter": {} }),
        )
        .await;
    assert_eq!(crate::common::error_field(&everything), "filter");

    let dry = app
        .gql_ok(
            Some(&admin),
            INVALIDATE,
            json!({ "id": campaign, "filter": filter, "dry": true }),
        )
        .await;
    assert_eq!(dry["invalidateSignatures"]["count"], FARM);
    assert_eq!(
        standing(&app, &admin, &campaign).await.0,
        50,
        "a dry run strikes nothing"
    );

    // Strike the farm out while others keep signing.
    let (struck, _) = tokio::join!(
        app.gql_ok(
            Some(&admin),
            INVALIDATE,
            json!({ "id": campaign, "filter": filter })
        ),
        futures::future::join_all(late.iter().enumerate().map(|(i, token)| {
            let address = format!("172.16.{i}.1");
            let (app, campaign) = (&app, &campaign);
            async move { sign_from(app, token, campaign, &address).await }
        })),
    );
    assert_eq!(struck["invalidateSignatures"]["count"], FARM);
    let expected = (HONEST + LATE) as i64;
    let (count, rows, observatory, milestones) = standing(&app, &admin, &campaign).await;
    assert_eq!((count, rows, observatory), (expected, expected, expected));
    assert_eq!(
        milestones,
        json!([
            { "threshold": 10, "reachedBeforeInvalidation": false },
            { "threshold": 45, "reachedBeforeInvalidation": true },
        ])
    );
    let mut last = -1;
    while let Some(message) = subscription.next_message(1).await {
        last = message["payload"]["data"]["campaignCounters"]["signatures"]
            .as_i64()
            .unwrap_or(last);
    }
    assert_eq!(last, expected, "the subscriber ends on the corrected count");
    // A struck-out signature stays for the record: its signer cannot withdraw it.
    let withdraw = app
        .gql(
            Some(&farm[0]),
            "mutation($id: ID!) { withdrawSignature(campaignId: $id) }",
            json!({ "id": campaign }),
        )
        .await;
    assert_eq!(crate::common::error_code(&withdraw), "CONFLICT");
    // Striking again finds nothing more.
    let again = app
        .gql_ok(
            Some(&admin),
            INVALIDATE,
            json!({ "id": campaign, "filter": filter }),
        )
        .await;
    assert_eq!(again["invalidateSignatures"]["count"], 0);

    // Undo, twice: restored exactly once.
    let id = struck["invalidateSignatures"]["id"].as_str().unwrap();
    let revalidate =
        "mutation($id: ID!) { revalidateSignatures(invalidationId: $id) { count revalidatedAt } }";
    for _ in 0..2 {
        app.gql_ok(Some(&admin), revalidate, json!({ "id": id }))
            .await;
    }
    let total = (FARM + HONEST + LATE) as i64;
    let (count, rows, observatory, milestones) = standing(&app, &admin, &campaign).await;
    assert_eq!((count, rows, observatory), (total, total, total));
    assert_eq!(milestones[1]["reachedBeforeInvalidation"], false);
    let dry_undo = app
        .gql(
            Some(&admin),
            revalidate,
            json!({ "id": dry["invalidateSignatures"]["id"] }),
        )
        .await;
    assert_eq!(crate::common::error_code(&dry_undo), "CONFLICT");

    // The record, with its counts.
    let audit = app
        .gql_ok(
            Some(&admin),
            "query($id: ID!) { auditLog(targetId: $id) { edges { node { action reason } } } }",
            json!({ "id": campaign }),
        )
        .await;
    let entries: Vec<(String, String)> = audit["auditLog"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|edge| {
            (
                edge["node"]["action"].as_str().unwrap().to_owned(),
                edge["node"]["reason"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            )
        })
        .collect();
    assert!(entries.contains(&(
        "invalidate_signatures".to_owned(),
        "30 signatures: one network, scripted accounts".to_owned()
    )));
    assert!(entries.contains(&(
        "revalidate_signatures".to_owned(),
        "30 signatures restored".to_owned()
    )));
}

/// Registers members `{prefix}_{i}` with the e-mail `email(i)`, 32 at a
/// time; their tokens.
async fn register_with(
    app: &TestApp,
    prefix: &str,
    count: usize,
    email: impl Fn(usize) -> String,
) -> Vec<String> {
    use futures::StreamExt;
    futures::stream::iter((0..count).map(|i| {
        let handle = format!("{prefix}_{i}");
        let email = email(i);
        async move {
            let body = app
                .gql_ok(None, REGISTER, json!({ "input": { "handle": handle, "email": email, "password": "correct horse battery" } }))
                .await;
            body["register"]["token"].as_str().unwrap().to_owned()
        }
    }))
    .buffered(32)
    .collect()
    .await
}

/// Signs with each token from the address `address(i)`, 32 at a time.
async fn sign_all(
    app: &TestApp,
    tokens: &[String],
    campaign: &str,
    address: impl Fn(usize) -> String,
) {
    use futures::StreamExt;
    futures::stream::iter(tokens.iter().enumerate().map(|(i, token)| {
        let address = address(i);
        async move { sign_from(app, token, campaign, &address).await }
    }))
    .buffer_unordered(32)
    .collect::<Vec<()>>()
    .await;
}

#[tokio::test]
async fn a_farm_of_300_among_2000_raises_one_signal_and_is_struck_out_exactly() {
    const CROWD: usize = 2_000;
    const FARM: usize = 300;
    const LATE: usize = 200;
    let app = spawn(&[
        "--trending-threshold",
        "100",
        "--trending-window-secs",
        "600",
    ])
    .await;
    let admin = app.admin_token().await;
    let (_, campaign) = app.open_campaign("organiser", 100_000).await;
    // Everyone has an address of their own domain (a few share one), so
    // that only the farm's network stands out.
    let crowd = register_with(&app, "crowd", CROWD, |i| format!("c{i}@d{}.example", i / 4)).await;
    let farm = register_with(&app, "farm", FARM, |i| format!("f{i}@f{}.example", i / 4)).await;
    let late = register_with(&app, "late", LATE, |i| format!("l{i}@l{}.example", i / 4)).await;
    let spread = |i: usize| format!("10.{}.{}.1", i / 250, i % 250);
    sign_all(&app, &crowd, &campaign, spread).await;
    sign_all(&app, &farm, &campaign, |i| {
        format!("203.0.113.{}", i % 250 + 1)
    })
    .await;
    assert_eq!(app.signature_count(&campaign).await, (CROWD + FARM) as i64);

    let signals = crate::common::eventually(5, 1, || async {
        app.gql_ok(
            Some(&admin),
            "query($id: ID) { fraudSignals(campaignId: $id) { totalCount } }",
            json!({ "id": campaign }),
        )
        .await["fraudSignals"]["totalCount"]
            .as_i64()
            .unwrap()
    })
    .await;
    assert_eq!(signals, 1, "exactly one signal");
    let signal = app
        .gql_ok(
            Some(&admin),
            "query($id: ID) { fraudSignals(campaignId: $id) { edges { node { kind key count status } } } }",
            json!({ "id": campaign }),
        )
        .await["fraudSignals"]["edges"][0]["node"]
        .clone();
    assert_eq!(signal["kind"], "SOURCE");
    assert_eq!(signal["status"], "OPEN");
    assert!(signal["count"].as_i64().unwrap() >= 100);
    let key = signal["key"].as_str().unwrap().to_owned();

    let mut subscription = crate::common::ws::Subscription::start(
        app.addr,
        "subscription($id: ID!) { campaignCounters(campaignId: $id) { signatures } }",
        json!({ "id": campaign }),
    )
    .await;
    subscription.next_data(5).await;
    let (struck, _) = tokio::join!(
        app.gql_ok(
            Some(&admin),
            INVALIDATE,
            json!({ "id": campaign, "filter": { "sourceKey": key } })
        ),
        sign_all(&app, &late, &campaign, |i| format!("172.16.{i}.1")),
    );
    assert_eq!(struck["invalidateSignatures"]["count"], FARM);
    let honest = (CROWD + LATE) as i64;
    let (count, rows, observatory, _) = standing(&app, &admin, &campaign).await;
    assert_eq!((count, rows, observatory), (honest, honest, honest));
    let mut last = -1;
    while let Some(message) = subscription.next_message(1).await {
        last = message["payload"]["data"]["campaignCounters"]["signatures"]
            .as_i64()
            .unwrap_or(last);
    }
    assert_eq!(last, honest);

    let id = struck["invalidateSignatures"]["id"].as_str().unwrap();
    app.gql_ok(
        Some(&admin),
        "mutation($id: ID!) { revalidateSignatures(invalidationId: $id) { id } }",
        json!({ "id": id }),
    )
    .await;
    let everyone = (CROWD + FARM + LATE) as i64;
    let (count, rows, observatory, _) = standing(&app, &admin, &campaign).await;
    assert_eq!((count, rows, observatory), (everyone, everyone, everyone));
}

#[tokio::test]
async fn a_trending_source_is_held_until_a_moderator_dismisses_its_signal() {
    let app = spawn(&["--trending-threshold", "5", "--hold-trending", "true"]).await;
    let admin = app.admin_token().await;
    let (organiser, campaign) = app.open_campaign("organiser", 100).await;
    let first = register_with(&app, "first", 5, |i| format!("a{i}@a{i}.example")).await;
    sign_all(&app, &first, &campaign, |i| format!("198.51.100.{}", i + 1)).await;
    // The fifth raised the signal; moderators are mailed.
    let signal = crate::common::eventually(5, true, || async {
        app.gql_ok(
            Some(&admin),
            "{ fraudSignals(status: OPEN) { totalCount } }",
            json!({}),
        )
        .await["fraudSignals"]["totalCount"]
            == 1
    })
    .await;
    assert!(signal);
    let mails = app.mails_to("root@example.org", 1).await;
    assert!(mails[0].subject.contains("Surge"), "{}", mails[0].subject);

    // Further signatures from that network wait.
    let more = register_with(&app, "more", 3, |i| format!("b{i}@b{i}.example")).await;
    sign_all(&app, &more, &campaign, |i| {
        format!("198.51.100.{}", i + 100)
    })
    .await;
    assert_eq!(app.signature_count(&campaign).await, 5);
    assert_eq!(
        app.gql_ok(
            Some(&organiser),
            "query($id: ID!) { campaign(id: $id) { counters { pendingSignatures } } }",
            json!({ "id": campaign }),
        )
        .await["campaign"]["counters"]["pendingSignatures"],
        3
    );
    // Elsewhere, signing goes on.
    let other = register_with(&app, "other", 1, |_| "o@o.example".to_owned()).await;
    sign_all(&app, &other, &campaign, |_| "192.0.2.1".to_owned()).await;
    assert_eq!(app.signature_count(&campaign).await, 6);

    let id = app
        .gql_ok(
            Some(&admin),
            "{ fraudSignals { edges { node { id } } } }",
            json!({}),
        )
        .await["fraudSignals"]["edges"][0]["node"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let refused = app
        .gql(
            Some(&organiser),
            "mutation($id: ID!) { dismissFraudSignal(id: $id) { status } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(crate::common::error_code(&refused), "FORBIDDEN");
    let dismissed = app
        .gql_ok(
            Some(&admin),
            "mutation($id: ID!) { dismissFraudSignal(id: $id) { status } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(dismissed["dismissFraudSignal"]["status"], "DISMISSED");
    assert_eq!(
        app.signature_count(&campaign).await,
        9,
        "what it held counts"
    );
    assert_eq!(app.signature_rows(&campaign).await, 9);
}

#[tokio::test]
async fn retention_makes_an_ended_campaigns_signatures_anonymous_and_keeps_every_count() {
    let app = spawn(&["--retention-days", "0", "--observatory-k", "2"]).await;
    let admin = app.admin_token().await;
    let (organiser, campaign) = app.open_campaign("organiser", 10).await;
    let (_, still_open) = app.open_campaign("other_organiser", 10).await;
    let signers = register_with(&app, "signer", 12, |i| format!("s{i}@s{i}.example")).await;
    for (i, token) in signers.iter().enumerate() {
        let body = app
            .gql_from(
                Some(token),
                &format!("10.0.{i}.1"),
                "mutation($id: ID!) { signCampaign(campaignId: $id, input: { comment: \"I buy their yoghurt\" }) { id } }",
                json!({ "id": campaign }),
            )
            .await;
        assert!(body.get("errors").is_none(), "{body}");
        sign_from(&app, token, &still_open, &format!("10.0.{i}.1")).await;
    }
    let before = standing(&app, &admin, &campaign).await;
    app.gql_ok(
        Some(&organiser),
        "mutation($id: ID!) { closeCampaign(id: $id, outcome: CLOSED) { status } }",
        json!({ "id": campaign }),
    )
    .await;
    let signatures = "query($id: ID!) { campaign(id: $id) { signatures(first: 50) { edges { node { signer anonymous comment territory createdAt sourceKey emailDomain } } } } }";
    // The upkeep pass (every second in tests) does it.
    let anonymous = crate::common::eventually(10, true, || async {
        let data = app
            .gql_ok(Some(&admin), signatures, json!({ "id": campaign }))
            .await;
        data["campaign"]["signatures"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .all(|edge| edge["node"]["anonymous"] == true)
    })
    .await;
    assert!(anonymous);
    let data = app
        .gql_ok(Some(&admin), signatures, json!({ "id": campaign }))
        .await;
    for edge in data["campaign"]["signatures"]["edges"].as_array().unwrap() {
        let node = &edge["node"];
        assert_eq!(node["signer"], "Anonymous");
        assert_eq!(node["comment"], Value::Null);
        assert_eq!(node["sourceKey"], Value::Null);
        assert_eq!(node["emailDomain"], Value::Null);
        assert!(node["createdAt"].is_string(), "dates stay");
    }
    assert_eq!(
        standing(&app, &admin, &campaign).await,
        before,
        "every count stays"
    );
    // The open campaign keeps its signers.
    let open = app
        .gql_ok(Some(&admin), signatures, json!({ "id": still_open }))
        .await;
    assert!(
        open["campaign"]["signatures"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .all(|edge| edge["node"]["sourceKey"].is_string())
    );
    // The signer's own list no longer ties them to the ended campaign.
    let mine = app
        .gql_ok(
            Some(&signers[0]),
            "{ me { signatures { totalCount } } }",
            json!({}),
        )
        .await;
    assert_eq!(mine["me"]["signatures"]["totalCount"], 1);
}

#[tokio::test]
async fn bad_input_to_the_fraud_tools_gets_coded_errors() {
    let app = spawn(&[]).await;
    let admin = app.admin_token().await;
    let (organiser, campaign) = app.open_campaign("organiser", 10).await;
    let add = |input: Value| {
        let admin = admin.clone();
        let app = &app;
        async move {
            app.gql(Some(&admin), ADD_RULE, json!({ "input": input }))
                .await
        }
    };
    let wide =
        add(json!({ "kind": "IP_RANGE", "pattern": "0.0.0.0/0", "reason": "everyone" })).await;
    assert_eq!(crate::common::error_field(&wide), "input.pattern");
    let garbled =
        add(json!({ "kind": "EMAIL_DOMAIN", "pattern": "not a domain", "reason": "typo" })).await;
    assert_eq!(crate::common::error_field(&garbled), "input.pattern");
    let past = add(json!({ "kind": "EMAIL_DOMAIN", "pattern": "x.example", "reason": "late", "expiresAt": "2000-01-01T00:00:00Z" })).await;
    assert_eq!(crate::common::error_field(&past), "input.expiresAt");
    let kind = add(json!({ "kind": "PHONE", "pattern": "x", "reason": "what" })).await;
    // Variables of the wrong type fail validation, as for every operation.
    assert_eq!(
        crate::common::error_code(&kind),
        "GRAPHQL_VALIDATION_FAILED",
        "{kind}"
    );
    let member = app
        .gql(
            Some(&organiser),
            ADD_RULE,
            json!({ "input": { "kind": "EMAIL_DOMAIN", "pattern": "x.example", "reason": "mine" } }),
        )
        .await;
    assert_eq!(crate::common::error_code(&member), "FORBIDDEN");
    let unknown = uuid::Uuid::new_v4().to_string();
    for (query, variables) in [
        (
            "mutation($id: ID!) { removeBlockRule(id: $id) }",
            json!({ "id": unknown }),
        ),
        (
            "mutation($id: ID!) { revalidateSignatures(invalidationId: $id) { id } }",
            json!({ "id": unknown }),
        ),
        (
            "mutation($id: ID!) { dismissFraudSignal(id: $id) { id } }",
            json!({ "id": unknown }),
        ),
        (
            INVALIDATE,
            json!({ "id": unknown, "filter": { "emailDomain": "x.example" } }),
        ),
    ] {
        let body = app.gql(Some(&admin), query, variables).await;
        assert_eq!(
            crate::common::error_code(&body),
            "NOT_FOUND",
            "{query}: {body}"
        );
    }
    let malformed = app
        .gql(
            Some(&admin),
            INVALIDATE,
            json!({ "id": campaign, "filter": { "memberIds": ["not-an-id"] } }),
        )
        .await;
    assert_eq!(crate::common::error_field(&malformed), "filter.memberIds");
    let bad_signal = app
        .gql(
            Some(&admin),
            "mutation { dismissFraudSignal(id: \"x\") { id } }",
            json!({}),
        )
        .await;
    assert_eq!(crate::common::error_field(&bad_signal), "id");
    let bad_campaign = app
        .gql(
            Some(&admin),
            "{ fraudSignals(campaignId: \"x\") { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(crate::common::error_field(&bad_campaign), "campaignId");
    let terse = app
        .gql(
            Some(&admin),
            "mutation($id: ID!) { invalidateSignatures(campaignId: $id, filter: { emailDomain: \"x.example\" }, reason: \"x\") { id } }",
            json!({ "id": campaign }),
        )
        .await;
    assert_eq!(crate::common::error_field(&terse), "reason");
}
