//! Producers must answer: a campaign whose count reaches its response
//! threshold requests an answer by a due date, once even when signers cross
//! it together; invalidations below the threshold withdraw the request
//! before an answer and not after; a representative asks once for more
//! time; moderators void a request; accountability counts it all.

use futures::future::join_all;
use serde_json::{Value, json};

use crate::common::{ADMIN_ARGS, TestApp, error_code, error_field};

const STATE: &str = "query($id: ID!) { campaign(id: $id) {
  responseThreshold responseState responseRequestedAt responseDueAt answeredAt unreached
  responseVoidedAt responseExtension { reason extendedAt originalDueAt }
  producer { id accountability { requested answered answeredOnTime overdue medianDaysToAnswer longestSilenceDays } }
} }";
const INVALIDATE: &str = "mutation($id: ID!, $members: [ID!]!) {
  invalidateSignatures(campaignId: $id, filter: { memberIds: $members }, reason: \"scripted accounts\") { count }
}";
const RESPOND: &str = "mutation($id: ID!) { respondToCampaign(campaignId: $id, input: { body: \"We hear you.\" }) { id } }";
const EXTEND: &str = "mutation($id: ID!, $reason: String!) {
  requestResponseExtension(campaignId: $id, reason: $reason) { responseState responseDueAt responseExtension { reason originalDueAt } }
}";
const VOID: &str = "mutation($id: ID!) {
  voidResponseRequest(campaignId: $id, reason: \"a farm of accounts\") { responseState responseVoidedAt }
}";

async fn state(app: &TestApp, campaign: &str) -> Value {
    app.gql_ok(None, STATE, json!({ "id": campaign })).await["campaign"].clone()
}

/// The id of the producer `campaign` aims at.
async fn producer_of(app: &TestApp, campaign: &str) -> String {
    state(app, campaign).await["producer"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// `count` new members sign `campaign` at once; their member ids.
async fn sign_together(app: &TestApp, prefix: &str, count: usize, campaign: &str) -> Vec<String> {
    let mut members = Vec::new();
    for i in 0..count {
        members.push(app.register(&format!("{prefix}{i}")).await);
    }
    let signed = join_all(members.iter().map(|(token, _)| app.sign(token, campaign))).await;
    for body in signed {
        assert!(body["errors"].is_null(), "{body}");
    }
    members.into_iter().map(|(_, id)| id).collect()
}

fn app_args(threshold: &str, days: &str) -> Vec<&'static str> {
    let mut args: Vec<&'static str> = ADMIN_ARGS.to_vec();
    args.extend([
        "--response-threshold",
        Box::leak(threshold.to_owned().into_boxed_str()),
        "--response-threshold-min",
        "2",
        "--response-days",
        Box::leak(days.to_owned().into_boxed_str()),
    ]);
    args
}

#[tokio::test]
async fn crossing_requests_once_and_invalidation_withdraws_only_before_an_answer() {
    let app = TestApp::spawn_with(&app_args("3", "30")).await;
    let admin = app.admin_token().await;
    let (_organiser, campaign) = app.open_campaign("organiser", 1000).await;
    let before = state(&app, &campaign).await;
    assert_eq!(before["responseThreshold"], 3);
    assert_eq!(before["responseState"], "NOT_REQUESTED");
    let producer = before["producer"]["id"].as_str().unwrap().to_owned();
    let rep = app.representative(&admin, &producer, "rep").await;

    // Five signers cross the threshold together: one request, one mail.
    let first = sign_together(&app, "crowd", 5, &campaign).await;
    let requested = state(&app, &campaign).await;
    assert_eq!(requested["responseState"], "REQUESTED", "{requested}");
    assert!(requested["responseRequestedAt"].is_string());
    let due: chrono::DateTime<chrono::Utc> = requested["responseDueAt"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let days = (due - chrono::Utc::now()).num_hours() as f64 / 24.0;
    assert!((29.9..=30.1).contains(&days), "{days}");
    assert_eq!(requested["unreached"], false);
    let mails = app.mails_to("rep@example.org", 1).await;
    let asked: Vec<_> = mails
        .iter()
        .filter(|mail| mail.subject.contains("asked to answer"))
        .collect();
    assert_eq!(
        asked.len(),
        1,
        "{:?}",
        mails.iter().map(|m| &m.subject).collect::<Vec<_>>()
    );
    assert!(asked[0].text.contains(&due.format("%Y-%m-%d").to_string()));

    // Invalidations bring the count back under: the request is withdrawn.
    let struck = app
        .gql_ok(
            Some(&admin),
            INVALIDATE,
            json!({ "id": campaign, "members": first[..3] }),
        )
        .await;
    assert_eq!(struck["invalidateSignatures"]["count"], 3);
    let withdrawn = app
        .gql_ok(
            None,
            "query($id: ID!) { campaign(id: $id) { responseState responseRequestedAt responseWithdrawnAt producer { accountability { requested } } } }",
            json!({ "id": campaign }),
        )
        .await["campaign"]
        .clone();
    assert_eq!(withdrawn["responseState"], "NOT_REQUESTED", "{withdrawn}");
    assert!(withdrawn["responseWithdrawnAt"].is_string(), "{withdrawn}");
    assert!(withdrawn["responseRequestedAt"].is_null());
    assert_eq!(withdrawn["producer"]["accountability"]["requested"], 0);

    // Reaching it again requests anew (a second mail).
    sign_together(&app, "again", 2, &campaign).await;
    assert_eq!(state(&app, &campaign).await["responseState"], "REQUESTED");
    app.mails_to("rep@example.org", 2).await;

    // Answered: an invalidation afterwards withdraws nothing.
    app.gql_ok(Some(&rep), RESPOND, json!({ "id": campaign }))
        .await;
    let answered = state(&app, &campaign).await;
    assert_eq!(answered["responseState"], "ANSWERED");
    assert!(answered["answeredAt"].is_string());
    app.gql_ok(
        Some(&admin),
        INVALIDATE,
        json!({ "id": campaign, "members": first[3..] }),
    )
    .await;
    let after = state(&app, &campaign).await;
    assert_eq!(after["responseState"], "ANSWERED");
    assert!(after["responseRequestedAt"].is_string());
    let accountability = &after["producer"]["accountability"];
    assert_eq!(accountability["requested"], 1, "{accountability}");
    assert_eq!(accountability["answered"], 1);
    assert_eq!(accountability["answeredOnTime"], 1);
    assert_eq!(accountability["overdue"], 0);
    assert!(accountability["medianDaysToAnswer"].as_f64().unwrap() < 0.01);
    assert_eq!(*accountability, from_rows(&app, &producer).await);
}

/// A producer's accountability counted from the rows: its requests in
/// force and each campaign's first answer.
async fn from_rows(app: &TestApp, producer: &str) -> Value {
    use sea_orm::{ConnectionTrait, Statement};
    let db = sea_orm::Database::connect(&app.database_url).await.unwrap();
    let backend = db.get_database_backend();
    let mark = if backend == sea_orm::DbBackend::Postgres {
        "$1"
    } else {
        "?"
    };
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(
            backend,
            format!(
                "SELECT rr.requested_at, rr.due_at, (SELECT MIN(r.created_at) FROM producer_response r \
                 WHERE r.campaign_id = rr.campaign_id) FROM response_request rr \
                 WHERE rr.producer_id = {mark} AND rr.withdrawn_at IS NULL AND rr.voided_at IS NULL"
            ),
            [uuid::Uuid::parse_str(producer).unwrap().into()],
        ))
        .await
        .unwrap();
    type At = chrono::DateTime<chrono::Utc>;
    let now = chrono::Utc::now();
    let (mut answered, mut on_time, mut overdue) = (0, 0, 0);
    let mut waits = Vec::new();
    for row in &rows {
        let requested: At = row.try_get_by_index(0).unwrap();
        let due: At = row.try_get_by_index(1).unwrap();
        let first: Option<At> = row.try_get_by_index(2).unwrap();
        match first {
            Some(at) => {
                answered += 1;
                on_time += i64::from(at <= due);
                waits.push((at - requested).num_seconds() as f64 / 86_400.0);
            }
            None => overdue += i64::from(now > due),
        }
    }
    waits.sort_by(f64::total_cmp);
    let median = match waits.len() {
        0 => Value::Null,
        n if n % 2 == 1 => json!(waits[n / 2]),
        n => json!((waits[n / 2 - 1] + waits[n / 2]) / 2.0),
    };
    json!({
        "requested": rows.len(),
        "answered": answered,
        "answeredOnTime": on_time,
        "overdue": overdue,
        "medianDaysToAnswer": median,
        "longestSilenceDays": waits.last().copied(),
    })
}

#[tokio::test]
async fn overdue_then_extended_once_then_voided_by_a_moderator() {
    // Due at once: the request is overdue as soon as it is made.
    let app = TestApp::spawn_with(&app_args("2", "0")).await;
    let admin = app.admin_token().await;
    let (organiser, campaign) = app.open_campaign("organiser", 1000).await;
    let producer = producer_of(&app, &campaign).await;

    // Nobody represents the producer yet: the request waits, unreached.
    sign_together(&app, "crowd", 2, &campaign).await;
    let overdue = state(&app, &campaign).await;
    assert_eq!(overdue["responseState"], "OVERDUE", "{overdue}");
    assert_eq!(overdue["unreached"], true);
    assert_eq!(overdue["producer"]["accountability"]["overdue"], 1);

    // Only a representative asks for time, once, with a reason.
    let extend = |token: String, reason: &'static str| {
        let (app, campaign) = (&app, campaign.clone());
        async move {
            app.gql(
                Some(&token),
                EXTEND,
                json!({ "id": campaign, "reason": reason }),
            )
            .await
        }
    };
    let refused = extend(organiser.clone(), "We need to ask our suppliers.").await;
    assert_eq!(error_code(&refused), "FORBIDDEN");
    let rep = app.representative(&admin, &producer, "rep").await;
    assert_eq!(state(&app, &campaign).await["unreached"], false);
    let short = extend(rep.clone(), "soon").await;
    assert_eq!(error_code(&short), "BAD_USER_INPUT");
    assert_eq!(error_field(&short), "reason");
    let unknown = app
        .gql(
            Some(&rep),
            EXTEND,
            json!({ "id": "00000000-0000-7000-8000-000000000000", "reason": "We need to ask our suppliers." }),
        )
        .await;
    assert_eq!(error_code(&unknown), "NOT_FOUND");
    let extended = extend(rep.clone(), "We need to ask our suppliers.").await;
    assert!(extended["errors"].is_null(), "{extended}");
    let extended = &extended["data"]["requestResponseExtension"];
    assert_eq!(extended["responseState"], "REQUESTED");
    assert_eq!(
        extended["responseExtension"]["reason"],
        "We need to ask our suppliers."
    );
    let due: chrono::DateTime<chrono::Utc> =
        extended["responseDueAt"].as_str().unwrap().parse().unwrap();
    let original: chrono::DateTime<chrono::Utc> = extended["responseExtension"]["originalDueAt"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!((due - original).num_days(), 14);
    let again = extend(rep.clone(), "And a little more, please.").await;
    assert_eq!(error_code(&again), "CONFLICT");

    // Moderators void it; the organiser may not.
    let organisers = app
        .gql(Some(&organiser), VOID, json!({ "id": campaign }))
        .await;
    assert_eq!(error_code(&organisers), "FORBIDDEN");
    let voided = app
        .gql_ok(Some(&admin), VOID, json!({ "id": campaign }))
        .await;
    assert_eq!(
        voided["voidResponseRequest"]["responseState"],
        "NOT_REQUESTED"
    );
    assert!(voided["voidResponseRequest"]["responseVoidedAt"].is_string());
    let twice = app.gql(Some(&admin), VOID, json!({ "id": campaign })).await;
    assert_eq!(error_code(&twice), "CONFLICT");
    assert_eq!(
        state(&app, &campaign).await["producer"]["accountability"]["requested"],
        0
    );
}

#[tokio::test]
async fn an_organiser_sets_a_threshold_no_lower_than_the_minimum() {
    let app = TestApp::spawn_with(&app_args("3", "30")).await;
    let (organiser, campaign) = app.open_campaign("organiser", 1000).await;
    let set = |value: i64| {
        let (app, organiser, campaign) = (&app, organiser.clone(), campaign.clone());
        async move {
            app.gql(
                Some(&organiser),
                "mutation($id: ID!, $t: Int) { updateCampaign(id: $id, input: { responseThreshold: $t }) { responseThreshold } }",
                json!({ "id": campaign, "t": value }),
            )
            .await
        }
    };
    let low = set(1).await;
    assert_eq!(error_code(&low), "BAD_USER_INPUT");
    assert_eq!(error_field(&low), "input.responseThreshold");
    let raised = set(4).await;
    assert_eq!(
        raised["data"]["updateCampaign"]["responseThreshold"], 4,
        "{raised}"
    );
    sign_together(&app, "crowd", 3, &campaign).await;
    assert_eq!(
        state(&app, &campaign).await["responseState"],
        "NOT_REQUESTED"
    );
    sign_together(&app, "more", 1, &campaign).await;
    assert_eq!(state(&app, &campaign).await["responseState"], "REQUESTED");
    let moved = set(10).await;
    assert_eq!(error_code(&moved), "CONFLICT");
}

#[tokio::test]
async fn two_instances_signing_together_request_once() {
    let a = TestApp::spawn_with(&app_args("4", "30")).await;
    let b = a.spawn_sibling().await;
    let admin = a.admin_token().await;
    let (_organiser, campaign) = a.open_campaign("organiser", 1000).await;
    let producer = producer_of(&a, &campaign).await;
    a.representative(&admin, &producer, "rep").await;
    let mut signers = Vec::new();
    for i in 0..8 {
        signers.push(a.register(&format!("signer{i}")).await.0);
    }
    // Half on each instance, all at once.
    let signed = join_all(signers.iter().enumerate().map(|(i, token)| {
        let (app, campaign) = (if i % 2 == 0 { &a } else { &b }, campaign.clone());
        async move { app.sign(token, &campaign).await }
    }))
    .await;
    assert!(
        signed.iter().all(|body| body["errors"].is_null()),
        "{signed:?}"
    );
    assert_eq!(state(&b, &campaign).await["responseState"], "REQUESTED");
    app_mails_settle().await;
    let asked = a
        .mail_files()
        .into_iter()
        .filter(|mail| mail.to == "rep@example.org" && mail.subject.contains("asked to answer"))
        .count();
    assert_eq!(asked, 1);
}

/// Long enough for a second, wrongly queued mail to be written.
async fn app_mails_settle() {
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
}

#[tokio::test]
async fn campaigns_filter_and_order_by_where_they_stand_with_their_answer() {
    let app = TestApp::spawn_with(&app_args("2", "30")).await;
    let admin = app.admin_token().await;
    let (_, waiting) = app.open_campaign("waiting", 1000).await;
    let (_, quiet) = app.open_campaign("quiet", 1000).await;
    let (_, answered) = app.open_campaign("answered", 1000).await;
    sign_together(&app, "waits", 2, &waiting).await;
    sign_together(&app, "answers", 2, &answered).await;
    let producer = state(&app, &answered).await["producer"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let rep = app.representative(&admin, &producer, "rep").await;
    app.gql_ok(Some(&rep), RESPOND, json!({ "id": answered }))
        .await;

    let list = |filter: Value, order: &'static str| {
        let app = &app;
        async move {
            let data = app
                .gql_ok(
                    None,
                    "query($filter: CampaignFilter, $order: CampaignOrder) { campaigns(filter: $filter, orderBy: $order) { edges { node { id responseState } } } }",
                    json!({ "filter": filter, "order": order }),
                )
                .await;
            data["campaigns"]["edges"]
                .as_array()
                .unwrap()
                .iter()
                .map(|edge| edge["node"]["id"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        list(json!({ "responseState": "REQUESTED" }), "NEWEST").await,
        vec![waiting.clone()]
    );
    assert_eq!(
        list(json!({ "responseState": "NOT_REQUESTED" }), "NEWEST").await,
        vec![quiet.clone()]
    );
    assert_eq!(
        list(json!({ "responseState": "ANSWERED" }), "NEWEST").await,
        vec![answered.clone()]
    );
    assert!(
        list(
            json!({ "responseState": ["OVERDUE", "ANSWERED_LATE"] }),
            "NEWEST"
        )
        .await
        .is_empty()
    );
    assert_eq!(list(json!({}), "RESPONSE_DUE").await, vec![waiting.clone()]);
    let wrong = app
        .gql(
            None,
            "{ campaigns(filter: { responseState: LATE }) { totalCount } }",
            json!({}),
        )
        .await;
    assert!(!wrong["errors"].is_null(), "{wrong}");
}

#[tokio::test]
async fn overdue_reaches_webhooks_digests_and_the_observatory() {
    let receiver = crate::common::webhook_receiver::WebhookReceiver::start(0).await;
    let mut args = app_args("2", "0");
    args.extend([
        "--reconcile-secs",
        "1",
        "--webhook-allow-private",
        "true",
        "--webhook-retry-base-ms",
        "100",
        "--notify-delay-secs",
        "1",
        "--notify-interval-secs",
        "2",
        "--observatory-k",
        "2",
    ]);
    let app = TestApp::spawn_with(&args).await;
    let admin = app.admin_token().await;
    let (_organiser, campaign) = app.open_campaign("organiser", 1000).await;
    let producer = producer_of(&app, &campaign).await;
    let rep = app.representative(&admin, &producer, "rep").await;
    let created = app
        .gql_ok(
            Some(&rep),
            "mutation($input: CreateWebhookInput!) { createWebhook(input: $input) { secret } }",
            json!({ "input": {
                "url": receiver.url(),
                "events": ["CAMPAIGN_RESPONSE_REQUESTED", "CAMPAIGN_RESPONSE_OVERDUE"],
                "producerId": producer,
            }}),
        )
        .await;
    receiver.set_secret(created["createWebhook"]["secret"].as_str().unwrap());

    sign_together(&app, "crowd", 2, &campaign).await;
    let heard = crate::common::eventually(20, 2, || async { receiver.acknowledged().len() }).await;
    assert_eq!(heard, 2, "{:?}", receiver.received());
    let events: Vec<Value> = receiver
        .acknowledged()
        .iter()
        .map(|request| request.body["type"].clone())
        .collect();
    assert_eq!(
        events,
        [
            json!("campaign.response_requested"),
            json!("campaign.response_overdue")
        ]
    );
    let requested = &receiver.acknowledged()[0].body["data"]["responseRequest"];
    assert_eq!(requested["threshold"], 2);
    assert_eq!(requested["producerId"], producer);

    // A signer who wants news of answers hears of both in a digest.
    let digest = crate::common::eventually(20, true, || async {
        app.mail_files().iter().any(|mail| {
            mail.to == "crowd0@example.org"
                && mail.text.contains("asked to answer")
                && mail.text.contains("did not answer")
        })
    })
    .await;
    assert!(
        digest,
        "{:?}",
        app.mail_files()
            .iter()
            .map(|m| (&m.to, &m.text))
            .collect::<Vec<_>>()
    );

    // The observatory counts the request and its lateness.
    let picture = app
        .gql_ok(
            Some(&admin),
            "query($id: ID!) { observatory { producer(id: $id) { suppressed metrics { responses { requested answeredOnTime overdue onTimeRate overdueRate } } } } }",
            json!({ "id": producer }),
        )
        .await;
    let responses = &picture["observatory"]["producer"]["metrics"]["responses"];
    assert_eq!(
        *responses,
        json!({ "requested": 1, "answeredOnTime": 0, "overdue": 1, "onTimeRate": 0.0, "overdueRate": 1.0 }),
        "{picture}"
    );
}

#[tokio::test]
async fn representatives_are_reminded_before_the_due_date() {
    let mut args = app_args("2", "1");
    args.extend(["--response-reminder-days", "1", "--reconcile-secs", "1"]);
    let app = TestApp::spawn_with(&args).await;
    let admin = app.admin_token().await;
    let (_organiser, campaign) = app.open_campaign("organiser", 1000).await;
    let producer = producer_of(&app, &campaign).await;
    app.representative(&admin, &producer, "rep").await;
    sign_together(&app, "crowd", 2, &campaign).await;
    let mails = app.mails_to("rep@example.org", 2).await;
    let subjects: Vec<&str> = mails.iter().map(|mail| mail.subject.as_str()).collect();
    assert_eq!(
        subjects
            .iter()
            .filter(|s| s.starts_with("Reminder"))
            .count(),
        1,
        "{subjects:?}"
    );
    app_mails_settle().await;
    assert_eq!(
        app.mail_files()
            .iter()
            .filter(|mail| mail.to == "rep@example.org")
            .count(),
        2
    );
}

#[tokio::test]
async fn an_answer_to_a_hidden_campaign_still_counts() {
    let app = TestApp::spawn_with(&app_args("2", "30")).await;
    let admin = app.admin_token().await;
    let (_organiser, campaign) = app.open_campaign("organiser", 1000).await;
    let producer = producer_of(&app, &campaign).await;
    let rep = app.representative(&admin, &producer, "rep").await;
    let outsider = app
        .representative(
            &admin,
            &app.create_producer(&admin, "Other").await,
            "outsider",
        )
        .await;
    sign_together(&app, "crowd", 2, &campaign).await;
    app.gql_ok(
        Some(&admin),
        "mutation($id: ID!) { hideContent(kind: CAMPAIGN, id: $id, reason: \"misleading title\") }",
        json!({ "id": campaign }),
    )
    .await;
    // Another producer's representative still finds nothing there.
    let elsewhere = app
        .gql(Some(&outsider), RESPOND, json!({ "id": campaign }))
        .await;
    assert_eq!(error_code(&elsewhere), "NOT_FOUND");
    app.gql_ok(Some(&rep), RESPOND, json!({ "id": campaign }))
        .await;
    let seen = app
        .gql_ok(Some(&admin), STATE, json!({ "id": campaign }))
        .await["campaign"]
        .clone();
    assert_eq!(seen["responseState"], "ANSWERED", "{seen}");
    let accountability = &seen["producer"]["accountability"];
    assert_eq!(
        (
            accountability["requested"].clone(),
            accountability["answered"].clone()
        ),
        (json!(1), json!(1))
    );
}

#[tokio::test]
async fn an_answer_after_the_due_date_is_answered_late() {
    let app = TestApp::spawn_with(&app_args("2", "0")).await;
    let admin = app.admin_token().await;
    let (_organiser, campaign) = app.open_campaign("organiser", 1000).await;
    let producer = producer_of(&app, &campaign).await;
    let rep = app.representative(&admin, &producer, "rep").await;
    assert_eq!(
        state(&app, &campaign).await["responseState"],
        "NOT_REQUESTED"
    );
    sign_together(&app, "crowd", 2, &campaign).await;
    assert_eq!(state(&app, &campaign).await["responseState"], "OVERDUE");
    app.gql_ok(Some(&rep), RESPOND, json!({ "id": campaign }))
        .await;
    let late = state(&app, &campaign).await;
    assert_eq!(late["responseState"], "ANSWERED_LATE", "{late}");
    let accountability = &late["producer"]["accountability"];
    assert_eq!(
        (
            accountability["requested"].clone(),
            accountability["answered"].clone(),
            accountability["answeredOnTime"].clone(),
            accountability["overdue"].clone()
        ),
        (json!(1), json!(1), json!(0), json!(0))
    );
    let listed = app
        .gql_ok(
            None,
            "{ campaigns(filter: { responseState: ANSWERED_LATE }) { edges { node { id } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        listed["campaigns"]["edges"][0]["node"]["id"],
        campaign.as_str()
    );
}
