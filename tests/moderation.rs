//! Moderation: flags, hiding and restoring with reasons by moderators only,
//! hidden content gone from public lists but kept and audited, and the two
//! scopes: what a community's moderator may do, and what only site
//! moderators do.

use crate::common::{TestApp, error_code, error_field};
use serde_json::json;

const FLAG: &str = "mutation($kind: ContentKind!, $id: ID!, $reason: String!) { flagContent(kind: $kind, id: $id, reason: $reason) { id status } }";
const HIDE: &str = "mutation($kind: ContentKind!, $id: ID!, $reason: String!) { hideContent(kind: $kind, id: $id, reason: $reason) }";
const RESTORE: &str = "mutation($kind: ContentKind!, $id: ID!, $reason: String!) { restoreContent(kind: $kind, id: $id, reason: $reason) }";

/// A server with an admin, and a member the admin made MODERATOR.
async fn moderated() -> (TestApp, String, String) {
    let app = TestApp::spawn_with(&crate::common::ADMIN_ARGS).await;
    let admin = app.admin_token().await;
    let (moderator, moderator_id) = app.register("moderator").await;
    app.gql_ok(
        Some(&admin),
        "mutation($id: ID!) { setMemberRole(memberId: $id, role: MODERATOR) { role } }",
        json!({ "id": moderator_id }),
    )
    .await;
    (app, admin, moderator)
}

#[tokio::test]
async fn a_flagged_campaign_is_hidden_audited_and_restored() {
    let (app, admin, moderator) = moderated().await;
    let (_, campaign) = app.open_campaign("controversial", 1000).await;
    let (reporter, _) = app.register("reporter").await;
    let flagged = app
        .gql_ok(
            Some(&reporter),
            FLAG,
            json!({ "kind": "CAMPAIGN", "id": campaign, "reason": "Defamatory claims" }),
        )
        .await;
    assert_eq!(flagged["flagContent"]["status"], "OPEN");
    let twice = app
        .gql(
            Some(&reporter),
            FLAG,
            json!({ "kind": "CAMPAIGN", "id": campaign, "reason": "Again" }),
        )
        .await;
    assert_eq!(error_code(&twice), "CONFLICT");
    let open = app
        .gql_ok(
            Some(&moderator),
            "{ flags { totalCount edges { node { targetId reason } } } }",
            json!({}),
        )
        .await;
    assert_eq!(open["flags"]["edges"][0]["node"]["targetId"], campaign);
    let not_allowed = app
        .gql(Some(&reporter), "{ flags { totalCount } }", json!({}))
        .await;
    assert_eq!(error_code(&not_allowed), "FORBIDDEN");

    let by_member = app
        .gql(
            Some(&reporter),
            HIDE,
            json!({ "kind": "CAMPAIGN", "id": campaign, "reason": "I dislike it" }),
        )
        .await;
    assert_eq!(error_code(&by_member), "FORBIDDEN");
    app.gql_ok(
        Some(&moderator),
        HIDE,
        json!({ "kind": "CAMPAIGN", "id": campaign, "reason": "Defamation" }),
    )
    .await;
    let again = app
        .gql(
            Some(&moderator),
            HIDE,
            json!({ "kind": "CAMPAIGN", "id": campaign, "reason": "Defamation" }),
        )
        .await;
    assert_eq!(error_code(&again), "CONFLICT");

    let public = app
        .gql_ok(
            None,
            "query($id: ID!) { campaign(id: $id) { id } campaigns { totalCount } }",
            json!({ "id": campaign }),
        )
        .await;
    assert!(public["campaign"].is_null());
    assert_eq!(public["campaigns"]["totalCount"], 0);
    let for_moderator = app
        .gql_ok(
            Some(&moderator),
            "query($id: ID!) { campaign(id: $id) { id } }",
            json!({ "id": campaign }),
        )
        .await;
    assert_eq!(
        for_moderator["campaign"]["id"], campaign,
        "hidden, not deleted"
    );
    let upheld = app
        .gql_ok(
            Some(&moderator),
            "{ flags(status: UPHELD) { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(upheld["flags"]["totalCount"], 1);

    app.gql_ok(
        Some(&admin),
        RESTORE,
        json!({ "kind": "CAMPAIGN", "id": campaign, "reason": "Claims were sourced" }),
    )
    .await;
    let back = app
        .gql_ok(
            None,
            "query($id: ID!) { campaign(id: $id) { status } }",
            json!({ "id": campaign }),
        )
        .await;
    assert_eq!(back["campaign"]["status"], "OPEN");
    let audit = app
        .gql_ok(
            Some(&admin),
            "query($id: ID!) { auditLog(targetId: $id) { edges { node { action reason targetKind } } } }",
            json!({ "id": campaign }),
        )
        .await;
    assert_eq!(
        audit["auditLog"]["edges"],
        json!([
            { "node": { "action": "RESTORE", "reason": "Claims were sourced", "targetKind": "CAMPAIGN" } },
            { "node": { "action": "HIDE", "reason": "Defamation", "targetKind": "CAMPAIGN" } },
        ])
    );
}

#[tokio::test]
async fn community_moderators_moderate_their_community_only() {
    let (app, _, _) = moderated().await;
    let (founder, _) = app.register("founder").await;
    let (member, _) = app.register("regular").await;
    let community = app
        .gql_ok(Some(&founder), "mutation { createCommunity(input: { name: \"Kosher Paris\", slug: \"kosher-paris\" }) { id } }", json!({}))
        .await["createCommunity"]["id"]
        .clone();
    app.gql_ok(
        Some(&member),
        "mutation($id: ID!) { joinCommunity(communityId: $id) { id } }",
        json!({ "id": community }),
    )
    .await;
    let proposal = app
        .gql_ok(
            Some(&member),
            "mutation($id: ID!) { submitCommunityProposal(communityId: $id, input: { title: \"Spam spam spam\", body: \"Buy my stuff\" }) { id } }",
            json!({ "id": community }),
        )
        .await["submitCommunityProposal"]["id"]
        .clone();
    let by_member = app
        .gql(
            Some(&member),
            HIDE,
            json!({ "kind": "PROPOSAL", "id": proposal, "reason": "Spam" }),
        )
        .await;
    assert_eq!(error_code(&by_member), "FORBIDDEN");
    app.gql_ok(
        Some(&founder),
        HIDE,
        json!({ "kind": "PROPOSAL", "id": proposal, "reason": "Spam" }),
    )
    .await;
    let listed = app
        .gql_ok(
            None,
            "{ community(slug: \"kosher-paris\") { proposals { totalCount } } }",
            json!({}),
        )
        .await;
    assert_eq!(listed["community"]["proposals"]["totalCount"], 0);

    // The same founder has no say over a campaign outside their community.
    let (_, elsewhere) = app.open_campaign("independent", 1000).await;
    let outside = app
        .gql(
            Some(&founder),
            HIDE,
            json!({ "kind": "CAMPAIGN", "id": elsewhere, "reason": "Not mine" }),
        )
        .await;
    assert_eq!(error_code(&outside), "FORBIDDEN");
}

#[tokio::test]
async fn a_hidden_signature_still_counts_but_is_not_shown() {
    let (app, _, moderator) = moderated().await;
    let (_, campaign) = app.open_campaign("petition", 1000).await;
    let (troll, _) = app.register("troll").await;
    let signed = app
        .gql_ok(
            Some(&troll),
            "mutation($id: ID!) { signCampaign(campaignId: $id, input: { comment: \"insults\" }) { id } }",
            json!({ "id": campaign }),
        )
        .await;
    let signature = signed["signCampaign"]["id"].clone();
    app.gql_ok(
        Some(&moderator),
        HIDE,
        json!({ "kind": "SIGNATURE", "id": signature, "reason": "Insulting comment" }),
    )
    .await;
    assert_eq!(app.signature_rows(&campaign).await, 0);
    assert_eq!(app.signature_count(&campaign).await, 1);
}

#[tokio::test]
async fn flags_are_validated_and_dismissable() {
    let (app, _, moderator) = moderated().await;
    let (_, campaign) = app.open_campaign("fine", 1000).await;
    let (reporter, _) = app.register("overzealous").await;
    let short = app
        .gql(
            Some(&reporter),
            FLAG,
            json!({ "kind": "CAMPAIGN", "id": campaign, "reason": "x" }),
        )
        .await;
    assert_eq!(error_code(&short), "BAD_USER_INPUT");
    assert_eq!(error_field(&short), "reason");
    let unknown = app
        .gql(Some(&reporter), FLAG, json!({ "kind": "PROPOSAL", "id": "01900000-0000-7000-8000-000000000000", "reason": "Spam here" }))
        .await;
    assert_eq!(error_code(&unknown), "NOT_FOUND");
    let anonymous = app
        .gql(
            None,
            FLAG,
            json!({ "kind": "CAMPAIGN", "id": campaign, "reason": "Spam here" }),
        )
        .await;
    assert_eq!(error_code(&anonymous), "UNAUTHENTICATED");
    let flag = app
        .gql_ok(
            Some(&reporter),
            FLAG,
            json!({ "kind": "CAMPAIGN", "id": campaign, "reason": "Looks odd" }),
        )
        .await["flagContent"]["id"]
        .clone();
    let dismiss = "mutation($id: ID!) { dismissFlag(flagId: $id) { status } }";
    let by_reporter = app
        .gql(Some(&reporter), dismiss, json!({ "id": flag }))
        .await;
    assert_eq!(error_code(&by_reporter), "FORBIDDEN");
    let dismissed = app
        .gql_ok(Some(&moderator), dismiss, json!({ "id": flag }))
        .await;
    assert_eq!(dismissed["dismissFlag"]["status"], "DISMISSED");
    let twice = app
        .gql(Some(&moderator), dismiss, json!({ "id": flag }))
        .await;
    assert_eq!(error_code(&twice), "CONFLICT");
    let public = app
        .gql_ok(
            None,
            "query($id: ID!) { campaign(id: $id) { status } }",
            json!({ "id": campaign }),
        )
        .await;
    assert_eq!(public["campaign"]["status"], "OPEN");
}

const RESPONSES: &str = "query($id: ID!) { observatory { producer(id: $id) { suppressed metrics { responses { campaigns answered } } } } }";

#[tokio::test]
async fn community_moderators_act_within_their_scope_only() {
    let mut args = crate::common::ADMIN_ARGS.to_vec();
    args.extend(["--observatory-k", "2"]);
    let app = TestApp::spawn_with(&args).await;
    let admin = app.admin_token().await;
    let (moderator, moderator_id) = app.register("moderator").await;
    app.gql_ok(
        Some(&admin),
        "mutation($id: ID!) { setMemberRole(memberId: $id, role: MODERATOR) { role } }",
        json!({ "id": moderator_id }),
    )
    .await;
    // Anyone who makes a community moderates it.
    let (founder, _) = app.register("founder").await;
    let community = app
        .gql_ok(Some(&founder), "mutation { createCommunity(input: { name: \"Halal Lyon\", slug: \"halal-lyon\" }) { id } }", json!({}))
        .await["createCommunity"]["id"]
        .clone();
    let (organiser, _) = app.register("organiser").await;
    app.gql_ok(
        Some(&organiser),
        "mutation($id: ID!) { joinCommunity(communityId: $id) { id } }",
        json!({ "id": community }),
    )
    .await;
    let producer = app.create_producer(&organiser, "Acme").await;
    let campaign = app
        .gql_ok(
            Some(&organiser),
            "mutation($input: CreateCampaignInput!) { createCampaign(input: $input) { id } }",
            json!({ "input": {
                "kind": "PETITION", "title": "Certify the halal line",
                "summary": "Have the halal line certified by an independent body.",
                "body": "Members cannot check the current claims.",
                "producerId": producer, "goal": 1000, "communityId": community,
            }}),
        )
        .await["createCampaign"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.publish(&organiser, &campaign).await;
    for handle in ["signer_one", "signer_two"] {
        let (token, _) = app.register(handle).await;
        assert!(app.sign(&token, &campaign).await.get("errors").is_none());
    }
    // The producer answers.
    let rep = app
        .representative(&admin, &producer, "representative")
        .await;
    let response = app
        .gql_ok(
            Some(&rep),
            "mutation($id: ID!) { respondToCampaign(campaignId: $id, input: { body: \"An auditor starts next month.\" }) { id } }",
            json!({ "id": campaign }),
        )
        .await["respondToCampaign"]["id"]
        .clone();
    let answered =
        |body: serde_json::Value| body["observatory"]["producer"]["metrics"]["responses"].clone();
    let before = app
        .gql_ok(Some(&admin), RESPONSES, json!({ "id": producer }))
        .await;
    assert_eq!(answered(before), json!({ "campaigns": 1, "answered": 1 }));

    // A flag on the answer: the community's moderator cannot close it…
    let (reporter, _) = app.register("reporter").await;
    let flag = app
        .gql_ok(
            Some(&reporter),
            FLAG,
            json!({ "kind": "RESPONSE", "id": response, "reason": "Misleading answer" }),
        )
        .await["flagContent"]["id"]
        .clone();
    let dismiss = "mutation($id: ID!) { dismissFlag(flagId: $id) { status } }";
    let closed = app
        .gql(Some(&founder), dismiss, json!({ "id": flag }))
        .await;
    assert_eq!(error_code(&closed), "FORBIDDEN");
    // …sees it among the community's flags (a stranger does not), and
    // escalates it.
    let community_flags = "query($c: ID!) { flags(communityId: $c) { totalCount edges { node { id status escalatedAt } } } }";
    let stranger = app
        .gql(Some(&reporter), community_flags, json!({ "c": community }))
        .await;
    assert_eq!(error_code(&stranger), "FORBIDDEN");
    let listed = app
        .gql_ok(Some(&founder), community_flags, json!({ "c": community }))
        .await;
    assert_eq!(listed["flags"]["totalCount"], 1);
    assert_eq!(listed["flags"]["edges"][0]["node"]["id"], flag);
    let bad_community = app
        .gql(Some(&founder), community_flags, json!({ "c": "not-an-id" }))
        .await;
    assert_eq!(error_field(&bad_community), "communityId");
    let escalate =
        "mutation($id: ID!, $note: String!) { escalateFlag(flagId: $id, note: $note) { status } }";
    let terse = app
        .gql(Some(&founder), escalate, json!({ "id": flag, "note": "?" }))
        .await;
    assert_eq!(error_code(&terse), "BAD_USER_INPUT");
    assert_eq!(error_field(&terse), "note");
    // Site moderators close flags themselves: nobody to escalate to.
    let by_site = app
        .gql(
            Some(&moderator),
            escalate,
            json!({ "id": flag, "note": "Escalate this" }),
        )
        .await;
    assert_eq!(error_code(&by_site), "CONFLICT");
    let escalated = app
        .gql_ok(
            Some(&founder),
            "mutation($id: ID!) { escalateFlag(flagId: $id, note: \"Needs a site decision\") { status escalatedAt } }",
            json!({ "id": flag }),
        )
        .await;
    assert_eq!(escalated["escalateFlag"]["status"], "OPEN");
    assert!(escalated["escalateFlag"]["escalatedAt"].is_string());

    // The community hide takes the answer out of public view, leaves the
    // flag open, and does not move the observatory.
    app.gql_ok(
        Some(&founder),
        HIDE,
        json!({ "kind": "RESPONSE", "id": response, "reason": "Looks misleading" }),
    )
    .await;
    let responses = "query($id: ID!) { campaign(id: $id) { responses { totalCount } } }";
    let public = app.gql_ok(None, responses, json!({ "id": campaign })).await;
    assert_eq!(public["campaign"]["responses"]["totalCount"], 0);
    let still = app
        .gql_ok(Some(&admin), RESPONSES, json!({ "id": producer }))
        .await;
    assert_eq!(answered(still), json!({ "campaigns": 1, "answered": 1 }));
    let open = app
        .gql_ok(Some(&moderator), "{ flags { totalCount } }", json!({}))
        .await;
    assert_eq!(open["flags"]["totalCount"], 1);

    // A site moderator confirms the hide: now it counts, and the flag is
    // closed as upheld.
    app.gql_ok(
        Some(&moderator),
        HIDE,
        json!({ "kind": "RESPONSE", "id": response, "reason": "Confirmed: misleading" }),
    )
    .await;
    let confirmed = app
        .gql_ok(Some(&admin), RESPONSES, json!({ "id": producer }))
        .await;
    assert_eq!(
        answered(confirmed),
        json!({ "campaigns": 1, "answered": 0 })
    );
    let upheld = app
        .gql_ok(
            Some(&moderator),
            "{ flags(status: UPHELD) { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(upheld["flags"]["totalCount"], 1);
    // Hiding again is a conflict; the community cannot undo a site decision.
    let again = app
        .gql(
            Some(&moderator),
            HIDE,
            json!({ "kind": "RESPONSE", "id": response, "reason": "Once more" }),
        )
        .await;
    assert_eq!(error_code(&again), "CONFLICT");
    let undo = app
        .gql(
            Some(&founder),
            RESTORE,
            json!({ "kind": "RESPONSE", "id": response, "reason": "I changed my mind" }),
        )
        .await;
    assert_eq!(error_code(&undo), "FORBIDDEN");

    // A community moderator restores their own hide.
    let proposal = app
        .gql_ok(
            Some(&organiser),
            "mutation($id: ID!) { submitCommunityProposal(communityId: $id, input: { title: \"Share halal suppliers\", body: \"A list of trusted suppliers\" }) { id } }",
            json!({ "id": community }),
        )
        .await["submitCommunityProposal"]["id"]
        .clone();
    for (token, mutation) in [(&founder, HIDE), (&founder, RESTORE)] {
        app.gql_ok(
            Some(token),
            mutation,
            json!({ "kind": "PROPOSAL", "id": proposal, "reason": "Checking a claim" }),
        )
        .await;
    }

    // Every decision on the answer is audit-logged with who, scope and why.
    let log = app
        .gql_ok(
            Some(&admin),
            "query($id: ID!) { auditLog(targetId: $id) { edges { node { actorId action scope reason } } } }",
            json!({ "id": response }),
        )
        .await;
    let mut entries: Vec<(String, String, String)> = log["auditLog"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|edge| {
            let node = &edge["node"];
            assert!(node["actorId"].is_string(), "{node}");
            (
                node["action"].as_str().unwrap().to_owned(),
                node["scope"].as_str().unwrap().to_owned(),
                node["reason"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    entries.sort();
    assert_eq!(
        entries,
        [
            (
                "CONFIRM_HIDE".into(),
                "SITE".into(),
                "Confirmed: misleading".into()
            ),
            ("HIDE".into(), "COMMUNITY".into(), "Looks misleading".into()),
        ]
    );
}
