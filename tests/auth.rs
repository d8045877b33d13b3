//! Accounts: register, login, me, logout, roles, and their bad inputs.

use crate::common::{TestApp, error_code, error_field};
use serde_json::json;

const ME: &str = "{ me { id handle displayName role } }";

#[tokio::test]
async fn registering_signs_the_member_in() {
    let app = TestApp::spawn().await;
    let (token, id) = app.register("ada").await;
    let me = app.gql_ok(Some(&token), ME, json!({})).await;
    assert_eq!(me["me"]["id"], id);
    assert_eq!(me["me"]["handle"], "ada");
    assert_eq!(me["me"]["displayName"], "ada");
    assert_eq!(me["me"]["role"], "MEMBER");
}

#[tokio::test]
async fn me_is_null_without_a_token_and_refused_with_a_bad_one() {
    let app = TestApp::spawn().await;
    let anonymous = app.gql_ok(None, ME, json!({})).await;
    assert!(anonymous["me"].is_null());
    let forged = app.gql(Some("cst_forged"), ME, json!({})).await;
    assert_eq!(error_code(&forged), "UNAUTHENTICATED");
}

const LOGIN: &str =
    "mutation($input: LoginInput!) { login(input: $input) { token member { handle } } }";

#[tokio::test]
async fn login_accepts_handle_or_email_in_any_case() {
    let app = TestApp::spawn().await;
    app.register("Grace").await;
    for login in ["grace", "GRACE", "Grace@Example.org"] {
        let data = app
            .gql_ok(
                None,
                LOGIN,
                json!({ "input": { "handleOrEmail": login, "password": "correct horse battery" } }),
            )
            .await;
        let token = data["login"]["token"].as_str().unwrap();
        let me = app.gql_ok(Some(token), ME, json!({})).await;
        assert_eq!(me["me"]["handle"], "Grace");
    }
}

#[tokio::test]
async fn login_with_a_wrong_password_or_unknown_member_is_unauthenticated() {
    let app = TestApp::spawn().await;
    app.register("linus").await;
    for (login, password) in [
        ("linus", "wrong password"),
        ("nobody", "correct horse battery"),
    ] {
        let body = app
            .gql(
                None,
                LOGIN,
                json!({ "input": { "handleOrEmail": login, "password": password } }),
            )
            .await;
        assert_eq!(error_code(&body), "UNAUTHENTICATED");
        assert!(body["data"].is_null());
    }
}

#[tokio::test]
async fn handles_and_emails_are_unique_regardless_of_case() {
    let app = TestApp::spawn().await;
    app.register("margaret").await;
    let register = "mutation($input: RegisterInput!) { register(input: $input) { token } }";
    let same_handle = app
        .gql(
            None,
            register,
            json!({ "input": { "handle": "Margaret", "email": "other@example.org", "password": "long enough" } }),
        )
        .await;
    assert_eq!(error_code(&same_handle), "CONFLICT");
    let same_email = app
        .gql(
            None,
            register,
            json!({ "input": { "handle": "maggie", "email": "MARGARET@example.org", "password": "long enough" } }),
        )
        .await;
    assert_eq!(error_code(&same_email), "CONFLICT");
}

#[tokio::test]
async fn registration_input_is_validated_field_by_field() {
    let app = TestApp::spawn().await;
    let register = "mutation($input: RegisterInput!) { register(input: $input) { token } }";
    let cases = [
        (
            json!({ "handle": "a", "email": "a@example.org", "password": "long enough" }),
            "input.handle",
        ),
        (
            json!({ "handle": "bad handle!", "email": "a@example.org", "password": "long enough" }),
            "input.handle",
        ),
        (
            json!({ "handle": "alan", "email": "not-an-email", "password": "long enough" }),
            "input.email",
        ),
        (
            json!({ "handle": "alan", "email": "alan@example.org", "password": "short" }),
            "input.password",
        ),
        (
            json!({ "handle": "alan", "email": "alan@example.org", "password": "long enough", "territory": "Atlantis" }),
            "input.territory",
        ),
        (
            json!({ "handle": "alan", "email": "alan@example.org", "password": "long enough", "displayName": "" }),
            "input.displayName",
        ),
    ];
    for (input, field) in cases {
        let body = app.gql(None, register, json!({ "input": input })).await;
        assert_eq!(error_code(&body), "BAD_USER_INPUT", "{input}");
        assert_eq!(error_field(&body), field, "{input}");
    }
    let wrong_type = app
        .gql(None, register, json!({ "input": { "handle": 42, "email": "x@example.org", "password": "long enough" } }))
        .await;
    assert!(wrong_type["errors"][0]["extensions"]["code"].is_string());
    assert!(wrong_type["data"].is_null());
}

#[tokio::test]
async fn logout_revokes_the_token() {
    let app = TestApp::spawn().await;
    let (token, _) = app.register("ken").await;
    let data = app
        .gql_ok(Some(&token), "mutation { logout }", json!({}))
        .await;
    assert_eq!(data["logout"], true);
    let after = app.gql(Some(&token), ME, json!({})).await;
    assert_eq!(error_code(&after), "UNAUTHENTICATED");
    let anonymous = app.gql(None, "mutation { logout }", json!({})).await;
    assert_eq!(error_code(&anonymous), "UNAUTHENTICATED");
}

const SET_ROLE: &str = "mutation($id: ID!, $role: MemberRole!) { setMemberRole(memberId: $id, role: $role) { id role } }";

async fn admin_app() -> (TestApp, String) {
    let app = TestApp::spawn_with(&crate::common::ADMIN_ARGS).await;
    let token = app.admin_token().await;
    (app, token)
}

#[tokio::test]
async fn the_configured_first_admin_grants_roles() {
    let (app, admin) = admin_app().await;
    let me = app.gql_ok(Some(&admin), ME, json!({})).await;
    assert_eq!(me["me"]["role"], "ADMIN");
    let (_, analyst_id) = app.register("barbara").await;
    let data = app
        .gql_ok(
            Some(&admin),
            SET_ROLE,
            json!({ "id": analyst_id, "role": "ANALYST" }),
        )
        .await;
    assert_eq!(data["setMemberRole"]["role"], "ANALYST");
}

#[tokio::test]
async fn only_admins_grant_roles() {
    let (app, admin) = admin_app().await;
    let (member, member_id) = app.register("edsger").await;
    let body = app
        .gql(
            Some(&member),
            SET_ROLE,
            json!({ "id": member_id, "role": "ADMIN" }),
        )
        .await;
    assert_eq!(error_code(&body), "FORBIDDEN");
    let me = app.gql_ok(Some(&member), ME, json!({})).await;
    assert_eq!(me["me"]["role"], "MEMBER");

    let admin_id = app.gql_ok(Some(&admin), ME, json!({})).await["me"]["id"].clone();
    let demote_self = app
        .gql(
            Some(&admin),
            SET_ROLE,
            json!({ "id": admin_id, "role": "MEMBER" }),
        )
        .await;
    assert_eq!(error_code(&demote_self), "CONFLICT");
    let unknown = app
        .gql(
            Some(&admin),
            SET_ROLE,
            json!({ "id": "01900000-0000-7000-8000-000000000000", "role": "MODERATOR" }),
        )
        .await;
    assert_eq!(error_code(&unknown), "NOT_FOUND");
    let malformed = app
        .gql(
            Some(&admin),
            SET_ROLE,
            json!({ "id": "42", "role": "MODERATOR" }),
        )
        .await;
    assert_eq!(error_code(&malformed), "BAD_USER_INPUT");
}

#[tokio::test]
async fn concurrent_registrations_all_succeed() {
    let app = TestApp::spawn().await;
    let handles: Vec<String> = (0..24).map(|i| format!("member_{i}")).collect();
    let results =
        futures::future::join_all(handles.iter().map(|handle| app.register(handle))).await;
    let mut ids: Vec<String> = results.into_iter().map(|(_, id)| id).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 24);
}

/// A client whose requests leave from `address` (any of 127.0.0.0/8 on loopback).
fn client_from(address: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(address.parse::<std::net::IpAddr>().unwrap())
        .build()
        .unwrap()
}

async fn login_from(
    app: &TestApp,
    client: &reqwest::Client,
    login: &str,
    password: &str,
) -> serde_json::Value {
    client
        .post(app.url("/graphql"))
        .json(&json!({ "query": LOGIN, "variables": { "input": { "handleOrEmail": login, "password": password } } }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_strangers_failures_never_stop_the_owner_signing_in_from_another_network() {
    let app = TestApp::spawn_with(&["--login-failures-per-account", "3"]).await;
    app.register("olga").await;
    let stranger = client_from("127.0.0.1");
    let owner = client_from("127.0.1.1");
    let mut answers = Vec::new();
    for _ in 0..4 {
        let body = login_from(&app, &stranger, "olga", "a wrong guess").await;
        answers.push(error_code(&body).to_owned());
    }
    assert_eq!(
        answers,
        [
            "UNAUTHENTICATED",
            "UNAUTHENTICATED",
            "UNAUTHENTICATED",
            "RATE_LIMITED"
        ]
    );
    // The stranger's network waits, even with the right password…
    let waits = login_from(&app, &stranger, "olga", "correct horse battery").await;
    assert_eq!(error_code(&waits), "RATE_LIMITED");
    assert!(
        waits["errors"][0]["extensions"]["retryAfterMs"]
            .as_u64()
            .unwrap()
            > 1_000
    );
    // …the owner's does not.
    let signed_in = login_from(&app, &owner, "olga", "correct horse battery").await;
    assert_eq!(
        signed_in["data"]["login"]["member"]["handle"], "olga",
        "{signed_in}"
    );

    // An absent account answers exactly as a present one.
    let mut absent = Vec::new();
    for _ in 0..4 {
        let body = login_from(&app, &stranger, "nobody_here", "a wrong guess").await;
        absent.push(error_code(&body).to_owned());
    }
    assert_eq!(absent, answers);
}

#[tokio::test]
async fn a_squatted_admin_handle_is_never_promoted_and_the_server_says_why() {
    let app = TestApp::spawn().await;
    // Someone registered the handle before the operator named it.
    let (squatter, _) = app.register("root").await;
    let with_admin = |email: &str| {
        let args: Vec<String> = [
            "--admin-handle",
            "root",
            "--admin-email",
            email,
            "--admin-password",
            "admin password",
        ]
        .iter()
        .map(|arg| (*arg).to_owned())
        .collect();
        TestApp::config(&app.database_url, &app.redis_prefix, &app.data_dir, &args)
    };
    let refused = consumact_api::Application::build(with_admin("operator@example.org")).await;
    let why = format!("{:#}", refused.err().expect("the server refuses to start"));
    assert!(why.contains("another e-mail address"), "{why}");
    assert!(why.contains("CONSUMACT_ADMIN_EMAIL"), "{why}");
    let me = app.gql_ok(Some(&squatter), ME, json!({})).await;
    assert_eq!(me["me"]["role"], "MEMBER", "not promoted");

    // The account whose address the operator names is promoted, in any spelling.
    let promoted = consumact_api::Application::build(with_admin("Root+ops@Example.org"))
        .await
        .expect("the server starts");
    drop(promoted);
    // A new session reads the account afresh (a restart does the same).
    let session = app
        .gql_ok(
            None,
            LOGIN,
            json!({ "input": { "handleOrEmail": "root", "password": "correct horse battery" } }),
        )
        .await;
    let token = session["login"]["token"].as_str().unwrap();
    let me = app.gql_ok(Some(token), ME, json!({})).await;
    assert_eq!(me["me"]["role"], "ADMIN");
}
