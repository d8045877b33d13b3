//! Confirmed participation: a signature counts once its signer confirms
//! their address, exactly once, and pending ones are cleaned up.

use super::*;

#[tokio::test]
async fn a_newcomer_follows_the_mailed_link_and_their_signature_counts() {
    let app = spawn(&[]).await;
    let (organiser, campaign) = open_petition(&app, "organiser", 100).await;
    let (alice, _) = app.register("alice").await;

    let me = app
        .gql_ok(Some(&alice), "{ me { emailConfirmed locale } }", json!({}))
        .await;
    assert_eq!(me["me"], json!({ "emailConfirmed": false, "locale": "en" }));

    // She signs at once; the signature waits and counts nowhere.
    let signed = app
        .gql_ok(
            Some(&alice),
            "mutation($id: ID!) { signCampaign(campaignId: $id) { status } }",
            json!({ "id": campaign }),
        )
        .await;
    assert_eq!(signed["signCampaign"]["status"], "PENDING");
    assert_eq!(app.signature_count(&campaign).await, 0);
    assert_eq!(app.signature_rows(&campaign).await, 0);
    assert_eq!(
        pending_count(&app, &organiser, &campaign).await,
        json!({ "signatures": 0, "pendingSignatures": 1 })
    );
    // Only the organiser sees pending signatures.
    let public = app
        .gql_ok(
            Some(&alice),
            "query($id: ID!) { campaign(id: $id) { counters { pendingSignatures } } }",
            json!({ "id": campaign }),
        )
        .await;
    assert_eq!(
        public["campaign"]["counters"]["pendingSignatures"],
        Value::Null
    );
    // Pledges need a confirmed address.
    let pledge = app
        .gql(
            Some(&alice),
            "mutation($id: ID!) { pledge(campaignId: $id, input: { kind: AVOID }) { id } }",
            json!({ "id": campaign }),
        )
        .await;
    assert_eq!(error_code(&pledge), "FORBIDDEN");
    assert_eq!(
        pledge["errors"][0]["extensions"]["reason"],
        "EMAIL_NOT_CONFIRMED"
    );

    // The mail is on disk, as an RFC 5322 file with both bodies.
    let mails = app.mails_to(&address("alice"), 1).await;
    let mail = &mails[0];
    assert!(mail.subject.contains("Confirm"), "{}", mail.subject);
    assert!(
        mail.message_id.ends_with("@consumact.localhost"),
        "{}",
        mail.message_id
    );
    assert!(mail.html.contains("/confirm-email?token="), "{}", mail.html);
    let (link, _) = mail.link("/confirm-email");
    assert!(
        link.starts_with(&format!("http://{}/confirm-email?token=", app.addr)),
        "{link}"
    );

    // A mail scanner fetching the link (GET or HEAD) confirms nothing: the
    // page shows a button that posts the token.
    let head = app.client.head(&link).send().await.unwrap();
    assert_eq!(head.status(), 200);
    let page = app.client.get(&link).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let page = page.text().await.unwrap();
    assert!(
        page.contains("method=\"post\" action=\"/confirm-email\""),
        "{page}"
    );
    let token = link.split_once("token=").unwrap().1.to_owned();
    assert_eq!(
        app.signature_count(&campaign).await,
        0,
        "a GET confirms nothing"
    );
    let unconfirmed = app
        .gql_ok(Some(&alice), "{ me { emailConfirmed } }", json!({}))
        .await;
    assert_eq!(unconfirmed["me"]["emailConfirmed"], false);

    // The person's click (the form's POST) confirms, and says so.
    let (status, page) = press_confirm(&app, &token).await;
    assert_eq!(status, 200);
    assert!(page.contains("confirmed"), "{page}");
    assert_eq!(app.signature_count(&campaign).await, 1);
    assert_eq!(app.signature_rows(&campaign).await, 1);
    assert_eq!(
        pending_count(&app, &organiser, &campaign).await,
        json!({ "signatures": 1, "pendingSignatures": 0 })
    );
    let me = app
        .gql_ok(
            Some(&alice),
            "{ me { emailConfirmed signatures { edges { node { status } } } } }",
            json!({}),
        )
        .await;
    assert_eq!(me["me"]["emailConfirmed"], true);
    assert_eq!(
        me["me"]["signatures"]["edges"][0]["node"]["status"],
        "COUNTED"
    );

    // A link works once; used again, it says the address is confirmed.
    let (status, again) = press_confirm(&app, &token).await;
    assert_eq!(status, 200);
    assert!(again.contains("already confirmed"), "{again}");
    let (status, bogus) = press_confirm(&app, "not-a-token").await;
    assert_eq!(status, 400, "{bogus}");
    let reuse = app
        .gql(
            None,
            "mutation($token: String!) { confirmEmail(token: $token) { id } }",
            json!({ "token": token }),
        )
        .await;
    assert_eq!(error_code(&reuse), "CONFLICT");
    let bogus = app
        .gql(
            None,
            "mutation { confirmEmail(token: \"not-a-token\") { id } }",
            json!({}),
        )
        .await;
    assert_eq!(error_code(&bogus), "BAD_USER_INPUT");
    assert_eq!(error_field(&bogus), "token");
    assert_eq!(app.signature_count(&campaign).await, 1, "counted once");
    // Now she may pledge.
    app.gql_ok(
        Some(&alice),
        "mutation($id: ID!) { pledge(campaignId: $id, input: { kind: AVOID }) { id } }",
        json!({ "id": campaign }),
    )
    .await;
}

#[tokio::test]
async fn a_surge_of_unconfirmed_signers_counts_exactly_once_when_they_confirm() {
    const SIGNERS: usize = 200;
    let mut args = ADMIN_ARGS.to_vec();
    args.extend(["--observatory-k", "2"]);
    let app = spawn(&args).await;
    let (_, campaign) = open_petition(&app, "organiser", 150).await;
    let mut subscription = Subscription::start(
        app.addr,
        "subscription($id: ID!) { campaignCounters(campaignId: $id) { signatures milestone } }",
        json!({ "id": campaign }),
    )
    .await;
    assert_eq!(
        subscription.next_data(5).await["campaignCounters"]["signatures"],
        0
    );

    let tokens = app.register_many("surge", SIGNERS).await;
    let signed =
        futures::future::join_all(tokens.iter().map(|token| app.sign(token, &campaign))).await;
    for body in &signed {
        assert!(body.get("errors").is_none(), "{body}");
    }
    assert_eq!(app.signature_count(&campaign).await, 0);
    assert_eq!(app.signature_rows(&campaign).await, 0);

    // Every signer confirms, all at once.
    let mut links = Vec::new();
    for i in 0..SIGNERS {
        links.push(confirmation_token(&app, &format!("surge_{i}")).await);
    }
    let confirmed = futures::future::join_all(links.iter().map(|token| {
        app.gql(
            None,
            "mutation($token: String!) { confirmEmail(token: $token) { id } }",
            json!({ "token": token }),
        )
    }))
    .await;
    for body in &confirmed {
        assert!(body.get("errors").is_none(), "{body}");
    }
    assert_eq!(app.signature_count(&campaign).await, SIGNERS as i64);
    assert_eq!(app.signature_rows(&campaign).await, SIGNERS as i64);

    // The subscriber ends on exactly 200 and heard each milestone once.
    let mut last = 0;
    let mut milestones = Vec::new();
    while last < SIGNERS as i64 {
        let update = subscription.next_data(10).await["campaignCounters"].clone();
        let value = update["signatures"].as_i64().unwrap();
        assert!(value >= last, "the count went back from {last} to {value}");
        last = value;
        if let Some(threshold) = update["milestone"].as_i64() {
            milestones.push(threshold);
        }
    }
    assert_eq!(last, SIGNERS as i64);
    // A milestone published late is still announced, with the final count.
    while let Some(message) = subscription.next_message(1).await {
        let update = &message["payload"]["data"]["campaignCounters"];
        assert_eq!(update["signatures"], SIGNERS, "{message}");
        if let Some(threshold) = update["milestone"].as_i64() {
            milestones.push(threshold);
        }
    }
    milestones.sort_unstable();
    assert_eq!(milestones, [10, 100, 150]);
    let recorded = app
        .gql_ok(
            None,
            "query($id: ID!) { campaign(id: $id) { milestones { threshold } producer { id } } }",
            json!({ "id": campaign }),
        )
        .await;
    assert_eq!(
        recorded["campaign"]["milestones"],
        json!([{ "threshold": 10 }, { "threshold": 100 }, { "threshold": 150 }])
    );

    // The observatory's rollups moved exactly once per signature.
    let producer = recorded["campaign"]["producer"]["id"].as_str().unwrap();
    let admin = app.admin_token().await;
    let trust = app
        .gql_ok(
            Some(&admin),
            "query($id: ID!) { observatory { producer(id: $id) { memberCount metrics { signatures } } } }",
            json!({ "id": producer }),
        )
        .await;
    assert_eq!(
        trust["observatory"]["producer"]["metrics"]["signatures"],
        SIGNERS
    );
}

#[tokio::test]
async fn pending_signatures_of_members_who_never_confirm_are_removed_after_the_link_expires() {
    let app = spawn(&[]).await;
    let (organiser, campaign) = open_petition(&app, "organiser", 100).await;
    let (late, _) = app.register("late").await;
    let (prompt, _) = app.register("prompt").await;
    for token in [&late, &prompt] {
        assert!(app.sign(token, &campaign).await.get("errors").is_none());
    }
    assert_eq!(
        pending_count(&app, &organiser, &campaign).await,
        json!({ "signatures": 0, "pendingSignatures": 2 })
    );
    // Three days pass for `late`, who never confirms (the rows are aged in
    // the database: the lifetime is counted in hours).
    let db = sea_orm::Database::connect(app.database_url.as_str())
        .await
        .unwrap();
    let aged = chrono::Utc::now() - chrono::Duration::hours(72);
    let aged = match sea_orm::ConnectionTrait::get_database_backend(&db) {
        sea_orm::DbBackend::Sqlite => aged.format("%Y-%m-%d %H:%M:%S%.6f+00:00").to_string(),
        _ => aged.to_rfc3339(),
    };
    sea_orm::ConnectionTrait::execute_unprepared(
        &db,
        &format!(
            "UPDATE signature SET created_at = '{aged}' WHERE member_id IN \
             (SELECT id FROM member WHERE handle = 'late')"
        ),
    )
    .await
    .unwrap();
    // The upkeep pass (every second in tests) removes it; the other stays.
    let pending = eventually(
        10,
        json!({ "signatures": 0, "pendingSignatures": 1 }),
        || pending_count(&app, &organiser, &campaign),
    )
    .await;
    assert_eq!(pending, json!({ "signatures": 0, "pendingSignatures": 1 }));
    let mine = app
        .gql_ok(
            Some(&late),
            "{ me { signatures { totalCount } } }",
            json!({}),
        )
        .await;
    assert_eq!(mine["me"]["signatures"]["totalCount"], 0);
    // `prompt` confirms and counts.
    let token = confirmation_token(&app, "prompt").await;
    app.gql_ok(
        None,
        "mutation($token: String!) { confirmEmail(token: $token) { id } }",
        json!({ "token": token }),
    )
    .await;
    assert_eq!(app.signature_count(&campaign).await, 1);
}

#[tokio::test]
async fn a_pending_signature_left_behind_by_a_confirmation_is_counted_by_the_upkeep() {
    let app = spawn(&[]).await;
    let (organiser, campaign) = open_petition(&app, "organiser", 100).await;
    let (racer, _) = app.register("racer").await;
    assert!(app.sign(&racer, &campaign).await.get("errors").is_none());
    // As if the signature's batch had committed just after the member's
    // confirmation moved their pending signatures: confirmed, yet pending.
    let db = sea_orm::Database::connect(app.database_url.as_str())
        .await
        .unwrap();
    sea_orm::ConnectionTrait::execute_unprepared(
        &db,
        "UPDATE member SET email_confirmed_at = \
         (SELECT created_at FROM signature WHERE signature.member_id = member.id) \
         WHERE handle = 'racer'",
    )
    .await
    .unwrap();
    let counters = eventually(
        10,
        json!({ "signatures": 1, "pendingSignatures": 0 }),
        || pending_count(&app, &organiser, &campaign),
    )
    .await;
    assert_eq!(counters, json!({ "signatures": 1, "pendingSignatures": 0 }));
    assert_eq!(app.signature_rows(&campaign).await, 1);
}

#[tokio::test]
async fn a_pending_signature_withdrawn_counts_nowhere_and_a_new_one_counts_once() {
    let app = spawn(&[]).await;
    let (organiser, campaign) = open_petition(&app, "organiser", 100).await;
    let (hesitant, _) = app.register("hesitant").await;
    assert!(app.sign(&hesitant, &campaign).await.get("errors").is_none());
    let withdraw = "mutation($id: ID!) { withdrawSignature(campaignId: $id) }";
    app.gql_ok(Some(&hesitant), withdraw, json!({ "id": campaign }))
        .await;
    assert_eq!(
        pending_count(&app, &organiser, &campaign).await,
        json!({ "signatures": 0, "pendingSignatures": 0 })
    );
    assert!(app.sign(&hesitant, &campaign).await.get("errors").is_none());
    let token = confirmation_token(&app, "hesitant").await;
    app.gql_ok(
        None,
        "mutation($token: String!) { confirmEmail(token: $token) { id } }",
        json!({ "token": token }),
    )
    .await;
    assert_eq!(
        pending_count(&app, &organiser, &campaign).await,
        json!({ "signatures": 1, "pendingSignatures": 0 })
    );
    // Withdrawn once counted, it leaves the count once.
    app.gql_ok(Some(&hesitant), withdraw, json!({ "id": campaign }))
        .await;
    assert_eq!(app.signature_count(&campaign).await, 0);
    assert_eq!(app.signature_rows(&campaign).await, 0);
}
