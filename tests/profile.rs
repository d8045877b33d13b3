//! A member's own profile for discovery, and public credit for co-created
//! ideas, black-box.

use crate::common::{TestApp, error_code, error_field};
use serde_json::json;

const UPDATE: &str = "mutation($input: UpdateProfileInput!) { updateProfile(input: $input) { values { slug } territory locale useActivitySignals } }";
const ME: &str = "{ me { values { slug } territory locale useActivitySignals } }";

#[tokio::test]
async fn a_member_states_values_and_place_that_only_they_see() {
    let app = TestApp::spawn().await;
    let (token, _) = app.register("lyonnaise").await;
    let updated = app
        .gql_ok(
            Some(&token),
            UPDATE,
            json!({ "input": { "values": ["vegan", "local", "vegan"], "territory": "FR-ARA", "locale": "fr", "useActivitySignals": false } }),
        )
        .await;
    let expected = json!({
        "values": [{ "slug": "local" }, { "slug": "vegan" }],
        "territory": "FR-ARA",
        "locale": "fr",
        "useActivitySignals": false,
    });
    assert_eq!(updated["updateProfile"], expected);
    assert_eq!(
        app.gql_ok(Some(&token), ME, json!({})).await["me"],
        expected
    );

    // Fields left out stay; an empty territory removes it.
    let cleared = app
        .gql_ok(
            Some(&token),
            UPDATE,
            json!({ "input": { "territory": "" } }),
        )
        .await;
    assert_eq!(cleared["updateProfile"]["territory"], json!(null));
    assert_eq!(
        cleared["updateProfile"]["values"].as_array().unwrap().len(),
        2
    );
    let exported = app
        .gql_ok(Some(&token), "{ exportMyData }", json!({}))
        .await;
    assert_eq!(
        exported["exportMyData"]["member"]["values"],
        json!(["local", "vegan"])
    );

    // Nobody else reads them.
    let (organiser, campaign) = app.open_campaign("organiser", 100).await;
    app.gql_ok(
        Some(&organiser),
        UPDATE,
        json!({ "input": { "values": ["halal"], "territory": "FR-IDF" } }),
    )
    .await;
    let territory = "query($id: ID!) { campaign(id: $id) { organiser { territory } } }";
    let seen = app
        .gql_ok(Some(&token), territory, json!({ "id": campaign }))
        .await;
    assert_eq!(seen["campaign"]["organiser"]["territory"], json!(null));
    let own = app
        .gql_ok(Some(&organiser), territory, json!({ "id": campaign }))
        .await;
    assert_eq!(own["campaign"]["organiser"]["territory"], "FR-IDF");
    let values = "query($id: ID!) { campaign(id: $id) { organiser { values { slug } } } }";
    let refused = app
        .gql(Some(&token), values, json!({ "id": campaign }))
        .await;
    assert_eq!(error_code(&refused), "FORBIDDEN", "{refused}");
}

#[tokio::test]
async fn a_profile_refuses_bad_input() {
    let app = TestApp::spawn().await;
    let (token, _) = app.register("careful").await;
    for (input, field) in [
        (json!({ "values": ["no-such-value"] }), "input.values"),
        (json!({ "territory": "Atlantis" }), "input.territory"),
        (json!({ "locale": "de" }), "input.locale"),
    ] {
        let refused = app
            .gql(Some(&token), UPDATE, json!({ "input": input }))
            .await;
        assert_eq!(error_code(&refused), "BAD_USER_INPUT", "{refused}");
        assert_eq!(error_field(&refused), field);
    }
    let too_many: Vec<String> = (0..11).map(|i| format!("value-{i}")).collect();
    let refused = app
        .gql(
            Some(&token),
            UPDATE,
            json!({ "input": { "values": too_many } }),
        )
        .await;
    assert_eq!(error_field(&refused), "input.values");
    let anonymous = app
        .gql(None, UPDATE, json!({ "input": { "locale": "fr" } }))
        .await;
    assert_eq!(error_code(&anonymous), "UNAUTHENTICATED");
    // Nothing changed.
    assert_eq!(
        app.gql_ok(Some(&token), ME, json!({})).await["me"],
        json!({ "values": [], "territory": null, "locale": "en", "useActivitySignals": true })
    );
}

const CREATE: &str = "mutation($input: CreateCampaignInput!) { createCampaign(input: $input) { id rewardDescription } }";

#[tokio::test]
async fn an_adopted_idea_credits_its_author_publicly() {
    let app = TestApp::spawn().await;
    let (organiser, _) = app.register("organiser").await;
    let producer = app.create_producer(&organiser, "Acme Foods").await;
    let input = |kind: &str| {
        json!({ "input": {
            "kind": kind,
            "title": "Design the next recipe",
            "summary": "Propose the recipe Acme should make next.",
            "body": "Ideas welcome.",
            "producerId": producer,
            "rewardDescription": "The adopted recipe carries its author's name.",
        }})
    };
    let petition = app.gql(Some(&organiser), CREATE, input("PETITION")).await;
    assert_eq!(error_field(&petition), "input.rewardDescription");
    let created = app
        .gql_ok(Some(&organiser), CREATE, input("CO_CREATION"))
        .await;
    let campaign = created["createCampaign"]["id"].as_str().unwrap().to_owned();
    assert_eq!(
        created["createCampaign"]["rewardDescription"],
        "The adopted recipe carries its author's name."
    );
    app.publish(&organiser, &campaign).await;

    let (author, _) = app.register("inventor").await;
    let proposal = app
        .gql_ok(
            Some(&author),
            "mutation($id: ID!) { submitProposal(campaignId: $id, input: { title: \"Lentil burger\", body: \"With smoked paprika.\" }) { id } }",
            json!({ "id": campaign }),
        )
        .await["submitProposal"]["id"]
        .clone();
    let credit = "query($id: ID!) { campaign(id: $id) { proposals(first: 1) { edges { node { author { adoptedProposalCount adoptedProposals(first: 5) { totalCount edges { node { title status } } } } } } } } }";
    let before = app.gql_ok(None, credit, json!({ "id": campaign })).await;
    let author_view = &before["campaign"]["proposals"]["edges"][0]["node"]["author"];
    assert_eq!(author_view["adoptedProposalCount"], 0);

    app.gql_ok(
        Some(&organiser),
        "mutation($id: ID!) { adoptProposal(proposalId: $id) { status } }",
        json!({ "id": proposal }),
    )
    .await;
    let after = app.gql_ok(None, credit, json!({ "id": campaign })).await;
    let author_view = &after["campaign"]["proposals"]["edges"][0]["node"]["author"];
    assert_eq!(author_view["adoptedProposalCount"], 1);
    assert_eq!(
        author_view["adoptedProposals"],
        json!({ "totalCount": 1, "edges": [{ "node": { "title": "Lentil burger", "status": "ADOPTED" } }] })
    );

    // Removing the reward text is an empty update.
    let cleared = app
        .gql_ok(
            Some(&organiser),
            "mutation($id: ID!) { updateCampaign(id: $id, input: { rewardDescription: \"\" }) { rewardDescription } }",
            json!({ "id": campaign }),
        )
        .await;
    assert_eq!(cleared["updateCampaign"]["rewardDescription"], json!(null));
}
