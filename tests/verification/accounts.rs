//! Accounts: one address one account, password resets, resending the
//! confirmation, and coded errors for bad input.

use super::*;

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
