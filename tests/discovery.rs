//! Finding campaigns and communities, black-box: explained recommendations,
//! full-text search that ignores accents, orderings backed by stored values,
//! and pagination that neither repeats nor skips.

use std::collections::HashSet;

use crate::common::{TestApp, error_code, error_field};
use serde_json::{Value, json};

const CREATE_COMMUNITY: &str =
    "mutation($input: CreateCommunityInput!) { createCommunity(input: $input) { id } }";
const CREATE_CAMPAIGN: &str =
    "mutation($input: CreateCampaignInput!) { createCampaign(input: $input) { id } }";
const PROFILE: &str = "mutation($input: UpdateProfileInput!) { updateProfile(input: $input) { values { slug } territory } }";
const DISCOVER: &str =
    "query($kind: DiscoverKind!, $territory: String, $first: Int, $after: String) {
    discover(kind: $kind, territory: $territory, first: $first, after: $after) {
        pageInfo { hasNextPage endCursor }
        edges { node { score reasons { kind detail } campaign { id title } community { id slug } } }
    } }";
const SEARCH: &str = "query($query: String!, $types: [SearchType!], $filter: SearchFilter, $first: Int, $after: String) {
    search(query: $query, types: $types, filter: $filter, first: $first, after: $after) {
        pageInfo { hasNextPage endCursor }
        edges { node { score snippet node {
            __typename
            ... on Campaign { id title }
            ... on Community { id slug }
            ... on Producer { id name }
        } } }
    } }";
const ORDERED: &str = "query($order: CampaignOrder, $first: Int, $after: String) {
    campaigns(orderBy: $order, first: $first, after: $after) {
        pageInfo { hasNextPage endCursor }
        edges { node { id title counters { total } } }
    } }";

async fn community(
    app: &TestApp,
    token: &str,
    slug: &str,
    tags: &[&str],
    territory: &str,
) -> String {
    let created = app
        .gql_ok(
            Some(token),
            CREATE_COMMUNITY,
            json!({ "input": {
                "name": slug.replace('-', " "),
                "slug": slug,
                "description": format!("People of {slug}."),
                "valueTags": tags,
                "territory": territory,
            }}),
        )
        .await;
    created["createCommunity"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// A published campaign; its text in `language`.
async fn campaign(
    app: &TestApp,
    token: &str,
    producer: &str,
    title: &str,
    summary: &str,
    language: &str,
) -> String {
    let created = app
        .gql_ok(
            Some(token),
            CREATE_CAMPAIGN,
            json!({ "input": {
                "kind": "PETITION",
                "title": title,
                "summary": summary,
                "body": "Plus de détails / more details.",
                "producerId": producer,
                "language": language,
            }}),
        )
        .await;
    let id = created["createCampaign"]["id"].as_str().unwrap().to_owned();
    app.publish(token, &id).await;
    id
}

fn edges(data: &Value, field: &str) -> Vec<Value> {
    data[field]["edges"].as_array().unwrap().clone()
}

fn has_reason(node: &Value, kind: &str, detail: &str) -> bool {
    node["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .any(|reason| reason["kind"] == kind && reason["detail"] == detail)
}

#[tokio::test]
async fn a_vegan_member_in_lyon_is_shown_the_vegan_lyon_community_first_and_why() {
    let app = TestApp::spawn().await;
    let (founder, _) = app.register("founder").await;
    let vegan_lyon = community(&app, &founder, "vegan-lyon", &["vegan"], "FR-ARA").await;
    community(&app, &founder, "vegan-paris", &["vegan"], "FR-IDF").await;
    community(&app, &founder, "local-lyon", &["local"], "FR-ARA").await;
    community(&app, &founder, "halal-lille", &["halal"], "FR-HDF").await;
    community(&app, &founder, "kosher-brussels", &["kosher"], "BE-BRU").await;

    let (member, _) = app.register("lea").await;
    app.gql_ok(
        Some(&member),
        PROFILE,
        json!({ "input": { "values": ["vegan"], "territory": "FR-ARA" } }),
    )
    .await;
    let data = app
        .gql_ok(Some(&member), DISCOVER, json!({ "kind": "COMMUNITIES" }))
        .await;
    let found = edges(&data, "discover");
    assert_eq!(found.len(), 5);
    let first = &found[0]["node"];
    assert_eq!(first["community"]["id"], vegan_lyon.as_str());
    assert!(first["campaign"].is_null());
    assert!(has_reason(first, "SHARED_VALUE", "vegan"), "{first}");
    assert!(has_reason(first, "SAME_TERRITORY", "FR-ARA"), "{first}");
    // Sharing the value beats sharing the place (weights 3 and 2), and a
    // community elsewhere with nothing shared comes last.
    let order: Vec<&str> = found
        .iter()
        .map(|edge| edge["node"]["community"]["slug"].as_str().unwrap())
        .collect();
    assert_eq!(&order[..3], ["vegan-lyon", "vegan-paris", "local-lyon"]);
    assert_eq!(order[4], "kosher-brussels");
    let scores: Vec<f64> = found
        .iter()
        .map(|edge| edge["node"]["score"].as_f64().unwrap())
        .collect();
    assert!(
        scores.windows(2).all(|pair| pair[0] >= pair[1]),
        "{scores:?}"
    );

    // Once joined, it is no longer recommended.
    app.gql_ok(
        Some(&member),
        "mutation($id: ID!) { joinCommunity(communityId: $id) { memberCount } }",
        json!({ "id": vegan_lyon }),
    )
    .await;
    let data = app
        .gql_ok(Some(&member), DISCOVER, json!({ "kind": "COMMUNITIES" }))
        .await;
    let slugs: Vec<Value> = edges(&data, "discover")
        .iter()
        .map(|edge| edge["node"]["community"]["slug"].clone())
        .collect();
    assert_eq!(slugs.len(), 4);
    assert!(!slugs.contains(&json!("vegan-lyon")));

    // An anonymous visitor near Lille gets what is near Lille first.
    let data = app
        .gql_ok(
            None,
            DISCOVER,
            json!({ "kind": "COMMUNITIES", "territory": "FR-HDF" }),
        )
        .await;
    let first = &edges(&data, "discover")[0]["node"];
    assert_eq!(first["community"]["slug"], "halal-lille");
    assert!(has_reason(first, "SAME_TERRITORY", "FR-HDF"));
}

#[tokio::test]
async fn campaigns_are_recommended_for_shared_values_and_the_members_communities() {
    let app = TestApp::spawn().await;
    let (organiser, _) = app.register("organiser").await;
    let producer = app.create_producer(&organiser, "Acme").await;
    let lyon = community(
        &app,
        &organiser,
        "lyon-zero-waste",
        &["zero-waste"],
        "FR-ARA",
    )
    .await;
    let in_community = app
        .gql_ok(
            Some(&organiser),
            CREATE_CAMPAIGN,
            json!({ "input": {
                "kind": "BOYCOTT", "title": "Bulk aisles in Lyon",
                "summary": "Sell loose products in every shop.", "body": "Details.",
                "producerId": producer, "communityId": lyon, "valueTags": ["zero-waste"],
                "territory": "FR-ARA",
            }}),
        )
        .await["createCampaign"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.publish(&organiser, &in_community).await;
    let unrelated = campaign(
        &app,
        &organiser,
        &producer,
        "Repair cafés",
        "Spare parts for ten years.",
        "en",
    )
    .await;

    let (member, _) = app.register("member").await;
    app.gql_ok(
        Some(&member),
        "mutation($id: ID!) { joinCommunity(communityId: $id) { id } }",
        json!({ "id": lyon }),
    )
    .await;
    let data = app
        .gql_ok(Some(&member), DISCOVER, json!({ "kind": "CAMPAIGNS" }))
        .await;
    let found = edges(&data, "discover");
    let first = &found[0]["node"];
    assert_eq!(first["campaign"]["id"], in_community.as_str());
    assert!(
        has_reason(first, "IN_YOUR_COMMUNITY", "lyon-zero-waste"),
        "{first}"
    );
    // The value comes from the community joined (an activity signal)...
    assert!(has_reason(first, "SHARED_VALUE", "zero-waste"), "{first}");

    // ...and stops counting when the member turns signals off.
    app.gql_ok(
        Some(&member),
        PROFILE,
        json!({ "input": { "useActivitySignals": false } }),
    )
    .await;
    let data = app
        .gql_ok(Some(&member), DISCOVER, json!({ "kind": "CAMPAIGNS" }))
        .await;
    let first = &edges(&data, "discover")[0]["node"];
    assert!(!has_reason(first, "SHARED_VALUE", "zero-waste"), "{first}");

    // A signed campaign is no longer recommended.
    app.sign(&member, &unrelated).await;
    let data = app
        .gql_ok(Some(&member), DISCOVER, json!({ "kind": "CAMPAIGNS" }))
        .await;
    let ids: Vec<Value> = edges(&data, "discover")
        .iter()
        .map(|edge| edge["node"]["campaign"]["id"].clone())
        .collect();
    assert_eq!(ids, vec![json!(in_community)]);
}

#[tokio::test]
async fn search_finds_french_text_without_its_accents_and_never_hidden_or_drafts() {
    let app = TestApp::spawn_with(&crate::common::ADMIN_ARGS).await;
    let (organiser, _) = app.register("organiser").await;
    let producer = app.create_producer(&organiser, "Biscuiterie Dupré").await;
    let labelled = campaign(
        &app,
        &organiser,
        &producer,
        "Pour l'étiquetage des allergènes",
        "Que chaque paquet indique les allergènes en gros caractères.",
        "fr",
    )
    .await;
    campaign(
        &app,
        &organiser,
        &producer,
        "Fewer plastic wrappers",
        "Paper wrapping for every biscuit.",
        "en",
    )
    .await;
    let hidden = campaign(
        &app,
        &organiser,
        &producer,
        "Étiquetage allergènes, bis",
        "Une autre campagne sur les allergènes et l'étiquetage.",
        "fr",
    )
    .await;
    // A draft with the same words.
    app.gql_ok(
        Some(&organiser),
        CREATE_CAMPAIGN,
        json!({ "input": {
            "kind": "PETITION", "title": "Brouillon sur l'étiquetage",
            "summary": "Les allergènes, encore, en brouillon.", "body": "x",
            "producerId": producer, "language": "fr",
        }}),
    )
    .await;
    let admin = app.admin_token().await;
    app.gql_ok(
        Some(&admin),
        "mutation($id: ID!) { hideContent(kind: CAMPAIGN, id: $id, reason: \"Duplicate of another campaign\") }",
        json!({ "id": hidden }),
    )
    .await;

    let data = app
        .gql_ok(None, SEARCH, json!({ "query": "allergene etiquetage" }))
        .await;
    let hits = edges(&data, "search");
    assert_eq!(hits.len(), 1, "{hits:?}");
    let hit = &hits[0]["node"];
    assert_eq!(hit["node"]["__typename"], "Campaign");
    assert_eq!(hit["node"]["id"], labelled.as_str());
    let snippet = hit["snippet"].as_str().unwrap();
    assert!(snippet.contains("<mark>"), "{snippet}");
    assert!(snippet.to_lowercase().contains("allergènes"), "{snippet}");
    assert!(hit["score"].as_f64().unwrap() > 0.0);

    // Nor is it recommended, to anyone.
    let data = app
        .gql_ok(None, DISCOVER, json!({ "kind": "CAMPAIGNS", "first": 50 }))
        .await;
    let recommended: Vec<Value> = edges(&data, "discover")
        .iter()
        .map(|edge| edge["node"]["campaign"]["id"].clone())
        .collect();
    assert!(recommended.contains(&json!(labelled)));
    assert!(!recommended.contains(&json!(hidden)));
    assert_eq!(recommended.len(), 2, "drafts are not recommended either");

    // Producers by name, accents folded too; types narrow the kinds.
    let data = app
        .gql_ok(
            None,
            SEARCH,
            json!({ "query": "dupre", "types": ["PRODUCER"] }),
        )
        .await;
    let hits = edges(&data, "search");
    assert_eq!(hits.len(), 1, "{hits:?}");
    assert_eq!(hits[0]["node"]["node"]["name"], "Biscuiterie Dupré");

    // Filters combine with the query: a campaign-only filter leaves
    // producers and communities out; no boycott matches.
    let data = app
        .gql_ok(
            None,
            SEARCH,
            json!({ "query": "allergene", "filter": { "kind": "BOYCOTT" } }),
        )
        .await;
    assert!(edges(&data, "search").is_empty());
    // `-word` excludes.
    let only_campaigns = |query: &'static str| {
        let app = &app;
        async move {
            let data = app
                .gql_ok(
                    None,
                    SEARCH,
                    json!({ "query": query, "types": ["CAMPAIGN"] }),
                )
                .await;
            edges(&data, "search").len()
        }
    };
    assert_eq!(only_campaigns("biscuit wrapping").await, 1);
    assert_eq!(only_campaigns("biscuit -plastic").await, 0);
}

#[tokio::test]
async fn trending_and_most_signed_follow_signatures() {
    let app = TestApp::spawn_with(&["--discover-trending-min", "3"]).await;
    let (organiser, _) = app.register("organiser").await;
    let producer = app.create_producer(&organiser, "Acme").await;
    let quiet = campaign(
        &app,
        &organiser,
        &producer,
        "Quiet campaign",
        "Nobody signs this one.",
        "en",
    )
    .await;
    let burst = campaign(
        &app,
        &organiser,
        &producer,
        "Burst campaign",
        "Everybody signs this one.",
        "en",
    )
    .await;
    let later = campaign(
        &app,
        &organiser,
        &producer,
        "Later campaign",
        "Signed later, by more.",
        "en",
    )
    .await;
    let signers = app.register_many("signer", 9).await;
    for token in &signers[..4] {
        app.sign(token, &burst).await;
    }
    let ordered = |order: &'static str| {
        let app = &app;
        async move {
            let data = app.gql_ok(None, ORDERED, json!({ "order": order })).await;
            edges(&data, "campaigns")
                .iter()
                .map(|edge| edge["node"]["id"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(ordered("TRENDING").await[0], burst);
    assert_eq!(
        ordered("MOST_SIGNED").await,
        [burst.clone(), later.clone(), quiet.clone()]
    );
    let data = app
        .gql_ok(None, DISCOVER, json!({ "kind": "CAMPAIGNS" }))
        .await;
    let first = &edges(&data, "discover")[0]["node"];
    assert_eq!(first["campaign"]["id"], burst.as_str());
    assert!(
        first["reasons"]
            .as_array()
            .unwrap()
            .iter()
            .any(|reason| reason["kind"] == "TRENDING"),
        "{first}"
    );

    for token in &signers[4..] {
        app.sign(token, &later).await;
    }
    assert_eq!(
        ordered("TRENDING").await[..2],
        [later.clone(), burst.clone()]
    );
    assert_eq!(ordered("MOST_SIGNED").await[0], later);

    // A withdrawal takes the signature out of the stored total.
    for token in &signers[4..6] {
        app.gql_ok(
            Some(token),
            "mutation($id: ID!) { withdrawSignature(campaignId: $id) }",
            json!({ "id": later }),
        )
        .await;
    }
    let data = app
        .gql_ok(None, ORDERED, json!({ "order": "MOST_SIGNED" }))
        .await;
    let top = &edges(&data, "campaigns");
    assert_eq!(top[0]["node"]["id"], burst.as_str());
    assert_eq!(top[0]["node"]["counters"]["total"], 4);
    assert_eq!(top[1]["node"]["counters"]["total"], 3);
}

#[tokio::test]
async fn communities_order_by_stored_member_counts() {
    let app = TestApp::spawn().await;
    let (founder, _) = app.register("founder").await;
    let small = community(&app, &founder, "small-one", &[], "FR").await;
    let big = community(&app, &founder, "big-one", &[], "FR").await;
    let members = app.register_many("joiner", 3).await;
    for token in &members {
        app.gql_ok(
            Some(token),
            "mutation($id: ID!) { joinCommunity(communityId: $id) { id } }",
            json!({ "id": big }),
        )
        .await;
    }
    app.gql_ok(
        Some(&members[0]),
        "mutation($id: ID!) { leaveCommunity(communityId: $id) { id } }",
        json!({ "id": big }),
    )
    .await;
    let data = app
        .gql_ok(
            None,
            "{ communities(orderBy: LARGEST) { edges { node { id memberCount } } } }",
            json!({}),
        )
        .await;
    let found = edges(&data, "communities");
    assert_eq!(found[0]["node"]["id"], big.as_str());
    assert_eq!(found[0]["node"]["memberCount"], 3);
    assert_eq!(found[1]["node"]["id"], small.as_str());
    assert_eq!(found[1]["node"]["memberCount"], 1);
    let data = app
        .gql_ok(
            None,
            "{ communities(orderBy: MOST_ACTIVE) { edges { node { id } } } }",
            json!({}),
        )
        .await;
    assert_eq!(edges(&data, "communities")[0]["node"]["id"], big.as_str());
}

/// Every id of a list paged `first` at a time, in order.
async fn page_through(
    app: &TestApp,
    query: &str,
    field: &str,
    mut vars: Value,
    id: fn(&Value) -> String,
) -> Vec<String> {
    let mut seen = Vec::new();
    loop {
        let data = app.gql_ok(None, query, vars.clone()).await;
        for edge in edges(&data, field) {
            seen.push(id(&edge["node"]));
        }
        let info = &data[field]["pageInfo"];
        if info["hasNextPage"] != true {
            return seen;
        }
        vars["after"] = info["endCursor"].clone();
    }
}

#[tokio::test]
async fn pages_neither_repeat_nor_skip() {
    let app = TestApp::spawn().await;
    let (organiser, _) = app.register("organiser").await;
    let producer = app.create_producer(&organiser, "Acme").await;
    let mut all = HashSet::new();
    for i in 0..7 {
        let id = campaign(
            &app,
            &organiser,
            &producer,
            &format!("Organic apples {i}"),
            "Organic apples in every shop.",
            "en",
        )
        .await;
        all.insert(id);
    }
    // Ties everywhere (nobody signed): the id breaks them.
    for order in ["NEWEST", "MOST_SIGNED", "TRENDING"] {
        let ids = page_through(
            &app,
            ORDERED,
            "campaigns",
            json!({ "order": order, "first": 3 }),
            |node| node["id"].as_str().unwrap().to_owned(),
        )
        .await;
        assert_eq!(ids.len(), 7, "{order}");
        assert_eq!(ids.iter().cloned().collect::<HashSet<_>>(), all, "{order}");
    }
    let ids = page_through(
        &app,
        SEARCH,
        "search",
        json!({ "query": "organic apples", "first": 2 }),
        |node| node["node"]["id"].as_str().unwrap().to_owned(),
    )
    .await;
    assert_eq!(ids.iter().cloned().collect::<HashSet<_>>(), all);
    assert_eq!(ids.len(), 7);
    let ids = page_through(
        &app,
        DISCOVER,
        "discover",
        json!({ "kind": "CAMPAIGNS", "first": 2 }),
        |node| node["campaign"]["id"].as_str().unwrap().to_owned(),
    )
    .await;
    assert_eq!(ids.iter().cloned().collect::<HashSet<_>>(), all);
    assert_eq!(ids.len(), 7);
}

#[tokio::test]
async fn bad_discovery_input_is_refused_with_its_field() {
    let app = TestApp::spawn().await;
    let long = "a".repeat(201);
    for (query, vars, field) in [
        (SEARCH, json!({ "query": "  " }), "query"),
        (SEARCH, json!({ "query": long }), "query"),
        (SEARCH, json!({ "query": "-only" }), "query"),
        (SEARCH, json!({ "query": "x", "types": [] }), "types"),
        (SEARCH, json!({ "query": "x", "after": "garbage" }), "after"),
        (SEARCH, json!({ "query": "x", "first": -1 }), "first"),
        (
            SEARCH,
            json!({ "query": "x", "filter": { "territory": "Atlantis" } }),
            "filter.territory",
        ),
        (
            DISCOVER,
            json!({ "kind": "CAMPAIGNS", "territory": "XX" }),
            "territory",
        ),
        (
            DISCOVER,
            json!({ "kind": "CAMPAIGNS", "after": "garbage" }),
            "after",
        ),
        (
            ORDERED,
            json!({ "order": "TRENDING", "after": "garbage" }),
            "after",
        ),
    ] {
        let refused = app.gql(None, query, vars.clone()).await;
        assert_eq!(error_code(&refused), "BAD_USER_INPUT", "{vars}: {refused}");
        assert_eq!(error_field(&refused), field, "{vars}");
    }
    // A cursor of one order is not a cursor of another.
    let (organiser, _) = app.register("organiser").await;
    let producer = app.create_producer(&organiser, "Acme").await;
    for i in 0..2 {
        campaign(
            &app,
            &organiser,
            &producer,
            &format!("Campaign {i} here"),
            "Some summary text.",
            "en",
        )
        .await;
    }
    let data = app
        .gql_ok(None, ORDERED, json!({ "order": "NEWEST", "first": 1 }))
        .await;
    let cursor = data["campaigns"]["pageInfo"]["endCursor"].clone();
    let refused = app
        .gql(
            None,
            ORDERED,
            json!({ "order": "MOST_SIGNED", "after": cursor }),
        )
        .await;
    assert_eq!(error_code(&refused), "BAD_USER_INPUT");
    // An unknown order is a GraphQL validation error.
    let refused = app.gql(None, ORDERED, json!({ "order": "LOUDEST" })).await;
    assert!(refused["errors"].is_array());
}

/// Rows whose stored values differ from what their rows say.
async fn drifted(db: &sea_orm::DatabaseConnection) -> (i64, i64) {
    use sea_orm::ConnectionTrait;
    let count = |sql: &'static str| async move {
        let row = db
            .query_one_raw(sea_orm::Statement::from_string(
                db.get_database_backend(),
                sql,
            ))
            .await
            .unwrap()
            .unwrap();
        row.try_get_by_index::<i64>(0).unwrap()
    };
    (
        count(
            "SELECT COUNT(*) FROM campaign c WHERE c.signature_total <> c.offline_signatures
             + (SELECT COUNT(*) FROM signature s WHERE s.campaign_id = c.id AND s.status = 'COUNTED')",
        )
        .await,
        count(
            "SELECT COUNT(*) FROM community m WHERE m.member_count <>
             (SELECT COUNT(*) FROM community_member x WHERE x.community_id = m.id)",
        )
        .await,
    )
}

#[tokio::test]
async fn seeded_and_written_standing_matches_the_rows() {
    use consumact_api::seed;
    let app = TestApp::spawn().await;
    let db = sea_orm::Database::connect(app.database_url.as_str())
        .await
        .unwrap();
    let config = consumact_api::config::Config::from_args(["consumact"]).unwrap();
    let args = seed::SeedArgs {
        signatures: 3_000,
        ratings: 400,
        producers: 10,
        members: 300,
        campaigns_per_producer: 3,
        communities: 12,
        months: 2,
        seed: 5,
        products: 400,
        index_builds: 2,
    };
    let report = seed::run(&db, &config, &args).await.unwrap();
    assert_eq!(report.communities, 12);
    assert_eq!((report.products, report.brands), (400, 20));
    // Seeded products are found by their barcodes, with a brand and owner.
    let product = app
        .gql_ok(
            None,
            "query($code: String!) { productByGtin(code: $code) { gtin categories brand { owner { id } } } }",
            json!({ "code": seed::shelf::gtin_of(399) }),
        )
        .await;
    assert_eq!(product["productByGtin"]["gtin"], seed::shelf::gtin_of(399));
    assert!(
        product["productByGtin"]["brand"]["owner"]["id"].is_string(),
        "{product}"
    );
    assert_eq!(drifted(&db).await, (0, 0));

    // Seeded texts come in both languages, and French ones are found
    // without their accents. The seed wrote behind the running server's
    // back: a counter the start-up pass read while the seed was half done
    // is put right by the next reconciliation (every second here).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    let data = loop {
        let data = app
            .gql_ok(
                None,
                "{ campaigns(orderBy: MOST_SIGNED, first: 100) { edges { node { id language counters { total } } } } }",
                json!({}),
            )
            .await;
        let total: i64 = edges(&data, "campaigns")
            .iter()
            .map(|edge| edge["node"]["counters"]["total"].as_i64().unwrap())
            .sum();
        if total == 3_000 || std::time::Instant::now() > deadline {
            break data;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    };
    let nodes = edges(&data, "campaigns");
    let languages: HashSet<&str> = nodes
        .iter()
        .map(|edge| edge["node"]["language"].as_str().unwrap())
        .collect();
    assert_eq!(languages, HashSet::from(["en", "fr"]));
    let totals: Vec<i64> = nodes
        .iter()
        .map(|edge| edge["node"]["counters"]["total"].as_i64().unwrap())
        .collect();
    assert!(
        totals.windows(2).all(|pair| pair[0] >= pair[1]),
        "{totals:?}"
    );
    assert_eq!(totals.iter().sum::<i64>(), 3_000);
    let data = app
        .gql_ok(
            None,
            SEARCH,
            json!({ "query": "campagne signez", "types": ["CAMPAIGN"] }),
        )
        .await;
    assert!(!edges(&data, "search").is_empty());

    // Signing, withdrawing, joining and leaving keep them in step.
    let top = nodes[0]["node"]["id"].as_str().unwrap().to_owned();
    let members = app.register_many("later", 3).await;
    for token in &members {
        app.sign(token, &top).await;
    }
    app.gql_ok(
        Some(&members[0]),
        "mutation($id: ID!) { withdrawSignature(campaignId: $id) }",
        json!({ "id": top }),
    )
    .await;
    let community = app
        .gql_ok(
            None,
            "{ communities(first: 1) { edges { node { id } } } }",
            json!({}),
        )
        .await["communities"]["edges"][0]["node"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for token in &members {
        app.gql_ok(
            Some(token),
            "mutation($id: ID!) { joinCommunity(communityId: $id) { id } }",
            json!({ "id": community }),
        )
        .await;
    }
    app.gql_ok(
        Some(&members[1]),
        "mutation($id: ID!) { leaveCommunity(communityId: $id) { id } }",
        json!({ "id": community }),
    )
    .await;
    assert_eq!(drifted(&db).await, (0, 0));
}
