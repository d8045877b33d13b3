//! Campaigns: the draft → open → victory/closed lifecycle, who may drive it,
//! who sees drafts, validation, and filtered lists.

use crate::common::{TestApp, error_code, error_field};
use serde_json::{Value, json};

const CAMPAIGN: &str = "query($id: ID!) {
  campaign(id: $id) {
    id kind status title goal viewerCanEdit publishedAt closedAt
    producer { name } organiser { handle } community { slug } valueTags { slug }
  }
}";
const UPDATE: &str = "mutation($id: ID!, $input: UpdateCampaignInput!) { updateCampaign(id: $id, input: $input) { title goal valueTags { slug } } }";
const CLOSE: &str = "mutation($id: ID!, $outcome: CampaignOutcome!) { closeCampaign(id: $id, outcome: $outcome) { status closedAt } }";
const PUBLISH: &str = "mutation($id: ID!) { publishCampaign(id: $id) { status publishedAt } }";
const CREATE: &str =
    "mutation($input: CreateCampaignInput!) { createCampaign(input: $input) { id status } }";

async fn campaign(app: &TestApp, token: Option<&str>, id: &str) -> Value {
    app.gql_ok(token, CAMPAIGN, json!({ "id": id })).await["campaign"].clone()
}

#[tokio::test]
async fn a_petition_goes_from_draft_to_victory() {
    let app = TestApp::spawn().await;
    let (organiser, _) = app.register("organiser").await;
    let producer = app.create_producer(&organiser, "Acme Foods").await;
    let id = app.create_campaign(&organiser, &producer).await;

    let draft = campaign(&app, Some(&organiser), &id).await;
    assert_eq!(draft["status"], "DRAFT");
    assert_eq!(draft["kind"], "PETITION");
    assert_eq!(draft["goal"], 1000);
    assert_eq!(draft["viewerCanEdit"], true);
    assert_eq!(draft["producer"]["name"], "Acme Foods");
    assert_eq!(draft["organiser"]["handle"], "organiser");
    assert!(draft["publishedAt"].is_null());

    let published = app
        .gql_ok(Some(&organiser), PUBLISH, json!({ "id": id }))
        .await;
    assert_eq!(published["publishCampaign"]["status"], "OPEN");
    assert!(published["publishCampaign"]["publishedAt"].is_string());

    let closed = app
        .gql_ok(
            Some(&organiser),
            CLOSE,
            json!({ "id": id, "outcome": "VICTORY" }),
        )
        .await;
    assert_eq!(closed["closeCampaign"]["status"], "VICTORY");
    assert!(closed["closeCampaign"]["closedAt"].is_string());
    let public = campaign(&app, None, &id).await;
    assert_eq!(public["status"], "VICTORY");
    assert_eq!(public["viewerCanEdit"], false);
}

#[tokio::test]
async fn drafts_are_seen_only_by_their_organiser() {
    let app = TestApp::spawn().await;
    let (organiser, organiser_id) = app.register("drafter").await;
    let (other, _) = app.register("onlooker").await;
    let producer = app.create_producer(&organiser, "Hidden Co").await;
    let id = app.create_campaign(&organiser, &producer).await;

    assert!(campaign(&app, None, &id).await.is_null());
    assert!(campaign(&app, Some(&other), &id).await.is_null());
    let list = "query($filter: CampaignFilter) { campaigns(filter: $filter) { totalCount } }";
    let anonymous = app.gql_ok(None, list, json!({})).await;
    assert_eq!(anonymous["campaigns"]["totalCount"], 0);
    let own = app
        .gql_ok(
            Some(&organiser),
            list,
            json!({ "filter": { "status": "DRAFT", "organiserId": organiser_id } }),
        )
        .await;
    assert_eq!(own["campaigns"]["totalCount"], 1);

    app.publish(&organiser, &id).await;
    assert_eq!(campaign(&app, Some(&other), &id).await["status"], "OPEN");
    assert_eq!(
        app.gql_ok(None, list, json!({})).await["campaigns"]["totalCount"],
        1
    );
}

#[tokio::test]
async fn only_the_organiser_or_an_admin_changes_a_campaign() {
    let app = TestApp::spawn_with(&crate::common::ADMIN_ARGS).await;
    let (organiser, _) = app.register("owner").await;
    let (intruder, _) = app.register("intruder").await;
    let producer = app.create_producer(&organiser, "Guarded Ltd").await;
    let id = app.create_campaign(&organiser, &producer).await;
    app.publish(&organiser, &id).await;

    let edit = app
        .gql(
            Some(&intruder),
            UPDATE,
            json!({ "id": id, "input": { "title": "Hijacked title" } }),
        )
        .await;
    assert_eq!(error_code(&edit), "FORBIDDEN");
    let close = app
        .gql(
            Some(&intruder),
            CLOSE,
            json!({ "id": id, "outcome": "CLOSED" }),
        )
        .await;
    assert_eq!(error_code(&close), "FORBIDDEN");
    let anonymous = app
        .gql(
            None,
            UPDATE,
            json!({ "id": id, "input": { "title": "Anonymous title" } }),
        )
        .await;
    assert_eq!(error_code(&anonymous), "UNAUTHENTICATED");
    assert_eq!(
        campaign(&app, None, &id).await["title"],
        "Label every allergen"
    );

    let admin = &app.admin_token().await;
    let moderated = app
        .gql_ok(
            Some(admin),
            UPDATE,
            json!({ "id": id, "input": { "title": "Label all allergens" } }),
        )
        .await;
    assert_eq!(moderated["updateCampaign"]["title"], "Label all allergens");
    let closed = app
        .gql_ok(Some(admin), CLOSE, json!({ "id": id, "outcome": "CLOSED" }))
        .await;
    assert_eq!(closed["closeCampaign"]["status"], "CLOSED");
}

#[tokio::test]
async fn illegal_transitions_are_conflicts() {
    let app = TestApp::spawn().await;
    let (organiser, _) = app.register("stepper").await;
    let producer = app.create_producer(&organiser, "Stateful Inc").await;
    let id = app.create_campaign(&organiser, &producer).await;

    let close_draft = app
        .gql(
            Some(&organiser),
            CLOSE,
            json!({ "id": id, "outcome": "VICTORY" }),
        )
        .await;
    assert_eq!(error_code(&close_draft), "CONFLICT");
    app.publish(&organiser, &id).await;
    let publish_again = app
        .gql(Some(&organiser), PUBLISH, json!({ "id": id }))
        .await;
    assert_eq!(error_code(&publish_again), "CONFLICT");
    app.gql_ok(
        Some(&organiser),
        CLOSE,
        json!({ "id": id, "outcome": "CLOSED" }),
    )
    .await;
    let close_again = app
        .gql(
            Some(&organiser),
            CLOSE,
            json!({ "id": id, "outcome": "VICTORY" }),
        )
        .await;
    assert_eq!(error_code(&close_again), "CONFLICT");
    let edit_closed = app
        .gql(
            Some(&organiser),
            UPDATE,
            json!({ "id": id, "input": { "goal": 5 } }),
        )
        .await;
    assert_eq!(error_code(&edit_closed), "CONFLICT");
    let outcome = app
        .gql(
            Some(&organiser),
            CLOSE,
            json!({ "id": id, "outcome": "DRAFT" }),
        )
        .await;
    assert!(outcome["data"].is_null());
    assert!(outcome["errors"][0]["extensions"]["code"].is_string());
}

#[tokio::test]
async fn concurrent_publishes_succeed_once() {
    let app = TestApp::spawn().await;
    let (organiser, _) = app.register("racer").await;
    let producer = app.create_producer(&organiser, "Race Corp").await;
    let id = app.create_campaign(&organiser, &producer).await;
    let attempts = (0..8).map(|_| app.gql(Some(&organiser), PUBLISH, json!({ "id": id })));
    let results = futures::future::join_all(attempts).await;
    let succeeded = results
        .iter()
        .filter(|body| body.get("errors").is_none())
        .count();
    assert_eq!(succeeded, 1, "{results:?}");
    for failed in results.iter().filter(|body| body.get("errors").is_some()) {
        assert_eq!(error_code(failed), "CONFLICT");
    }
}

#[tokio::test]
async fn campaign_input_is_validated() {
    let app = TestApp::spawn().await;
    let (organiser, _) = app.register("checker").await;
    let producer = app.create_producer(&organiser, "Valid SA").await;
    let base = json!({
        "kind": "BOYCOTT",
        "title": "Stop the palm oil",
        "summary": "Replace palm oil in every biscuit by 2027.",
        "body": "Details.",
        "producerId": producer,
    });
    let with = |key: &str, value: Value| {
        let mut input = base.clone();
        input[key] = value;
        json!({ "input": input })
    };
    let cases = [
        (with("goal", json!(0)), "input.goal"),
        (with("goal", json!(-10)), "input.goal"),
        (with("title", json!("Hi")), "input.title"),
        (with("summary", json!("x".repeat(281))), "input.summary"),
        (
            with("deadline", json!("2001-01-01T00:00:00Z")),
            "input.deadline",
        ),
        (
            with("deadline", json!("2199-01-01T00:00:00Z")),
            "input.deadline",
        ),
        (
            with("selectionThreshold", json!(10)),
            "input.selectionThreshold",
        ),
        (with("valueTags", json!(["not-a-value"])), "input.valueTags"),
        (with("producerId", json!("not-an-id")), "input.producerId"),
    ];
    for (variables, field) in cases {
        let body = app.gql(Some(&organiser), CREATE, variables.clone()).await;
        assert_eq!(error_code(&body), "BAD_USER_INPUT", "{variables}");
        assert_eq!(error_field(&body), field, "{variables}");
    }
    let unknown_producer = app
        .gql(
            Some(&organiser),
            CREATE,
            with("producerId", json!("01900000-0000-7000-8000-000000000000")),
        )
        .await;
    assert_eq!(error_code(&unknown_producer), "NOT_FOUND");
    let unknown_community = app
        .gql(
            Some(&organiser),
            CREATE,
            with("communityId", json!("01900000-0000-7000-8000-000000000000")),
        )
        .await;
    assert_eq!(error_code(&unknown_community), "NOT_FOUND");
    let bad_date = app
        .gql(
            Some(&organiser),
            CREATE,
            with("deadline", json!("tomorrow")),
        )
        .await;
    assert!(bad_date["data"].is_null());
    assert!(bad_date["errors"][0]["extensions"]["code"].is_string());
    let too_big = app
        .gql(Some(&organiser), CREATE, with("goal", json!(1_i64 << 40)))
        .await;
    assert!(too_big["data"].is_null());

    let mut co_creation = base.clone();
    co_creation["kind"] = json!("CO_CREATION");
    co_creation["selectionThreshold"] = json!(25);
    let created = app
        .gql_ok(Some(&organiser), CREATE, json!({ "input": co_creation }))
        .await;
    assert_eq!(created["createCampaign"]["status"], "DRAFT");
}

#[tokio::test]
async fn updates_change_only_what_is_given() {
    let app = TestApp::spawn().await;
    let (organiser, _) = app.register("editor").await;
    let producer = app.create_producer(&organiser, "Edit Co").await;
    let id = app.create_campaign(&organiser, &producer).await;
    let data = app
        .gql_ok(
            Some(&organiser),
            UPDATE,
            json!({ "id": id, "input": { "goal": 5000, "valueTags": ["allergen-labelling", "gluten-free"] } }),
        )
        .await;
    assert_eq!(data["updateCampaign"]["title"], "Label every allergen");
    assert_eq!(data["updateCampaign"]["goal"], 5000);
    assert_eq!(
        data["updateCampaign"]["valueTags"],
        json!([{ "slug": "allergen-labelling" }, { "slug": "gluten-free" }])
    );
    let invalid = app
        .gql(
            Some(&organiser),
            UPDATE,
            json!({ "id": id, "input": { "goal": 0 } }),
        )
        .await;
    assert_eq!(error_code(&invalid), "BAD_USER_INPUT");
    assert_eq!(campaign(&app, Some(&organiser), &id).await["goal"], 5000);
    let unknown = app
        .gql(
            Some(&organiser),
            UPDATE,
            json!({ "id": "01900000-0000-7000-8000-000000000000", "input": { "goal": 1 } }),
        )
        .await;
    assert_eq!(error_code(&unknown), "NOT_FOUND");
}

const LIST: &str = "query($filter: CampaignFilter) {
  campaigns(first: 50, filter: $filter) {
    totalCount
    edges { node { title kind status producer { name } community { slug } organiser { handle } valueTags { slug } } }
  }
}";

fn titles(data: &Value) -> Vec<String> {
    data["campaigns"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|edge| edge["node"]["title"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn lists_filter_by_kind_status_producer_community_and_value() {
    let app = TestApp::spawn().await;
    let (token, _) = app.register("curator").await;
    let acme = app.create_producer(&token, "Acme").await;
    let globex = app.create_producer(&token, "Globex").await;
    let community = app
        .gql_ok(
            Some(&token),
            "mutation { createCommunity(input: { name: \"Fair Lille\", slug: \"fair-lille\" }) { id } }",
            json!({}),
        )
        .await["createCommunity"]["id"]
        .clone();
    let specs = [
        (
            "Boycott Acme palm oil",
            "BOYCOTT",
            &acme,
            None,
            vec!["palm-oil-free"],
        ),
        (
            "Buy from Globex locally",
            "BUYCOTT",
            &globex,
            Some(&community),
            vec!["local"],
        ),
        (
            "Petition Globex wages",
            "PETITION",
            &globex,
            None,
            vec!["living-wage"],
        ),
    ];
    let mut ids = Vec::new();
    for (title, kind, producer, community, tags) in specs {
        let data = app
            .gql_ok(
                Some(&token),
                CREATE,
                json!({ "input": {
                    "kind": kind, "title": title, "summary": "A summary long enough.",
                    "body": "Body.", "producerId": producer, "communityId": community, "valueTags": tags,
                }}),
            )
            .await;
        let id = data["createCampaign"]["id"].as_str().unwrap().to_owned();
        app.publish(&token, &id).await;
        ids.push(id);
    }
    app.gql_ok(
        Some(&token),
        CLOSE,
        json!({ "id": ids[2], "outcome": "VICTORY" }),
    )
    .await;

    let all = app.gql_ok(None, LIST, json!({})).await;
    assert_eq!(
        titles(&all),
        [
            "Petition Globex wages",
            "Buy from Globex locally",
            "Boycott Acme palm oil"
        ]
    );
    let first = &all["campaigns"]["edges"][1]["node"];
    assert_eq!(first["producer"]["name"], "Globex");
    assert_eq!(first["community"]["slug"], "fair-lille");
    assert_eq!(first["organiser"]["handle"], "curator");

    let by = |filter: Value| app.gql_ok(None, LIST, json!({ "filter": filter }));
    assert_eq!(
        titles(&by(json!({ "kind": "BOYCOTT" })).await),
        ["Boycott Acme palm oil"]
    );
    assert_eq!(
        titles(&by(json!({ "status": "VICTORY" })).await),
        ["Petition Globex wages"]
    );
    assert_eq!(
        titles(&by(json!({ "producerId": globex, "status": "OPEN" })).await),
        ["Buy from Globex locally"]
    );
    assert_eq!(
        titles(&by(json!({ "communityId": community })).await),
        ["Buy from Globex locally"]
    );
    assert_eq!(
        titles(&by(json!({ "valueTag": "living-wage" })).await),
        ["Petition Globex wages"]
    );
    let bad = app
        .gql(None, LIST, json!({ "filter": { "producerId": "x" } }))
        .await;
    assert_eq!(error_code(&bad), "BAD_USER_INPUT");

    let nested = app
        .gql_ok(
            None,
            "query($id: ID!) { producer(id: $id) { campaigns { totalCount edges { node { title } } } } }",
            json!({ "id": acme }),
        )
        .await;
    assert_eq!(nested["producer"]["campaigns"]["totalCount"], 1);
    let in_community = app
        .gql_ok(
            None,
            "{ community(slug: \"fair-lille\") { campaigns { totalCount } } }",
            json!({}),
        )
        .await;
    assert_eq!(in_community["community"]["campaigns"]["totalCount"], 1);
}
