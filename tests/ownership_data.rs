//! The ownership graph from open data and back: Wikidata entities and GLEIF
//! relationship records imported (twice, the second run changing nothing),
//! read over GraphQL, then exported as BODS JSON and CSV.

use serde_json::{Value, json};

use crate::common::{ADMIN_ARGS, TestApp};

fn fixture(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn opened(name: &str) -> std::io::BufReader<std::fs::File> {
    std::io::BufReader::new(std::fs::File::open(fixture(name)).unwrap())
}

async fn producer_named(app: &TestApp, name: &str) -> Value {
    let found = app
        .gql_ok(
            None,
            "{ producers(first: 50) { nodes {
                id name identifiers { lei wikidata openCorporates website }
                parent { name } ultimateParent { name } brands { name }
                ownershipHistory { parent { name } source evidenceUrl validFrom validTo }
            } } }",
            json!({}),
        )
        .await;
    found["producers"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|node| node["name"] == name)
        .cloned()
        .unwrap_or_else(|| panic!("no producer {name}: {found}"))
}

#[tokio::test]
async fn wikidata_and_gleif_build_the_graph_once_and_it_exports_as_bods_and_csv() {
    let app = TestApp::spawn_with(&ADMIN_ARGS).await;
    let db = sea_orm::Database::connect(&app.database_url).await.unwrap();

    let first = consumact_api::import::wikidata::run(&db, opened("wikidata.json"))
        .await
        .unwrap();
    // A property and a cut line are skipped; the minority owner is no
    // parent, so not a producer; one of the two loop edges is refused.
    assert_eq!((first.entities, first.skipped), (8, 2), "{first}");
    assert_eq!(
        (first.producers_created, first.brands_created),
        (5, 2),
        "{first}"
    );
    assert_eq!(
        (
            first.edges.inserted,
            first.edges.unchanged,
            first.edges.cycles
        ),
        (3, 0, 1),
        "{first}"
    );
    let again = consumact_api::import::wikidata::run(&db, opened("wikidata.json"))
        .await
        .unwrap();
    assert_eq!(
        (
            again.producers_created,
            again.producers_updated,
            again.brands_created,
            again.brands_updated,
            again.edges.inserted,
            again.edges.unchanged,
        ),
        (0, 0, 0, 0, 0, 3),
        "{again}"
    );

    let france = producer_named(&app, "Hazel France SAS").await;
    assert_eq!(
        france["identifiers"],
        json!({ "lei": "5299000HAZELFRAN0002", "wikidata": "Q900002", "openCorporates": "fr/552032534", "website": null })
    );
    assert_eq!(france["parent"]["name"], "Hazel Holding S.A.");
    assert_eq!(france["brands"], json!([{ "name": "Crunchy Spread" }]));
    let history = france["ownershipHistory"].as_array().unwrap();
    assert_eq!(history.len(), 2, "{france}");
    assert_eq!(history[0]["parent"]["name"], "Hazel Holding S.A.");
    assert_eq!(history[0]["source"], "WIKIDATA");
    assert_eq!(history[0]["validFrom"], "2010-01-01T00:00:00+00:00");
    assert_eq!(
        history[0]["evidenceUrl"],
        "https://www.wikidata.org/wiki/Q900002"
    );
    assert_eq!(history[1]["parent"]["name"], "Old Owner Group");
    assert_eq!(history[1]["validTo"], "2009-12-31T00:00:00+00:00");

    // GLEIF links producers known by their LEI: two the catalogue has.
    let admin = app.admin_token().await;
    for (name, lei) in [
        ("Hazel Italia", "5299000HAZELITAL0004"),
        ("Nut Farms", "5299000NUTFARMSS0005"),
    ] {
        let id = app.create_producer(&admin, name).await;
        app.gql_ok(
            Some(&admin),
            "mutation($id: ID!, $lei: String!) { setProducerIdentifiers(producerId: $id, input: { lei: $lei }) { id } }",
            json!({ "id": id, "lei": lei }),
        )
        .await;
    }
    let gleif = consumact_api::import::gleif::run(&db, opened("gleif-rr.json"))
        .await
        .unwrap();
    assert_eq!(
        (gleif.records, gleif.skipped, gleif.unmatched),
        (7, 1, 1),
        "{gleif}"
    );
    assert_eq!(
        (gleif.edges.inserted, gleif.edges.unchanged),
        (3, 2),
        "{gleif}"
    );
    let again = consumact_api::import::gleif::run(&db, opened("gleif-rr.json"))
        .await
        .unwrap();
    assert_eq!(
        (again.edges.inserted, again.edges.unchanged),
        (0, 5),
        "{again}"
    );
    let italia = producer_named(&app, "Hazel Italia").await;
    assert_eq!(italia["parent"]["name"], "Hazel France SAS");
    assert_eq!(italia["ultimateParent"]["name"], "Hazel Holding S.A.");
    let history = italia["ownershipHistory"].as_array().unwrap();
    assert_eq!(
        history
            .iter()
            .map(|edge| (edge["parent"]["name"].clone(), edge["source"].clone()))
            .collect::<Vec<_>>(),
        vec![
            (json!("Hazel France SAS"), json!("GLEIF")),
            (json!("Old Owner Group"), json!("GLEIF")),
        ]
    );
    // Its ultimate parent alone is known: it stands in as the parent.
    let farms = producer_named(&app, "Nut Farms").await;
    assert_eq!(farms["parent"]["name"], "Hazel Holding S.A.");

    // The export (`consumact export ownership`): 6 edges between 7 producers.
    let export = |format| {
        let db = &db;
        async move {
            use consumact_api::service::catalogue::ownership_export::export;
            let mut out = Vec::new();
            let edges = export(db, format, chrono::Utc::now(), &mut out)
                .await
                .unwrap();
            assert_eq!(edges, 6);
            String::from_utf8(out).unwrap()
        }
    };
    use consumact_api::service::catalogue::ownership_export::Format;
    let bods: Vec<Value> = serde_json::from_str(&export(Format::Bods).await).unwrap();
    let of_type = |kind: &str| {
        bods.iter()
            .filter(|statement| statement["recordType"] == kind)
            .collect::<Vec<_>>()
    };
    assert_eq!(of_type("relationship").len(), 6);
    assert_eq!(of_type("entity").len(), 7);
    let holding = of_type("entity")
        .into_iter()
        .find(|entity| entity["recordDetails"]["name"] == "Hazel Holding S.A.")
        .unwrap();
    assert!(
        holding["recordDetails"]["identifiers"]
            .as_array()
            .unwrap()
            .contains(&json!({ "id": "5299000HAZELHOLD0001", "scheme": "XI-LEI", "schemeName": "Global Legal Entity Identifier Index" }))
    );
    for relationship in of_type("relationship") {
        let details = &relationship["recordDetails"];
        for end in ["subject", "interestedParty"] {
            assert!(
                bods.iter()
                    .any(|statement| statement["recordId"] == details[end]),
                "{relationship}"
            );
        }
        assert_eq!(relationship["publicationDetails"]["bodsVersion"], "0.4");
    }
    let closed = of_type("relationship")
        .into_iter()
        .filter(|relationship| relationship["recordStatus"] == "closed")
        .count();
    assert_eq!(closed, 2);
    let csv = export(Format::Csv).await;
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 7, "{csv}");
    assert!(lines[0].starts_with("child_id,child_name,child_lei,parent_id"));
    assert!(
        lines
            .iter()
            .any(|line| line.contains(",Hazel Italia,5299000HAZELITAL0004,")
                && line.contains(",Old Owner Group,")
                && line.contains(",GLEIF,")),
        "{csv}"
    );
}
