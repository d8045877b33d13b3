//! Co-creation: proposals, changeable votes whose counts always equal the
//! vote rows, selection at the threshold, adoption, and community proposals.

use crate::common::{TestApp, error_code, error_field};
use serde_json::{Value, json};

const SUBMIT: &str = "mutation($id: ID!, $input: ProposalInput!) {
  submitProposal(campaignId: $id, input: $input) { id status score author { handle } }
}";
const VOTE: &str = "mutation($id: ID!, $direction: VoteDirection!) {
  vote(proposalId: $id, direction: $direction) { upVotes downVotes score status viewerVote selectedAt }
}";

/// An open CO_CREATION campaign selecting at `threshold`; returns (organiser token, id).
async fn co_creation(app: &TestApp, organiser: &str, threshold: i64) -> (String, String) {
    let (token, _) = app.register(organiser).await;
    let producer = app
        .create_producer(&token, &format!("Maker {organiser}"))
        .await;
    let data = app
        .gql_ok(
            Some(&token),
            "mutation($input: CreateCampaignInput!) { createCampaign(input: $input) { id } }",
            json!({ "input": {
                "kind": "CO_CREATION", "title": "Design the refill pack", "summary": "Propose and vote on the refill pack design.",
                "body": "Ideas welcome.", "producerId": producer, "selectionThreshold": threshold,
            }}),
        )
        .await;
    let id = data["createCampaign"]["id"].as_str().unwrap().to_owned();
    app.publish(&token, &id).await;
    (token, id)
}

async fn submit(app: &TestApp, token: &str, campaign: &str, title: &str) -> String {
    let data = app
        .gql_ok(
            Some(token),
            SUBMIT,
            json!({ "id": campaign, "input": { "title": title, "body": "Details." } }),
        )
        .await;
    data["submitProposal"]["id"].as_str().unwrap().to_owned()
}

async fn vote(app: &TestApp, token: &str, proposal: &str, direction: &str) -> Value {
    app.gql(
        Some(token),
        VOTE,
        json!({ "id": proposal, "direction": direction }),
    )
    .await
}

#[tokio::test]
async fn vote_counts_equal_the_votes_after_any_sequence() {
    let app = TestApp::spawn_with(&["--vote-per-minute", "100000", "--vote-burst", "10000"]).await;
    let (organiser, campaign) = co_creation(&app, "designer", 1_000).await;
    let proposal = submit(&app, &organiser, &campaign, "Glass jars with deposit").await;
    let voters = app.register_many("voter", 12).await;
    let mut last = vec!["NONE"; voters.len()];
    let mut seed: u64 = 0x5eed;
    for _ in 0..120 {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let who = (seed >> 33) as usize % voters.len();
        let direction = ["UP", "DOWN", "NONE"][(seed >> 20) as usize % 3];
        let body = vote(&app, &voters[who], &proposal, direction).await;
        assert!(body.get("errors").is_none(), "{body}");
        assert_eq!(body["data"]["vote"]["viewerVote"], direction);
        last[who] = direction;
    }
    let up = last.iter().filter(|d| **d == "UP").count() as i64;
    let down = last.iter().filter(|d| **d == "DOWN").count() as i64;
    let now = app
        .gql_ok(None, "query($id: ID!) { campaign(id: $id) { proposals { edges { node { upVotes downVotes score } } } } }", json!({ "id": campaign }))
        .await;
    assert_eq!(
        now["campaign"]["proposals"]["edges"][0]["node"],
        json!({ "upVotes": up, "downVotes": down, "score": up - down })
    );
}

#[tokio::test]
async fn concurrent_votes_are_all_counted() {
    let app = TestApp::spawn().await;
    let (organiser, campaign) = co_creation(&app, "crowdsourcer", 1_000).await;
    let proposal = submit(&app, &organiser, &campaign, "Compostable capsules").await;
    let voters = app.register_many("rush", 30).await;
    let results = futures::future::join_all(voters.iter().enumerate().map(|(i, token)| {
        let direction = if i % 3 == 0 { "DOWN" } else { "UP" };
        vote(&app, token, &proposal, direction)
    }))
    .await;
    assert!(
        results.iter().all(|body| body.get("errors").is_none()),
        "{results:?}"
    );
    let body = vote(&app, &voters[1], &proposal, "UP").await;
    assert_eq!(body["data"]["vote"]["upVotes"], 20);
    assert_eq!(body["data"]["vote"]["downVotes"], 10);
}

#[tokio::test]
async fn a_proposal_is_selected_once_at_the_threshold() {
    let app = TestApp::spawn().await;
    let (organiser, campaign) = co_creation(&app, "selector", 3).await;
    let proposal = submit(&app, &organiser, &campaign, "Refill stations in shops").await;
    let voters = app.register_many("backer", 4).await;
    for token in &voters[..2] {
        let body = vote(&app, token, &proposal, "UP").await;
        assert_eq!(body["data"]["vote"]["status"], "OPEN");
    }
    let third = vote(&app, &voters[2], &proposal, "UP").await;
    assert_eq!(third["data"]["vote"]["status"], "SELECTED");
    let selected_at = third["data"]["vote"]["selectedAt"].clone();
    assert!(selected_at.is_string());
    let down = vote(&app, &voters[3], &proposal, "DOWN").await;
    assert_eq!(
        down["data"]["vote"]["status"], "SELECTED",
        "selection is not undone"
    );
    let again = vote(&app, &voters[3], &proposal, "UP").await;
    assert_eq!(
        again["data"]["vote"]["selectedAt"], selected_at,
        "selected once"
    );

    let adopt = "mutation($id: ID!) { adoptProposal(proposalId: $id) { status adoptedAt } }";
    let refused = app
        .gql(Some(&voters[0]), adopt, json!({ "id": proposal }))
        .await;
    assert_eq!(error_code(&refused), "FORBIDDEN");
    let adopted = app
        .gql_ok(Some(&organiser), adopt, json!({ "id": proposal }))
        .await;
    assert_eq!(adopted["adoptProposal"]["status"], "ADOPTED");
    let twice = app
        .gql(Some(&organiser), adopt, json!({ "id": proposal }))
        .await;
    assert_eq!(error_code(&twice), "CONFLICT");
}

#[tokio::test]
async fn proposals_are_ranked_by_score_and_paged() {
    let app = TestApp::spawn().await;
    let (organiser, campaign) = co_creation(&app, "ranker", 1_000).await;
    let low = submit(&app, &organiser, &campaign, "Low idea here").await;
    let high = submit(&app, &organiser, &campaign, "High idea here").await;
    let middle = submit(&app, &organiser, &campaign, "Middle idea here").await;
    let voters = app.register_many("judge", 3).await;
    for token in &voters {
        vote(&app, token, &high, "UP").await;
    }
    vote(&app, &voters[0], &middle, "UP").await;
    vote(&app, &voters[0], &low, "DOWN").await;
    let page =
        "query($id: ID!, $after: String) { campaign(id: $id) { proposals(first: 2, after: $after) {
        totalCount edges { node { id score } } pageInfo { hasNextPage endCursor } } } }";
    let first = app.gql_ok(None, page, json!({ "id": campaign })).await;
    let proposals = &first["campaign"]["proposals"];
    assert_eq!(proposals["totalCount"], 3);
    assert_eq!(
        proposals["edges"][0]["node"],
        json!({ "id": high, "score": 3 })
    );
    assert_eq!(
        proposals["edges"][1]["node"],
        json!({ "id": middle, "score": 1 })
    );
    assert_eq!(proposals["pageInfo"]["hasNextPage"], true);
    let next = app
        .gql_ok(
            None,
            page,
            json!({ "id": campaign, "after": proposals["pageInfo"]["endCursor"] }),
        )
        .await;
    assert_eq!(
        next["campaign"]["proposals"]["edges"][0]["node"],
        json!({ "id": low, "score": -1 })
    );
    assert_eq!(
        next["campaign"]["proposals"]["pageInfo"]["hasNextPage"],
        false
    );
    let forged = app
        .gql(None, page, json!({ "id": campaign, "after": "r1:zz" }))
        .await;
    assert_eq!(error_code(&forged), "BAD_USER_INPUT");
}

#[tokio::test]
async fn proposals_follow_the_campaign_rules() {
    let app = TestApp::spawn().await;
    let (_, petition) = app.open_campaign("petitioner", 1000).await;
    let (member, _) = app.register("ideas").await;
    let wrong_kind = app
        .gql(
            Some(&member),
            SUBMIT,
            json!({ "id": petition, "input": { "title": "Not here please", "body": "x" } }),
        )
        .await;
    assert_eq!(error_code(&wrong_kind), "CONFLICT");
    let (_, campaign) = co_creation(&app, "rules", 10).await;
    let short = app
        .gql(
            Some(&member),
            SUBMIT,
            json!({ "id": campaign, "input": { "title": "Hi", "body": "x" } }),
        )
        .await;
    assert_eq!(error_code(&short), "BAD_USER_INPUT");
    assert_eq!(error_field(&short), "input.title");
    let anonymous = app
        .gql(
            None,
            SUBMIT,
            json!({ "id": campaign, "input": { "title": "Anonymous idea", "body": "x" } }),
        )
        .await;
    assert_eq!(error_code(&anonymous), "UNAUTHENTICATED");
    let unknown = vote(&app, &member, "01900000-0000-7000-8000-000000000000", "UP").await;
    assert_eq!(error_code(&unknown), "NOT_FOUND");
    let bad_direction = vote(
        &app,
        &member,
        "01900000-0000-7000-8000-000000000000",
        "SIDEWAYS",
    )
    .await;
    assert!(bad_direction["data"].is_null());
}

#[tokio::test]
async fn community_proposals_are_for_members() {
    let app = TestApp::spawn().await;
    let (founder, _) = app.register("founder").await;
    let (outsider, _) = app.register("outsider").await;
    let community = app
        .gql_ok(Some(&founder), "mutation { createCommunity(input: { name: \"Zero Waste Lille\", slug: \"zero-waste-lille\" }) { id } }", json!({}))
        .await["createCommunity"]["id"]
        .clone();
    let submit = "mutation($id: ID!) { submitCommunityProposal(communityId: $id, input: { title: \"Bulk buying group\", body: \"Let us buy together.\" }) { id } }";
    let refused = app
        .gql(Some(&outsider), submit, json!({ "id": community }))
        .await;
    assert_eq!(error_code(&refused), "FORBIDDEN");
    let proposal = app
        .gql_ok(Some(&founder), submit, json!({ "id": community }))
        .await["submitCommunityProposal"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let outsider_vote = vote(&app, &outsider, &proposal, "UP").await;
    assert_eq!(error_code(&outsider_vote), "FORBIDDEN");
    app.gql_ok(
        Some(&outsider),
        "mutation($id: ID!) { joinCommunity(communityId: $id) { id } }",
        json!({ "id": community }),
    )
    .await;
    let member_vote = vote(&app, &outsider, &proposal, "UP").await;
    assert_eq!(member_vote["data"]["vote"]["score"], 1, "{member_vote}");
    let listed = app
        .gql_ok(
            None,
            "{ community(slug: \"zero-waste-lille\") { proposals { totalCount } } }",
            json!({}),
        )
        .await;
    assert_eq!(listed["community"]["proposals"]["totalCount"], 1);
}
