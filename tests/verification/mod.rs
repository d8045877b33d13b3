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

mod accounts;
mod delivery;
mod signing;
mod sponsors;

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

const SPONSOR: &str =
    "mutation($code: String!) { sponsorCampaign(code: $code) { status sponsorCount } }";

const CAMPAIGN: &str = "query($id: ID!) { campaign(id: $id) { status sponsorCode sponsorCount rejectionReason counters { signatures } } }";

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
