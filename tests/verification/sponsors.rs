//! Sponsors then review: how a campaign opens or is rejected.

use super::*;

#[tokio::test]
async fn sponsors_then_review_open_a_campaign_or_reject_it() {
    let mut args = ADMIN_ARGS.to_vec();
    args.extend(["--campaign-sponsors", "2", "--campaign-review", "true"]);
    let app = spawn(&args).await;
    let admin = app.admin_token().await;
    let organiser = confirmed_member(&app, "organiser").await;
    let producer = app.create_producer(&organiser, "Acme").await;
    let campaign = app.create_campaign(&organiser, &producer).await;
    let published = app
        .gql_ok(
            Some(&organiser),
            "mutation($id: ID!) { publishCampaign(id: $id) { status sponsorCode } }",
            json!({ "id": campaign }),
        )
        .await;
    assert_eq!(published["publishCampaign"]["status"], "SPONSORING");
    let code = published["publishCampaign"]["sponsorCode"]
        .as_str()
        .unwrap()
        .to_owned();
    // The organiser is told the code by mail.
    let mails = app.mails_to(&address("organiser"), 2).await;
    assert!(mails[1].text.contains(&code), "{}", mails[1].text);
    // Not public yet.
    let anonymous = app.gql_ok(None, CAMPAIGN, json!({ "id": campaign })).await;
    assert_eq!(anonymous["campaign"], Value::Null);

    // Sponsors need a confirmed address.
    let (unconfirmed, _) = app.register("newcomer").await;
    let refused = app
        .gql(Some(&unconfirmed), SPONSOR, json!({ "code": code }))
        .await;
    assert_eq!(
        refused["errors"][0]["extensions"]["reason"],
        "EMAIL_NOT_CONFIRMED"
    );
    let wrong = app
        .gql(Some(&admin), SPONSOR, json!({ "code": "not-a-code" }))
        .await;
    assert_eq!(error_code(&wrong), "NOT_FOUND");

    let first = confirmed_member(&app, "sponsor_one").await;
    let second = confirmed_member(&app, "sponsor_two").await;
    let backed = app
        .gql_ok(Some(&first), SPONSOR, json!({ "code": code }))
        .await;
    assert_eq!(
        backed["sponsorCampaign"],
        json!({ "status": "SPONSORING", "sponsorCount": 1 })
    );
    let twice = app
        .gql(Some(&first), SPONSOR, json!({ "code": code }))
        .await;
    assert_eq!(error_code(&twice), "CONFLICT");
    let own = app
        .gql(Some(&organiser), SPONSOR, json!({ "code": code }))
        .await;
    assert_eq!(error_code(&own), "CONFLICT");
    let enough = app
        .gql_ok(Some(&second), SPONSOR, json!({ "code": code }))
        .await;
    assert_eq!(
        enough["sponsorCampaign"],
        json!({ "status": "IN_REVIEW", "sponsorCount": 2 })
    );
    app.mails_to(&address("organiser"), 3).await;

    // Only moderators review.
    let member_view = app
        .gql(
            Some(&first),
            "{ campaignsInReview { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(error_code(&member_view), "FORBIDDEN");
    let approve =
        "mutation($id: ID!) { approveCampaign(id: $id) { status counters { signatures } } }";
    let not_moderator = app
        .gql(Some(&organiser), approve, json!({ "id": campaign }))
        .await;
    assert_eq!(error_code(&not_moderator), "FORBIDDEN");
    let queue = app
        .gql_ok(
            Some(&admin),
            "{ campaignsInReview { totalCount edges { node { id } } } }",
            json!({}),
        )
        .await;
    assert_eq!(queue["campaignsInReview"]["totalCount"], 1);
    assert_eq!(
        queue["campaignsInReview"]["edges"][0]["node"]["id"],
        campaign
    );

    // Approved: open, and the sponsors' backing became their signatures.
    let approved = app
        .gql_ok(Some(&admin), approve, json!({ "id": campaign }))
        .await;
    assert_eq!(
        approved["approveCampaign"],
        json!({ "status": "OPEN", "counters": { "signatures": 2 } })
    );
    assert_eq!(app.signature_rows(&campaign).await, 2);
    let opened_mail = app.mails_to(&address("organiser"), 4).await;
    assert!(
        opened_mail[3].subject.contains("is open"),
        "{}",
        opened_mail[3].subject
    );
    let again = app
        .gql(Some(&admin), approve, json!({ "id": campaign }))
        .await;
    assert_eq!(error_code(&again), "CONFLICT");

    // Another one is rejected, with its reason public.
    let second_campaign = app.create_campaign(&organiser, &producer).await;
    app.publish(&organiser, &second_campaign).await;
    let code = app
        .gql_ok(Some(&organiser), CAMPAIGN, json!({ "id": second_campaign }))
        .await["campaign"]["sponsorCode"]
        .as_str()
        .unwrap()
        .to_owned();
    for sponsor in [&first, &second] {
        app.gql_ok(Some(sponsor), SPONSOR, json!({ "code": code }))
            .await;
    }
    let reason = "Names a private person; please keep to the producer.";
    let rejected = app
        .gql_ok(
            Some(&admin),
            "mutation($id: ID!, $reason: String!) { rejectCampaign(id: $id, reason: $reason) { status } }",
            json!({ "id": second_campaign, "reason": reason }),
        )
        .await;
    assert_eq!(rejected["rejectCampaign"]["status"], "REJECTED");
    let public = app
        .gql_ok(None, CAMPAIGN, json!({ "id": second_campaign }))
        .await;
    assert_eq!(public["campaign"]["rejectionReason"], reason);
    assert_eq!(public["campaign"]["sponsorCode"], Value::Null);
    assert_eq!(public["campaign"]["counters"]["signatures"], 0);
    let mails = app.mails_to(&address("organiser"), 7).await;
    assert!(mails.iter().any(|mail| mail.text.contains(reason)));

    // Both decisions are in the audit log.
    let audit = app
        .gql_ok(
            Some(&admin),
            "{ auditLog { edges { node { action targetId } } } }",
            json!({}),
        )
        .await;
    let actions: BTreeSet<(String, String)> = audit["auditLog"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|edge| {
            (
                edge["node"]["action"].as_str().unwrap().to_owned(),
                edge["node"]["targetId"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            )
        })
        .collect();
    assert!(actions.contains(&("approve_campaign".to_owned(), campaign.clone())));
    assert!(actions.contains(&("reject_campaign".to_owned(), second_campaign.clone())));
}
