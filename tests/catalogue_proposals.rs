//! The catalogue written by many hands: members propose products, brands
//! and ownership edges, representatives dispute edges naming their
//! producer, and nothing is written until a moderator accepts.

use serde_json::{Value, json};

use crate::common::{ADMIN_ARGS, TestApp, error_code, error_field};

const PROPOSAL: &str =
    "id kind status details reason evidenceUrl proposerId decisionReason resultId";

async fn propose_ownership(
    app: &TestApp,
    token: &str,
    child: &str,
    parent: &str,
    evidence: &str,
) -> Value {
    app.gql(
        Some(token),
        &format!(
            "mutation($input: ProposeOwnershipInput!) {{ proposeOwnership(input: $input, reason: \"Stated in its annual report.\") {{ {PROPOSAL} }} }}"
        ),
        json!({ "input": { "childId": child, "parentId": parent, "evidenceUrl": evidence } }),
    )
    .await
}

async fn decide(app: &TestApp, token: &str, verb: &str, id: &str, reason: &str) -> Value {
    app.gql(
        Some(token),
        &format!(
            "mutation($id: ID!, $reason: String!) {{ {verb}CatalogueProposal(id: $id, reason: $reason) {{ {PROPOSAL} }} }}"
        ),
        json!({ "id": id, "reason": reason }),
    )
    .await
}

async fn parent_of(app: &TestApp, producer: &str) -> Value {
    app.gql_ok(
        None,
        "query($id: ID!) { producer(id: $id) { parent { name } ownershipHistory { id source validTo } } }",
        json!({ "id": producer }),
    )
    .await["producer"]
        .clone()
}

#[tokio::test]
async fn proposals_wait_for_a_moderator_and_representatives_dispute_their_edges() {
    let mut args = ADMIN_ARGS.to_vec();
    args.extend(["--catalogue-proposals-per-day", "6"]);
    let app = TestApp::spawn_with(&args).await;
    let admin = app.admin_token().await;
    let child = app.create_producer(&admin, "Crisp Ltd").await;
    let parent = app.create_producer(&admin, "Big Group").await;
    let (member, _) = app.register("shopper").await;

    // A product: checked at once, written only when accepted.
    let product = app
        .gql(
            Some(&member),
            &format!(
                "mutation($input: CreateProductInput!) {{ proposeProduct(input: $input, reason: \"Seen on the shelf in Lyon.\") {{ {PROPOSAL} }} }}"
            ),
            json!({ "input": { "gtin": "3017620422003", "name": "Crisps", "labels": ["en:vegan"] } }),
        )
        .await;
    let product = &product["data"]["proposeProduct"];
    assert_eq!(product["status"], "PENDING", "{product}");
    assert_eq!(product["kind"], "PRODUCT");
    let bad = app
        .gql(
            Some(&member),
            "mutation { proposeProduct(input: { gtin: \"3017620422004\", name: \"Crisps\" }, reason: \"Seen on the shelf.\") { id } }",
            json!({}),
        )
        .await;
    assert_eq!(error_code(&bad), "BAD_USER_INPUT");
    assert_eq!(error_field(&bad), "input.gtin");
    let unseen = app
        .gql_ok(
            None,
            "{ productByGtin(code: \"3017620422003\") { id } }",
            json!({}),
        )
        .await;
    assert!(unseen["productByGtin"].is_null(), "{unseen}");

    // Edges need evidence.
    let bare = propose_ownership(&app, &member, &child, &parent, "").await;
    assert_eq!(error_field(&bare), "input.evidenceUrl", "{bare}");
    let edge = propose_ownership(
        &app,
        &member,
        &child,
        &parent,
        "https://example.org/annual-report.pdf",
    )
    .await;
    let edge = edge["data"]["proposeOwnership"].clone();
    assert_eq!(edge["status"], "PENDING", "{edge}");

    // Members neither read the queue nor decide; they see their own.
    let queue = "query { catalogueProposals(status: PENDING) { totalCount edges { node { id kind proposerId } } } }";
    assert_eq!(
        error_code(&app.gql(Some(&member), queue, json!({})).await),
        "FORBIDDEN"
    );
    let id = product["id"].as_str().unwrap();
    assert_eq!(
        error_code(&decide(&app, &member, "accept", id, "fine").await),
        "FORBIDDEN"
    );
    let own = app
        .gql_ok(
            Some(&member),
            "{ myCatalogueProposals { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(own["myCatalogueProposals"]["totalCount"], 2);
    let pending = app.gql_ok(Some(&admin), queue, json!({})).await;
    assert_eq!(pending["catalogueProposals"]["totalCount"], 2, "{pending}");
    assert!(pending["catalogueProposals"]["edges"][0]["node"]["proposerId"].is_string());

    // Unknown and malformed ids, a reason too short: coded errors.
    let unknown = decide(
        &app,
        &admin,
        "accept",
        &uuid::Uuid::now_v7().to_string(),
        "fine",
    )
    .await;
    assert_eq!(error_code(&unknown), "NOT_FOUND", "{unknown}");
    let malformed = decide(&app, &admin, "reject", "not-an-id", "no thanks").await;
    assert_eq!(error_code(&malformed), "BAD_USER_INPUT", "{malformed}");
    let curt = decide(&app, &admin, "reject", id, "no").await;
    assert_eq!(error_field(&curt), "reason", "{curt}");

    // Accepted: written, once.
    let accepted = decide(&app, &admin, "accept", id, "Checked the label.").await;
    let accepted = &accepted["data"]["acceptCatalogueProposal"];
    assert_eq!(accepted["status"], "ACCEPTED", "{accepted}");
    let found = app
        .gql_ok(
            None,
            "{ productByGtin(code: \"3017620422003\") { id name vegan: valueStatus(slug: \"vegan\") } }",
            json!({}),
        )
        .await;
    assert_eq!(found["productByGtin"]["id"], accepted["resultId"]);
    assert_eq!(found["productByGtin"]["vegan"], "YES");
    assert_eq!(
        error_code(&decide(&app, &admin, "accept", id, "again").await),
        "CONFLICT"
    );
    let written = decide(
        &app,
        &admin,
        "accept",
        edge["id"].as_str().unwrap(),
        "Report checked.",
    )
    .await;
    assert_eq!(
        written["data"]["acceptCatalogueProposal"]["status"], "ACCEPTED",
        "{written}"
    );
    let owned = parent_of(&app, &child).await;
    assert_eq!(owned["parent"]["name"], "Big Group");
    assert_eq!(owned["ownershipHistory"][0]["source"], "MEMBER");
    let ownership = owned["ownershipHistory"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    // Disputes: a representative of either producer, with evidence.
    let dispute = |token: String| {
        let app = &app;
        let ownership = ownership.clone();
        async move {
            app.gql(
                Some(&token),
                &format!(
                    "mutation($id: ID!) {{ disputeOwnership(ownershipId: $id, reason: \"We were sold to another group in March.\", evidenceUrl: \"https://example.org/press\") {{ {PROPOSAL} }} }}"
                ),
                json!({ "id": ownership }),
            )
            .await
        }
    };
    assert_eq!(error_code(&dispute(member.clone()).await), "FORBIDDEN");
    let rep = app.representative(&admin, &child, "crisp_rep").await;
    let first = dispute(rep.clone()).await;
    let first = &first["data"]["disputeOwnership"];
    assert_eq!(first["kind"], "DISPUTE", "{first}");
    let rejected = decide(
        &app,
        &admin,
        "reject",
        first["id"].as_str().unwrap(),
        "The sale has not closed yet.",
    )
    .await;
    let rejected = &rejected["data"]["rejectCatalogueProposal"];
    assert_eq!(rejected["status"], "REJECTED", "{rejected}");
    assert_eq!(rejected["decisionReason"], "The sale has not closed yet.");
    assert_eq!(parent_of(&app, &child).await["parent"]["name"], "Big Group");
    let second = dispute(rep.clone()).await;
    let second = second["data"]["disputeOwnership"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    decide(&app, &admin, "accept", &second, "Closing confirmed.").await;
    let ended = parent_of(&app, &child).await;
    assert!(ended["parent"].is_null(), "{ended}");
    assert!(ended["ownershipHistory"][0]["validTo"].is_string());
    // An edge that ended is not disputed again.
    assert_eq!(error_code(&dispute(rep).await), "CONFLICT");

    // A member files at most CONSUMACT_CATALOGUE_PROPOSALS_PER_DAY (6).
    for i in 0..4 {
        let brand = app
            .gql(
                Some(&member),
                "mutation($name: String!) { proposeBrand(input: { name: $name }, reason: \"A brand on the shelf.\") { status } }",
                json!({ "name": format!("Brand {i}") }),
            )
            .await;
        assert_eq!(
            brand["data"]["proposeBrand"]["status"], "PENDING",
            "{brand}"
        );
    }
    let over = app
        .gql(
            Some(&member),
            "mutation { proposeBrand(input: { name: \"One more\" }, reason: \"A brand on the shelf.\") { status } }",
            json!({}),
        )
        .await;
    assert_eq!(error_code(&over), "RATE_LIMITED", "{over}");

    // The proposer's export lists what they filed.
    let export = app
        .gql_ok(Some(&member), "{ exportMyData }", json!({}))
        .await;
    let export = &export["exportMyData"];
    let export: Value = match export {
        Value::String(text) => serde_json::from_str(text).unwrap(),
        other => other.clone(),
    };
    assert_eq!(export["catalogueProposals"].as_array().unwrap().len(), 6);
}
