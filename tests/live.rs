//! Live counters over websockets (graphql-transport-ws), on one instance and
//! across two instances sharing PostgreSQL and Redis.

use crate::common::ws::Subscription;
use crate::common::{TestApp, services_required, test_redis_url};
use serde_json::json;

const COUNTERS: &str = "subscription($id: ID!) {
  campaignCounters(campaignId: $id) { campaignId signatures pledges activePledges milestone goalReached }
}";

#[tokio::test]
async fn subscribers_see_each_signature() {
    let app = TestApp::spawn().await;
    let (_, campaign) = app.open_campaign("broadcaster", 1000).await;
    let mut live = Subscription::start(app.addr, COUNTERS, json!({ "id": campaign })).await;
    let initial = live.next_data(5).await;
    assert_eq!(initial["campaignCounters"]["signatures"], 0);
    assert_eq!(initial["campaignCounters"]["campaignId"], campaign);

    let signers = app.register_many("viewer", 3).await;
    for (i, token) in signers.iter().enumerate() {
        app.sign(token, &campaign).await;
        let update = live.next_data(5).await;
        assert_eq!(update["campaignCounters"]["signatures"], i as i64 + 1);
    }
}

#[tokio::test]
async fn reaching_the_goal_is_pushed() {
    let app = TestApp::spawn().await;
    let (_, campaign) = app.open_campaign("goalkeeper", 2).await;
    let mut live = Subscription::start(app.addr, COUNTERS, json!({ "id": campaign })).await;
    live.next_data(5).await;
    let signers = app.register_many("fan", 2).await;
    app.sign(&signers[0], &campaign).await;
    let first = live.next_data(5).await;
    assert_eq!(first["campaignCounters"]["goalReached"], false);
    app.sign(&signers[1], &campaign).await;
    let second = live.next_data(5).await;
    assert_eq!(second["campaignCounters"]["signatures"], 2);
    assert_eq!(second["campaignCounters"]["milestone"], 2);
    assert_eq!(second["campaignCounters"]["goalReached"], true);
}

#[tokio::test]
async fn subscribing_to_an_unknown_campaign_is_an_error() {
    let app = TestApp::spawn().await;
    let mut live = Subscription::start(
        app.addr,
        COUNTERS,
        json!({ "id": "01900000-0000-7000-8000-000000000000" }),
    )
    .await;
    // An execution error travels in a `next` message, as the protocol says.
    let message = live.next_message(5).await.expect("an answer");
    assert_eq!(message["type"], "next", "{message}");
    assert!(message["payload"]["data"].is_null());
    assert_eq!(
        message["payload"]["errors"][0]["extensions"]["code"],
        "NOT_FOUND"
    );
}

#[tokio::test]
async fn a_subscriber_on_one_instance_sees_signatures_made_on_another() {
    if test_redis_url().is_none() {
        assert!(
            !services_required(),
            "CONSUMACT_REQUIRE_SERVICES is set but TEST_REDIS_URL is not"
        );
        eprintln!("TEST_REDIS_URL not set: two instances cannot share events; skipping");
        return;
    }
    let instance_a = TestApp::spawn().await;
    let instance_b = instance_a.spawn_sibling().await;
    let (_, campaign) = instance_a.open_campaign("federated", 1000).await;
    let mut live = Subscription::start(instance_b.addr, COUNTERS, json!({ "id": campaign })).await;
    assert_eq!(live.next_data(5).await["campaignCounters"]["signatures"], 0);

    let signers = instance_a.register_many("remote", 2).await;
    for (i, token) in signers.iter().enumerate() {
        let body = instance_a.sign(token, &campaign).await;
        assert!(body.get("errors").is_none(), "{body}");
        let update = live.next_data(5).await;
        assert_eq!(update["campaignCounters"]["signatures"], i as i64 + 1);
    }
    assert_eq!(instance_b.signature_count(&campaign).await, 2);
}

#[tokio::test]
async fn pledge_activation_is_pushed() {
    let app = TestApp::spawn().await;
    let (_, campaign) = app.open_campaign("activator", 1000).await;
    let mut live = Subscription::start(app.addr, COUNTERS, json!({ "id": campaign })).await;
    live.next_data(5).await;
    let members = app.register_many("together", 2).await;
    let pledge = "mutation($id: ID!) { pledge(campaignId: $id, input: { kind: BUY, activationThreshold: 2 }) { status } }";
    for token in &members {
        app.gql_ok(Some(token), pledge, json!({ "id": campaign }))
            .await;
    }
    let mut active = 0;
    for _ in 0..4 {
        let update = live.next_data(5).await;
        active = update["campaignCounters"]["activePledges"]
            .as_i64()
            .unwrap();
        if active == 2 {
            break;
        }
    }
    assert_eq!(active, 2, "both conditional pledges activated and pushed");
}

#[tokio::test]
async fn invalid_subscriptions_get_a_coded_error() {
    let app = TestApp::spawn().await;
    let mut live = Subscription::start(
        app.addr,
        "subscription { campaignCounters(campaignId: \"x\") { nope } }",
        json!({}),
    )
    .await;
    // An operation that fails validation never runs: graphql-transport-ws's
    // `error` message, whose payload is the list of errors, and no `complete`.
    let message = live.next_message(5).await.expect("an answer");
    assert_eq!(message["type"], "error", "{message}");
    assert_eq!(message["id"], "1");
    assert_eq!(
        message["payload"][0]["extensions"]["code"],
        "GRAPHQL_VALIDATION_FAILED"
    );
    assert!(
        live.next_message(1).await.is_none(),
        "nothing follows an error"
    );
}

#[tokio::test]
async fn shared_frames_reach_exactly_the_subscribers_of_their_campaign() {
    let app = TestApp::spawn().await;
    let (organiser, first) = app.open_campaign("first_organiser", 1000).await;
    let (_, second) = app.open_campaign("second_organiser", 1000).await;
    // Eight anonymous readers of the first campaign, four of the second,
    // and the first's organiser, signed in (never shared: they see more).
    let mut readers = Vec::new();
    for _ in 0..8 {
        readers.push(Subscription::start(app.addr, COUNTERS, json!({ "id": first })).await);
    }
    let mut others = Vec::new();
    for _ in 0..4 {
        others.push(Subscription::start(app.addr, COUNTERS, json!({ "id": second })).await);
    }
    let mut own = Subscription::start_as(
        app.addr,
        Some(&organiser),
        "subscription($id: ID!) { campaignCounters(campaignId: $id) { signatures pendingSignatures } }",
        json!({ "id": first }),
    )
    .await;
    for live in readers.iter_mut().chain(others.iter_mut()) {
        assert_eq!(live.next_data(5).await["campaignCounters"]["signatures"], 0);
    }
    assert_eq!(own.next_data(5).await["campaignCounters"]["signatures"], 0);
    // One feed per campaign for the anonymous readers.
    assert_eq!(app.metric("consumact_subscription_feeds").await, 2);

    let signers = app.register_many("signer", 3).await;
    for (i, token) in signers.iter().enumerate() {
        app.sign(token, &first).await;
        let expected = i as i64 + 1;
        for live in &mut readers {
            let update = live.next_data(5).await;
            assert_eq!(update["campaignCounters"]["signatures"], expected);
            assert_eq!(update["campaignCounters"]["campaignId"], first);
        }
        let update = own.next_data(5).await;
        assert_eq!(update["campaignCounters"]["signatures"], expected);
        assert_eq!(update["campaignCounters"]["pendingSignatures"], 0);
    }
    // Nothing reached the second campaign's readers.
    for live in &mut others {
        let message = live.next_message(1).await;
        assert!(
            message.is_none() || message.as_ref().is_some_and(|m| m["type"] == "ping"),
            "a frame of another campaign: {message:?}"
        );
    }
    // A reader joining later gets the count now first, then what follows.
    let mut late = Subscription::start(app.addr, COUNTERS, json!({ "id": first })).await;
    assert_eq!(late.next_data(5).await["campaignCounters"]["signatures"], 3);
    let (token, _) = app.register("last_signer").await;
    app.sign(&token, &first).await;
    assert_eq!(late.next_data(5).await["campaignCounters"]["signatures"], 4);
    assert_eq!(
        readers[0].next_data(5).await["campaignCounters"]["signatures"],
        4
    );
    // The second campaign's feed ends with its last reader.
    drop(others);
    let feeds =
        crate::common::eventually(10, 1, || app.metric("consumact_subscription_feeds")).await;
    assert_eq!(
        feeds, 1,
        "the second campaign's feed ended with its readers"
    );
}
