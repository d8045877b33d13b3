//! The shelf: products by barcode in every form a scanner or a label gives
//! it, refusals with their field, brands and their owners, and what a
//! product says of each value (unknown never matches).

use serde_json::{Value, json};

use crate::common::{ADMIN_ARGS, TestApp, error_code, error_field};

const CREATE_PRODUCT: &str = "mutation($input: CreateProductInput!) {
  createProduct(input: $input) { id gtin name brand { name owner { name } } producer { name } categories labels allergens territories
    values { valueTag { slug } status } }
}";
const BY_GTIN: &str = "query($code: String!) { productByGtin(code: $code) {
  id gtin name vegan: valueStatus(slug: \"vegan\") glutenFree: valueStatus(slug: \"gluten-free\") halal: valueStatus(slug: \"halal\")
} }";
const CREATE_BRAND: &str =
    "mutation($input: CreateBrandInput!) { createBrand(input: $input) { id name owner { id } } }";

struct Shelf {
    app: TestApp,
    admin: String,
    producer: String,
    brand: String,
}

async fn shelf() -> Shelf {
    let app = TestApp::spawn_with(&ADMIN_ARGS).await;
    let admin = app.admin_token().await;
    let producer = app.create_producer(&admin, "Ferraro Group").await;
    let brand = app
        .gql_ok(
            Some(&admin),
            CREATE_BRAND,
            json!({ "input": { "name": "Nutello", "ownerId": producer } }),
        )
        .await["createBrand"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    Shelf {
        app,
        admin,
        producer,
        brand,
    }
}

async fn create(shelf: &Shelf, input: Value) -> Value {
    shelf
        .app
        .gql(
            Some(&shelf.admin),
            CREATE_PRODUCT,
            json!({ "input": input }),
        )
        .await
}

#[tokio::test]
async fn every_form_of_a_barcode_finds_the_product() {
    let shelf = shelf().await;
    let created = create(
        &shelf,
        json!({
            "gtin": "3017620422003",
            "name": "Hazelnut spread",
            "brandId": shelf.brand,
            "producerId": shelf.producer,
            "categories": ["en:spreads", "en:sweet-spreads", "en:hazelnut-spreads"],
            "labels": ["en:eu-organic", "halal"],
            "allergens": ["en:milk", "en:nuts"],
            "territories": ["FR", "be"],
        }),
    )
    .await;
    assert!(created["errors"].is_null(), "{created}");
    let product = &created["data"]["createProduct"];
    assert_eq!(product["brand"]["name"], "Nutello");
    assert_eq!(product["brand"]["owner"]["name"], "Ferraro Group");
    assert_eq!(product["territories"], json!(["FR", "BE"]));
    assert_eq!(
        product["values"],
        json!([
            { "valueTag": { "slug": "halal" }, "status": "YES" },
            { "valueTag": { "slug": "organic" }, "status": "YES" },
            { "valueTag": { "slug": "vegan" }, "status": "NO" },
        ])
    );
    let id = product["id"].clone();
    for code in [
        "3017620422003",
        "03017620422003",
        "https://id.gs1.org/01/03017620422003",
        "https://shop.example/p/01/03017620422003/21/12345?lang=fr",
    ] {
        let found = shelf
            .app
            .gql_ok(None, BY_GTIN, json!({ "code": code }))
            .await;
        let found = &found["productByGtin"];
        assert_eq!(found["id"], id, "{code}");
        // Milk rules vegan out, halal is labelled, gluten is not said.
        assert_eq!(
            (&found["vegan"], &found["halal"], &found["glutenFree"]),
            (&json!("NO"), &json!("YES"), &json!("UNKNOWN"))
        );
    }
    // A UPC-A and its shorter written form are one product.
    let upc = create(
        &shelf,
        json!({ "gtin": "036000291452", "name": "Chewing gum" }),
    )
    .await;
    assert_eq!(
        upc["data"]["createProduct"]["gtin"], "0036000291452",
        "{upc}"
    );
    let short = shelf
        .app
        .gql_ok(None, BY_GTIN, json!({ "code": "36000291452" }))
        .await;
    assert_eq!(short["productByGtin"]["gtin"], "0036000291452");
    // A valid barcode the catalogue lacks: null.
    let absent = shelf
        .app
        .gql_ok(None, BY_GTIN, json!({ "code": "96385074" }))
        .await;
    assert!(absent["productByGtin"].is_null());
}

#[tokio::test]
async fn bad_barcodes_and_bad_writes_get_coded_errors() {
    let shelf = shelf().await;
    for code in [
        "3017620422004",
        "30176204220X3",
        "",
        "123456789012345",
        "https://id.gs1.org/10/ABC",
    ] {
        let refused = shelf.app.gql(None, BY_GTIN, json!({ "code": code })).await;
        assert_eq!(error_code(&refused), "BAD_USER_INPUT", "{code}: {refused}");
        assert_eq!(error_field(&refused), "code", "{code}");
    }
    create(&shelf, json!({ "gtin": "96385074", "name": "Mints" })).await;
    let twice = create(
        &shelf,
        json!({ "gtin": "0000096385074", "name": "Mints again" }),
    )
    .await;
    assert_eq!(error_code(&twice), "CONFLICT", "{twice}");
    let tag = create(
        &shelf,
        json!({ "gtin": "10012345678902", "name": "A case", "categories": ["spreads"] }),
    )
    .await;
    assert_eq!(error_field(&tag), "input.categories");
    let place = create(
        &shelf,
        json!({ "gtin": "10012345678902", "name": "A case", "territories": ["Mars"] }),
    )
    .await;
    assert_eq!(error_code(&place), "BAD_USER_INPUT");
    let brand = create(
        &shelf,
        json!({ "gtin": "10012345678902", "name": "A case", "brandId": "00000000-0000-7000-8000-000000000000" }),
    )
    .await;
    assert_eq!(error_code(&brand), "NOT_FOUND");
    let (member, _) = shelf.app.register("shopper").await;
    let by_member = shelf
        .app
        .gql(
            Some(&member),
            CREATE_PRODUCT,
            json!({ "input": { "gtin": "10012345678902", "name": "A case" } }),
        )
        .await;
    assert_eq!(error_code(&by_member), "FORBIDDEN");
    let anonymous = shelf
        .app
        .gql(
            None,
            CREATE_BRAND,
            json!({ "input": { "name": "Anything" } }),
        )
        .await;
    assert_eq!(error_code(&anonymous), "UNAUTHENTICATED");
    let taken = shelf
        .app
        .gql(
            Some(&shelf.admin),
            CREATE_BRAND,
            json!({ "input": { "name": "NUTELLO" } }),
        )
        .await;
    assert_eq!(error_code(&taken), "CONFLICT");
}

#[tokio::test]
async fn products_filter_by_brand_category_and_confirmed_value() {
    let shelf = shelf().await;
    create(
        &shelf,
        json!({ "gtin": "3017620422003", "name": "Spread", "brandId": shelf.brand,
                "categories": ["en:spreads", "en:hazelnut-spreads"], "labels": ["en:vegan"] }),
    )
    .await;
    create(
        &shelf,
        json!({ "gtin": "96385074", "name": "Mints", "categories": ["en:confectioneries"] }),
    )
    .await;
    let names = |filter: Value| {
        let app = &shelf.app;
        async move {
            let data = app
                .gql_ok(
                    None,
                    "query($filter: ProductFilter) { products(filter: $filter) { totalCount edges { node { name } } } }",
                    json!({ "filter": filter }),
                )
                .await;
            data["products"]["edges"]
                .as_array()
                .unwrap()
                .iter()
                .map(|edge| edge["node"]["name"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(names(json!({})).await, ["Mints", "Spread"]);
    assert_eq!(names(json!({ "brandId": shelf.brand })).await, ["Spread"]);
    assert_eq!(
        names(json!({ "category": "en:hazelnut-spreads" })).await,
        ["Spread"]
    );
    assert!(names(json!({ "category": "en:hazelnut" })).await.is_empty());
    assert_eq!(names(json!({ "valueTag": "vegan" })).await, ["Spread"]);
    // Mints say nothing of halal: unknown is not a match.
    assert!(names(json!({ "valueTag": "halal" })).await.is_empty());
    let brand = shelf
        .app
        .gql_ok(
            None,
            "query($id: ID!) { brand(id: $id) { name products { edges { node { name } } } } }",
            json!({ "id": shelf.brand }),
        )
        .await;
    assert_eq!(
        brand["brand"]["products"]["edges"][0]["node"]["name"],
        "Spread"
    );
}

#[tokio::test]
async fn search_finds_products_by_name_barcode_and_category_with_the_filters() {
    let shelf = shelf().await;
    create(
        &shelf,
        json!({ "gtin": "3017620422003", "name": "Hazelnut cocoa spread", "brandId": shelf.brand,
                "categories": ["en:spreads", "en:hazelnut-spreads"], "labels": ["en:vegan"], "territories": ["FR-ARA"] }),
    )
    .await;
    create(
        &shelf,
        json!({ "gtin": "96385074", "name": "Hazelnut mints", "categories": ["en:confectioneries"], "territories": ["BE"] }),
    )
    .await;
    let found = |query: &'static str, types: Value, filter: Value| {
        let app = &shelf.app;
        async move {
            let data = app
                .gql_ok(
                    None,
                    "query($q: String!, $types: [SearchType!], $filter: SearchFilter) {
                        search(query: $q, types: $types, filter: $filter) { edges { node { snippet node {
                            __typename ... on Product { name } ... on Producer { name } } } } } }",
                    json!({ "q": query, "types": types, "filter": filter }),
                )
                .await;
            data["search"]["edges"]
                .as_array()
                .unwrap()
                .iter()
                .map(|edge| {
                    let node = &edge["node"]["node"];
                    format!(
                        "{} {}",
                        node["__typename"].as_str().unwrap(),
                        node["name"].as_str().unwrap()
                    )
                })
                .collect::<Vec<_>>()
        }
    };
    let mut both = found("hazelnut", Value::Null, Value::Null).await;
    both.sort();
    assert_eq!(
        both,
        ["Product Hazelnut cocoa spread", "Product Hazelnut mints"]
    );
    // By barcode, by category word.
    assert_eq!(
        found("3017620422003", json!(["PRODUCT"]), Value::Null).await,
        ["Product Hazelnut cocoa spread"]
    );
    assert_eq!(
        found("confectioneries", json!(["PRODUCT"]), Value::Null).await,
        ["Product Hazelnut mints"]
    );
    // A value the product confirms; a country finds its regions.
    assert_eq!(
        found("hazelnut", Value::Null, json!({ "valueTag": "vegan" })).await,
        ["Product Hazelnut cocoa spread"]
    );
    assert_eq!(
        found("hazelnut", Value::Null, json!({ "territory": "FR" })).await,
        ["Product Hazelnut cocoa spread"]
    );
    // Campaign filters leave products out; other types leave them out.
    assert!(
        found("hazelnut", Value::Null, json!({ "kind": "BOYCOTT" }))
            .await
            .is_empty()
    );
    assert!(
        found("hazelnut", json!(["PRODUCER"]), Value::Null)
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn an_open_food_facts_export_imports_once_and_stays_attributed() {
    let shelf = shelf().await;
    let db = sea_orm::Database::connect(&shelf.app.database_url)
        .await
        .unwrap();
    let fixture = || {
        std::io::BufReader::new(
            std::fs::File::open(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/fixtures/off.jsonl"
            ))
            .unwrap(),
        )
    };
    let first = consumact_api::import::off::run(&db, fixture())
        .await
        .unwrap();
    assert_eq!(
        (
            first.lines,
            first.inserted,
            first.updated,
            first.unchanged,
            first.skipped
        ),
        (7, 4, 0, 0, 3),
        "{first}"
    );
    // Mars owns two brands; the brands are new, and so are both owners.
    assert_eq!(
        (first.brands_created, first.producers_created),
        (4, 2),
        "{first}"
    );
    let again = consumact_api::import::off::run(&db, fixture())
        .await
        .unwrap();
    assert_eq!(
        (
            again.inserted,
            again.updated,
            again.unchanged,
            again.skipped
        ),
        (0, 0, 4, 3),
        "{again}"
    );
    assert_eq!((again.brands_created, again.producers_created), (0, 0));

    let found = shelf
        .app
        .gql_ok(
            None,
            "{ productByGtin(code: \"3017620422003\") { name brand { name owner { name } } categories territories
                source { name licence url } glutenFree: valueStatus(slug: \"gluten-free\") vegan: valueStatus(slug: \"vegan\") } }",
            json!({}),
        )
        .await;
    let found = &found["productByGtin"];
    assert_eq!(found["name"], "Nutella");
    assert_eq!(found["brand"]["name"], "Nutella");
    assert_eq!(
        found["brand"]["owner"]["name"],
        "Ferrero France Commerciale"
    );
    assert_eq!(found["territories"], json!(["FR", "BE"]));
    assert_eq!(found["categories"][3], "en:hazelnut-spreads");
    assert_eq!(
        found["source"],
        json!({ "name": "Open Food Facts", "licence": "ODbL", "url": "https://world.openfoodfacts.org/product/3017620422003" })
    );
    // A no-gluten label, milk among the allergens.
    assert_eq!(
        (&found["glutenFree"], &found["vegan"]),
        (&json!("YES"), &json!("NO"))
    );
    let organic = shelf
        .app
        .gql_ok(
            None,
            "{ products(filter: { valueTag: \"organic\" }) { edges { node { name source { licence } } } } }",
            json!({}),
        )
        .await;
    assert_eq!(organic["products"]["edges"][0]["node"]["name"], "Bio mints");
    let mars = shelf
        .app
        .gql_ok(
            None,
            "{ productByGtin(code: \"10012345678902\") { territories brand { owner { brands { name } } } } }",
            json!({}),
        )
        .await;
    assert_eq!(mars["productByGtin"]["territories"], json!(["DE"]));
    assert_eq!(
        mars["productByGtin"]["brand"]["owner"]["brands"],
        json!([{ "name": "Crunchy" }, { "name": "Wrigley's" }])
    );
}
