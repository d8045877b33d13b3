//! Notifications, black-box: a real SMTP server receives the daily digest
//! of a campaign's news (one mail for a burst of events), its one-click
//! unsubscribe link works without signing in, and a signed-in websocket
//! hears the same events live.

use crate::common::smtp_server::SmtpServer;
use crate::common::ws::Subscription;
use crate::common::{TestApp, error_code, http_client, services_required, test_redis_url};
use serde_json::{Value, json};

const POST_UPDATE: &str = "mutation($id: ID!, $title: String!) { postCampaignUpdate(campaignId: $id, input: { title: $title, body: \"Details inside.\" }) { id } }";
const PREFERENCES: &str =
    "{ notificationPreferences { milestones responses commitments updates newCampaigns } }";

async fn post_update(app: &TestApp, token: &str, campaign: &str, title: &str) {
    app.gql_ok(
        Some(token),
        POST_UPDATE,
        json!({ "id": campaign, "title": title }),
    )
    .await;
}

/// The URL of a mail's `List-Unsubscribe: <…>` header.
fn list_unsubscribe(raw: &str) -> String {
    let start = raw
        .find("List-Unsubscribe: <")
        .unwrap_or_else(|| panic!("no List-Unsubscribe header in {raw}"))
        + "List-Unsubscribe: <".len();
    let end = raw[start..].find('>').expect("a closing >") + start;
    raw[start..end].to_owned()
}

#[tokio::test]
async fn a_burst_of_news_makes_one_digest_and_one_click_stops_them() {
    let Some(smtp) = SmtpServer::start() else {
        return;
    };
    let app = TestApp::spawn_with(&[
        "--smtp-url",
        &smtp.url(),
        "--notify-delay-secs",
        "1",
        "--notify-interval-secs",
        "2",
    ])
    .await;
    let (organiser, campaign) = app.open_campaign("organiser", 1000).await;
    let (signer, _) = app.register("signer").await;
    let (bystander, _) = app.register("bystander").await;
    assert!(app.sign(&signer, &campaign).await.get("errors").is_none());
    assert_eq!(
        app.gql_ok(Some(&bystander), PREFERENCES, json!({})).await["notificationPreferences"],
        json!({ "milestones": true, "responses": true, "commitments": true, "updates": true, "newCampaigns": true })
    );

    post_update(&app, &organiser, &campaign, "First news").await;
    post_update(&app, &organiser, &campaign, "Second news").await;
    let mails = crate::common::mail::wait_for(|| smtp.mails(), "signer@example.org", 1).await;
    let digest = &mails[0];
    assert!(
        digest.subject.contains("Label every allergen"),
        "{}",
        digest.subject
    );
    assert!(
        digest.text.contains("First news") && digest.text.contains("Second news"),
        "both events in one mail: {}",
        digest.text
    );
    assert!(
        digest
            .raw
            .contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click"),
        "{}",
        digest.raw
    );

    // Later news makes a later digest, with only what is new.
    post_update(&app, &organiser, &campaign, "Third news").await;
    let mails = crate::common::mail::wait_for(|| smtp.mails(), "signer@example.org", 2).await;
    let later = mails
        .iter()
        .find(|mail| mail.text.contains("Third news"))
        .expect("the third news");
    assert!(!later.text.contains("First news"), "{}", later.text);
    assert!(
        smtp.mails()
            .iter()
            .all(|mail| mail.to != "bystander@example.org"),
        "a member who did not sign hears nothing"
    );

    // A GET shows the button and changes nothing (link scanners).
    let url = list_unsubscribe(&digest.raw);
    let page = http_client().get(&url).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("<form method=\"post\""));
    assert_eq!(
        app.gql_ok(Some(&signer), PREFERENCES, json!({})).await["notificationPreferences"]["updates"],
        true
    );
    // The one-click POST a mail client sends (RFC 8058), without a token.
    let clicked = http_client()
        .post(&url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .unwrap();
    assert_eq!(clicked.status(), 200);
    assert_eq!(
        app.gql_ok(Some(&signer), PREFERENCES, json!({})).await["notificationPreferences"],
        json!({ "milestones": false, "responses": false, "commitments": false, "updates": false, "newCampaigns": false })
    );
    // A forged token does nothing.
    let forged = url.replace("token=", "token=0");
    let refused = http_client()
        .post(&forged)
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 400);

    let turned_on = app
        .gql_ok(
            Some(&signer),
            "mutation { updateNotificationPreferences(input: { updates: true }) { updates milestones } }",
            json!({}),
        )
        .await;
    assert_eq!(
        turned_on["updateNotificationPreferences"],
        json!({ "updates": true, "milestones": false })
    );
    let anonymous = app.gql(None, PREFERENCES, json!({})).await;
    assert_eq!(error_code(&anonymous), "UNAUTHENTICATED");
}

const MY_NOTIFICATIONS: &str = "subscription { myNotifications { event campaignId data } }";

#[tokio::test]
async fn signed_in_subscribers_hear_the_events_of_what_they_signed() {
    let app = TestApp::spawn().await;
    let (organiser, first) = app.open_campaign("organiser", 1000).await;
    let (other_organiser, second) = app.open_campaign("other", 1000).await;
    let (signer, _) = app.register("signer").await;
    let (watcher, _) = app.register("watcher").await;
    assert!(app.sign(&signer, &first).await.get("errors").is_none());
    assert!(app.sign(&watcher, &second).await.get("errors").is_none());

    let mut signer_stream =
        Subscription::start_as(app.addr, Some(&signer), MY_NOTIFICATIONS, json!({})).await;
    let mut watcher_stream =
        Subscription::start_as(app.addr, Some(&watcher), MY_NOTIFICATIONS, json!({})).await;
    // Let both subscriptions register before anything happens.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;

    post_update(&app, &organiser, &first, "News of the first").await;
    post_update(&app, &other_organiser, &second, "News of the second").await;

    let heard = signer_stream.next_data(10).await;
    let notification = &heard["myNotifications"];
    assert_eq!(notification["event"], "CAMPAIGN_UPDATE_POSTED");
    assert_eq!(notification["campaignId"], first);
    assert_eq!(notification["data"]["update"]["title"], "News of the first");
    assert_eq!(notification["data"]["campaign"]["id"], first);
    // The watcher signed only the second: the first's news passed them by.
    let heard = watcher_stream.next_data(10).await;
    assert_eq!(heard["myNotifications"]["campaignId"], second, "{heard}");
}

#[tokio::test]
async fn a_subscription_needs_a_valid_token_in_connection_init() {
    let app = TestApp::spawn().await;
    let refused =
        Subscription::connect(app.addr, json!({ "authorization": "Bearer not-a-token" })).await;
    assert!(refused.is_err(), "a bad token is refused at connection");

    let mut anonymous = Subscription::start_as(app.addr, None, MY_NOTIFICATIONS, json!({})).await;
    let answer: Value = anonymous.next_message(5).await.expect("an answer");
    assert_eq!(
        answer["payload"]["errors"][0]["extensions"]["code"], "UNAUTHENTICATED",
        "{answer}"
    );
}

#[tokio::test]
async fn the_organiser_watches_pending_signatures_live_and_the_public_does_not() {
    let app = TestApp::spawn_with(&["--email-confirmation", "required"]).await;
    // Organisers publish with a confirmed address: this one follows the link.
    let (organiser, _) = app.register("organiser").await;
    let mails = app.mails_to("organiser@example.org", 1).await;
    let (_, token) = mails[0].link("/confirm-email");
    app.gql_ok(
        None,
        "mutation($token: String!) { confirmEmail(token: $token) { handle } }",
        json!({ "token": token }),
    )
    .await;
    let producer = app.create_producer(&organiser, "Acme").await;
    let campaign = app.create_campaign(&organiser, &producer).await;
    app.publish(&organiser, &campaign).await;
    let (unconfirmed, _) = app.register("unconfirmed").await;
    assert!(
        app.sign(&unconfirmed, &campaign)
            .await
            .get("errors")
            .is_none()
    );

    const COUNTERS: &str = "subscription($id: ID!) { campaignCounters(campaignId: $id) { signatures pendingSignatures offlineSignatures total } }";
    let mut organiser_view = Subscription::start_as(
        app.addr,
        Some(&organiser),
        COUNTERS,
        json!({ "id": campaign }),
    )
    .await;
    assert_eq!(
        organiser_view.next_data(5).await["campaignCounters"],
        json!({ "signatures": 0, "pendingSignatures": 1, "offlineSignatures": 0, "total": 0 })
    );
    let mut public_view =
        Subscription::start_as(app.addr, None, COUNTERS, json!({ "id": campaign })).await;
    assert_eq!(
        public_view.next_data(5).await["campaignCounters"]["pendingSignatures"],
        Value::Null
    );
}

#[tokio::test]
async fn a_subscriber_on_one_instance_hears_an_event_fanned_out_on_another() {
    if test_redis_url().is_none() {
        assert!(
            !services_required(),
            "CONSUMACT_REQUIRE_SERVICES is set but TEST_REDIS_URL is not"
        );
        eprintln!("TEST_REDIS_URL not set: two instances cannot share events; skipping");
        return;
    }
    // The first instance's worker sleeps: the second fans the event out.
    let asleep = TestApp::spawn_with(&["--outbox-poll-ms", "600000"]).await;
    let awake = asleep
        .spawn_sibling_with(&["--outbox-poll-ms", "100"])
        .await;
    let (organiser, campaign) = awake.open_campaign("organiser", 1000).await;
    let (signer, _) = awake.register("signer").await;
    assert!(awake.sign(&signer, &campaign).await.get("errors").is_none());
    let mut stream =
        Subscription::start_as(asleep.addr, Some(&signer), MY_NOTIFICATIONS, json!({})).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    post_update(&awake, &organiser, &campaign, "Heard everywhere").await;
    let heard = stream.next_data(10).await;
    assert_eq!(
        heard["myNotifications"]["data"]["update"]["title"],
        "Heard everywhere"
    );
}
