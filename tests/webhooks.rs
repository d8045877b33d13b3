//! Webhooks, black-box: a real receiver on loopback checks every signature,
//! fails the first attempts, and still gets each event exactly once; who
//! may register what; addresses inside the network refused; an endpoint
//! that keeps failing disabled, its owner told.

use std::collections::HashMap;

use crate::common::webhook_receiver::WebhookReceiver;
use crate::common::{ADMIN_ARGS, TestApp, error_code, error_field};
use serde_json::{Value, json};

const CREATE: &str = "mutation($input: CreateWebhookInput!) { createWebhook(input: $input) { webhook { id url events campaignId } secret } }";

/// A server whose webhooks may call loopback and retry quickly.
async fn app(extra: &[&str]) -> TestApp {
    let mut args = vec![
        "--webhook-allow-private",
        "true",
        "--webhook-retry-base-ms",
        "100",
    ];
    args.extend(ADMIN_ARGS);
    args.extend(extra);
    TestApp::spawn_with(&args).await
}

async fn create(app: &TestApp, token: &str, input: Value) -> Value {
    app.gql(Some(token), CREATE, json!({ "input": input }))
        .await
}

/// A new campaign whose organiser watches its milestones at `receiver`
/// (which checks signatures with the secret); the organiser's token, the
/// webhook's id and its secret.
async fn watch_milestones(app: &TestApp, receiver: &WebhookReceiver) -> (String, Value, String) {
    let (organiser, campaign) = app.open_campaign("organiser", 100).await;
    let created = create(
        app,
        &organiser,
        json!({ "url": receiver.url(), "events": ["CAMPAIGN_MILESTONE"], "campaignId": campaign }),
    )
    .await;
    let webhook = &created["data"]["createWebhook"];
    let secret = webhook["secret"].as_str().expect("a secret").to_owned();
    receiver.set_secret(&secret);
    (organiser, webhook["webhook"]["id"].clone(), secret)
}

#[tokio::test]
async fn each_event_arrives_signed_and_exactly_once_after_failed_attempts() {
    let app = app(&[]).await;
    let receiver = WebhookReceiver::start(2).await;
    let (organiser, campaign) = app.open_campaign("organiser", 12).await;
    let created = create(
        &app,
        &organiser,
        json!({
            "url": receiver.url(),
            "events": ["CAMPAIGN_MILESTONE", "CAMPAIGN_GOAL_REACHED", "CAMPAIGN_CLOSED"],
            "campaignId": campaign,
        }),
    )
    .await;
    let webhook = &created["data"]["createWebhook"];
    let secret = webhook["secret"].as_str().expect("the secret, shown once");
    assert!(secret.starts_with("whsec_"), "{created}");
    assert_eq!(
        webhook["webhook"]["events"],
        json!([
            "CAMPAIGN_MILESTONE",
            "CAMPAIGN_GOAL_REACHED",
            "CAMPAIGN_CLOSED"
        ])
    );
    receiver.set_secret(secret);

    for token in app.register_many("signer", 12).await {
        assert!(app.sign(&token, &campaign).await.get("errors").is_none());
    }
    app.gql_ok(
        Some(&organiser),
        "mutation($id: ID!) { closeCampaign(id: $id, outcome: VICTORY) { status } }",
        json!({ "id": campaign }),
    )
    .await;

    // 10 signatures, the goal of 12, the closing: three events.
    let acknowledged =
        crate::common::eventually(30, 3, || async { receiver.acknowledged().len() }).await;
    assert_eq!(acknowledged, 3, "{:?}", receiver.received());
    let received = receiver.received();
    assert!(
        received.iter().all(|request| request.signature_valid),
        "every attempt is signed with the secret: {received:?}"
    );
    let mut attempts: HashMap<String, usize> = HashMap::new();
    for request in &received {
        *attempts.entry(request.id.clone()).or_default() += 1;
    }
    assert_eq!(attempts.len(), 3, "one message id per event: {attempts:?}");
    assert!(
        attempts.values().all(|count| *count == 3),
        "two failures then the acknowledgement, each with the same id: {attempts:?}"
    );
    let by_type: HashMap<String, Value> = receiver
        .acknowledged()
        .into_iter()
        .map(|request| {
            (
                request.body["type"].as_str().unwrap().to_owned(),
                request.body,
            )
        })
        .collect();
    let milestone = &by_type["campaign.milestone"];
    assert_eq!(milestone["data"]["threshold"], 10);
    assert_eq!(milestone["data"]["campaign"]["id"], campaign);
    assert!(milestone["timestamp"].as_str().is_some());
    assert_eq!(by_type["campaign.goal_reached"]["data"]["threshold"], 12);
    assert_eq!(by_type["campaign.closed"]["data"]["outcome"], "VICTORY");
    assert_eq!(
        by_type["campaign.closed"]["data"]["campaign"]["status"],
        "VICTORY"
    );

    // Nothing more arrives once acknowledged, and the record agrees.
    let deliveries = app
        .gql_ok(
            Some(&organiser),
            "query($id: ID!) { webhookDeliveries(webhookId: $id) { totalCount edges { node { eventType status attempts responseStatus messageId } } } }",
            json!({ "id": webhook["webhook"]["id"] }),
        )
        .await;
    let deliveries = &deliveries["webhookDeliveries"];
    assert_eq!(deliveries["totalCount"], 3);
    for edge in deliveries["edges"].as_array().unwrap() {
        let node = &edge["node"];
        assert_eq!(node["status"], "DELIVERED", "{node}");
        assert_eq!(node["attempts"], 3, "{node}");
        assert_eq!(node["responseStatus"], 200, "{node}");
        assert!(attempts.contains_key(node["messageId"].as_str().unwrap()));
    }
    assert_eq!(receiver.acknowledged().len(), 3);
}

#[tokio::test]
async fn a_producer_webhook_hears_of_every_campaign_aimed_at_it() {
    let app = app(&[]).await;
    let admin = app.admin_token().await;
    let receiver = WebhookReceiver::start(0).await;
    let (organiser, _) = app.register("organiser").await;
    let producer = app.create_producer(&organiser, "Acme Foods").await;
    let (representative, _) = app.register("representative").await;
    let claim = app
        .gql_ok(
            Some(&representative),
            "mutation($id: ID!) { claimProducer(producerId: $id) { id } }",
            json!({ "id": producer }),
        )
        .await;
    // Not a representative yet: refused.
    let early = create(
        &app,
        &representative,
        json!({ "url": receiver.url(), "events": ["CAMPAIGN_PUBLISHED"], "producerId": producer }),
    )
    .await;
    assert_eq!(error_code(&early), "FORBIDDEN", "{early}");
    app.gql_ok(
        Some(&admin),
        "mutation($id: ID!) { decideProducerClaim(claimId: $id, approve: true) { status } }",
        json!({ "id": claim["claimProducer"]["id"] }),
    )
    .await;
    let created = create(
        &app,
        &representative,
        json!({
            "url": receiver.url(),
            "events": ["CAMPAIGN_PUBLISHED", "PRODUCER_RESPONDED", "COMMITMENT_DUE"],
            "producerId": producer,
        }),
    )
    .await;
    receiver.set_secret(created["data"]["createWebhook"]["secret"].as_str().unwrap());

    let campaign = app.create_campaign(&organiser, &producer).await;
    app.publish(&organiser, &campaign).await;
    let acknowledged =
        crate::common::eventually(15, 1, || async { receiver.acknowledged().len() }).await;
    assert_eq!(acknowledged, 1);
    let request = &receiver.acknowledged()[0];
    assert!(request.signature_valid);
    assert_eq!(request.body["type"], "campaign.published");
    assert_eq!(request.body["data"]["campaign"]["id"], campaign);
    assert_eq!(request.body["data"]["campaign"]["producerId"], producer);

    // An answer with a commitment due in two seconds: answered, then due.
    let due = (chrono::Utc::now() + chrono::Duration::seconds(2)).to_rfc3339();
    app.gql_ok(
        Some(&representative),
        "mutation($id: ID!, $due: DateTime) { respondToCampaign(campaignId: $id, input: { body: \"We will.\", commitment: \"Full labels by spring\", dueAt: $due }) { id } }",
        json!({ "id": campaign, "due": due }),
    )
    .await;
    let acknowledged =
        crate::common::eventually(20, 3, || async { receiver.acknowledged().len() }).await;
    assert_eq!(acknowledged, 3, "{:?}", receiver.received());
    let types: Vec<Value> = receiver
        .acknowledged()
        .iter()
        .map(|request| request.body["type"].clone())
        .collect();
    assert_eq!(
        types,
        [
            json!("campaign.published"),
            json!("producer.responded"),
            json!("commitment.due")
        ]
    );
    let due_event = &receiver.acknowledged()[2].body;
    assert_eq!(
        due_event["data"]["response"]["commitment"],
        "Full labels by spring"
    );
    assert_eq!(due_event["data"]["response"]["commitmentStatus"], "PENDING");
}

#[tokio::test]
async fn only_those_responsible_may_register_a_webhook() {
    let app = app(&[]).await;
    let (organiser, campaign) = app.open_campaign("organiser", 100).await;
    let (stranger, _) = app.register("stranger").await;
    let url = "http://127.0.0.1:9/hook";
    let refused = create(
        &app,
        &stranger,
        json!({ "url": url, "events": ["CAMPAIGN_MILESTONE"], "campaignId": campaign }),
    )
    .await;
    assert_eq!(error_code(&refused), "FORBIDDEN", "{refused}");
    let everything = create(
        &app,
        &organiser,
        json!({ "url": url, "events": ["CAMPAIGN_MILESTONE"] }),
    )
    .await;
    assert_eq!(
        error_code(&everything),
        "FORBIDDEN",
        "only admins watch everything"
    );
    let admin = app.admin_token().await;
    let global = create(
        &app,
        &admin,
        json!({ "url": url, "events": ["CAMPAIGN_CLOSED"] }),
    )
    .await;
    assert!(global.get("errors").is_none(), "{global}");

    let two_scopes = create(
        &app,
        &organiser,
        json!({ "url": url, "events": ["CAMPAIGN_MILESTONE"], "campaignId": campaign, "producerId": campaign }),
    )
    .await;
    assert_eq!(error_code(&two_scopes), "BAD_USER_INPUT");
    let no_events = create(
        &app,
        &organiser,
        json!({ "url": url, "events": [], "campaignId": campaign }),
    )
    .await;
    assert_eq!(error_field(&no_events), "input.events");
    let unknown = create(
        &app,
        &organiser,
        json!({ "url": url, "events": ["CAMPAIGN_MILESTONE"], "campaignId": uuid::Uuid::now_v7().to_string() }),
    )
    .await;
    assert_eq!(error_code(&unknown), "NOT_FOUND");
    let bad_event = create(
        &app,
        &organiser,
        json!({ "url": url, "events": ["campaign.milestone"], "campaignId": campaign }),
    )
    .await;
    assert_eq!(
        error_code(&bad_event),
        "GRAPHQL_VALIDATION_FAILED",
        "{bad_event}"
    );
    let anonymous = app
        .gql(None, CREATE, json!({ "input": { "url": url, "events": ["CAMPAIGN_MILESTONE"], "campaignId": campaign } }))
        .await;
    assert_eq!(error_code(&anonymous), "UNAUTHENTICATED");

    // Someone else's webhook is not theirs to see or delete.
    let own = create(
        &app,
        &organiser,
        json!({ "url": url, "events": ["CAMPAIGN_MILESTONE"], "campaignId": campaign }),
    )
    .await;
    let id = own["data"]["createWebhook"]["webhook"]["id"].clone();
    let deleted = app
        .gql(
            Some(&stranger),
            "mutation($id: ID!) { deleteWebhook(id: $id) }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(error_code(&deleted), "NOT_FOUND");
    for mutation in [
        "mutation { deleteWebhook(id: \"not-an-id\") }",
        "mutation { testWebhook(id: \"not-an-id\") { id } }",
        "mutation { rotateWebhookSecret(id: \"not-an-id\") { secret } }",
    ] {
        let malformed = app.gql(Some(&organiser), mutation, json!({})).await;
        assert_eq!(
            error_code(&malformed),
            "BAD_USER_INPUT",
            "{mutation}: {malformed}"
        );
    }
    let listed = app
        .gql_ok(Some(&stranger), "{ webhooks { totalCount } }", json!({}))
        .await;
    assert_eq!(listed["webhooks"]["totalCount"], 0);
    let mine = app
        .gql_ok(
            Some(&organiser),
            "{ webhooks { totalCount edges { node { url } } } }",
            json!({}),
        )
        .await;
    assert_eq!(mine["webhooks"]["totalCount"], 1);
    assert!(
        !mine.to_string().contains("whsec_"),
        "the secret is never shown again"
    );
}

#[tokio::test]
async fn webhooks_to_addresses_inside_the_network_are_refused() {
    // The product's default: no private addresses.
    let app = TestApp::spawn().await;
    let (organiser, campaign) = app.open_campaign("organiser", 100).await;
    for url in [
        "http://127.0.0.1:8080/hook",
        "http://localhost/hook",
        "http://10.0.0.7/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/hook",
        "http://[fd00:ec2::254]/",
        "http://0.0.0.0/",
    ] {
        let refused = create(
            &app,
            &organiser,
            json!({ "url": url, "events": ["CAMPAIGN_MILESTONE"], "campaignId": campaign }),
        )
        .await;
        assert_eq!(error_code(&refused), "BAD_USER_INPUT", "{url}: {refused}");
        assert_eq!(error_field(&refused), "input.url", "{url}");
    }
    for url in [
        "ftp://example.org/hook",
        "not a url",
        "https://user:pass@example.org/",
    ] {
        let refused = create(
            &app,
            &organiser,
            json!({ "url": url, "events": ["CAMPAIGN_MILESTONE"], "campaignId": campaign }),
        )
        .await;
        assert_eq!(error_field(&refused), "input.url", "{url}: {refused}");
    }
}

#[tokio::test]
async fn an_endpoint_that_keeps_failing_is_disabled_and_its_owner_told() {
    let app = app(&["--webhook-max-failures", "3"]).await;
    let receiver = WebhookReceiver::failing().await;
    let (organiser, id, secret) = watch_milestones(&app, &receiver).await;
    let test = app
        .gql_ok(
            Some(&organiser),
            "mutation($id: ID!) { testWebhook(id: $id) { eventType status } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(test["testWebhook"]["eventType"], "webhook.test");

    let mails = app.mails_to("organiser@example.org", 1).await;
    let disabled = mails
        .iter()
        .find(|mail| mail.subject.contains("disabled"))
        .unwrap_or_else(|| panic!("a mail about the disabled webhook: {mails:?}"));
    assert!(disabled.text.contains(&receiver.url()), "{}", disabled.text);
    let state = app
        .gql_ok(
            Some(&organiser),
            "{ webhooks { edges { node { disabledAt consecutiveFailures } } } }",
            json!({}),
        )
        .await;
    let node = &state["webhooks"]["edges"][0]["node"];
    assert!(node["disabledAt"].is_string(), "{node}");
    assert_eq!(node["consecutiveFailures"], 3);
    assert_eq!(receiver.received().len(), 3, "no attempt after disabling");
    let deliveries = crate::common::eventually(10, json!("FAILED"), || async {
        app.gql_ok(
            Some(&organiser),
            "query($id: ID!) { webhookDeliveries(webhookId: $id) { edges { node { status } } } }",
            json!({ "id": id }),
        )
        .await["webhookDeliveries"]["edges"][0]["node"]["status"]
            .clone()
    })
    .await;
    assert_eq!(deliveries, "FAILED");
    let refused = app
        .gql(
            Some(&organiser),
            "mutation($id: ID!) { testWebhook(id: $id) { status } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(error_code(&refused), "CONFLICT");

    // A new secret enables it again, and the old secret no longer signs.
    let rotated = app
        .gql_ok(
            Some(&organiser),
            "mutation($id: ID!) { rotateWebhookSecret(id: $id) { secret webhook { disabledAt } } }",
            json!({ "id": id }),
        )
        .await;
    assert!(rotated["rotateWebhookSecret"]["webhook"]["disabledAt"].is_null());
    assert_ne!(rotated["rotateWebhookSecret"]["secret"], json!(secret));
}

#[tokio::test]
async fn a_webhook_address_is_checked_again_at_every_attempt() {
    // Registered where private addresses are allowed (its worker asleep)...
    let lenient = app(&["--outbox-poll-ms", "600000"]).await;
    let receiver = WebhookReceiver::start(0).await;
    let (organiser, id, _) = watch_milestones(&lenient, &receiver).await;
    // ...and delivered by an instance that does not allow them.
    let strict = lenient
        .spawn_sibling_with(&[
            "--webhook-allow-private",
            "false",
            "--outbox-poll-ms",
            "100",
        ])
        .await;
    strict
        .gql_ok(
            Some(&organiser),
            "mutation($id: ID!) { testWebhook(id: $id) { id } }",
            json!({ "id": id }),
        )
        .await;
    let last_error = crate::common::eventually(10, true, || async {
        strict
            .gql_ok(
                Some(&organiser),
                "query($id: ID!) { webhookDeliveries(webhookId: $id) { edges { node { lastError attempts } } } }",
                json!({ "id": id }),
            )
            .await["webhookDeliveries"]["edges"][0]["node"]["lastError"]
            .as_str()
            .is_some_and(|error| error.contains("non-public address"))
    })
    .await;
    assert!(last_error, "the attempt was refused before any request");
    assert!(
        receiver.received().is_empty(),
        "nothing reached the address"
    );
}

#[tokio::test]
async fn test_events_are_limited_per_member() {
    let app = app(&["--webhook-tests-per-hour", "2"]).await;
    let receiver = WebhookReceiver::start(0).await;
    let (organiser, id, _) = watch_milestones(&app, &receiver).await;
    let test = "mutation($id: ID!) { testWebhook(id: $id) { id } }";
    for _ in 0..2 {
        app.gql_ok(Some(&organiser), test, json!({ "id": id }))
            .await;
    }
    let limited = app.gql(Some(&organiser), test, json!({ "id": id })).await;
    assert_eq!(error_code(&limited), "RATE_LIMITED", "{limited}");
    let received =
        crate::common::eventually(10, 2, || async { receiver.acknowledged().len() }).await;
    assert_eq!(
        received, 2,
        "the two accepted tests arrived, the refused one did not"
    );
}

#[tokio::test]
async fn a_demoted_admins_global_webhook_is_disabled_at_the_next_event_and_its_owner_told() {
    let app = app(&[]).await;
    let receiver = WebhookReceiver::start(0).await;
    let root = app.admin_token().await;
    let (second, second_id) = app.register("second_admin").await;
    let set_role = "mutation($id: ID!, $role: MemberRole!) { setMemberRole(memberId: $id, role: $role) { role } }";
    app.gql_ok(
        Some(&root),
        set_role,
        json!({ "id": second_id, "role": "ADMIN" }),
    )
    .await;
    // No scope: every campaign, which admins alone may watch.
    let created = create(
        &app,
        &second,
        json!({ "url": receiver.url(), "events": ["CAMPAIGN_PUBLISHED"] }),
    )
    .await;
    let webhook = &created["data"]["createWebhook"];
    receiver.set_secret(webhook["secret"].as_str().expect("created"));
    app.open_campaign("first_organiser", 100).await;
    let delivered =
        crate::common::eventually(10, 1, || async { receiver.acknowledged().len() }).await;
    assert_eq!(
        delivered, 1,
        "an admin's webhook hears of the first campaign"
    );

    app.gql_ok(
        Some(&root),
        set_role,
        json!({ "id": second_id, "role": "MEMBER" }),
    )
    .await;
    // Not even a test event, before any campaign event disables it.
    let tested = app
        .gql(
            Some(&second),
            "mutation($id: ID!) { testWebhook(id: $id) { id } }",
            json!({ "id": webhook["webhook"]["id"] }),
        )
        .await;
    assert_eq!(error_code(&tested), "FORBIDDEN", "{tested}");
    app.open_campaign("second_organiser", 100).await;
    let mails = app.mails_to("second_admin@example.org", 1).await;
    assert!(
        mails[0].text.contains("your role changed"),
        "{}",
        mails[0].text
    );
    assert_eq!(receiver.received().len(), 1, "nothing more was sent");
    let listed = app
        .gql_ok(
            Some(&second),
            "{ webhooks { edges { node { disabledAt } } } }",
            json!({}),
        )
        .await;
    assert!(listed["webhooks"]["edges"][0]["node"]["disabledAt"].is_string());
    // Rotating the secret does not enable it for someone who may not watch.
    let rotated = app
        .gql(
            Some(&second),
            "mutation($id: ID!) { rotateWebhookSecret(id: $id) { secret } }",
            json!({ "id": webhook["webhook"]["id"] }),
        )
        .await;
    assert_eq!(error_code(&rotated), "FORBIDDEN");
}

#[tokio::test]
async fn the_invalidation_event_keeps_the_moderators_reason_to_moderators() {
    let app = app(&[]).await;
    let receiver = WebhookReceiver::start(0).await;
    let admin = app.admin_token().await;
    let (organiser, campaign) = app.open_campaign("organiser", 100).await;
    let created = create(
        &app,
        &organiser,
        json!({ "url": receiver.url(), "events": ["SIGNATURES_INVALIDATED"], "campaignId": campaign }),
    )
    .await;
    receiver.set_secret(
        created["data"]["createWebhook"]["secret"]
            .as_str()
            .expect("created"),
    );
    for token in app.register_many("farm", 2).await {
        assert!(app.sign(&token, &campaign).await.get("errors").is_none());
    }
    app.gql_ok(
        Some(&admin),
        "mutation($id: ID!) { invalidateSignatures(campaignId: $id, filter: { emailDomain: \"example.org\" }, reason: \"a private note on the farm\") { count } }",
        json!({ "id": campaign }),
    )
    .await;
    let delivered =
        crate::common::eventually(10, 1, || async { receiver.acknowledged().len() }).await;
    assert_eq!(delivered, 1);
    let body = &receiver.acknowledged()[0].body;
    assert_eq!(body["type"], "signatures.invalidated", "{body}");
    assert_eq!(body["data"]["count"], 2, "{body}");
    assert!(!body.to_string().contains("private note"), "{body}");
}
