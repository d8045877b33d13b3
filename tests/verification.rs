//! Verified participation, as members and organisers meet it: the
//! confirmation mail and its link, pending signatures that count once their
//! signer confirms (a surge included), one account per address, passwords
//! by mail, sponsors and review, and an outbox that delivers after a crash.

use std::collections::{BTreeSet, HashMap};

use crate::common::mail::Mail;
use crate::common::smtp_server::SmtpServer;
use crate::common::ws::Subscription;
use crate::common::{ADMIN_ARGS, TestApp, error_code, error_field, eventually};
use serde_json::{Value, json};

const REQUIRED: [&str; 2] = ["--email-confirmation", "required"];

async fn spawn(extra: &[&str]) -> TestApp {
    let mut args: Vec<&str> = REQUIRED.to_vec();
    args.extend_from_slice(extra);
    TestApp::spawn_with(&args).await
}

fn address(handle: &str) -> String {
    format!("{handle}@example.org")
}

/// The confirmation token mailed to `handle`.
async fn confirmation_token(app: &TestApp, handle: &str) -> String {
    let mails = app.mails_to(&address(handle), 1).await;
    mails[0].link("/confirm-email").1
}

/// Registers `handle` and confirms the address through the mailed link.
async fn confirmed_member(app: &TestApp, handle: &str) -> String {
    let (token, _) = app.register(handle).await;
    let confirmation = confirmation_token(app, handle).await;
    app.gql_ok(
        None,
        "mutation($token: String!) { confirmEmail(token: $token) { id } }",
        json!({ "token": confirmation }),
    )
    .await;
    token
}

/// A published petition against a new producer, by a confirmed organiser.
async fn open_petition(app: &TestApp, organiser: &str, goal: i64) -> (String, String) {
    let token = confirmed_member(app, organiser).await;
    let producer = app
        .create_producer(&token, &format!("Producer of {organiser}"))
        .await;
    let id = app.create_campaign(&token, &producer).await;
    app.gql_ok(
        Some(&token),
        "mutation($id: ID!, $goal: Int) { updateCampaign(id: $id, input: { goal: $goal }) { id } }",
        json!({ "id": id, "goal": goal }),
    )
    .await;
    app.publish(&token, &id).await;
    (token, id)
}

async fn pending_count(app: &TestApp, organiser: &str, campaign: &str) -> Value {
    app.gql_ok(
        Some(organiser),
        "query($id: ID!) { campaign(id: $id) { counters { signatures pendingSignatures } } }",
        json!({ "id": campaign }),
    )
    .await["campaign"]["counters"]
        .clone()
}

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
async fn one_address_holds_one_account_whatever_its_spelling() {
    let app = spawn(&[]).await;
    let register = |handle: &'static str, email: &'static str| {
        app.gql(
            None,
            "mutation($input: RegisterInput!) { register(input: $input) { token } }",
            json!({ "input": { "handle": handle, "email": email, "password": "correct horse battery" } }),
        )
    };
    let first = register("jdoe", "J.Doe+petitions@Gmail.com").await;
    assert!(first.get("errors").is_none(), "{first}");
    for (handle, email) in [
        ("jdoe2", "jdoe@gmail.com"),
        ("jdoe3", "j.d.o.e@googlemail.com"),
        ("jdoe4", "JDOE+other@gmail.com"),
    ] {
        let again = register(handle, email).await;
        assert_eq!(error_code(&again), "CONFLICT", "{email}");
        let message = again["errors"][0]["message"].as_str().unwrap();
        assert!(
            !message.contains("exists") && !message.contains("taken"),
            "the answer does not confirm the address is held: {message}"
        );
    }
    // Elsewhere, dots make different addresses.
    let other = register("janedoe", "jane.doe@example.org").await;
    assert!(other.get("errors").is_none(), "{other}");
    let dotless = register("janedoe2", "janedoe@example.org").await;
    assert!(dotless.get("errors").is_none(), "{dotless}");
    // Any spelling of the address signs in.
    app.gql_ok(
        None,
        "mutation { login(input: { handleOrEmail: \"jdoe@googlemail.com\", password: \"correct horse battery\" }) { token } }",
        json!({}),
    )
    .await;
}

const LOGIN: &str = "mutation($login: String!, $password: String!) { login(input: { handleOrEmail: $login, password: $password }) { token } }";
const RESET: &str = "mutation($email: String!) { requestPasswordReset(email: $email) }";

/// Presses the confirmation page's button: its form posts `token`; the
/// page's status and text.
async fn press_confirm(app: &TestApp, token: &str) -> (u16, String) {
    let page = app
        .client
        .post(app.url("/confirm-email"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("token={token}"))
        .send()
        .await
        .unwrap();
    (page.status().as_u16(), page.text().await.unwrap())
}

/// Signs in as `bob` with `password`; the whole answer.
async fn login_bob(app: &TestApp, password: &str) -> Value {
    app.gql(None, LOGIN, json!({ "login": "bob", "password": password }))
        .await
}

#[tokio::test]
async fn a_password_reset_from_the_mail_signs_out_everywhere_and_lifts_the_lock() {
    let app = spawn(&["--login-failures-per-account", "3"]).await;
    let (old_token, _) = app.register("bob").await;
    // A guesser spread over many addresses still stalls on the account.
    for _ in 0..3 {
        let wrong = login_bob(&app, "wrong guess").await;
        assert_eq!(error_code(&wrong), "UNAUTHENTICATED");
    }
    let locked = login_bob(&app, "correct horse battery").await;
    assert_eq!(
        error_code(&locked),
        "RATE_LIMITED",
        "even the right password waits"
    );
    assert!(
        locked["errors"][0]["extensions"]["retryAfterMs"]
            .as_u64()
            .unwrap()
            > 0
    );

    // The same answer whether or not the address has an account.
    let known = app
        .gql(None, RESET, json!({ "email": address("bob") }))
        .await;
    let unknown = app
        .gql(None, RESET, json!({ "email": "nobody@example.org" }))
        .await;
    assert_eq!(known, unknown);
    assert_eq!(known["data"]["requestPasswordReset"], true);

    let mails = app.mails_to(&address("bob"), 2).await; // confirmation, then reset
    let reset_mail: &Mail = mails
        .iter()
        .find(|mail| mail.text.contains("/reset-password?token="))
        .expect("a reset mail");
    let (link, token) = reset_mail.link("/reset-password");
    assert!(
        app.mail_files()
            .iter()
            .all(|mail| mail.to != "nobody@example.org")
    );
    // The link opens a form.
    let form = app.client.get(&link).send().await.unwrap();
    assert_eq!(form.status(), 200);
    assert!(form.text().await.unwrap().contains("new_password"));

    let reset = app
        .gql_ok(
            None,
            "mutation($token: String!) { resetPassword(token: $token, newPassword: \"a brand new secret\") }",
            json!({ "token": token }),
        )
        .await;
    assert_eq!(reset["resetPassword"], true);
    // Every old session is gone; the old password no longer works; the new one does.
    let me = app.gql(Some(&old_token), "{ me { id } }", json!({})).await;
    assert_eq!(error_code(&me), "UNAUTHENTICATED");
    let old = login_bob(&app, "correct horse battery").await;
    assert_eq!(
        error_code(&old),
        "UNAUTHENTICATED",
        "the lock was lifted: {old}"
    );
    let new_token = login_bob(&app, "a brand new secret").await["data"]["login"]["token"]
        .as_str()
        .unwrap()
        .to_owned();
    // A reset link works once.
    let reuse = app
        .gql(
            None,
            "mutation($token: String!) { resetPassword(token: $token, newPassword: \"yet another secret\") }",
            json!({ "token": token }),
        )
        .await;
    assert_eq!(error_code(&reuse), "BAD_USER_INPUT");

    // Changing the password while signed in keeps this session only.
    let other_session = login_bob(&app, "a brand new secret").await["data"]["login"]["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let wrong = app
        .gql(
            Some(&new_token),
            "mutation { changePassword(currentPassword: \"not it at all\", newPassword: \"third secret here\") }",
            json!({}),
        )
        .await;
    assert_eq!(error_field(&wrong), "currentPassword");
    app.gql_ok(
        Some(&new_token),
        "mutation { changePassword(currentPassword: \"a brand new secret\", newPassword: \"third secret here\") }",
        json!({}),
    )
    .await;
    app.gql_ok(Some(&new_token), "{ me { id } }", json!({}))
        .await;
    let gone = app
        .gql(Some(&other_session), "{ me { id } }", json!({}))
        .await;
    assert_eq!(error_code(&gone), "UNAUTHENTICATED");
}

#[tokio::test]
async fn resending_the_confirmation_is_limited_and_ends_with_confirmation() {
    let app = spawn(&["--resend-per-hour", "1"]).await;
    let (token, _) = app.register("carol").await;
    let resend = "mutation { resendConfirmation }";
    app.gql_ok(Some(&token), resend, json!({})).await;
    let limited = app.gql(Some(&token), resend, json!({})).await;
    assert_eq!(error_code(&limited), "RATE_LIMITED");
    // Two links were mailed; the newest works and spends the other.
    let mails = app.mails_to(&address("carol"), 2).await;
    let (_, newest) = mails[1].link("/confirm-email");
    let (_, older) = mails[0].link("/confirm-email");
    let confirm = "mutation($token: String!) { confirmEmail(token: $token) { id } }";
    app.gql_ok(None, confirm, json!({ "token": newest })).await;
    // The older link is spent; it says the address is confirmed.
    let spent = app.gql(None, confirm, json!({ "token": older })).await;
    assert_eq!(error_code(&spent), "CONFLICT");
    let done = app.gql(Some(&token), resend, json!({})).await;
    assert_eq!(error_code(&done), "CONFLICT");
}

const SPONSOR: &str =
    "mutation($code: String!) { sponsorCampaign(code: $code) { status sponsorCount } }";
const CAMPAIGN: &str = "query($id: ID!) { campaign(id: $id) { status sponsorCode sponsorCount rejectionReason counters { signatures } } }";

#[tokio::test]
async fn sponsors_then_review_open_a_campaign_or_reject_it() {
    let mut args = ADMIN_ARGS.to_vec();
    args.extend(["--campaign-sponsors", "2", "--campaign-review", "true"]);
    let app = spawn(&args).await;
    let admin = app.admin_token().await;
    let organiser = confirmed_member(&app, "organiser").await;
    let producer = app.create_producer(&organiser, "Acme").await;
    let campaign = app.create_campaign(&organiser, &producer).await;
    let published = app
        .gql_ok(
            Some(&organiser),
            "mutation($id: ID!) { publishCampaign(id: $id) { status sponsorCode } }",
            json!({ "id": campaign }),
        )
        .await;
    assert_eq!(published["publishCampaign"]["status"], "SPONSORING");
    let code = published["publishCampaign"]["sponsorCode"]
        .as_str()
        .unwrap()
        .to_owned();
    // The organiser is told the code by mail.
    let mails = app.mails_to(&address("organiser"), 2).await;
    assert!(mails[1].text.contains(&code), "{}", mails[1].text);
    // Not public yet.
    let anonymous = app.gql_ok(None, CAMPAIGN, json!({ "id": campaign })).await;
    assert_eq!(anonymous["campaign"], Value::Null);

    // Sponsors need a confirmed address.
    let (unconfirmed, _) = app.register("newcomer").await;
    let refused = app
        .gql(Some(&unconfirmed), SPONSOR, json!({ "code": code }))
        .await;
    assert_eq!(
        refused["errors"][0]["extensions"]["reason"],
        "EMAIL_NOT_CONFIRMED"
    );
    let wrong = app
        .gql(Some(&admin), SPONSOR, json!({ "code": "not-a-code" }))
        .await;
    assert_eq!(error_code(&wrong), "NOT_FOUND");

    let first = confirmed_member(&app, "sponsor_one").await;
    let second = confirmed_member(&app, "sponsor_two").await;
    let backed = app
        .gql_ok(Some(&first), SPONSOR, json!({ "code": code }))
        .await;
    assert_eq!(
        backed["sponsorCampaign"],
        json!({ "status": "SPONSORING", "sponsorCount": 1 })
    );
    let twice = app
        .gql(Some(&first), SPONSOR, json!({ "code": code }))
        .await;
    assert_eq!(error_code(&twice), "CONFLICT");
    let own = app
        .gql(Some(&organiser), SPONSOR, json!({ "code": code }))
        .await;
    assert_eq!(error_code(&own), "CONFLICT");
    let enough = app
        .gql_ok(Some(&second), SPONSOR, json!({ "code": code }))
        .await;
    assert_eq!(
        enough["sponsorCampaign"],
        json!({ "status": "IN_REVIEW", "sponsorCount": 2 })
    );
    app.mails_to(&address("organiser"), 3).await;

    // Only moderators review.
    let member_view = app
        .gql(
            Some(&first),
            "{ campaignsInReview { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(error_code(&member_view), "FORBIDDEN");
    let approve =
        "mutation($id: ID!) { approveCampaign(id: $id) { status counters { signatures } } }";
    let not_moderator = app
        .gql(Some(&organiser), approve, json!({ "id": campaign }))
        .await;
    assert_eq!(error_code(&not_moderator), "FORBIDDEN");
    let queue = app
        .gql_ok(
            Some(&admin),
            "{ campaignsInReview { totalCount edges { node { id } } } }",
            json!({}),
        )
        .await;
    assert_eq!(queue["campaignsInReview"]["totalCount"], 1);
    assert_eq!(
        queue["campaignsInReview"]["edges"][0]["node"]["id"],
        campaign
    );

    // Approved: open, and the sponsors' backing became their signatures.
    let approved = app
        .gql_ok(Some(&admin), approve, json!({ "id": campaign }))
        .await;
    assert_eq!(
        approved["approveCampaign"],
        json!({ "status": "OPEN", "counters": { "signatures": 2 } })
    );
    assert_eq!(app.signature_rows(&campaign).await, 2);
    let opened_mail = app.mails_to(&address("organiser"), 4).await;
    assert!(
        opened_mail[3].subject.contains("is open"),
        "{}",
        opened_mail[3].subject
    );
    let again = app
        .gql(Some(&admin), approve, json!({ "id": campaign }))
        .await;
    assert_eq!(error_code(&again), "CONFLICT");

    // Another one is rejected, with its reason public.
    let second_campaign = app.create_campaign(&organiser, &producer).await;
    app.publish(&organiser, &second_campaign).await;
    let code = app
        .gql_ok(Some(&organiser), CAMPAIGN, json!({ "id": second_campaign }))
        .await["campaign"]["sponsorCode"]
        .as_str()
        .unwrap()
        .to_owned();
    for sponsor in [&first, &second] {
        app.gql_ok(Some(sponsor), SPONSOR, json!({ "code": code }))
            .await;
    }
    let reason = "Names a private person; please keep to the producer.";
    let rejected = app
        .gql_ok(
            Some(&admin),
            "mutation($id: ID!, $reason: String!) { rejectCampaign(id: $id, reason: $reason) { status } }",
            json!({ "id": second_campaign, "reason": reason }),
        )
        .await;
    assert_eq!(rejected["rejectCampaign"]["status"], "REJECTED");
    let public = app
        .gql_ok(None, CAMPAIGN, json!({ "id": second_campaign }))
        .await;
    assert_eq!(public["campaign"]["rejectionReason"], reason);
    assert_eq!(public["campaign"]["sponsorCode"], Value::Null);
    assert_eq!(public["campaign"]["counters"]["signatures"], 0);
    let mails = app.mails_to(&address("organiser"), 7).await;
    assert!(mails.iter().any(|mail| mail.text.contains(reason)));

    // Both decisions are in the audit log.
    let audit = app
        .gql_ok(
            Some(&admin),
            "{ auditLog { edges { node { action targetId } } } }",
            json!({}),
        )
        .await;
    let actions: BTreeSet<(String, String)> = audit["auditLog"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|edge| {
            (
                edge["node"]["action"].as_str().unwrap().to_owned(),
                edge["node"]["targetId"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            )
        })
        .collect();
    assert!(actions.contains(&("approve_campaign".to_owned(), campaign.clone())));
    assert!(actions.contains(&("reject_campaign".to_owned(), second_campaign.clone())));
}

/// POSTs a GraphQL operation to a server the harness does not own.
async fn gql_at(addr: std::net::SocketAddr, query: &str, variables: Value) -> Value {
    crate::common::http_client()
        .post(format!("http://{addr}/graphql"))
        .json(&json!({ "query": query, "variables": variables }))
        .send()
        .await
        .expect("request reaches the server")
        .json()
        .await
        .expect("JSON response")
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

#[tokio::test]
async fn bad_input_to_the_account_mutations_gets_coded_errors() {
    let mut args = ADMIN_ARGS.to_vec();
    args.extend(["--campaign-review", "true"]);
    let app = spawn(&args).await;
    let check = |body: Value, code: &str, field: Option<&str>| {
        assert_eq!(error_code(&body), code, "{body}");
        if let Some(field) = field {
            assert_eq!(error_field(&body), field, "{body}");
        }
    };
    let register = app
        .gql(
            None,
            "mutation { register(input: { handle: \"polyglot\", email: \"p@example.org\", password: \"correct horse battery\", locale: \"de\" }) { token } }",
            json!({}),
        )
        .await;
    check(register, "BAD_USER_INPUT", Some("input.locale"));
    let reset = app
        .gql(None, RESET, json!({ "email": "not an address" }))
        .await;
    check(reset, "BAD_USER_INPUT", Some("email"));
    let short = app
        .gql(
            None,
            "mutation { resetPassword(token: \"whatever\", newPassword: \"short\") }",
            json!({}),
        )
        .await;
    check(short, "BAD_USER_INPUT", Some("newPassword"));
    let unknown = app
        .gql(
            None,
            "mutation { resetPassword(token: \"not-a-token\", newPassword: \"long enough secret\") }",
            json!({}),
        )
        .await;
    check(unknown, "BAD_USER_INPUT", Some("token"));
    let empty = app
        .gql(
            None,
            "mutation { confirmEmail(token: \"\") { id } }",
            json!({}),
        )
        .await;
    check(empty, "BAD_USER_INPUT", Some("token"));
    let anonymous = app
        .gql(None, "mutation { resendConfirmation }", json!({}))
        .await;
    check(anonymous, "UNAUTHENTICATED", None);
    let wrong_type = app
        .gql(
            None,
            "mutation { confirmEmail(token: 42) { id } }",
            json!({}),
        )
        .await;
    check(wrong_type, "GRAPHQL_VALIDATION_FAILED", None);

    // Review decisions check their input too.
    let admin = app.admin_token().await;
    let reject = "mutation($id: ID!, $reason: String!) { rejectCampaign(id: $id, reason: $reason) { status } }";
    let malformed = app
        .gql(
            Some(&admin),
            reject,
            json!({ "id": "nope", "reason": "off topic" }),
        )
        .await;
    check(malformed, "BAD_USER_INPUT", Some("id"));
    let missing = app
        .gql(
            Some(&admin),
            reject,
            json!({ "id": uuid::Uuid::new_v4().to_string(), "reason": "off topic" }),
        )
        .await;
    check(missing, "NOT_FOUND", None);
    let organiser = confirmed_member(&app, "reviewed").await;
    let producer = app.create_producer(&organiser, "Reviewed Foods").await;
    let campaign = app.create_campaign(&organiser, &producer).await;
    app.publish(&organiser, &campaign).await;
    let terse = app
        .gql(
            Some(&admin),
            reject,
            json!({ "id": campaign, "reason": "no" }),
        )
        .await;
    check(terse, "BAD_USER_INPUT", Some("reason"));
    let code = app
        .gql(Some(&admin), SPONSOR, json!({ "code": "x".repeat(200) }))
        .await;
    check(code, "NOT_FOUND", None);
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

#[tokio::test]
async fn the_reset_form_refuses_a_bad_token_or_a_short_password_with_a_page() {
    let app = spawn(&[]).await;
    let post = |body: &'static str| {
        app.client
            .post(app.url("/reset-password"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
    };
    for body in [
        "token=not-a-token&new_password=long+enough+secret",
        "token=whatever&new_password=short",
    ] {
        let page = post(body).await.unwrap();
        assert_eq!(page.status(), 400);
        let html = page.text().await.unwrap();
        assert!(html.contains("<h1>"), "{html}");
    }
    let missing = post("token=only").await.unwrap();
    assert!(missing.status().is_client_error(), "{}", missing.status());
}
