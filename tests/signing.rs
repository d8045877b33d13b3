//! Signing: one signature per member and campaign, only on open campaigns,
//! withdrawals, rate limits, milestones and exact counts under concurrency.

use crate::common::{TestApp, error_code, error_field};
use serde_json::json;

const SIGN: &str = "mutation($id: ID!, $input: SignInput) {
  signCampaign(campaignId: $id, input: $input) { id signer anonymous comment territory }
}";

#[tokio::test]
async fn signing_twice_counts_once() {
    let app = TestApp::spawn().await;
    let (_, campaign) = app.open_campaign("organiser", 1000).await;
    let (signer, _) = app.register("signer").await;
    let first = app.sign(&signer, &campaign).await;
    assert!(first.get("errors").is_none(), "{first}");
    assert_eq!(first["data"]["signCampaign"]["signer"], "signer");
    let second = app.sign(&signer, &campaign).await;
    assert_eq!(error_code(&second), "CONFLICT");
    assert_eq!(app.signature_count(&campaign).await, 1);
    assert_eq!(app.signature_rows(&campaign).await, 1);
}

#[tokio::test]
async fn signatures_show_names_or_anonymous_and_never_emails() {
    let app = TestApp::spawn().await;
    let (_, campaign) = app.open_campaign("host", 1000).await;
    let (named, _) = app.register("named").await;
    let (hidden, _) = app.register("hidden").await;
    let body = app
        .gql_ok(
            Some(&named),
            SIGN,
            json!({ "id": campaign, "input": { "comment": "  Long overdue.  " } }),
        )
        .await;
    assert_eq!(body["signCampaign"]["comment"], "Long overdue.");
    let body = app
        .gql_ok(
            Some(&hidden),
            SIGN,
            json!({ "id": campaign, "input": { "anonymous": true } }),
        )
        .await;
    assert_eq!(body["signCampaign"]["signer"], "Anonymous");

    let listed = app
        .gql_ok(
            None,
            "query($id: ID!) { campaign(id: $id) { signatures { totalCount edges { node { signer comment anonymous } } } } }",
            json!({ "id": campaign }),
        )
        .await;
    let text = listed.to_string();
    assert!(!text.contains("@example.org"), "{text}");
    let signers: Vec<&str> = listed["campaign"]["signatures"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|edge| edge["node"]["signer"].as_str().unwrap())
        .collect();
    assert_eq!(signers, ["Anonymous", "named"]);
}

#[tokio::test]
async fn members_list_their_own_signatures_only() {
    let app = TestApp::spawn().await;
    let (_, campaign) = app.open_campaign("lead", 1000).await;
    let (signer, _) = app.register("collector").await;
    let (other, _) = app.register("peeker").await;
    app.gql_ok(
        Some(&signer),
        SIGN,
        json!({ "id": campaign, "input": { "anonymous": true } }),
    )
    .await;
    let mine = app
        .gql_ok(
            Some(&signer),
            "{ me { signatures { totalCount edges { node { anonymous campaign { id } } } } } }",
            json!({}),
        )
        .await;
    assert_eq!(mine["me"]["signatures"]["totalCount"], 1);
    assert_eq!(
        mine["me"]["signatures"]["edges"][0]["node"]["campaign"]["id"],
        campaign
    );

    // Reaching someone else's signatures through a campaign's organiser is refused.
    let snoop = app
        .gql(
            Some(&other),
            "query($id: ID!) { campaign(id: $id) { organiser { signatures { totalCount } } } }",
            json!({ "id": campaign }),
        )
        .await;
    assert_eq!(error_code(&snoop), "FORBIDDEN");
}

#[tokio::test]
async fn only_open_campaigns_accept_signatures() {
    let app = TestApp::spawn().await;
    let (organiser, _) = app.register("keeper").await;
    let producer = app.create_producer(&organiser, "Closed Co").await;
    let draft = app.create_campaign(&organiser, &producer).await;
    let (signer, _) = app.register("eager").await;

    let on_draft = app.sign(&signer, &draft).await;
    assert_eq!(error_code(&on_draft), "NOT_FOUND");
    let own_draft = app.sign(&organiser, &draft).await;
    assert_eq!(error_code(&own_draft), "CONFLICT");

    app.publish(&organiser, &draft).await;
    app.gql_ok(
        Some(&organiser),
        "mutation($id: ID!) { closeCampaign(id: $id, outcome: CLOSED) { status } }",
        json!({ "id": draft }),
    )
    .await;
    let on_closed = app.sign(&signer, &draft).await;
    assert_eq!(error_code(&on_closed), "CONFLICT");
    assert_eq!(app.signature_rows(&draft).await, 0);

    let unknown = app
        .sign(&signer, "01900000-0000-7000-8000-000000000000")
        .await;
    assert_eq!(error_code(&unknown), "NOT_FOUND");
    let malformed = app.sign(&signer, "campaign-1").await;
    assert_eq!(error_code(&malformed), "BAD_USER_INPUT");
    let anonymous = app.gql(None, SIGN, json!({ "id": draft })).await;
    assert_eq!(error_code(&anonymous), "UNAUTHENTICATED");
}

#[tokio::test]
async fn comments_are_validated() {
    let app = TestApp::spawn().await;
    let (_, campaign) = app.open_campaign("moderate", 1000).await;
    let (signer, _) = app.register("verbose").await;
    let body = app
        .gql(
            Some(&signer),
            SIGN,
            json!({ "id": campaign, "input": { "comment": "x".repeat(501) } }),
        )
        .await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT");
    assert_eq!(error_field(&body), "input.comment");
    assert_eq!(app.signature_rows(&campaign).await, 0);
}

const WITHDRAW: &str = "mutation($id: ID!) { withdrawSignature(campaignId: $id) }";

#[tokio::test]
async fn withdrawing_uncounts_and_allows_signing_again() {
    let app = TestApp::spawn().await;
    let (_, campaign) = app.open_campaign("patient", 1000).await;
    let (signer, _) = app.register("fickle").await;
    app.sign(&signer, &campaign).await;
    assert_eq!(app.signature_count(&campaign).await, 1);
    let withdrawn = app
        .gql_ok(Some(&signer), WITHDRAW, json!({ "id": campaign }))
        .await;
    assert_eq!(withdrawn["withdrawSignature"], true);
    assert_eq!(app.signature_count(&campaign).await, 0);
    let again = app
        .gql(Some(&signer), WITHDRAW, json!({ "id": campaign }))
        .await;
    assert_eq!(error_code(&again), "CONFLICT");
    let resigned = app.sign(&signer, &campaign).await;
    assert!(resigned.get("errors").is_none(), "{resigned}");
    assert_eq!(app.signature_count(&campaign).await, 1);
}

#[tokio::test]
async fn a_member_over_the_rate_limit_is_told_when_to_retry() {
    // One signature a second, bursts of two.
    let app = TestApp::spawn_with(&["--sign-per-minute", "60", "--sign-burst", "2"]).await;
    let (signer, _) = app.register("hasty").await;
    let mut campaigns = Vec::new();
    for i in 0..3 {
        campaigns.push(app.open_campaign(&format!("org_{i}"), 1000).await.1);
    }
    for campaign in &campaigns[..2] {
        let body = app.sign(&signer, campaign).await;
        assert!(body.get("errors").is_none(), "{body}");
    }
    let limited = app.sign(&signer, &campaigns[2]).await;
    assert_eq!(error_code(&limited), "RATE_LIMITED");
    let retry_after = limited["errors"][0]["extensions"]["retryAfterMs"]
        .as_u64()
        .unwrap();
    assert!(
        (1..=1000).contains(&retry_after),
        "retryAfterMs = {retry_after}"
    );
    assert_eq!(
        app.signature_rows(&campaigns[2]).await,
        0,
        "a refused signature writes nothing"
    );

    tokio::time::sleep(std::time::Duration::from_millis(retry_after + 50)).await;
    let later = app.sign(&signer, &campaigns[2]).await;
    assert!(later.get("errors").is_none(), "{later}");
    assert_eq!(app.signature_count(&campaigns[2]).await, 1);
}

#[tokio::test]
async fn repeated_logins_from_one_address_are_limited() {
    let app = TestApp::spawn_with(&["--auth-ip-per-minute", "1", "--auth-ip-burst", "3"]).await;
    let login = "mutation { login(input: { handleOrEmail: \"nobody\", password: \"guess guess\" }) { token } }";
    for _ in 0..3 {
        let body = app.gql(None, login, json!({})).await;
        assert_eq!(error_code(&body), "UNAUTHENTICATED");
    }
    let limited = app.gql(None, login, json!({})).await;
    assert_eq!(error_code(&limited), "RATE_LIMITED");
    assert!(
        limited["errors"][0]["extensions"]["retryAfterMs"]
            .as_u64()
            .unwrap()
            > 1000
    );
}

#[tokio::test]
async fn two_hundred_concurrent_signers_count_exactly() {
    let app = TestApp::spawn().await;
    let (_, campaign) = app.open_campaign("popular", 150).await;
    let signers = app.register_many("crowd", 200).await;
    let results =
        futures::future::join_all(signers.iter().map(|token| app.sign(token, &campaign))).await;
    for body in &results {
        assert!(body.get("errors").is_none(), "{body}");
    }
    // Everyone retries once, as flaky networks make clients do.
    let retries =
        futures::future::join_all(signers.iter().map(|token| app.sign(token, &campaign))).await;
    assert!(retries.iter().all(|body| error_code(body) == "CONFLICT"));

    assert_eq!(app.signature_rows(&campaign).await, 200);
    assert_eq!(app.signature_count(&campaign).await, 200);
    let milestones = app
        .gql_ok(
            None,
            "query($id: ID!) { campaign(id: $id) { milestones { threshold isGoal } } }",
            json!({ "id": campaign }),
        )
        .await;
    assert_eq!(
        milestones["campaign"]["milestones"],
        json!([
            { "threshold": 10, "isGoal": false },
            { "threshold": 100, "isGoal": false },
            { "threshold": 150, "isGoal": true },
        ])
    );
}

#[tokio::test]
async fn addresses_come_from_a_proxy_header_only_when_configured() {
    let limits = ["--sign-ip-per-minute", "1", "--sign-ip-burst", "1"];
    let mut behind_proxy = limits.to_vec();
    behind_proxy.extend(["--client-ip-header", "x-forwarded-for"]);
    let proxied = TestApp::spawn_with(&behind_proxy).await;
    let (_, campaign) = proxied.open_campaign("proxied", 1000).await;
    let signers = proxied.register_many("behind_proxy", 3).await;
    let first = proxied
        .sign_from(&signers[0], &campaign, "203.0.113.9, 198.51.100.1")
        .await;
    assert!(first.get("errors").is_none(), "{first}");
    let other_client = proxied
        .sign_from(&signers[1], &campaign, "203.0.113.9, 198.51.100.2")
        .await;
    assert!(other_client.get("errors").is_none(), "{other_client}");
    let same_client = proxied
        .sign_from(&signers[2], &campaign, "198.51.100.1")
        .await;
    assert_eq!(error_code(&same_client), "RATE_LIMITED");

    // Without the setting the header is ignored: everyone is 127.0.0.1.
    let direct = TestApp::spawn_with(&limits).await;
    let (_, campaign) = direct.open_campaign("direct", 1000).await;
    let signers = direct.register_many("direct", 2).await;
    let first = direct
        .sign_from(&signers[0], &campaign, "198.51.100.1")
        .await;
    assert!(first.get("errors").is_none(), "{first}");
    let spoofed = direct
        .sign_from(&signers[1], &campaign, "198.51.100.2")
        .await;
    assert_eq!(error_code(&spoofed), "RATE_LIMITED");
}

#[tokio::test]
async fn a_signature_carries_the_signers_territory() {
    let app = TestApp::spawn().await;
    let (_, campaign) = app.open_campaign("regional", 1000).await;
    let data = app
        .gql_ok(
            None,
            "mutation { register(input: { handle: \"parisian\", email: \"p@example.org\", password: \"long enough\", territory: \"fr-idf\" }) { token } }",
            json!({}),
        )
        .await;
    let token = data["register"]["token"].as_str().unwrap();
    let signed = app
        .gql_ok(Some(token), SIGN, json!({ "id": campaign }))
        .await;
    assert_eq!(signed["signCampaign"]["territory"], "FR-IDF");
}

/// Signatures that arrive together share a transaction; each signer still
/// gets their own answer, a burst of duplicates still counts once, and the
/// observatory counts exactly what was written.
#[tokio::test]
async fn bursts_are_written_in_batches_and_duplicates_in_a_batch_count_once() {
    let mut args = vec!["--observatory-k", "2", "--sign-burst", "20"];
    args.extend(crate::common::ADMIN_ARGS);
    let app = TestApp::spawn_with(&args).await;
    let (_, campaign) = app.open_campaign("busy", 1000).await;
    let signers = app.register_many("burst", 60).await;
    // Each of the first two fires ten times at once; the others once.
    let mut tokens: Vec<&String> = signers.iter().collect();
    for _ in 0..9 {
        tokens.push(&signers[0]);
        tokens.push(&signers[1]);
    }
    let results =
        futures::future::join_all(tokens.iter().map(|token| app.sign(token, &campaign))).await;
    let signed = results.iter().filter(|b| b.get("errors").is_none()).count();
    let conflicts = results
        .iter()
        .filter(|b| b["errors"][0]["extensions"]["code"] == "CONFLICT")
        .count();
    assert_eq!((signed, conflicts), (60, 18), "{results:?}");
    assert_eq!(app.signature_rows(&campaign).await, 60);
    assert_eq!(app.signature_count(&campaign).await, 60);

    assert_eq!(app.metric("consumact_signatures_total").await, 60);
    let batches = app.metric("consumact_signature_batches_total").await;
    assert!(
        batches < 60,
        "78 concurrent requests wrote in {batches} transactions"
    );

    let admin = app.admin_token().await;
    let producer = app
        .gql_ok(
            None,
            "query($id: ID!) { campaign(id: $id) { producer { id } } }",
            json!({ "id": campaign }),
        )
        .await["campaign"]["producer"]["id"]
        .clone();
    let trust = app
        .gql_ok(
            Some(&admin),
            "query($id: ID!) { observatory { producer(id: $id) { memberCount metrics { signatures } } } }",
            json!({ "id": producer }),
        )
        .await;
    assert_eq!(trust["observatory"]["producer"]["memberCount"], 60);
    assert_eq!(
        trust["observatory"]["producer"]["metrics"]["signatures"],
        60
    );
}
