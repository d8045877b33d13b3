//! Mail and services over the network: SMTP in the member's language,
//! STARTTLS only to a trusted server, delivery after a restart, PostgreSQL
//! over TLS.

use super::*;

#[tokio::test]
async fn mail_goes_over_smtp_in_the_members_language() {
    let Some(smtp) = SmtpServer::start() else {
        return;
    };
    let app = spawn(&["--smtp-url", &smtp.url()]).await;
    let registered = app
        .gql_ok(
            None,
            "mutation { register(input: { handle: \"camille\", email: \"Camille+news@example.org\", password: \"correct horse battery\", locale: \"fr\" }) { token } }",
            json!({}),
        )
        .await;
    let token = registered["register"]["token"].as_str().unwrap().to_owned();
    let mails = crate::common::mail::wait_for(|| smtp.mails(), "camille+news@example.org", 1).await;
    let mail = &mails[0];
    assert!(mail.subject.starts_with("Confirmez"), "{}", mail.subject);
    assert!(mail.text.contains("Bonjour camille"), "{}", mail.text);
    assert!(mail.html.contains("lang=\"fr\""), "{}", mail.html);
    assert!(mail.raw.contains("multipart/alternative"));
    assert!(app.mail_files().is_empty(), "nothing written to disk");

    let (_, confirmation) = mail.link("/confirm-email");
    let confirmed = app
        .gql_ok(
            None,
            "mutation($token: String!) { confirmEmail(token: $token) { handle } }",
            json!({ "token": confirmation }),
        )
        .await;
    assert_eq!(confirmed["confirmEmail"]["handle"], "camille");
    let me = app
        .gql_ok(Some(&token), "{ me { emailConfirmed locale } }", json!({}))
        .await;
    assert_eq!(me["me"], json!({ "emailConfirmed": true, "locale": "fr" }));
}

#[tokio::test]
async fn mail_due_when_a_server_is_killed_is_delivered_after_restart_once_each() {
    const MEMBERS: usize = 12;
    let Some(smtp) = SmtpServer::start() else {
        return;
    };
    // Nothing listens there: every delivery fails and stays due.
    let dead_smtp = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("smtp://{}", listener.local_addr().unwrap())
    };
    // The harness's own server stays parked (its worker sleeps for an hour).
    let base = spawn(&["--smtp-url", &dead_smtp, "--outbox-poll-ms", "3600000"]).await;

    // Server A runs in a runtime of its own, so that it can be killed: its
    // tasks stop wherever they are, with no graceful shutdown.
    let config = TestApp::config(
        &base.database_url,
        &base.redis_prefix,
        &base.data_dir,
        &[
            REQUIRED[0].to_owned(),
            REQUIRED[1].to_owned(),
            "--smtp-url".to_owned(),
            dead_smtp.clone(),
            "--outbox-poll-ms".to_owned(),
            "50".to_owned(),
            "--outbox-retry-base-ms".to_owned(),
            "50".to_owned(),
            "--outbox-lease-secs".to_owned(),
            "2".to_owned(),
        ],
    );
    let (address_sender, bound) = std::sync::mpsc::channel();
    let (kill, killed) = tokio::sync::oneshot::channel::<()>();
    let server = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let app = consumact_api::Application::build(config).await.unwrap();
            address_sender.send(app.local_addr()).unwrap();
            tokio::select! {
                _ = app.run_until(std::future::pending()) => {}
                _ = killed => {}
            }
        });
        runtime.shutdown_background();
    });
    let a = bound.recv().unwrap();
    for i in 0..MEMBERS {
        let body = gql_at(
            a,
            "mutation($input: RegisterInput!) { register(input: $input) { token } }",
            json!({ "input": { "handle": format!("crash_{i}"), "email": address(&format!("crash_{i}")), "password": "correct horse battery" } }),
        )
        .await;
        assert!(body.get("errors").is_none(), "{body}");
    }
    // A tries, fails, and retries while the messages are due.
    let failures = eventually(10, true, || async {
        crate::common::metric_at(a, "consumact_outbox_failures_total").await >= MEMBERS as u64 * 2
    })
    .await;
    assert!(failures, "server A retried the failing deliveries");
    kill.send(()).unwrap();
    server.join().unwrap();
    assert!(smtp.mails().is_empty());

    // Server B, after the restart, delivers every message, each once.
    let _b = base
        .spawn_sibling_with(&["--smtp-url", &smtp.url(), "--outbox-poll-ms", "50"])
        .await;
    let mails = eventually(30, MEMBERS, || async { smtp.mails().len() }).await;
    assert_eq!(mails, MEMBERS);
    // Leases long expired, nothing more arrives.
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    let received = smtp.mails();
    assert_eq!(received.len(), MEMBERS, "no message sent twice");
    let per_recipient: HashMap<String, usize> =
        received.iter().fold(HashMap::new(), |mut counts, mail| {
            *counts.entry(mail.to.clone()).or_default() += 1;
            counts
        });
    assert_eq!(per_recipient.len(), MEMBERS);
    let ids: BTreeSet<&str> = received
        .iter()
        .map(|mail| mail.message_id.as_str())
        .collect();
    assert_eq!(ids.len(), MEMBERS, "one Message-ID per message");
    assert!(base.mail_files().is_empty());
}

#[tokio::test]
async fn postgresql_is_reached_over_tls_when_the_url_asks() {
    if std::env::var("TEST_DATABASE_URL").is_err() {
        assert!(!crate::common::services_required());
        return; // SQLite has no connection to encrypt
    }
    let app = TestApp::spawn().await;
    let separator = if app.database_url.contains('?') {
        '&'
    } else {
        '?'
    };
    let url = format!("{}{separator}sslmode=require", app.database_url);
    let tls = app.spawn_sibling_with(&["--database-url", &url]).await;
    let (token, _) = tls.register("over_tls").await;
    tls.gql_ok(Some(&token), "{ me { handle } }", json!({}))
        .await;
    // The server's own connections are encrypted.
    let db = sea_orm::Database::connect(app.database_url.as_str())
        .await
        .unwrap();
    let row = sea_orm::ConnectionTrait::query_one_raw(
        &db,
        sea_orm::Statement::from_string(
            sea_orm::DbBackend::Postgres,
            "SELECT COUNT(*) AS n FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) \
             WHERE a.datname = current_database() AND s.ssl",
        ),
    )
    .await
    .unwrap()
    .unwrap();
    let encrypted: i64 = row.try_get("", "n").unwrap();
    assert!(encrypted >= 1, "no encrypted connection to the database");
}

#[tokio::test]
async fn mail_goes_over_starttls_only_to_a_server_whose_certificate_is_trusted() {
    let Some((smtp, certificate)) = SmtpServer::start_tls() else {
        return;
    };
    let url = format!("smtp://127.0.0.1:{}?tls=required", smtp.port);
    // Without the certificate, the self-signed server is not trusted: nothing is sent.
    let untrusting = spawn(&["--smtp-url", &url, "--outbox-retry-base-ms", "60000"]).await;
    untrusting.register("wary").await;
    let failed = eventually(10, 1, || {
        untrusting.metric("consumact_outbox_failures_total")
    })
    .await;
    assert_eq!(failed, 1, "the delivery to an untrusted server failed");
    assert!(smtp.mails().is_empty());

    // Trusting it, mail goes through STARTTLS (the server refuses mail without it).
    let certificate = certificate.display().to_string();
    let app = spawn(&["--smtp-url", &url, "--smtp-ca-file", &certificate]).await;
    app.register("trusting").await;
    let mails = crate::common::mail::wait_for(|| smtp.mails(), &address("trusting"), 1).await;
    assert!(mails[0].text.contains("/confirm-email?token="));
}
