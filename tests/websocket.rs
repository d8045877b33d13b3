//! One door for every request: what holds over HTTP holds over the
//! websocket, driven by the official `graphql-ws` client where a frontend
//! would use it, and by a raw socket for the protocol's refusals.

use crate::common::graphql_ws::{GraphqlWs, outcomes};
use crate::common::ws::RawSocket;
use crate::common::{ADMIN_ARGS, TestApp, error_code};
use serde_json::{Value, json};

const LOGIN: &str = "mutation($login: String!, $password: String!) { login(input: { handleOrEmail: $login, password: $password }) { token } }";
const NOTIFICATIONS: &str = "subscription { myNotifications { event } }";

fn bearer(token: &str) -> Value {
    json!({ "authorization": format!("Bearer {token}") })
}

#[tokio::test]
async fn failed_logins_over_the_websocket_spend_the_same_address_budget_as_over_http() {
    let app = TestApp::spawn_with(&["--auth-ip-per-minute", "5", "--auth-ip-burst", "5"]).await;
    let operations: Vec<Value> = (0..8)
        .map(|i| {
            json!({
                "name": format!("login{i}"),
                "query": LOGIN,
                "variables": { "login": format!("nobody{i}"), "password": "a wrong guess" },
            })
        })
        .collect();
    let Some(client) = GraphqlWs::start(app.addr, json!({ "operations": operations })).await else {
        return;
    };
    let events = client.all(10).await;
    let mut codes = outcomes(&events);
    codes.sort();
    assert_eq!(
        codes,
        [vec!["RATE_LIMITED"; 3], vec!["UNAUTHENTICATED"; 5]].concat(),
        "{events:?}"
    );
    // The socket and HTTP share one budget per address.
    let http = app
        .gql(
            None,
            LOGIN,
            json!({ "login": "nobody", "password": "a wrong guess" }),
        )
        .await;
    assert_eq!(error_code(&http), "RATE_LIMITED");
}

#[tokio::test]
async fn a_block_rule_refuses_a_registration_sent_over_the_websocket() {
    let app = TestApp::spawn_with(&ADMIN_ARGS).await;
    let admin = app.admin_token().await;
    app.gql_ok(
        Some(&admin),
        "mutation { addBlockRule(input: { kind: IP_RANGE, pattern: \"127.0.0.0/8\", reason: \"the test's own address\" }) { id } }",
        json!({}),
    )
    .await;
    let register = json!({
        "name": "register",
        "query": "mutation { register(input: { handle: \"farm\", email: \"farm@example.org\", password: \"correct horse battery\" }) { token } }",
    });
    let Some(client) = GraphqlWs::start(app.addr, json!({ "operations": [register] })).await else {
        return;
    };
    let events = client.all(10).await;
    let next = events
        .iter()
        .find(|event| event["event"] == "next")
        .unwrap_or_else(|| panic!("{events:?}"));
    let error = &next["payload"]["errors"][0]["extensions"];
    assert_eq!(error["code"], "FORBIDDEN", "{events:?}");
    assert_eq!(error["reason"], "BLOCKED", "{events:?}");
}

#[tokio::test]
async fn a_signature_sent_over_the_websocket_carries_its_source() {
    let app = TestApp::spawn_with(&ADMIN_ARGS).await;
    let admin = app.admin_token().await;
    let (_, campaign) = app.open_campaign("watched", 100).await;
    let (over_http, _) = app.register("over_http").await;
    app.sign(&over_http, &campaign).await;
    let (over_ws, _) = app.register("over_ws").await;
    let sign = json!({
        "name": "sign",
        "query": "mutation($id: ID!) { signCampaign(campaignId: $id) { id } }",
        "variables": { "id": campaign },
    });
    let scenario = json!({ "connectionParams": bearer(&over_ws), "operations": [sign] });
    let Some(client) = GraphqlWs::start(app.addr, scenario).await else {
        return;
    };
    let events = client.all(10).await;
    assert_eq!(outcomes(&events), ["OK"], "{events:?}");
    let sources = app
        .gql_ok(
            Some(&admin),
            "query($id: ID!) { campaign(id: $id) { signatures(first: 10) { edges { node { signer sourceKey } } } } }",
            json!({ "id": campaign }),
        )
        .await;
    let keys: Vec<&Value> = sources["campaign"]["signatures"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|edge| &edge["node"]["sourceKey"])
        .collect();
    assert_eq!(keys.len(), 2, "{sources}");
    assert!(keys[0].is_string(), "{sources}");
    // Both came from 127.0.0.1: one network, one key, whatever the door.
    assert_eq!(keys[0], keys[1], "{sources}");
}

/// Opens `myNotifications` for `token` on `app` and waits for the ack.
async fn listening(app: &TestApp, token: &str) -> Option<GraphqlWs> {
    let scenario = json!({
        "connectionParams": bearer(token),
        "operations": [{ "name": "notifications", "query": NOTIFICATIONS }],
        "seconds": 30,
    });
    let mut client = GraphqlWs::start(app.addr, scenario).await?;
    client.until("connected", 10).await;
    Some(client)
}

#[tokio::test]
async fn logout_and_demotion_close_the_members_sockets_on_every_instance() {
    // Two instances share a Redis of their own, which carries the change.
    let Some(redis) = crate::common::redis_server::RedisServer::start() else {
        return;
    };
    let mut args = ADMIN_ARGS.to_vec();
    let url = redis.url();
    args.extend(["--redis-url", &url]);
    let first = TestApp::spawn_with(&args).await;
    let second = first.spawn_sibling().await;
    let (token, _) = first.register("dana").await;
    let Some(mut on_second) = listening(&second, &token).await else {
        return;
    };
    let logout = first
        .gql_ok(Some(&token), "mutation { logout }", json!({}))
        .await;
    assert_eq!(logout["logout"], true);
    let closed = on_second.until("closed", 3).await;
    assert_eq!(closed["code"], 4403, "{:?}", on_second.seen());

    // A role change closes the sockets too: the role is read again on reconnect.
    let admin = first.admin_token().await;
    let (token, member) = first.register("erin").await;
    let Some(mut on_second) = listening(&second, &token).await else {
        return;
    };
    first
        .gql_ok(
            Some(&admin),
            "mutation($id: ID!) { setMemberRole(memberId: $id, role: MODERATOR) { role } }",
            json!({ "id": member }),
        )
        .await;
    let closed = on_second.until("closed", 3).await;
    assert_eq!(closed["code"], 4403, "{:?}", on_second.seen());
    // A member whose session stands keeps their socket.
    let (token, _) = first.register("fay").await;
    let Some(mut kept) = listening(&second, &token).await else {
        return;
    };
    first.register("gus").await;
    assert!(
        kept.next_event(2).await.is_none(),
        "another member's change closes nothing"
    );
}

#[tokio::test]
async fn the_protocol_refuses_with_its_close_codes() {
    let app = TestApp::spawn_with(&["--ws-init-timeout-ms", "300"]).await;
    // 4400: not a message of the protocol.
    let mut socket = RawSocket::open(app.addr).await.unwrap();
    socket.send_text("{ not json").await;
    assert_eq!(socket.close_code(5).await, Some(4400));
    // 4401: subscribing before the acknowledgement.
    let mut socket = RawSocket::open(app.addr).await.unwrap();
    socket
        .send(json!({ "id": "1", "type": "subscribe", "payload": { "query": "{ __typename }" } }))
        .await;
    assert_eq!(socket.close_code(5).await, Some(4401));
    // 4403: a token that is not one.
    let mut socket = RawSocket::open(app.addr).await.unwrap();
    socket
        .send(json!({ "type": "connection_init", "payload": bearer("cst_forged") }))
        .await;
    assert_eq!(socket.close_code(5).await, Some(4403));
    // 4408: no connection_init in time.
    let mut socket = RawSocket::open(app.addr).await.unwrap();
    assert_eq!(socket.close_code(5).await, Some(4408));
    // 4429: a second connection_init.
    let mut socket = RawSocket::open(app.addr).await.unwrap();
    socket
        .send(json!({ "type": "connection_init", "payload": {} }))
        .await;
    assert_eq!(socket.receive(5).await.unwrap()["type"], "connection_ack");
    socket
        .send(json!({ "type": "connection_init", "payload": {} }))
        .await;
    assert_eq!(socket.close_code(5).await, Some(4429));
    // 4409: an id that is still running.
    let (_, campaign) = app.open_campaign("ivy", 100).await;
    let mut socket = RawSocket::open(app.addr).await.unwrap();
    socket
        .send(json!({ "type": "connection_init", "payload": {} }))
        .await;
    socket.receive(5).await.unwrap();
    let subscribe = json!({ "id": "same", "type": "subscribe", "payload": { "query": "subscription($c: ID!) { campaignCounters(campaignId: $c) { signatures } }", "variables": { "c": campaign } } });
    socket.send(subscribe.clone()).await;
    socket.send(subscribe).await;
    assert_eq!(socket.close_code(5).await, Some(4409));
    // A ping is answered with a pong.
    let mut socket = RawSocket::open(app.addr).await.unwrap();
    socket
        .send(json!({ "type": "connection_init", "payload": {} }))
        .await;
    socket.receive(5).await.unwrap();
    socket.send(json!({ "type": "ping" })).await;
    assert_eq!(socket.receive(5).await.unwrap()["type"], "pong");
}

#[tokio::test]
async fn sockets_and_subscriptions_are_bounded() {
    let app =
        TestApp::spawn_with(&["--ws-max-per-address", "2", "--ws-max-subscriptions", "1"]).await;
    let first = RawSocket::open(app.addr).await.unwrap();
    let _second = RawSocket::open(app.addr).await.unwrap();
    assert_eq!(RawSocket::open(app.addr).await.err(), Some(429));
    drop(first);
    // The place comes back once the socket is gone.
    let mut reopened = None;
    for _ in 0..50 {
        if let Ok(socket) = RawSocket::open(app.addr).await {
            reopened = Some(socket);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    drop(reopened.expect("a place freed by a closed socket"));
    drop(_second);
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;

    let (token, _) = app.register("hal").await;
    let scenario = json!({
        "connectionParams": bearer(&token),
        "operations": [
            { "name": "one", "query": NOTIFICATIONS },
            { "name": "two", "query": NOTIFICATIONS },
        ],
        "seconds": 3,
    });
    let Some(mut client) = GraphqlWs::start(app.addr, scenario).await else {
        return;
    };
    let refused = client.until("error", 5).await;
    assert_eq!(
        refused["errors"][0]["extensions"]["code"], "RATE_LIMITED",
        "{refused}"
    );
}

#[tokio::test]
async fn an_idle_socket_and_an_old_one_are_closed() {
    let app = TestApp::spawn_with(&["--ws-idle-secs", "1"]).await;
    let mut idle = RawSocket::open(app.addr).await.unwrap();
    idle.send(json!({ "type": "connection_init", "payload": {} }))
        .await;
    assert_eq!(idle.receive(5).await.unwrap()["type"], "connection_ack");
    assert_eq!(
        idle.close_code(5).await,
        Some(1000),
        "nothing ran for a second"
    );

    let app = TestApp::spawn_with(&["--ws-max-age-secs", "1"]).await;
    let (_, campaign) = app.open_campaign("aged", 100).await;
    let mut old = RawSocket::open(app.addr).await.unwrap();
    old.send(json!({ "type": "connection_init", "payload": {} }))
        .await;
    old.receive(5).await.unwrap();
    // Even a socket with a live subscription reaches its maximum age.
    old.send(json!({ "id": "1", "type": "subscribe", "payload": { "query": "subscription($c: ID!) { campaignCounters(campaignId: $c) { signatures } }", "variables": { "c": campaign } } }))
        .await;
    assert_eq!(old.close_code(5).await, Some(1000));
}
