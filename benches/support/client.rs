//! What the load runs share: bounded settings from the environment, and a
//! GraphQL call that reports a transport failure as a GraphQL error.

use std::time::Duration;

use serde_json::{Value, json};

/// `name` from the environment, `default` when unset, within 1..=`max`.
pub fn setting(name: &str, default: usize, max: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
        .clamp(1, max)
}

/// The whole GraphQL response body.
pub async fn gql(
    client: &reqwest::Client,
    url: &str,
    token: Option<&str>,
    query: &str,
    variables: Value,
) -> Value {
    let mut request = client
        .post(url)
        .timeout(Duration::from_secs(60))
        .json(&json!({ "query": query, "variables": variables }));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    match request.send().await {
        Ok(response) => response.json().await.unwrap_or(Value::Null),
        Err(err) => json!({ "errors": [{ "message": err.to_string() }] }),
    }
}

/// The `data` of `body`, which must carry no error (`what` names the step).
pub fn data(body: Value, what: &str) -> Value {
    assert!(body.get("errors").is_none(), "{what} failed: {body}");
    body["data"].clone()
}
