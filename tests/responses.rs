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
    let withdrawn = state(&app, &campaign).await;
    assert_eq!(withdrawn["responseState"], "NOT_REQUESTED", "{withdrawn}");
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
}

#[tokio::test]
async fn overdue_then_extended_once_then_voided_by_a_moderator() {
    // Due at once: the request is overdue as soon as it is made.
    let app = TestApp::spawn_with(&app_args("2", "0")).await;
    let admin = app.admin_token().await;
    let (organiser, campaign) = app.open_campaign("organiser", 1000).await;
    let producer = state(&app, &campaign).await["producer"]["id"]
        .as_str()
        .unwrap()
        .to_owned();

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
