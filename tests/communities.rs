//! Communities: creating, joining, leaving, finding and listing them.

use crate::common::{TestApp, error_code, error_field};
use serde_json::{Value, json};

const CREATE: &str = "mutation($input: CreateCommunityInput!) {
  createCommunity(input: $input) {
    id slug name territory memberCount viewerRole valueTags { slug category }
  }
}";

async fn create(
    app: &TestApp,
    token: &str,
    slug: &str,
    territory: Option<&str>,
    tags: &[&str],
) -> Value {
    app.gql_ok(
        Some(token),
        CREATE,
        json!({ "input": {
            "name": format!("Community {slug}"),
            "slug": slug,
            "description": "People who care.",
            "territory": territory,
            "valueTags": tags,
        }}),
    )
    .await["createCommunity"]
        .clone()
}

#[tokio::test]
async fn the_creator_is_the_first_moderator() {
    let app = TestApp::spawn().await;
    let (token, _) = app.register("rosa").await;
    let community = create(
        &app,
        &token,
        "vegan-lyon",
        Some("fr-ara"),
        &["vegan", "local"],
    )
    .await;
    assert_eq!(community["slug"], "vegan-lyon");
    assert_eq!(community["territory"], "FR-ARA");
    assert_eq!(community["memberCount"], 1);
    assert_eq!(community["viewerRole"], "MODERATOR");
    let tags: Vec<&str> = community["valueTags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|tag| tag["slug"].as_str().unwrap())
        .collect();
    assert_eq!(tags, ["local", "vegan"]);

    let by_slug = app
        .gql_ok(
            None,
            "{ community(slug: \"vegan-lyon\") { name viewerRole } }",
            json!({}),
        )
        .await;
    assert_eq!(by_slug["community"]["name"], "Community vegan-lyon");
    assert!(by_slug["community"]["viewerRole"].is_null());
    let missing = app
        .gql_ok(None, "{ community(slug: \"nowhere\") { name } }", json!({}))
        .await;
    assert!(missing["community"].is_null());
}

#[tokio::test]
async fn creating_requires_sign_in_and_valid_input() {
    let app = TestApp::spawn().await;
    let input = json!({ "name": "Halal Paris", "slug": "halal-paris" });
    let anonymous = app.gql(None, CREATE, json!({ "input": input })).await;
    assert_eq!(error_code(&anonymous), "UNAUTHENTICATED");

    let (token, _) = app.register("omar").await;
    let cases = [
        (
            json!({ "name": "Halal Paris", "slug": "Halal Paris" }),
            "input.slug",
        ),
        (json!({ "name": "H", "slug": "halal-paris" }), "input.name"),
        (
            json!({ "name": "Halal Paris", "slug": "halal-paris", "territory": "ZZ" }),
            "input.territory",
        ),
        (
            json!({ "name": "Halal Paris", "slug": "halal-paris", "valueTags": ["no-such-value"] }),
            "input.valueTags",
        ),
    ];
    for (input, field) in cases {
        let body = app
            .gql(Some(&token), CREATE, json!({ "input": input }))
            .await;
        assert_eq!(error_code(&body), "BAD_USER_INPUT", "{input}");
        assert_eq!(error_field(&body), field, "{input}");
    }
    create(&app, &token, "halal-paris", None, &["halal"]).await;
    let duplicate = app
        .gql(
            Some(&token),
            CREATE,
            json!({ "input": { "name": "Again", "slug": "halal-paris" } }),
        )
        .await;
    assert_eq!(error_code(&duplicate), "CONFLICT");
}

const JOIN: &str =
    "mutation($id: ID!) { joinCommunity(communityId: $id) { memberCount viewerRole } }";
const LEAVE: &str =
    "mutation($id: ID!) { leaveCommunity(communityId: $id) { memberCount viewerRole } }";

#[tokio::test]
async fn members_join_and_leave_once() {
    let app = TestApp::spawn().await;
    let (founder, _) = app.register("founder").await;
    let (joiner, _) = app.register("joiner").await;
    let id = create(&app, &founder, "zero-waste-nantes", Some("FR"), &[]).await["id"].clone();

    let joined = app.gql_ok(Some(&joiner), JOIN, json!({ "id": id })).await;
    assert_eq!(joined["joinCommunity"]["memberCount"], 2);
    assert_eq!(joined["joinCommunity"]["viewerRole"], "MEMBER");
    let again = app.gql(Some(&joiner), JOIN, json!({ "id": id })).await;
    assert_eq!(error_code(&again), "CONFLICT");

    let left = app.gql_ok(Some(&joiner), LEAVE, json!({ "id": id })).await;
    assert_eq!(left["leaveCommunity"]["memberCount"], 1);
    assert!(left["leaveCommunity"]["viewerRole"].is_null());
    let not_member = app.gql(Some(&joiner), LEAVE, json!({ "id": id })).await;
    assert_eq!(error_code(&not_member), "CONFLICT");

    let unknown = app
        .gql(
            Some(&joiner),
            JOIN,
            json!({ "id": "01900000-0000-7000-8000-000000000000" }),
        )
        .await;
    assert_eq!(error_code(&unknown), "NOT_FOUND");
    let malformed = app.gql(Some(&joiner), JOIN, json!({ "id": "nope" })).await;
    assert_eq!(error_code(&malformed), "BAD_USER_INPUT");
    let anonymous = app.gql(None, JOIN, json!({ "id": id })).await;
    assert_eq!(error_code(&anonymous), "UNAUTHENTICATED");
}

const LIST: &str = "query($first: Int, $after: String, $filter: CommunityFilter) {
  communities(first: $first, after: $after, filter: $filter) {
    totalCount
    edges { cursor node { slug } }
    pageInfo { hasNextPage endCursor }
  }
}";

fn slugs(data: &Value) -> Vec<String> {
    data["communities"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|edge| edge["node"]["slug"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn lists_filter_by_value_and_territory() {
    let app = TestApp::spawn().await;
    let (token, _) = app.register("mapper").await;
    create(&app, &token, "vegan-paris", Some("FR-IDF"), &["vegan"]).await;
    create(
        &app,
        &token,
        "vegan-berlin",
        Some("DE"),
        &["vegan", "organic"],
    )
    .await;
    create(&app, &token, "organic-france", Some("FR"), &["organic"]).await;

    let vegan = app
        .gql_ok(None, LIST, json!({ "filter": { "valueTag": "vegan" } }))
        .await;
    assert_eq!(slugs(&vegan), ["vegan-berlin", "vegan-paris"]);
    assert_eq!(vegan["communities"]["totalCount"], 2);

    let france = app
        .gql_ok(None, LIST, json!({ "filter": { "territory": "FR" } }))
        .await;
    assert_eq!(slugs(&france), ["organic-france", "vegan-paris"]);

    let organic_in_germany = app
        .gql_ok(
            None,
            LIST,
            json!({ "filter": { "territory": "de", "valueTag": "organic" } }),
        )
        .await;
    assert_eq!(slugs(&organic_in_germany), ["vegan-berlin"]);

    let bad_territory = app
        .gql(
            None,
            LIST,
            json!({ "filter": { "territory": "Neverland" } }),
        )
        .await;
    assert_eq!(error_code(&bad_territory), "BAD_USER_INPUT");
}

#[tokio::test]
async fn pages_follow_cursors_newest_first() {
    let app = TestApp::spawn().await;
    let (token, _) = app.register("pager").await;
    for i in 0..5 {
        create(&app, &token, &format!("community-{i}"), None, &[]).await;
    }
    let first = app.gql_ok(None, LIST, json!({ "first": 2 })).await;
    assert_eq!(slugs(&first), ["community-4", "community-3"]);
    assert_eq!(first["communities"]["totalCount"], 5);
    assert_eq!(first["communities"]["pageInfo"]["hasNextPage"], true);
    let cursor = first["communities"]["pageInfo"]["endCursor"].clone();

    let second = app
        .gql_ok(None, LIST, json!({ "first": 2, "after": cursor }))
        .await;
    assert_eq!(slugs(&second), ["community-2", "community-1"]);
    let cursor = second["communities"]["pageInfo"]["endCursor"].clone();
    let last = app
        .gql_ok(None, LIST, json!({ "first": 2, "after": cursor }))
        .await;
    assert_eq!(slugs(&last), ["community-0"]);
    assert_eq!(last["communities"]["pageInfo"]["hasNextPage"], false);

    for first in [-1, 101, 100_000] {
        let body = app.gql(None, LIST, json!({ "first": first })).await;
        assert_eq!(error_code(&body), "BAD_USER_INPUT", "first = {first}");
        assert_eq!(error_field(&body), "first");
    }
    for forged in ["garbage", "01900000-0000-7000-8000-000000000000", ""] {
        let body = app.gql(None, LIST, json!({ "after": forged })).await;
        assert_eq!(error_code(&body), "BAD_USER_INPUT", "after = {forged}");
        assert_eq!(error_field(&body), "after");
    }
}
