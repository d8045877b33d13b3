//! Where a campaign applies and the language it is written in, black-box:
//! the territory filter finds a country's subdivisions, the language
//! defaults to its author's.

use crate::common::{TestApp, error_field};
use serde_json::{Value, json};

const CREATE: &str = "mutation($input: CreateCampaignInput!) { createCampaign(input: $input) { id territory language } }";
const LIST: &str = "query($territory: String) { campaigns(filter: { territory: $territory }) { totalCount edges { node { title } } } }";

fn campaign(producer: &str, title: &str, territory: Option<&str>, language: Option<&str>) -> Value {
    json!({ "input": {
        "kind": "PETITION",
        "title": title,
        "summary": "A campaign somewhere in particular.",
        "body": "Details.",
        "producerId": producer,
        "territory": territory,
        "language": language,
    }})
}

async fn titles(app: &TestApp, territory: &str) -> Vec<String> {
    let data = app
        .gql_ok(None, LIST, json!({ "territory": territory }))
        .await;
    let mut titles: Vec<String> = data["campaigns"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|edge| edge["node"]["title"].as_str().unwrap().to_owned())
        .collect();
    titles.sort();
    titles
}

#[tokio::test]
async fn a_country_finds_the_campaigns_of_its_subdivisions() {
    let app = TestApp::spawn().await;
    let (organiser, _) = app.register("organiser").await;
    let producer = app.create_producer(&organiser, "Acme").await;
    for (title, territory) in [
        ("Lyon markets", Some("FR-ARA")),
        ("All of France", Some("FR")),
        ("Paris canteens", Some("FR-IDF")),
        ("Brussels shops", Some("BE-BRU")),
        ("Everywhere at once", None),
    ] {
        let created = app
            .gql_ok(
                Some(&organiser),
                CREATE,
                campaign(&producer, title, territory, None),
            )
            .await;
        let id = created["createCampaign"]["id"].as_str().unwrap().to_owned();
        app.publish(&organiser, &id).await;
    }
    assert_eq!(
        titles(&app, "FR").await,
        ["All of France", "Lyon markets", "Paris canteens"]
    );
    assert_eq!(titles(&app, "FR-ARA").await, ["Lyon markets"]);
    assert_eq!(titles(&app, "BE").await, ["Brussels shops"]);
    let refused = app
        .gql(None, LIST, json!({ "territory": "Atlantis" }))
        .await;
    assert_eq!(error_field(&refused), "filter.territory");
}

#[tokio::test]
async fn the_language_defaults_to_the_authors_and_is_checked() {
    let app = TestApp::spawn().await;
    let registered = app
        .gql_ok(
            None,
            "mutation { register(input: { handle: \"camille\", email: \"camille@example.org\", password: \"correct horse battery\", locale: \"fr\" }) { token } }",
            json!({}),
        )
        .await;
    let token = registered["register"]["token"].as_str().unwrap().to_owned();
    let producer = app.create_producer(&token, "Acme").await;
    let created = app
        .gql_ok(
            Some(&token),
            CREATE,
            campaign(&producer, "Étiquetage des allergènes", Some("FR-ARA"), None),
        )
        .await;
    assert_eq!(created["createCampaign"]["language"], "fr");
    assert_eq!(created["createCampaign"]["territory"], "FR-ARA");
    let english = app
        .gql_ok(
            Some(&token),
            CREATE,
            campaign(&producer, "Allergen labels", None, Some("en")),
        )
        .await;
    assert_eq!(english["createCampaign"]["language"], "en");
    for (territory, language, field) in [
        (None, Some("de"), "input.language"),
        (Some("Atlantis"), None, "input.territory"),
    ] {
        let input = campaign(&producer, "Allergen labels", territory, language);
        let refused = app.gql(Some(&token), CREATE, input).await;
        assert_eq!(error_field(&refused), field);
    }

    // Moved and cleared.
    let id = created["createCampaign"]["id"].clone();
    let moved = app
        .gql_ok(
            Some(&token),
            "mutation($id: ID!) { updateCampaign(id: $id, input: { territory: \"\", language: \"en\" }) { territory language } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(
        moved["updateCampaign"],
        json!({ "territory": null, "language": "en" })
    );

    let community = app
        .gql_ok(
            Some(&token),
            "mutation { createCommunity(input: { name: \"Véganes de Lyon\", slug: \"veganes-lyon\", territory: \"FR-ARA\" }) { language } }",
            json!({}),
        )
        .await;
    assert_eq!(community["createCommunity"]["language"], "fr");
}
