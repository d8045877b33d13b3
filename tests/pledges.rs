//! Pledges: unconditional and conditional ones, their activation at the
//! threshold under concurrency, expiry, withdrawal and privacy.

use crate::common::{TestApp, error_code, error_field};
use serde_json::{Value, json};

const PLEDGE: &str = "mutation($id: ID!, $input: PledgeInput!) {
  pledge(campaignId: $id, input: $input) { id status kind monthlyAmountCents activationThreshold activatedAt }
}";
const WITHDRAW: &str = "mutation($id: ID!) { withdrawPledge(pledgeId: $id) { status closedAt } }";
const KEPT: &str = "mutation($id: ID!) { markPledgeKept(pledgeId: $id) { status } }";
const TOTALS: &str = "query($id: ID!) {
  campaign(id: $id) {
    counters { pledges activePledges }
    pledgeTotals { pledgers active monthlyAmountCents }
  }
}";

async fn pledge(app: &TestApp, token: &str, campaign: &str, input: Value) -> Value {
    app.gql(
        Some(token),
        PLEDGE,
        json!({ "id": campaign, "input": input }),
    )
    .await
}

async fn totals(app: &TestApp, campaign: &str) -> Value {
    app.gql_ok(None, TOTALS, json!({ "id": campaign })).await["campaign"].clone()
}

#[tokio::test]
async fn an_unconditional_pledge_is_active_at_once() {
    let app = TestApp::spawn().await;
    let (_, campaign) = app.open_campaign("buycott", 1000).await;
    let (member, _) = app.register("buyer").await;
    let body = pledge(
        &app,
        &member,
        &campaign,
        json!({ "kind": "BUY", "monthlyAmountCents": 2500 }),
    )
    .await;
    let created = &body["data"]["pledge"];
    assert_eq!(created["status"], "ACTIVE", "{body}");
    assert!(created["activatedAt"].is_string());
    let now = totals(&app, &campaign).await;
    assert_eq!(now["counters"], json!({ "pledges": 1, "activePledges": 1 }));
    // One pledger: the amount would be theirs, so it shows only once k
    // (10 by default) pledges sum into it.
    assert_eq!(
        now["pledgeTotals"],
        json!({ "pledgers": 1, "active": 1, "monthlyAmountCents": null })
    );

    let again = pledge(&app, &member, &campaign, json!({ "kind": "AVOID" })).await;
    assert_eq!(error_code(&again), "CONFLICT");

    let id = created["id"].clone();
    let kept = app.gql_ok(Some(&member), KEPT, json!({ "id": id })).await;
    assert_eq!(kept["markPledgeKept"]["status"], "KEPT");
    let now = totals(&app, &campaign).await;
    assert_eq!(now["counters"], json!({ "pledges": 1, "activePledges": 0 }));
    let withdraw_kept = app.gql(Some(&member), WITHDRAW, json!({ "id": id })).await;
    assert_eq!(error_code(&withdraw_kept), "CONFLICT");
}

#[tokio::test]
async fn withdrawn_pledges_can_be_renewed() {
    let app = TestApp::spawn().await;
    let (_, campaign) = app.open_campaign("switcher", 1000).await;
    let (member, _) = app.register("hesitant").await;
    let first = pledge(&app, &member, &campaign, json!({ "kind": "SWITCH" })).await;
    let id = first["data"]["pledge"]["id"].clone();
    let withdrawn = app
        .gql_ok(Some(&member), WITHDRAW, json!({ "id": id }))
        .await;
    assert_eq!(withdrawn["withdrawPledge"]["status"], "WITHDRAWN");
    assert_eq!(
        totals(&app, &campaign).await["counters"],
        json!({ "pledges": 0, "activePledges": 0 })
    );
    let twice = app.gql(Some(&member), WITHDRAW, json!({ "id": id })).await;
    assert_eq!(error_code(&twice), "CONFLICT");

    let renewed = pledge(&app, &member, &campaign, json!({ "kind": "REDUCE" })).await;
    assert_eq!(renewed["data"]["pledge"]["kind"], "REDUCE", "{renewed}");
    assert_eq!(renewed["data"]["pledge"]["id"], id);
    assert_eq!(
        totals(&app, &campaign).await["counters"],
        json!({ "pledges": 1, "activePledges": 1 })
    );
}

#[tokio::test]
async fn conditional_pledges_activate_exactly_at_their_threshold_under_concurrency() {
    let app = TestApp::spawn().await;
    let (_, campaign) = app.open_campaign("conditional", 1000).await;
    let members = app.register_many("if_others", 40).await;
    // 30 pledge "if 25 others do", 10 "if 50 do" (never met here).
    let results = futures::future::join_all(members.iter().enumerate().map(|(i, token)| {
        let threshold = if i < 30 { 25 } else { 50 };
        pledge(
            &app,
            token,
            &campaign,
            json!({ "kind": "AVOID", "activationThreshold": threshold }),
        )
    }))
    .await;
    assert!(
        results.iter().all(|body| body.get("errors").is_none()),
        "{results:?}"
    );

    let mut statuses = Vec::new();
    for token in &members {
        let mine = app
            .gql_ok(Some(token), "query($id: ID!) { campaign(id: $id) { viewerPledge { status activationThreshold } } }", json!({ "id": campaign }))
            .await;
        statuses.push(mine["campaign"]["viewerPledge"].clone());
    }
    let active = statuses.iter().filter(|p| p["status"] == "ACTIVE").count();
    let pending = statuses.iter().filter(|p| p["status"] == "PENDING").count();
    assert_eq!(active, 30);
    assert_eq!(pending, 10);
    assert!(
        statuses
            .iter()
            .filter(|p| p["status"] == "PENDING")
            .all(|p| p["activationThreshold"] == 50)
    );
    let now = totals(&app, &campaign).await;
    assert_eq!(
        now["counters"],
        json!({ "pledges": 40, "activePledges": 30 })
    );
    assert_eq!(now["pledgeTotals"]["active"], 30);
    // Thirty active pledges sum into the amount (none gave one): it shows.
    assert_eq!(now["pledgeTotals"]["monthlyAmountCents"], 0);
}

#[tokio::test]
async fn pending_pledges_expire_when_the_campaign_closes() {
    let app = TestApp::spawn().await;
    let (organiser, campaign) = app.open_campaign("unlucky", 1000).await;
    let members = app.register_many("too_few", 3).await;
    let mut ids = Vec::new();
    for token in &members {
        let body = pledge(
            &app,
            token,
            &campaign,
            json!({ "kind": "BUY", "activationThreshold": 100 }),
        )
        .await;
        assert_eq!(body["data"]["pledge"]["status"], "PENDING", "{body}");
        ids.push(body["data"]["pledge"]["id"].clone());
    }
    assert_eq!(
        totals(&app, &campaign).await["counters"],
        json!({ "pledges": 3, "activePledges": 0 })
    );
    app.gql_ok(
        Some(&organiser),
        "mutation($id: ID!) { closeCampaign(id: $id, outcome: CLOSED) { status } }",
        json!({ "id": campaign }),
    )
    .await;
    let mine = app
        .gql_ok(
            Some(&members[0]),
            "{ me { pledges { totalCount edges { node { status closedAt } } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        mine["me"]["pledges"]["edges"][0]["node"]["status"],
        "EXPIRED"
    );
    assert_eq!(
        totals(&app, &campaign).await["counters"],
        json!({ "pledges": 0, "activePledges": 0 })
    );
    let late = pledge(&app, &members[0], &campaign, json!({ "kind": "BUY" })).await;
    assert_eq!(error_code(&late), "CONFLICT");
}

#[tokio::test]
async fn pledge_input_and_ownership_are_checked() {
    let app = TestApp::spawn().await;
    let (_, campaign) = app.open_campaign("strict", 1000).await;
    let (member, _) = app.register("pledger").await;
    let (other, _) = app.register("meddler").await;
    for (input, field) in [
        (
            json!({ "kind": "BUY", "monthlyAmountCents": -1 }),
            "input.monthlyAmountCents",
        ),
        (
            json!({ "kind": "BUY", "monthlyAmountCents": 1_000_000_000_i64 }),
            "input.monthlyAmountCents",
        ),
        (
            json!({ "kind": "BUY", "activationThreshold": 0 }),
            "input.activationThreshold",
        ),
    ] {
        let body = pledge(&app, &member, &campaign, input.clone()).await;
        assert_eq!(error_code(&body), "BAD_USER_INPUT", "{input}");
        assert_eq!(error_field(&body), field);
    }
    let unknown = pledge(
        &app,
        &member,
        "01900000-0000-7000-8000-000000000000",
        json!({ "kind": "BUY" }),
    )
    .await;
    assert_eq!(error_code(&unknown), "NOT_FOUND");
    let anonymous = app
        .gql(
            None,
            PLEDGE,
            json!({ "id": campaign, "input": { "kind": "BUY" } }),
        )
        .await;
    assert_eq!(error_code(&anonymous), "UNAUTHENTICATED");

    let body = pledge(
        &app,
        &member,
        &campaign,
        json!({ "kind": "BUY", "activationThreshold": 5 }),
    )
    .await;
    let id = body["data"]["pledge"]["id"].clone();
    let not_yours = app.gql(Some(&other), WITHDRAW, json!({ "id": id })).await;
    assert_eq!(error_code(&not_yours), "NOT_FOUND");
    let not_active = app.gql(Some(&member), KEPT, json!({ "id": id })).await;
    assert_eq!(error_code(&not_active), "CONFLICT");
    let peek = app
        .gql_ok(
            Some(&other),
            "query($id: ID!) { campaign(id: $id) { viewerPledge { id } } }",
            json!({ "id": campaign }),
        )
        .await;
    assert!(peek["campaign"]["viewerPledge"].is_null());
}

#[tokio::test]
async fn pending_pledges_expire_when_the_deadline_passes() {
    let app = TestApp::spawn().await;
    let (organiser, _) = app.register("deadliner").await;
    let producer = app.create_producer(&organiser, "Deadline Co").await;
    let deadline = (chrono::Utc::now() + chrono::Duration::seconds(2)).to_rfc3339();
    let campaign = app
        .gql_ok(
            Some(&organiser),
            "mutation($input: CreateCampaignInput!) { createCampaign(input: $input) { id } }",
            json!({ "input": {
                "kind": "BOYCOTT", "title": "Quick boycott", "summary": "A boycott with a short deadline.",
                "body": "Hurry.", "producerId": producer, "deadline": deadline,
            }}),
        )
        .await["createCampaign"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.publish(&organiser, &campaign).await;
    let (member, _) = app.register("waiting").await;
    let body = pledge(
        &app,
        &member,
        &campaign,
        json!({ "kind": "AVOID", "activationThreshold": 10 }),
    )
    .await;
    assert_eq!(body["data"]["pledge"]["status"], "PENDING", "{body}");
    let status = crate::common::eventually(10, "EXPIRED".to_owned(), || async {
        let mine = app
            .gql_ok(
                Some(&member),
                "{ me { pledges { edges { node { status } } } } }",
                json!({}),
            )
            .await;
        mine["me"]["pledges"]["edges"][0]["node"]["status"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    })
    .await;
    assert_eq!(status, "EXPIRED");
    assert_eq!(totals(&app, &campaign).await["counters"]["pledges"], 0);
}
