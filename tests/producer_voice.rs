//! The producer's voice: claims approved by admins, responses from approved
//! representatives only, commitments reviewed by signers and closed as KEPT
//! or BROKEN, and organiser updates.

use crate::common::{TestApp, error_code, error_field};
use serde_json::{Value, json};

const CLAIM: &str = "mutation($id: ID!) { claimProducer(producerId: $id) { id status } }";
const DECIDE: &str = "mutation($id: ID!, $approve: Boolean!) { decideProducerClaim(claimId: $id, approve: $approve) { status decidedAt } }";
const RESPOND: &str = "mutation($id: ID!, $input: ProducerResponseInput!) {
  respondToCampaign(campaignId: $id, input: $input) { id commitment commitmentStatus dueAt }
}";
const REVIEW: &str = "mutation($id: ID!, $verdict: CommitmentVerdict!) { reviewCommitment(responseId: $id, verdict: $verdict) { keptReviews brokenReviews } }";
const CLOSE: &str = "mutation($id: ID!) { closeCommitment(responseId: $id) { commitmentStatus commitmentClosedAt } }";

struct World {
    app: TestApp,
    admin: String,
    organiser: String,
    campaign: String,
    producer: String,
}

async fn world() -> World {
    let app = TestApp::spawn_with(&crate::common::ADMIN_ARGS).await;
    let admin = app.admin_token().await;
    let (organiser, campaign) = app.open_campaign("campaigner", 1000).await;
    let producer = app
        .gql_ok(
            None,
            "query($id: ID!) { campaign(id: $id) { producer { id } } }",
            json!({ "id": campaign }),
        )
        .await["campaign"]["producer"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    World {
        app,
        admin,
        organiser,
        campaign,
        producer,
    }
}

/// A member whose claim on the world's producer the admin approved.
async fn representative(world: &World, handle: &str) -> String {
    let (token, _) = world.app.register(handle).await;
    let claim = world
        .app
        .gql_ok(Some(&token), CLAIM, json!({ "id": world.producer }))
        .await;
    assert_eq!(claim["claimProducer"]["status"], "PENDING");
    let decided = world
        .app
        .gql_ok(
            Some(&world.admin),
            DECIDE,
            json!({ "id": claim["claimProducer"]["id"], "approve": true }),
        )
        .await;
    assert_eq!(decided["decideProducerClaim"]["status"], "APPROVED");
    token
}

async fn respond_with_commitment(world: &World, rep: &str) -> String {
    let body = world
        .app
        .gql_ok(
            Some(rep),
            RESPOND,
            json!({ "id": world.campaign, "input": {
                "body": "We hear you.", "commitment": "All allergens on the front by spring.", "dueAt": "2030-03-01T00:00:00Z",
            }}),
        )
        .await;
    assert_eq!(body["respondToCampaign"]["commitmentStatus"], "PENDING");
    body["respondToCampaign"]["id"].as_str().unwrap().to_owned()
}

async fn signers(world: &World, prefix: &str, count: usize) -> Vec<String> {
    let tokens = world.app.register_many(prefix, count).await;
    for token in &tokens {
        world.app.sign(token, &world.campaign).await;
    }
    tokens
}

#[tokio::test]
async fn a_commitment_flows_through_review_to_kept() {
    let world = world().await;
    let rep = representative(&world, "spokesperson").await;
    let response = respond_with_commitment(&world, &rep).await;
    let reviewers = signers(&world, "reviewer", 3).await;
    for (token, verdict) in reviewers.iter().zip(["KEPT", "KEPT", "BROKEN"]) {
        world
            .app
            .gql_ok(
                Some(token),
                REVIEW,
                json!({ "id": response, "verdict": verdict }),
            )
            .await;
    }
    let (outsider, _) = world.app.register("not_a_signer").await;
    let refused = world
        .app
        .gql(
            Some(&outsider),
            REVIEW,
            json!({ "id": response, "verdict": "BROKEN" }),
        )
        .await;
    assert_eq!(error_code(&refused), "FORBIDDEN");
    let by_signer = world
        .app
        .gql(Some(&reviewers[0]), CLOSE, json!({ "id": response }))
        .await;
    assert_eq!(error_code(&by_signer), "FORBIDDEN");

    let closed = world
        .app
        .gql_ok(Some(&world.organiser), CLOSE, json!({ "id": response }))
        .await;
    assert_eq!(closed["closeCommitment"]["commitmentStatus"], "KEPT");
    let again = world
        .app
        .gql(Some(&world.organiser), CLOSE, json!({ "id": response }))
        .await;
    assert_eq!(error_code(&again), "CONFLICT");
    let late_review = world
        .app
        .gql(
            Some(&reviewers[2]),
            REVIEW,
            json!({ "id": response, "verdict": "KEPT" }),
        )
        .await;
    assert_eq!(error_code(&late_review), "CONFLICT");

    let shown = world
        .app
        .gql_ok(
            None,
            "query($p: ID!, $c: ID!) {
               producer(id: $p) { commitments { totalCount edges { node { commitmentStatus keptReviews brokenReviews } } } }
               campaign(id: $c) { responses { totalCount edges { node { body } } } }
             }",
            json!({ "p": world.producer, "c": world.campaign }),
        )
        .await;
    assert_eq!(
        shown["producer"]["commitments"]["edges"][0]["node"],
        json!({ "commitmentStatus": "KEPT", "keptReviews": 2, "brokenReviews": 1 })
    );
    assert_eq!(shown["campaign"]["responses"]["totalCount"], 1);
}

#[tokio::test]
async fn a_tie_or_a_majority_against_is_broken_and_no_review_cannot_close() {
    let world = world().await;
    let rep = representative(&world, "promiser").await;
    let response = respond_with_commitment(&world, &rep).await;
    let empty = world
        .app
        .gql(Some(&world.organiser), CLOSE, json!({ "id": response }))
        .await;
    assert_eq!(error_code(&empty), "CONFLICT");
    let reviewers = signers(&world, "skeptic", 2).await;
    world
        .app
        .gql_ok(
            Some(&reviewers[0]),
            REVIEW,
            json!({ "id": response, "verdict": "KEPT" }),
        )
        .await;
    world
        .app
        .gql_ok(
            Some(&reviewers[1]),
            REVIEW,
            json!({ "id": response, "verdict": "BROKEN" }),
        )
        .await;
    let closed = world
        .app
        .gql_ok(Some(&world.admin), CLOSE, json!({ "id": response }))
        .await;
    assert_eq!(closed["closeCommitment"]["commitmentStatus"], "BROKEN");
}

#[tokio::test]
async fn only_approved_representatives_respond() {
    let world = world().await;
    let input = json!({ "body": "We object." });
    let (hopeful, _) = world.app.register("hopeful").await;
    let unapproved = world
        .app
        .gql(
            Some(&hopeful),
            RESPOND,
            json!({ "id": world.campaign, "input": input }),
        )
        .await;
    assert_eq!(error_code(&unapproved), "FORBIDDEN");

    let claim = world
        .app
        .gql_ok(Some(&hopeful), CLAIM, json!({ "id": world.producer }))
        .await;
    let claim_id = claim["claimProducer"]["id"].clone();
    let duplicate = world
        .app
        .gql(Some(&hopeful), CLAIM, json!({ "id": world.producer }))
        .await;
    assert_eq!(error_code(&duplicate), "CONFLICT");
    let self_approval = world
        .app
        .gql(
            Some(&hopeful),
            DECIDE,
            json!({ "id": claim_id, "approve": true }),
        )
        .await;
    assert_eq!(error_code(&self_approval), "FORBIDDEN");
    let pending: Value = world
        .app
        .gql_ok(
            Some(&world.admin),
            "{ producerClaims { totalCount edges { node { member { handle } } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        pending["producerClaims"]["edges"][0]["node"]["member"]["handle"],
        "hopeful"
    );
    world
        .app
        .gql_ok(
            Some(&world.admin),
            DECIDE,
            json!({ "id": claim_id, "approve": false }),
        )
        .await;
    let rejected = world
        .app
        .gql(
            Some(&hopeful),
            RESPOND,
            json!({ "id": world.campaign, "input": input }),
        )
        .await;
    assert_eq!(error_code(&rejected), "FORBIDDEN");
    let decided_twice = world
        .app
        .gql(
            Some(&world.admin),
            DECIDE,
            json!({ "id": claim_id, "approve": true }),
        )
        .await;
    assert_eq!(error_code(&decided_twice), "CONFLICT");

    let rep = representative(&world, "official").await;
    let due_without_commitment = world
        .app
        .gql(Some(&rep), RESPOND, json!({ "id": world.campaign, "input": { "body": "Soon.", "dueAt": "2030-01-01T00:00:00Z" } }))
        .await;
    assert_eq!(error_code(&due_without_commitment), "BAD_USER_INPUT");
    assert_eq!(error_field(&due_without_commitment), "input.dueAt");
    let plain = world
        .app
        .gql_ok(
            Some(&rep),
            RESPOND,
            json!({ "id": world.campaign, "input": input }),
        )
        .await;
    assert!(plain["respondToCampaign"]["commitmentStatus"].is_null());
    let no_commitment = world
        .app
        .gql(
            Some(&world.organiser),
            CLOSE,
            json!({ "id": plain["respondToCampaign"]["id"] }),
        )
        .await;
    assert_eq!(error_code(&no_commitment), "CONFLICT");
}

#[tokio::test]
async fn organisers_post_updates() {
    let world = world().await;
    let post = "mutation($id: ID!, $input: CampaignUpdateInput!) { postCampaignUpdate(campaignId: $id, input: $input) { title } }";
    let input = json!({ "title": "We met the brand", "body": "They listened." });
    let (stranger, _) = world.app.register("stranger").await;
    let refused = world
        .app
        .gql(
            Some(&stranger),
            post,
            json!({ "id": world.campaign, "input": input }),
        )
        .await;
    assert_eq!(error_code(&refused), "FORBIDDEN");
    world
        .app
        .gql_ok(
            Some(&world.organiser),
            post,
            json!({ "id": world.campaign, "input": input }),
        )
        .await;
    let listed = world
        .app
        .gql_ok(None, "query($id: ID!) { campaign(id: $id) { updates { totalCount edges { node { title body } } } } }", json!({ "id": world.campaign }))
        .await;
    assert_eq!(
        listed["campaign"]["updates"]["edges"][0]["node"],
        json!({ "title": "We met the brand", "body": "They listened." })
    );
}

#[tokio::test]
async fn a_hidden_campaigns_commitments_leave_the_producers_list() {
    let world = world().await;
    let rep = representative(&world, "spokesperson").await;
    respond_with_commitment(&world, &rep).await;
    let listed = || async {
        world
            .app
            .gql_ok(
                None,
                "query($p: ID!) { producer(id: $p) { commitments { totalCount } } }",
                json!({ "p": world.producer }),
            )
            .await["producer"]["commitments"]["totalCount"]
            .clone()
    };
    assert_eq!(listed().await, 1);
    world
        .app
        .gql_ok(
            Some(&world.admin),
            "mutation($id: ID!) { hideContent(kind: CAMPAIGN, id: $id, reason: \"Misleading claims\") }",
            json!({ "id": world.campaign }),
        )
        .await;
    assert_eq!(listed().await, 0, "an answer on a hidden campaign");
}
