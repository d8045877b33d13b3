//! From the shelf to the campaign: ownership edges with their history and
//! their refusals, and `conflicts(code)` walking product → brand → producer
//! → owners to the campaigns, pledges and communities of the viewer, with
//! the path and what the product says of the viewer's values.

use serde_json::{Value, json};

use crate::common::{ADMIN_ARGS, TestApp, error_code, error_field};

const SET: &str = "mutation($input: SetOwnershipInput!) { setOwnership(input: $input) { id source validTo parent { name } child { name } } }";
const CONFLICTS: &str = "query($code: String!, $values: [String!], $territory: String) {
  conflicts(code: $code, values: $values, territory: $territory) {
    product { name }
    conflicts { tie campaign { id kind } pledge { status } pledgersNeeded path { kind name } }
    values { valueTag { slug } status }
    soldInTerritory
  }
}";

async fn producer(app: &TestApp, admin: &str, name: &str) -> String {
    app.create_producer(admin, name).await
}

/// An open campaign of `kind` against `producer`, organised by `token`.
async fn campaign(app: &TestApp, token: &str, producer: &str, kind: &str) -> String {
    let id = app
        .gql_ok(
            Some(token),
            "mutation($input: CreateCampaignInput!) { createCampaign(input: $input) { id } }",
            json!({ "input": {
                "kind": kind,
                "title": "Not with our money",
                "summary": "We stop buying until the group pays its growers fairly.",
                "body": "A boycott of the whole group.",
                "producerId": producer,
            }}),
        )
        .await["createCampaign"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.publish(token, &id).await;
    id
}

async fn own(app: &TestApp, admin: &str, child: &str, parent: &str) -> Value {
    app.gql(
        Some(admin),
        SET,
        json!({ "input": {
            "childId": child, "parentId": parent, "source": "WIKIDATA",
            "evidenceUrl": "https://www.wikidata.org/wiki/Q1",
        }}),
    )
    .await
}

#[tokio::test]
async fn a_subsidiarys_brand_shows_the_groups_boycott_with_its_path() {
    let app = TestApp::spawn_with(&ADMIN_ARGS).await;
    let admin = app.admin_token().await;
    let group = producer(&app, &admin, "Big Group").await;
    let subsidiary = producer(&app, &admin, "Crisp Ltd").await;
    let brand = app
        .gql_ok(
            Some(&admin),
            "mutation($owner: ID!) { createBrand(input: { name: \"Crunchy\", ownerId: $owner }) { id } }",
            json!({ "owner": subsidiary }),
        )
        .await["createBrand"]["id"]
        .clone();
    app.gql_ok(
        Some(&admin),
        "mutation($brand: ID!) { createProduct(input: { gtin: \"3017620422003\", name: \"Crisps\", brandId: $brand, labels: [\"en:vegan\"], territories: [\"FR\"] }) { id } }",
        json!({ "brand": brand }),
    )
    .await;
    let edge = own(&app, &admin, &subsidiary, &group).await;
    assert_eq!(
        edge["data"]["setOwnership"]["parent"]["name"], "Big Group",
        "{edge}"
    );

    let (organiser, _) = app.register("organiser").await;
    let boycott = campaign(&app, &organiser, &group, "BOYCOTT").await;
    let petition = campaign(&app, &organiser, &subsidiary, "PETITION").await;
    let (shopper, _) = app.register("shopper").await;
    assert!(app.sign(&shopper, &boycott).await["errors"].is_null());
    app.gql_ok(
        Some(&shopper),
        "mutation($id: ID!) { pledge(campaignId: $id, input: { kind: AVOID, activationThreshold: 5 }) { status } }",
        json!({ "id": petition }),
    )
    .await;
    app.gql_ok(
        Some(&shopper),
        "mutation { updateProfile(input: { values: [\"vegan\", \"halal\"] }) { id } }",
        json!({}),
    )
    .await;

    let found = app
        .gql_ok(
            Some(&shopper),
            CONFLICTS,
            json!({ "code": "03017620422003" }),
        )
        .await;
    let found = &found["conflicts"];
    assert_eq!(found["product"]["name"], "Crisps");
    let conflicts = found["conflicts"].as_array().unwrap();
    assert_eq!(conflicts.len(), 2, "{found}");
    let signed = &conflicts[0];
    assert_eq!(signed["tie"], "SIGNED");
    assert_eq!(signed["campaign"]["id"], boycott.as_str());
    assert_eq!(
        signed["path"],
        json!([
            { "kind": "PRODUCT", "name": "Crisps" },
            { "kind": "BRAND", "name": "Crunchy" },
            { "kind": "PRODUCER", "name": "Crisp Ltd" },
            { "kind": "PRODUCER", "name": "Big Group" },
        ])
    );
    let pledged = &conflicts[1];
    assert_eq!(pledged["tie"], "PLEDGED");
    assert_eq!(pledged["pledge"]["status"], "PENDING");
    assert_eq!(pledged["pledgersNeeded"], 4);
    assert_eq!(pledged["path"].as_array().unwrap().len(), 3);
    assert_eq!(
        found["values"],
        json!([
            { "valueTag": { "slug": "halal" }, "status": "UNKNOWN" },
            { "valueTag": { "slug": "vegan" }, "status": "YES" },
        ])
    );

    // Anonymous: the values and the place passed, no campaign of anyone's.
    let anonymous = app
        .gql_ok(
            None,
            CONFLICTS,
            json!({ "code": "3017620422003", "values": ["gluten-free"], "territory": "FR-ARA" }),
        )
        .await;
    let anonymous = &anonymous["conflicts"];
    assert_eq!(anonymous["conflicts"], json!([]));
    assert_eq!(
        anonymous["values"],
        json!([{ "valueTag": { "slug": "gluten-free" }, "status": "UNKNOWN" }])
    );
    assert_eq!(anonymous["soldInTerritory"], true);
    let elsewhere = app
        .gql_ok(
            None,
            CONFLICTS,
            json!({ "code": "3017620422003", "territory": "DE" }),
        )
        .await;
    assert_eq!(elsewhere["conflicts"]["soldInTerritory"], false);
    let unknown_value = app
        .gql(
            None,
            CONFLICTS,
            json!({ "code": "3017620422003", "values": ["flying"] }),
        )
        .await;
    assert_eq!(error_field(&unknown_value), "values");
    let absent = app
        .gql_ok(None, CONFLICTS, json!({ "code": "96385074" }))
        .await;
    assert!(absent["conflicts"].is_null());
    let bad = app.gql(None, CONFLICTS, json!({ "code": "124" })).await;
    assert_eq!(error_field(&bad), "code");

    // Sold to another group: the boycott no longer concerns the product.
    let buyer = producer(&app, &admin, "Other Group").await;
    own(&app, &admin, &subsidiary, &buyer).await;
    let after = app
        .gql_ok(
            Some(&shopper),
            CONFLICTS,
            json!({ "code": "3017620422003" }),
        )
        .await;
    let ties: Vec<&str> = after["conflicts"]["conflicts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|conflict| conflict["tie"].as_str().unwrap())
        .collect();
    assert_eq!(ties, ["PLEDGED"]);
}

#[tokio::test]
async fn ownership_keeps_its_history_and_refuses_cycles() {
    let app = TestApp::spawn_with(&ADMIN_ARGS).await;
    let admin = app.admin_token().await;
    let top = producer(&app, &admin, "Top Holding").await;
    let middle = producer(&app, &admin, "Middle Group").await;
    let leaf = producer(&app, &admin, "Leaf Foods").await;
    let other = producer(&app, &admin, "Other Holding").await;
    own(&app, &admin, &middle, &top).await;
    own(&app, &admin, &leaf, &middle).await;

    // A loop, however far up, and self-ownership are refused.
    let cycle = own(&app, &admin, &top, &leaf).await;
    assert_eq!(error_code(&cycle), "CONFLICT", "{cycle}");
    let itself = own(&app, &admin, &top, &top).await;
    assert_eq!(error_code(&itself), "CONFLICT");
    let again = own(&app, &admin, &leaf, &middle).await;
    assert_eq!(error_code(&again), "CONFLICT");
    let (member, _) = app.register("member").await;
    let refused = own(&app, &member, &leaf, &other).await;
    assert_eq!(error_code(&refused), "FORBIDDEN");
    let bad_url = app
        .gql(
            Some(&admin),
            SET,
            json!({ "input": { "childId": leaf, "parentId": other, "source": "MEMBER", "evidenceUrl": "javascript:alert(1)" } }),
        )
        .await;
    assert_eq!(error_field(&bad_url), "input.evidenceUrl");

    let tree = |id: String| {
        let app = &app;
        async move {
            app.gql_ok(
                None,
                "query($id: ID!) { producer(id: $id) { parent { name } ultimateParent { name } subsidiaries { name }
                   ownershipHistory { id parent { name } validTo source evidenceUrl } } }",
                json!({ "id": id }),
            )
            .await["producer"]
                .clone()
        }
    };
    let seen = tree(leaf.clone()).await;
    assert_eq!(seen["parent"]["name"], "Middle Group");
    assert_eq!(seen["ultimateParent"]["name"], "Top Holding");
    assert_eq!(
        tree(top.clone()).await["ultimateParent"]["name"],
        "Top Holding"
    );
    assert_eq!(
        tree(middle.clone()).await["subsidiaries"],
        json!([{ "name": "Leaf Foods" }])
    );

    // A new owner ends the old edge; the history keeps both.
    own(&app, &admin, &leaf, &other).await;
    let seen = tree(leaf.clone()).await;
    assert_eq!(seen["parent"]["name"], "Other Holding");
    let history = seen["ownershipHistory"].as_array().unwrap();
    assert_eq!(history.len(), 2);
    assert_eq!(history[0]["parent"]["name"], "Other Holding");
    assert!(history[0]["validTo"].is_null());
    assert_eq!(history[1]["parent"]["name"], "Middle Group");
    assert!(history[1]["validTo"].is_string());
    assert_eq!(history[1]["source"], "WIKIDATA");
    assert_eq!(tree(middle.clone()).await["subsidiaries"], json!([]));

    // Ending the current edge leaves the leaf unowned.
    let ended = app
        .gql_ok(
            Some(&admin),
            "mutation($id: ID!) { endOwnership(id: $id) { validTo } }",
            json!({ "id": history[0]["id"] }),
        )
        .await;
    assert!(ended["endOwnership"]["validTo"].is_string());
    assert!(tree(leaf.clone()).await["parent"].is_null());
    let twice = app
        .gql(
            Some(&admin),
            "mutation($id: ID!) { endOwnership(id: $id) { validTo } }",
            json!({ "id": history[0]["id"] }),
        )
        .await;
    assert_eq!(error_code(&twice), "CONFLICT");

    // Register identifiers, checked.
    let set = |input: Value| {
        let (app, admin, leaf) = (&app, admin.clone(), leaf.clone());
        async move {
            app.gql(
                Some(&admin),
                "mutation($id: ID!, $input: ProducerIdentifiersInput!) { setProducerIdentifiers(producerId: $id, input: $input) { identifiers { lei wikidata openCorporates } } }",
                json!({ "id": leaf, "input": input }),
            )
            .await
        }
    };
    let bad = set(json!({ "lei": "not a lei" })).await;
    assert_eq!(error_field(&bad), "input.lei");
    let good = set(json!({ "lei": "5493001KJTIIGC8Y1R12", "wikidata": "Q42", "openCorporates": "fr/552032534" })).await;
    assert_eq!(
        good["data"]["setProducerIdentifiers"]["identifiers"],
        json!({ "lei": "5493001KJTIIGC8Y1R12", "wikidata": "Q42", "openCorporates": "fr/552032534" }),
        "{good}"
    );
    let cleared = set(json!({ "wikidata": "" })).await;
    assert!(cleared["data"]["setProducerIdentifiers"]["identifiers"]["wikidata"].is_null());
    assert_eq!(
        cleared["data"]["setProducerIdentifiers"]["identifiers"]["lei"],
        "5493001KJTIIGC8Y1R12"
    );
}

#[tokio::test]
async fn alternatives_avoid_conflicts_and_follow_values_place_and_trust() {
    let mut args = ADMIN_ARGS.to_vec();
    args.extend(["--observatory-k", "2", "--observatory-public", "true"]);
    let app = TestApp::spawn_with(&args).await;
    let admin = app.admin_token().await;
    let group = producer(&app, &admin, "Big Group").await;
    let trusted = producer(&app, &admin, "Trusted Farm").await;
    let plain = producer(&app, &admin, "Plain Farm").await;
    let unlabelled = producer(&app, &admin, "Quiet Farm").await;
    let foreign = producer(&app, &admin, "Faraway Farm").await;
    let product = |gtin: &'static str,
                   name: &'static str,
                   maker: &str,
                   labels: Value,
                   places: Value| {
        let (app, admin, maker) = (&app, admin.clone(), maker.to_owned());
        async move {
            app.gql_ok(
                Some(&admin),
                "mutation($input: CreateProductInput!) { createProduct(input: $input) { id } }",
                json!({ "input": { "gtin": gtin, "name": name, "producerId": maker,
                    "categories": ["en:snacks", "en:crisps"], "labels": labels, "territories": places } }),
            )
            .await;
        }
    };
    product(
        "3017620422003",
        "Group crisps",
        &group,
        json!(["en:vegan"]),
        json!(["FR"]),
    )
    .await;
    product(
        "96385074",
        "Group crisps light",
        &group,
        json!(["en:vegan"]),
        json!(["FR"]),
    )
    .await;
    product(
        "036000291452",
        "Trusted crisps",
        &trusted,
        json!(["en:vegan"]),
        json!(["FR"]),
    )
    .await;
    product(
        "10012345678902",
        "Plain crisps",
        &plain,
        json!(["en:vegan"]),
        json!(["FR"]),
    )
    .await;
    product(
        "09506000134352",
        "Quiet crisps",
        &unlabelled,
        json!([]),
        json!(["FR"]),
    )
    .await;
    product(
        "4006381333931",
        "Faraway crisps",
        &foreign,
        json!(["en:vegan"]),
        json!(["DE"]),
    )
    .await;

    // Two raters each: the trusted farm well, the plain one badly.
    for (i, rater) in ["rater_a", "rater_b"].iter().enumerate() {
        let (token, _) = app.register(rater).await;
        for (maker, score) in [(&trusted, 5), (&plain, 2)] {
            let scores: Vec<Value> = ["TRANSPARENCY", "FAIRNESS", "COMMITMENT_KEEPING", "QUALITY"]
                .iter()
                .map(|dimension| json!({ "dimension": dimension, "score": score }))
                .collect();
            let rated = app
                .gql(
                    Some(&token),
                    "mutation($id: ID!, $scores: [TrustScoreInput!]!) { rateProducer(producerId: $id, input: { scores: $scores }) { score } }",
                    json!({ "id": maker, "scores": scores }),
                )
                .await;
            assert!(rated["errors"].is_null(), "{i}: {rated}");
        }
    }

    let (organiser, _) = app.register("organiser").await;
    let boycott = campaign(&app, &organiser, &group, "BOYCOTT").await;
    let (shopper, _) = app.register("shopper").await;
    app.sign(&shopper, &boycott).await;
    app.gql_ok(
        Some(&shopper),
        "mutation { updateProfile(input: { values: [\"vegan\"] }) { id } }",
        json!({}),
    )
    .await;
    let found = app
        .gql_ok(
            Some(&shopper),
            "query($code: String!) { alternatives(code: $code, territory: \"FR\") { product { name } trustIndex reasons { kind detail } } }",
            json!({ "code": "3017620422003" }),
        )
        .await;
    let found = found["alternatives"].as_array().unwrap();
    let names: Vec<&str> = found
        .iter()
        .map(|alternative| alternative["product"]["name"].as_str().unwrap())
        .collect();
    // The group's other product is boycotted, the quiet one says nothing of
    // vegan, the faraway one is not sold in France; trust orders the rest.
    assert_eq!(names, ["Trusted crisps", "Plain crisps"], "{found:?}");
    assert!(found[0]["trustIndex"].as_f64().unwrap() > found[1]["trustIndex"].as_f64().unwrap());
    let kinds: Vec<&str> = found[0]["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|reason| reason["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["SHARED_VALUES", "TRUST", "TERRITORY"]);
    assert_eq!(found[0]["reasons"][0]["detail"], "vegan");

    // A server publishing the differentially private release shows the
    // release's trust here too: none before a month is released, never the
    // live figures.
    let released = app
        .spawn_sibling_with(&["--observatory-privacy", "dp", "--dp-auto-release", "false"])
        .await;
    let found = released
        .gql_ok(
            Some(&shopper),
            "query($code: String!) { alternatives(code: $code, territory: \"FR\") { product { name } trustIndex } }",
            json!({ "code": "3017620422003" }),
        )
        .await;
    let found = found["alternatives"].as_array().unwrap();
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(
        found
            .iter()
            .all(|alternative| alternative["trustIndex"].is_null()),
        "{found:?}"
    );

    // Anonymous, no values: every product of the category but itself.
    let anonymous = app
        .gql_ok(
            None,
            "{ alternatives(code: \"3017620422003\", first: 10) { product { name } } }",
            json!({}),
        )
        .await;
    assert_eq!(anonymous["alternatives"].as_array().unwrap().len(), 5);
    let too_many = app
        .gql(
            None,
            "{ alternatives(code: \"3017620422003\", first: 500) { trustIndex } }",
            json!({}),
        )
        .await;
    assert_eq!(error_field(&too_many), "first");
}

#[tokio::test]
async fn a_campaign_about_one_brand_leaves_its_owners_other_brands_alone() {
    let app = TestApp::spawn_with(&ADMIN_ARGS).await;
    let admin = app.admin_token().await;
    let owner = producer(&app, &admin, "Crisp Ltd").await;
    let mut products = Vec::new();
    for (name, gtin) in [("Crunchy", "3017620422003"), ("Softy", "96385074")] {
        let brand = app
            .gql_ok(
                Some(&admin),
                "mutation($name: String!, $owner: ID!) { createBrand(input: { name: $name, ownerId: $owner }) { id } }",
                json!({ "name": name, "owner": owner }),
            )
            .await["createBrand"]["id"]
            .clone();
        app.gql_ok(
            Some(&admin),
            "mutation($gtin: String!, $brand: ID!) { createProduct(input: { gtin: $gtin, name: \"Snack\", brandId: $brand }) { id } }",
            json!({ "gtin": gtin, "brand": brand }),
        )
        .await;
        products.push((gtin, brand));
    }
    let (organiser, _) = app.register("organiser").await;
    let id = app
        .gql_ok(
            Some(&organiser),
            "mutation($input: CreateCampaignInput!) { createCampaign(input: $input) { id } }",
            json!({ "input": {
                "kind": "BOYCOTT",
                "title": "Not this brand",
                "summary": "We stop buying Crunchy until its recipe drops palm oil.",
                "body": "One brand, not the whole company.",
                "brandId": products[0].1,
            }}),
        )
        .await["createCampaign"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.publish(&organiser, &id).await;
    let (shopper, _) = app.register("shopper").await;
    assert!(app.sign(&shopper, &id).await["errors"].is_null());
    let campaigns = |code: &'static str| {
        let app = &app;
        let shopper = &shopper;
        async move {
            app.gql_ok(Some(shopper), CONFLICTS, json!({ "code": code }))
                .await["conflicts"]["conflicts"]
                .as_array()
                .unwrap()
                .iter()
                .map(|found| found["campaign"]["id"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(campaigns("3017620422003").await, vec![id]);
    assert!(campaigns("96385074").await.is_empty());
}
