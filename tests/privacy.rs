//! Privacy rights: exporting one's data, and erasing it while the
//! signatures, pledges and votes one contributed keep counting.

use crate::common::{TestApp, error_code};
use serde_json::json;

#[tokio::test]
async fn members_export_what_is_held_about_them_and_nobody_else() {
    let app = TestApp::spawn().await;
    let (_, campaign) = app.open_campaign("exporter_org", 1000).await;
    let (member, member_id) = app.register("exporter").await;
    let (other, _) = app.register("bystander").await;
    app.gql_ok(
        Some(&member),
        "mutation($id: ID!) { signCampaign(campaignId: $id, input: { comment: \"mine\" }) { id } }",
        json!({ "id": campaign }),
    )
    .await;
    app.sign(&other, &campaign).await;
    app.gql_ok(
        Some(&member),
        "mutation($id: ID!) { pledge(campaignId: $id, input: { kind: AVOID }) { id } }",
        json!({ "id": campaign }),
    )
    .await;
    let export = app
        .gql_ok(Some(&member), "{ exportMyData }", json!({}))
        .await["exportMyData"]
        .clone();
    assert_eq!(export["member"]["id"], member_id);
    assert_eq!(export["member"]["email"], "exporter@example.org");
    assert_eq!(export["signatures"].as_array().unwrap().len(), 1);
    assert_eq!(export["signatures"][0]["comment"], "mine");
    assert_eq!(export["pledges"][0]["kind"], "AVOID");
    assert!(!export.to_string().contains("bystander"));
    let anonymous = app.gql(None, "{ exportMyData }", json!({})).await;
    assert_eq!(error_code(&anonymous), "UNAUTHENTICATED");
}

#[tokio::test]
async fn deleting_an_account_erases_the_person_but_keeps_the_counts() {
    let app = TestApp::spawn().await;
    let (organiser, _) = app.register("leaver").await;
    let producer = app.create_producer(&organiser, "Leaver Co").await;
    let body = app
        .gql_ok(
            Some(&organiser),
            "mutation($input: CreateCampaignInput!) { createCampaign(input: $input) { id } }",
            json!({ "input": { "kind": "CO_CREATION", "title": "Ideas for Leaver Co", "summary": "Tell Leaver Co what to make next.",
                               "body": "Go.", "producerId": producer } }),
        )
        .await;
    let campaign = body["createCampaign"]["id"].as_str().unwrap().to_owned();
    app.publish(&organiser, &campaign).await;
    app.gql_ok(
        Some(&organiser),
        "mutation($id: ID!) { signCampaign(campaignId: $id, input: { comment: \"my own words\" }) { id } }",
        json!({ "id": campaign }),
    )
    .await;
    let proposal = app
        .gql_ok(
            Some(&organiser),
            "mutation($id: ID!) { submitProposal(campaignId: $id, input: { title: \"Refillable bottles\", body: \"x\" }) { id } }",
            json!({ "id": campaign }),
        )
        .await["submitProposal"]["id"]
        .clone();
    app.gql_ok(
        Some(&organiser),
        "mutation($id: ID!) { vote(proposalId: $id, direction: UP) { score } }",
        json!({ "id": proposal }),
    )
    .await;

    // A community of someone else's, joined, and a flag filed.
    let (founder, _) = app.register("founder").await;
    let community = app
        .gql_ok(Some(&founder), "mutation { createCommunity(input: { name: \"Refill fans\", slug: \"refill-fans\" }) { id } }", json!({}))
        .await["createCommunity"]["id"]
        .clone();
    app.gql_ok(
        Some(&organiser),
        "mutation($id: ID!) { joinCommunity(communityId: $id) { id } }",
        json!({ "id": community }),
    )
    .await;
    let members = "{ community(slug: \"refill-fans\") { memberCount } }";
    assert_eq!(
        app.gql_ok(None, members, json!({})).await["community"]["memberCount"],
        2
    );
    app.gql_ok(
        Some(&organiser),
        "mutation($id: ID!) { flagContent(kind: PROPOSAL, id: $id, reason: \"Second thoughts\") { id } }",
        json!({ "id": proposal }),
    )
    .await;

    let wrong = app
        .gql(
            Some(&organiser),
            "mutation { deleteAccount(password: \"nope nope\") }",
            json!({}),
        )
        .await;
    assert_eq!(error_code(&wrong), "UNAUTHENTICATED");
    let deleted = app
        .gql_ok(
            Some(&organiser),
            "mutation { deleteAccount(password: \"correct horse battery\") }",
            json!({}),
        )
        .await;
    assert_eq!(deleted["deleteAccount"], true);

    let signed_out = app.gql(Some(&organiser), "{ me { id } }", json!({})).await;
    assert_eq!(error_code(&signed_out), "UNAUTHENTICATED");
    let login = app
        .gql(None, "mutation { login(input: { handleOrEmail: \"leaver\", password: \"correct horse battery\" }) { token } }", json!({}))
        .await;
    assert_eq!(error_code(&login), "UNAUTHENTICATED");

    let seen = app
        .gql_ok(
            None,
            "query($id: ID!) { campaign(id: $id) {
               organiser { handle displayName }
               counters { signatures }
               signatures { totalCount edges { node { signer comment } } }
               proposals { edges { node { score author { displayName } } } }
             } }",
            json!({ "id": campaign }),
        )
        .await;
    let text = seen.to_string();
    assert!(
        !text.contains("leaver") && !text.contains("my own words"),
        "{text}"
    );
    let campaign = &seen["campaign"];
    assert_eq!(campaign["organiser"]["displayName"], "Deleted member");
    assert_eq!(campaign["counters"]["signatures"], 1);
    assert_eq!(
        campaign["signatures"]["edges"][0]["node"],
        json!({ "signer": "Anonymous", "comment": null })
    );
    assert_eq!(campaign["proposals"]["edges"][0]["node"]["score"], 1);
    // Nothing social stays linked to the tombstone: it left the community,
    // and its flag stays for moderators without its reporter.
    assert_eq!(
        app.gql_ok(None, members, json!({})).await["community"]["memberCount"],
        1
    );
    let reporters = {
        use sea_orm::ConnectionTrait;
        let db = sea_orm::Database::connect(&app.database_url).await.unwrap();
        db.query_all_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            "SELECT reporter_id FROM flag",
        ))
        .await
        .unwrap()
        .iter()
        .map(|row| row.try_get_by_index::<Option<uuid::Uuid>>(0).unwrap())
        .collect::<Vec<_>>()
    };
    assert_eq!(reporters, [None]);

    // The handle stays taken for its quarantine…
    let taken = app
        .gql(
            None,
            "mutation { register(input: { handle: \"Leaver\", email: \"newcomer@example.org\", password: \"correct horse battery\" }) { token } }",
            json!({}),
        )
        .await;
    assert_eq!(error_code(&taken), "CONFLICT");
    // …and is free again once it is over (here, a server with none).
    let later = app
        .spawn_sibling_with(&["--handle-quarantine-days", "0"])
        .await;
    later.register("leaver").await;
}

/// Every outbox payload, read straight from the database.
async fn outbox_payloads(app: &TestApp) -> Vec<String> {
    use sea_orm::ConnectionTrait;
    let db = sea_orm::Database::connect(&app.database_url).await.unwrap();
    db.query_all_raw(sea_orm::Statement::from_string(
        db.get_database_backend(),
        "SELECT payload FROM outbox_message",
    ))
    .await
    .unwrap()
    .iter()
    .map(|row| row.try_get::<String>("", "payload").unwrap())
    .collect()
}

#[tokio::test]
async fn erasure_revokes_mailed_links_and_forgets_the_address_in_the_outbox() {
    // No mail server answers: the mails stay in the outbox, unsent.
    let app = TestApp::spawn_with(&[
        "--email-confirmation",
        "required",
        "--smtp-url",
        "smtp://127.0.0.1:9",
    ])
    .await;
    let (token, _) = app.register("eve").await;
    app.gql_ok(
        None,
        "mutation { requestPasswordReset(email: \"eve@example.org\") }",
        json!({}),
    )
    .await;
    let payloads = outbox_payloads(&app).await;
    let reset = payloads
        .iter()
        .find_map(|payload| {
            let link = payload.split("/reset-password?token=").nth(1)?;
            Some(link.split('"').next()?.to_owned())
        })
        .expect("a reset mail waits in the outbox");
    assert!(
        payloads
            .iter()
            .any(|payload| payload.contains("eve@example.org"))
    );

    app.gql_ok(
        Some(&token),
        "mutation { deleteAccount(password: \"correct horse battery\") }",
        json!({}),
    )
    .await;
    // The link mailed before the erasure opens nothing now.
    let used = app
        .gql(
            None,
            "mutation($token: String!) { resetPassword(token: $token, newPassword: \"taking it over\") }",
            json!({ "token": reset }),
        )
        .await;
    assert_eq!(error_code(&used), "BAD_USER_INPUT");
    // No mail to the address is left to go out, and none keeps it.
    let payloads = outbox_payloads(&app).await;
    assert!(
        payloads
            .iter()
            .all(|payload| !payload.contains("eve@example.org")),
        "{payloads:?}"
    );
}

/// The columns of the schema that refer to `member`, as `table.column`,
/// read from the database itself.
async fn columns_naming_a_member(database_url: &str) -> std::collections::BTreeSet<String> {
    use sea_orm::{ConnectionTrait, DbBackend, Statement};
    let db = sea_orm::Database::connect(database_url).await.unwrap();
    let backend = db.get_database_backend();
    let mut found = std::collections::BTreeSet::new();
    if backend == DbBackend::Postgres {
        let rows = db
            .query_all_raw(Statement::from_string(
                backend,
                "SELECT kcu.table_name, kcu.column_name \
                 FROM information_schema.referential_constraints rc \
                 JOIN information_schema.key_column_usage kcu \
                   ON kcu.constraint_name = rc.constraint_name \
                  AND kcu.constraint_schema = rc.constraint_schema \
                 JOIN information_schema.constraint_column_usage ccu \
                   ON ccu.constraint_name = rc.constraint_name \
                  AND ccu.constraint_schema = rc.constraint_schema \
                 WHERE ccu.table_name = 'member' AND rc.constraint_schema = current_schema()",
            ))
            .await
            .unwrap();
        for row in rows {
            let table: String = row.try_get_by_index(0).unwrap();
            let column: String = row.try_get_by_index(1).unwrap();
            found.insert(format!("{table}.{column}"));
        }
    } else {
        let tables = db
            .query_all_raw(Statement::from_string(
                backend,
                "SELECT name FROM sqlite_master WHERE type = 'table'",
            ))
            .await
            .unwrap();
        for table in tables {
            let table: String = table.try_get_by_index(0).unwrap();
            let keys = db
                .query_all_raw(Statement::from_string(
                    backend,
                    format!("SELECT \"table\", \"from\" FROM pragma_foreign_key_list('{table}')"),
                ))
                .await
                .unwrap();
            for key in keys {
                let target: String = key.try_get_by_index(0).unwrap();
                let column: String = key.try_get_by_index(1).unwrap();
                if target == "member" {
                    found.insert(format!("{table}.{column}"));
                }
            }
        }
    }
    found
}

#[tokio::test]
async fn every_column_that_names_a_member_is_exported_or_explained() {
    let app = TestApp::spawn().await;
    let (member, _) = app.register("exporter").await;
    let export = app
        .gql_ok(Some(&member), "{ exportMyData }", json!({}))
        .await["exportMyData"]
        .clone();
    let columns = columns_naming_a_member(&app.database_url).await;
    assert!(
        columns.len() >= 20 && columns.contains("signature.member_id"),
        "the schema's foreign keys were read: {columns:?}"
    );
    let page =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/privacy.md")).unwrap();
    // Lines of its table: | `table.column` | where, or why not |
    let mut lines = std::collections::BTreeMap::new();
    for line in page.lines() {
        let cells: Vec<&str> = line.split(" | ").collect();
        if let [first, rest] = cells.as_slice()
            && let Some(column) = first
                .strip_prefix("| `")
                .and_then(|cell| cell.strip_suffix('`'))
            && column.contains('.')
        {
            lines.insert(column.to_owned(), rest.trim_end_matches(" |").to_owned());
        }
    }
    for column in &columns {
        let Some(answer) = lines.get(column) else {
            panic!("{column} refers to a member but docs/privacy.md has no line for it");
        };
        if let Some(explained) = answer.strip_prefix("not exported") {
            assert!(explained.len() > 20, "{column}: say why it is not exported");
            continue;
        }
        let section = answer
            .strip_prefix('`')
            .and_then(|rest| rest.split('`').next())
            .unwrap_or_else(|| panic!("{column}: `{answer}` names no export section"));
        assert!(
            !export[section].is_null(),
            "{column}: docs/privacy.md says it is in `{section}`, which exportMyData lacks: {export}"
        );
    }
    for column in lines.keys() {
        assert!(
            columns.contains(column),
            "docs/privacy.md explains {column}, which no longer refers to a member"
        );
    }
}

#[tokio::test]
async fn erasure_withdraws_the_sponsorship_of_a_campaign_still_gathering_sponsors() {
    let app = TestApp::spawn_with(&["--campaign-sponsors", "2"]).await;
    let (organiser, _) = app.register("organiser").await;
    let producer = app.create_producer(&organiser, "Acme").await;
    let campaign = app.create_campaign(&organiser, &producer).await;
    let code = app
        .gql_ok(
            Some(&organiser),
            "mutation($id: ID!) { publishCampaign(id: $id) { sponsorCode } }",
            json!({ "id": campaign }),
        )
        .await["publishCampaign"]["sponsorCode"]
        .clone();
    let (sponsor, _) = app.register("leaving_sponsor").await;
    let sponsored = app
        .gql_ok(
            Some(&sponsor),
            "mutation($code: String!) { sponsorCampaign(code: $code) { sponsorCount } }",
            json!({ "code": code }),
        )
        .await;
    assert_eq!(sponsored["sponsorCampaign"]["sponsorCount"], 1);
    app.gql_ok(
        Some(&sponsor),
        "mutation { deleteAccount(password: \"correct horse battery\") }",
        json!({}),
    )
    .await;
    let seen = app
        .gql_ok(
            Some(&organiser),
            "query($id: ID!) { campaign(id: $id) { status sponsorCount } }",
            json!({ "id": campaign }),
        )
        .await;
    assert_eq!(
        seen["campaign"],
        json!({ "status": "SPONSORING", "sponsorCount": 0 })
    );
}
