//! The organiser's delivery pack and the campaign's places, black-box: the
//! export matches the public count, names no e-mail and is the organiser's
//! alone; small places are merged so nobody is exposed; offline tallies
//! count once a moderator verifies them, and a revoked one leaves the
//! count once; a signature's place is its signer's and admins' to read.

use crate::common::{ADMIN_ARGS, TestApp, error_code, error_field, http_client};
use serde_json::{Value, json};

/// Registers `handle` living in `territory` and signs `campaign` as them;
/// their member id.
async fn sign_from_place(
    app: &TestApp,
    handle: &str,
    territory: Option<&str>,
    campaign: &str,
    anonymous: bool,
) -> String {
    let registered = app
        .gql_ok(
            None,
            "mutation($input: RegisterInput!) { register(input: $input) { token member { id } } }",
            json!({ "input": {
                "handle": handle,
                "email": format!("{handle}@example.org"),
                "password": "correct horse battery",
                "displayName": format!("Display {handle}"),
                "territory": territory,
            }}),
        )
        .await;
    let token = registered["register"]["token"].as_str().unwrap();
    app.gql_ok(
        Some(token),
        "mutation($id: ID!, $input: SignInput) { signCampaign(campaignId: $id, input: $input) { id } }",
        json!({ "id": campaign, "input": { "anonymous": anonymous, "comment": format!("{handle} cares") } }),
    )
    .await;
    registered["register"]["member"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn export(
    app: &TestApp,
    campaign: &str,
    token: Option<&str>,
    query: &str,
    accept: Option<&str>,
) -> reqwest::Response {
    let mut request =
        http_client().get(app.url(&format!("/campaigns/{campaign}/signatures{query}")));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(accept) = accept {
        request = request.header("accept", accept);
    }
    request.send().await.unwrap()
}

#[tokio::test]
async fn the_organiser_exports_exactly_the_counted_signatures_without_addresses() {
    let app = TestApp::spawn_with(&ADMIN_ARGS).await;
    let (organiser, campaign) = app.open_campaign("organiser", 100).await;
    let ana = sign_from_place(&app, "ana", Some("FR-ARA"), &campaign, false).await;
    sign_from_place(&app, "ben", Some("FR"), &campaign, true).await;
    sign_from_place(&app, "cyd", None, &campaign, false).await;
    sign_from_place(&app, "dee", Some("BE-BRU"), &campaign, false).await;
    let public = app.signature_count(&campaign).await;
    assert_eq!(public, 4);

    let csv = export(&app, &campaign, Some(&organiser), "", None).await;
    assert_eq!(csv.status(), 200);
    assert!(
        csv.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let text = csv.text().await.unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "signer,territory,signed_at,comment");
    assert_eq!(
        lines.len() as i64 - 1,
        public,
        "one line per counted signature: {text}"
    );
    assert!(text.contains("Display ana,FR-ARA,"), "{text}");
    assert!(text.contains("Anonymous,FR,"), "{text}");
    assert!(
        !text.contains("Display ben"),
        "an anonymous signer stays anonymous: {text}"
    );
    assert!(!text.contains("@example.org"), "never an e-mail: {text}");

    let ndjson = export(
        &app,
        &campaign,
        Some(&organiser),
        "",
        Some("application/x-ndjson"),
    )
    .await;
    assert_eq!(ndjson.headers()["content-type"], "application/x-ndjson");
    let rows: Vec<Value> = ndjson
        .text()
        .await
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(rows.len() as i64, public);
    assert!(
        rows.iter()
            .any(|row| row["signer"] == "Display dee" && row["comment"] == "dee cares")
    );
    assert_eq!(
        export(&app, &campaign, Some(&organiser), "?format=ndjson", None)
            .await
            .text()
            .await
            .unwrap()
            .lines()
            .count(),
        4
    );

    // Struck-out signatures leave the pack as they leave the count.
    let admin = app.admin_token().await;
    app.gql_ok(
        Some(&admin),
        "mutation($id: ID!, $member: ID!) { invalidateSignatures(campaignId: $id, filter: { memberIds: [$member] }, reason: \"Test account\") { count } }",
        json!({ "id": campaign, "member": ana }),
    )
    .await;
    assert_eq!(app.signature_count(&campaign).await, 3);
    let text = export(&app, &campaign, Some(&organiser), "", None)
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(text.lines().count(), 1 + 3, "{text}");
    assert!(!text.contains("Display ana"), "{text}");

    // Only the organiser and admins; clear errors for everyone else.
    let bad_format = export(&app, &campaign, Some(&organiser), "?format=xml", None).await;
    assert_eq!(bad_format.status(), 400);
    let body: Value = bad_format.json().await.unwrap();
    assert_eq!(error_code(&body), "BAD_USER_INPUT");
    assert_eq!(export(&app, &campaign, None, "", None).await.status(), 401);
    let (stranger, _) = app.register("stranger").await;
    let forbidden = export(&app, &campaign, Some(&stranger), "", None).await;
    assert_eq!(forbidden.status(), 403);
    let body: Value = forbidden.json().await.unwrap();
    assert_eq!(error_code(&body), "FORBIDDEN");
    assert_eq!(
        export(&app, &campaign, Some(&admin), "", None)
            .await
            .status(),
        200
    );
    assert_eq!(
        export(&app, "not-an-id", Some(&organiser), "", None)
            .await
            .status(),
        400
    );
    let unknown = uuid::Uuid::now_v7().to_string();
    assert_eq!(
        export(&app, &unknown, Some(&organiser), "", None)
            .await
            .status(),
        404
    );
}

#[tokio::test]
async fn places_with_fewer_signers_than_k_are_merged_into_other_with_their_complements() {
    let app = TestApp::spawn_with(&["--observatory-k", "3"]).await;
    let (_, campaign) = app.open_campaign("organiser", 100).await;
    for (handle, place) in [
        ("ara_1", Some("FR-ARA")),
        ("ara_2", Some("FR-ARA")),
        ("ara_3", Some("FR-ARA")),
        ("idf_1", Some("FR-IDF")),
        ("bru_1", Some("BE-BRU")),
        ("nowhere", None),
    ] {
        sign_from_place(&app, handle, place, &campaign, false).await;
    }
    let data = app
        .gql_ok(
            None,
            "query($id: ID!) { campaign(id: $id) { signaturesByTerritory { territory count } counters { signatures } } }",
            json!({ "id": campaign }),
        )
        .await;
    assert_eq!(
        data["campaign"]["signaturesByTerritory"],
        json!([
            { "territory": "FR", "count": 4 },
            { "territory": "OTHER", "count": 2 },
        ]),
        "FR-IDF (1) shows only inside FR, and FR-ARA is withheld with it, since FR less FR-ARA \
         would give FR-IDF back; Belgium (1) and the signer without a place are OTHER"
    );
    assert_eq!(
        data["campaign"]["counters"]["signatures"], 6,
        "FR and OTHER add up to the count"
    );
}

const RECORD: &str = "mutation($id: ID!, $input: OfflineTallyInput!) { recordOfflineTally(campaignId: $id, input: $input) { id status count evidence } }";
const COUNTERS: &str = "query($id: ID!) { campaign(id: $id) { counters { signatures offlineSignatures total } milestones { threshold isGoal } } }";

fn tally(count: i64) -> Value {
    json!({
        "count": count,
        "territory": "FR-ARA",
        "collectedFrom": "2026-11-01T08:00:00Z",
        "collectedTo": "2026-11-01T13:00:00Z",
        "evidence": "Paper sheets from the Saturday market, kept at the association's office.",
    })
}

#[tokio::test]
async fn offline_tallies_count_once_a_moderator_verifies_them() {
    let app = TestApp::spawn_with(&ADMIN_ARGS).await;
    let admin = app.admin_token().await;
    let (organiser, campaign) = app.open_campaign("organiser", 30).await;
    assert!(
        app.sign(&app.register("online").await.0, &campaign)
            .await
            .get("errors")
            .is_none()
    );

    let recorded = app
        .gql_ok(
            Some(&organiser),
            RECORD,
            json!({ "id": campaign, "input": tally(40) }),
        )
        .await;
    let first = recorded["recordOfflineTally"]["id"].clone();
    assert_eq!(recorded["recordOfflineTally"]["status"], "PENDING");
    let before = app.gql_ok(None, COUNTERS, json!({ "id": campaign })).await;
    assert_eq!(
        before["campaign"]["counters"],
        json!({ "signatures": 1, "offlineSignatures": 0, "total": 1 }),
        "a pending tally counts nowhere"
    );

    // The organiser cannot verify their own tally; a moderator does.
    let own = app
        .gql(
            Some(&organiser),
            "mutation($id: ID!) { verifyOfflineTally(id: $id) { status } }",
            json!({ "id": first }),
        )
        .await;
    assert_eq!(error_code(&own), "FORBIDDEN");
    let verified = app
        .gql_ok(
            Some(&admin),
            "mutation($id: ID!) { verifyOfflineTally(id: $id) { status reviewedAt } }",
            json!({ "id": first }),
        )
        .await;
    assert_eq!(verified["verifyOfflineTally"]["status"], "VERIFIED");
    let again = app
        .gql(
            Some(&admin),
            "mutation($id: ID!) { verifyOfflineTally(id: $id) { status } }",
            json!({ "id": first }),
        )
        .await;
    assert_eq!(
        error_code(&again),
        "CONFLICT",
        "verified once, counted once"
    );
    let after = app.gql_ok(None, COUNTERS, json!({ "id": campaign })).await;
    assert_eq!(
        after["campaign"]["counters"],
        json!({ "signatures": 1, "offlineSignatures": 40, "total": 41 })
    );
    let milestones = after["campaign"]["milestones"].as_array().unwrap();
    assert!(
        milestones
            .iter()
            .any(|m| m["threshold"] == 30 && m["isGoal"] == true),
        "the goal counts offline signatures: {milestones:?}"
    );

    // A rejected tally never counts, and says why.
    let second = app
        .gql_ok(
            Some(&organiser),
            RECORD,
            json!({ "id": campaign, "input": tally(500) }),
        )
        .await["recordOfflineTally"]["id"]
        .clone();
    let terse = app
        .gql(
            Some(&admin),
            "mutation($id: ID!) { rejectOfflineTally(id: $id, reason: \"no\") { status } }",
            json!({ "id": second }),
        )
        .await;
    assert_eq!(error_field(&terse), "reason", "a rejection says why");
    let rejected = app
        .gql_ok(
            Some(&admin),
            "mutation($id: ID!) { rejectOfflineTally(id: $id, reason: \"No sheets at the office\") { status rejectionReason } }",
            json!({ "id": second }),
        )
        .await;
    assert_eq!(rejected["rejectOfflineTally"]["status"], "REJECTED");
    assert_eq!(
        app.gql_ok(None, COUNTERS, json!({ "id": campaign })).await["campaign"]["counters"]["total"],
        41
    );

    // The public sees verified tallies, without their evidence.
    let public = app
        .gql_ok(
            None,
            "query($id: ID!) { campaign(id: $id) { offlineTallies { totalCount edges { node { count status evidence } } } } }",
            json!({ "id": campaign }),
        )
        .await;
    assert_eq!(
        public["campaign"]["offlineTallies"],
        json!({ "totalCount": 1, "edges": [{ "node": { "count": 40, "status": "VERIFIED", "evidence": null } }] })
    );
    let organiser_view = app
        .gql_ok(
            Some(&organiser),
            "query($id: ID!) { campaign(id: $id) { offlineTallies { totalCount } } }",
            json!({ "id": campaign }),
        )
        .await;
    assert_eq!(
        organiser_view["campaign"]["offlineTallies"]["totalCount"],
        2
    );

    // Every step is in the audit log.
    let log = app
        .gql_ok(
            Some(&admin),
            "{ auditLog { edges { node { action } } } }",
            json!({}),
        )
        .await;
    let actions: Vec<&str> = log["auditLog"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|edge| edge["node"]["action"].as_str())
        .collect();
    for action in [
        "offline_tally.recorded",
        "offline_tally.verified",
        "offline_tally.rejected",
    ] {
        assert!(actions.contains(&action), "{action} in {actions:?}");
    }
}

#[tokio::test]
async fn offline_tallies_refuse_bad_input() {
    let app = TestApp::spawn().await;
    let (organiser, campaign) = app.open_campaign("organiser", 100).await;
    let (stranger, _) = app.register("stranger").await;
    let mut input = tally(0);
    let zero = app
        .gql(
            Some(&organiser),
            RECORD,
            json!({ "id": campaign, "input": input }),
        )
        .await;
    assert_eq!(error_field(&zero), "input.count");
    input = tally(10);
    input["collectedFrom"] = json!("2026-11-02T00:00:00Z");
    let backwards = app
        .gql(
            Some(&organiser),
            RECORD,
            json!({ "id": campaign, "input": input }),
        )
        .await;
    assert_eq!(error_field(&backwards), "input.collectedFrom");
    input = tally(10);
    input["collectedTo"] = json!("2099-01-01T00:00:00Z");
    let future = app
        .gql(
            Some(&organiser),
            RECORD,
            json!({ "id": campaign, "input": input }),
        )
        .await;
    assert_eq!(error_field(&future), "input.collectedTo");
    input = tally(10);
    input["territory"] = json!("Atlantis");
    let place = app
        .gql(
            Some(&organiser),
            RECORD,
            json!({ "id": campaign, "input": input }),
        )
        .await;
    assert_eq!(error_field(&place), "input.territory");
    input = tally(10);
    input["evidence"] = json!("");
    let evidence = app
        .gql(
            Some(&organiser),
            RECORD,
            json!({ "id": campaign, "input": input }),
        )
        .await;
    assert_eq!(error_field(&evidence), "input.evidence");
    let too_many = app
        .gql(
            Some(&organiser),
            RECORD,
            json!({ "id": campaign, "input": tally(10_000_000) }),
        )
        .await;
    assert_eq!(error_field(&too_many), "input.count");
    let not_theirs = app
        .gql(
            Some(&stranger),
            RECORD,
            json!({ "id": campaign, "input": tally(10) }),
        )
        .await;
    assert_eq!(error_code(&not_theirs), "FORBIDDEN");
    let anonymous = app
        .gql(None, RECORD, json!({ "id": campaign, "input": tally(10) }))
        .await;
    assert_eq!(error_code(&anonymous), "UNAUTHENTICATED");
    let unknown = app
        .gql(
            Some(&stranger),
            "mutation($id: ID!) { verifyOfflineTally(id: $id) { status } }",
            json!({ "id": uuid::Uuid::now_v7().to_string() }),
        )
        .await;
    assert_eq!(error_code(&unknown), "NOT_FOUND");
    let queue = app
        .gql(
            Some(&stranger),
            "{ pendingOfflineTallies { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(error_code(&queue), "FORBIDDEN");
}

#[tokio::test]
async fn nobody_verifies_a_tally_alone_and_tallies_are_capped() {
    let mut args = ADMIN_ARGS.to_vec();
    args.extend([
        "--offline-tally-campaign-max",
        "6000",
        "--offline-tallies-per-day",
        "2",
    ]);
    let app = TestApp::spawn_with(&args).await;
    let admin = app.admin_token().await;
    let (organiser, _) = app.register("organiser").await;
    // The organiser's second account makes a community: its moderator.
    let (second, _) = app.register("second_account").await;
    let community = app
        .gql_ok(
            Some(&second),
            "mutation { createCommunity(input: { name: \"Friends of the count\", slug: \"friends\" }) { id } }",
            json!({}),
        )
        .await["createCommunity"]["id"]
        .clone();
    let producer = app.create_producer(&organiser, "Acme").await;
    let file = |token: String| {
        let app = &app;
        let producer = producer.clone();
        let community = community.clone();
        async move {
            app.gql(
                Some(&token),
                "mutation($input: CreateCampaignInput!) { createCampaign(input: $input) { id } }",
                json!({ "input": {
                    "kind": "PETITION", "title": "Label every allergen",
                    "summary": "Print all fourteen allergens on the front of the pack.",
                    "body": "Members with allergies cannot trust the packaging.",
                    "producerId": producer, "goal": 1000, "communityId": community,
                }}),
            )
            .await
        }
    };
    // Filed under a community only by one of its members.
    let refused = file(organiser.clone()).await;
    assert_eq!(error_code(&refused), "FORBIDDEN");
    app.gql_ok(
        Some(&organiser),
        "mutation($id: ID!) { joinCommunity(communityId: $id) { id } }",
        json!({ "id": community }),
    )
    .await;
    let filed = file(organiser.clone()).await;
    let campaign = filed["data"]["createCampaign"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{filed}"))
        .to_owned();
    app.publish(&organiser, &campaign).await;
    let recorded = app
        .gql_ok(
            Some(&organiser),
            RECORD,
            json!({ "id": campaign, "input": tally(5_000) }),
        )
        .await;
    let pending = recorded["recordOfflineTally"]["id"].clone();
    let verify = "mutation($id: ID!) { verifyOfflineTally(id: $id) { status } }";
    // Neither the community's moderator (anyone who made a community)…
    let by_second = app
        .gql(Some(&second), verify, json!({ "id": pending }))
        .await;
    assert_eq!(error_code(&by_second), "FORBIDDEN");
    // …nor a site moderator whose account is younger than the campaign.
    let (late, late_id) = app.register("late_moderator").await;
    app.gql_ok(
        Some(&admin),
        "mutation($id: ID!) { setMemberRole(memberId: $id, role: MODERATOR) { id } }",
        json!({ "id": late_id }),
    )
    .await;
    let by_late = app.gql(Some(&late), verify, json!({ "id": pending })).await;
    assert_eq!(error_code(&by_late), "FORBIDDEN");
    let counters = app.gql_ok(None, COUNTERS, json!({ "id": campaign })).await;
    assert_eq!(counters["campaign"]["counters"]["offlineSignatures"], 0);
    // The community's moderator may recommend it to site moderators; the
    // organiser may not recommend their own.
    let recommend =
        "mutation($id: ID!) { recommendOfflineTally(id: $id) { status recommendedAt } }";
    let own = app
        .gql(Some(&organiser), recommend, json!({ "id": pending }))
        .await;
    assert_eq!(error_code(&own), "FORBIDDEN");
    let recommended = app
        .gql_ok(Some(&second), recommend, json!({ "id": pending }))
        .await;
    assert_eq!(recommended["recommendOfflineTally"]["status"], "PENDING");
    assert!(recommended["recommendOfflineTally"]["recommendedAt"].is_string());
    let verified = app
        .gql_ok(Some(&admin), verify, json!({ "id": pending }))
        .await;
    assert_eq!(verified["verifyOfflineTally"]["status"], "VERIFIED");
    let counted = app.gql_ok(None, COUNTERS, json!({ "id": campaign })).await;
    assert_eq!(
        counted["campaign"]["counters"],
        json!({ "signatures": 0, "offlineSignatures": 5000, "total": 5000 })
    );

    // At most 6 000 offline signatures on the campaign, two tallies a day.
    let over = app
        .gql(
            Some(&organiser),
            RECORD,
            json!({ "id": campaign, "input": tally(1_001) }),
        )
        .await;
    assert_eq!(error_code(&over), "CONFLICT");
    app.gql_ok(
        Some(&organiser),
        RECORD,
        json!({ "id": campaign, "input": tally(10) }),
    )
    .await;
    let third = app
        .gql(
            Some(&organiser),
            RECORD,
            json!({ "id": campaign, "input": tally(10) }),
        )
        .await;
    assert_eq!(error_code(&third), "RATE_LIMITED");
}

const MILESTONES: &str = "query($id: ID!) { campaign(id: $id) { counters { offlineSignatures total } milestones { threshold reachedBeforeInvalidation } } }";

#[tokio::test]
async fn a_revoked_tally_leaves_the_count_once_and_marks_its_milestones() {
    let app = TestApp::spawn_with(&ADMIN_ARGS).await;
    let admin = app.admin_token().await;
    let (organiser, campaign) = app.open_campaign("organiser", 500).await;
    let signer = app.register("online").await.0;
    assert!(app.sign(&signer, &campaign).await.get("errors").is_none());
    let id = app
        .gql_ok(
            Some(&organiser),
            RECORD,
            json!({ "id": campaign, "input": tally(600) }),
        )
        .await["recordOfflineTally"]["id"]
        .clone();
    let revoke = "mutation($id: ID!, $reason: String!) { revokeOfflineTally(id: $id, reason: $reason) { status revokedAt revocationReason } }";
    let reason = "The sheets were photocopies of last year's";
    // Bad input gets coded errors.
    let unknown = app
        .gql(
            Some(&admin),
            revoke,
            json!({ "id": "01900000-0000-7000-8000-000000000000", "reason": reason }),
        )
        .await;
    assert_eq!(error_code(&unknown), "NOT_FOUND");
    let malformed = app
        .gql(
            Some(&admin),
            revoke,
            json!({ "id": "nope", "reason": reason }),
        )
        .await;
    assert_eq!(error_field(&malformed), "id");
    let terse = app
        .gql(Some(&admin), revoke, json!({ "id": id, "reason": "no" }))
        .await;
    assert_eq!(error_code(&terse), "BAD_USER_INPUT");
    assert_eq!(error_field(&terse), "reason");
    let recommend_unknown = app
        .gql(
            Some(&admin),
            "mutation($id: ID!) { recommendOfflineTally(id: $id) { id } }",
            json!({ "id": "01900000-0000-7000-8000-000000000000" }),
        )
        .await;
    assert_eq!(error_code(&recommend_unknown), "NOT_FOUND");
    // Only a verified tally is revoked.
    let early = app
        .gql(Some(&admin), revoke, json!({ "id": id, "reason": reason }))
        .await;
    assert_eq!(error_code(&early), "CONFLICT");
    app.gql_ok(
        Some(&admin),
        "mutation($id: ID!) { verifyOfflineTally(id: $id) { status } }",
        json!({ "id": id }),
    )
    .await;
    let reached = app
        .gql_ok(None, MILESTONES, json!({ "id": campaign }))
        .await;
    assert_eq!(reached["campaign"]["counters"]["total"], 601);
    assert_eq!(
        reached["campaign"]["milestones"],
        json!([
            { "threshold": 10, "reachedBeforeInvalidation": false },
            { "threshold": 100, "reachedBeforeInvalidation": false },
            { "threshold": 500, "reachedBeforeInvalidation": false },
        ])
    );

    // Neither its organiser nor a member revokes it.
    for token in [&organiser, &signer] {
        let refused = app
            .gql(Some(token), revoke, json!({ "id": id, "reason": reason }))
            .await;
        assert_eq!(error_code(&refused), "FORBIDDEN");
    }
    let revoked = app
        .gql_ok(Some(&admin), revoke, json!({ "id": id, "reason": reason }))
        .await;
    assert_eq!(revoked["revokeOfflineTally"]["status"], "REVOKED");
    assert_eq!(revoked["revokeOfflineTally"]["revocationReason"], reason);
    // Twice at once: one revocation, counted out once.
    let (a, b) = tokio::join!(
        app.gql(Some(&admin), revoke, json!({ "id": id, "reason": reason })),
        app.gql(Some(&admin), revoke, json!({ "id": id, "reason": reason })),
    );
    assert_eq!(error_code(&a), "CONFLICT");
    assert_eq!(error_code(&b), "CONFLICT");
    let after = app
        .gql_ok(None, MILESTONES, json!({ "id": campaign }))
        .await;
    assert_eq!(
        after["campaign"],
        json!({
            "counters": { "offlineSignatures": 0, "total": 1 },
            "milestones": [
                { "threshold": 10, "reachedBeforeInvalidation": true },
                { "threshold": 100, "reachedBeforeInvalidation": true },
                { "threshold": 500, "reachedBeforeInvalidation": true },
            ],
        })
    );
    // The public list shows verified tallies only; the organiser sees the
    // revoked one and why.
    let public = app
        .gql_ok(
            None,
            "query($id: ID!) { campaign(id: $id) { offlineTallies { totalCount } } }",
            json!({ "id": campaign }),
        )
        .await;
    assert_eq!(public["campaign"]["offlineTallies"]["totalCount"], 0);
    let own = app
        .gql_ok(
            Some(&organiser),
            "query($id: ID!) { campaign(id: $id) { offlineTallies { edges { node { status revocationReason } } } } }",
            json!({ "id": campaign }),
        )
        .await;
    assert_eq!(
        own["campaign"]["offlineTallies"]["edges"][0]["node"],
        json!({ "status": "REVOKED", "revocationReason": reason })
    );
    let log = app
        .gql_ok(
            Some(&admin),
            "query($id: ID!) { auditLog(targetId: $id) { edges { node { action reason } } } }",
            json!({ "id": id }),
        )
        .await;
    let actions: Vec<&str> = log["auditLog"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|edge| edge["node"]["action"].as_str())
        .collect();
    assert!(actions.contains(&"offline_tally.revoked"), "{actions:?}");
}

#[tokio::test]
async fn a_signatures_place_shows_to_its_signer_and_admins_only() {
    let app = TestApp::spawn_with(&ADMIN_ARGS).await;
    let admin = app.admin_token().await;
    let (organiser, campaign) = app.open_campaign("organiser", 100).await;
    let registered = app
        .gql_ok(
            None,
            "mutation($input: RegisterInput!) { register(input: $input) { token } }",
            json!({ "input": {
                "handle": "placed", "email": "placed@example.org",
                "password": "correct horse battery", "territory": "FR-ARA",
            }}),
        )
        .await;
    let signer = registered["register"]["token"].as_str().unwrap().to_owned();
    let signature = app
        .gql_ok(
            Some(&signer),
            "mutation($id: ID!) { signCampaign(campaignId: $id, input: { anonymous: true }) { id territory } }",
            json!({ "id": campaign }),
        )
        .await["signCampaign"]
        .clone();
    assert_eq!(signature["territory"], "FR-ARA", "the signer sees it");
    let by_id = "query($id: ID!) { node(id: $id) { ... on Signature { signer territory } } }";
    let (stranger, _) = app.register("stranger").await;
    for (who, token, expected) in [
        ("the public", None, Value::Null),
        ("a member", Some(stranger.as_str()), Value::Null),
        ("the organiser", Some(organiser.as_str()), Value::Null),
        ("the signer", Some(signer.as_str()), json!("FR-ARA")),
        ("an admin", Some(admin.as_str()), json!("FR-ARA")),
    ] {
        let seen = app
            .gql_ok(token, by_id, json!({ "id": signature["id"] }))
            .await;
        assert_eq!(seen["node"]["signer"], "Anonymous", "{who}");
        assert_eq!(seen["node"]["territory"], expected, "{who}");
    }
    let listed = app
        .gql_ok(
            Some(&organiser),
            "query($id: ID!) { campaign(id: $id) { signatures { edges { node { territory } } } } }",
            json!({ "id": campaign }),
        )
        .await;
    assert_eq!(
        listed["campaign"]["signatures"]["edges"][0]["node"]["territory"],
        Value::Null
    );
    // The organiser has it in the delivery pack.
    let pack = export(&app, &campaign, Some(&organiser), "?format=ndjson", None)
        .await
        .text()
        .await
        .unwrap();
    assert!(pack.contains("FR-ARA"), "{pack}");
}
