//! Cacheable GraphQL: queries over `GET` (`?query=…&variables=…`),
//! automatic persisted queries (a SHA-256 hash in place of the query text,
//! as Apollo, Relay and urql clients send it), and for anonymous `GET`s a
//! `Cache-Control: public, max-age` with an `ETag`, so that a reverse proxy
//! or a CDN absorbs a crowd watching a count.

use std::collections::HashMap;
use std::sync::Mutex;

use async_graphql::parser::types::{DocumentOperations, OperationType};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use serde::Deserialize;
use sha2::{Digest, Sha256};

/// The longest query text kept as a persisted query.
const PERSISTED_MAX_BYTES: usize = 64 * 1024;

/// Query texts by the hex SHA-256 their clients name them by, kept only once
/// they parsed and validated ([`PersistedQueries::remember`]), within a
/// budget of bytes (`CONSUMACT_PERSISTED_QUERIES_BYTES`): the least recently
/// used go first. A client whose hash is unknown here sends the text again.
///
/// Hand-written rather than a `moka` cache with a weigher: the budget holds
/// at every insert, so a flood of 64 KiB texts never overshoots it, where
/// moka evicts in its deferred upkeep; and strict recency is what a client
/// replaying its own queries needs.
pub struct PersistedQueries {
    persisted: Mutex<Persisted>,
    budget: usize,
}

#[derive(Default)]
struct Persisted {
    texts: HashMap<String, (std::sync::Arc<str>, u64)>,
    /// Hashes by their last use.
    by_use: std::collections::BTreeMap<u64, String>,
    bytes: usize,
    clock: u64,
}

impl Persisted {
    fn touch(&mut self, hash: &str) -> Option<std::sync::Arc<str>> {
        self.clock += 1;
        let clock = self.clock;
        let (text, used) = self.texts.get_mut(hash)?;
        self.by_use.remove(used);
        *used = clock;
        self.by_use.insert(clock, hash.to_owned());
        Some(text.clone())
    }
}

/// Why a persisted query could not be used.
#[derive(Debug, PartialEq, Eq)]
pub enum PersistedError {
    /// The hash is unknown here: send the query text with it.
    NotFound,
    /// The hash is not the SHA-256 of the text sent with it.
    Mismatch,
    /// Not `{ "version": 1, "sha256Hash": "<64 hex>" }`.
    Malformed,
}

impl PersistedError {
    pub fn code(&self) -> &'static str {
        match self {
            PersistedError::NotFound => "PERSISTED_QUERY_NOT_FOUND",
            PersistedError::Mismatch | PersistedError::Malformed => "BAD_REQUEST",
        }
    }

    pub fn message(&self) -> &'static str {
        match self {
            PersistedError::NotFound => "PersistedQueryNotFound",
            PersistedError::Mismatch => "the persisted query's sha256Hash is not the query's",
            PersistedError::Malformed => {
                "extensions.persistedQuery must be { version: 1, sha256Hash: <64 hex digits> }"
            }
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PersistedQuery {
    version: i64,
    sha256_hash: String,
}

impl PersistedQueries {
    /// A store holding at most `budget` bytes of query text.
    pub fn new(budget: usize) -> Self {
        Self {
            persisted: Mutex::default(),
            budget,
        }
    }

    /// Bytes of query text held.
    #[cfg(test)]
    fn bytes(&self) -> usize {
        self.persisted
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .bytes
    }

    /// Fills in (or checks) the text of a request that names a persisted
    /// query in `extensions.persistedQuery`; leaves other requests alone.
    /// A text sent with its hash comes back as `Some(hash)`: the caller
    /// [`remember`](Self::remember)s it once it has parsed and validated.
    pub fn resolve(
        &self,
        request: &mut async_graphql::Request,
    ) -> Result<Option<String>, PersistedError> {
        let Some(persisted) = request.extensions.get("persistedQuery") else {
            return Ok(None);
        };
        let persisted: PersistedQuery = persisted
            .clone()
            .into_json()
            .ok()
            .and_then(|value| serde_json::from_value(value).ok())
            .ok_or(PersistedError::Malformed)?;
        let hash = persisted.sha256_hash.to_ascii_lowercase();
        if persisted.version != 1
            || hash.len() != 64
            || !hash.bytes().all(|b| b.is_ascii_hexdigit())
        {
            return Err(PersistedError::Malformed);
        }
        if request.query.trim().is_empty() {
            let mut persisted = self.persisted.lock().unwrap_or_else(|e| e.into_inner());
            let text = persisted.touch(&hash).ok_or(PersistedError::NotFound)?;
            request.query = text.to_string();
            return Ok(None);
        }
        if hex_sha256(request.query.as_bytes()) != hash {
            return Err(PersistedError::Mismatch);
        }
        Ok((request.query.len() <= PERSISTED_MAX_BYTES).then_some(hash))
    }

    /// Keeps `text` under `hash` (a text that parsed and validated), letting
    /// the least recently used go while the store is over its budget.
    pub fn remember(&self, hash: String, text: &str) {
        if text.len() > self.budget {
            return;
        }
        let mut persisted = self.persisted.lock().unwrap_or_else(|e| e.into_inner());
        if persisted.touch(&hash).is_some() {
            return;
        }
        persisted.clock += 1;
        let clock = persisted.clock;
        persisted.bytes += text.len() + hash.len();
        persisted.by_use.insert(clock, hash.clone());
        persisted.texts.insert(hash, (text.into(), clock));
        while persisted.bytes > self.budget {
            let Some((_, oldest)) = persisted.by_use.pop_first() else {
                break;
            };
            if let Some((text, _)) = persisted.texts.remove(&oldest) {
                persisted.bytes -= text.len() + oldest.len();
            }
        }
    }
}

pub fn hex_sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The `GET /graphql` parameters of a query.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct GetParams {
    pub query: Option<String>,
    pub operation_name: Option<String>,
    /// JSON text.
    pub variables: Option<String>,
    /// JSON text.
    pub extensions: Option<String>,
}

impl GetParams {
    /// Whether these parameters ask for a GraphQL operation at all.
    pub fn is_request(&self) -> bool {
        self.query.is_some() || self.extensions.is_some()
    }

    /// The request they make, or why it is malformed.
    pub fn into_request(self) -> Result<async_graphql::Request, String> {
        let mut request = async_graphql::Request::new(self.query.unwrap_or_default());
        if let Some(name) = self.operation_name.filter(|name| !name.is_empty()) {
            request = request.operation_name(name);
        }
        if let Some(variables) = self.variables.filter(|v| !v.trim().is_empty()) {
            let value: serde_json::Value = serde_json::from_str(&variables)
                .map_err(|err| format!("variables is not JSON: {err}"))?;
            if !value.is_object() && !value.is_null() {
                return Err("variables must be a JSON object".into());
            }
            request = request.variables(async_graphql::Variables::from_json(value));
        }
        if let Some(extensions) = self.extensions.filter(|e| !e.trim().is_empty()) {
            let value: HashMap<String, serde_json::Value> = serde_json::from_str(&extensions)
                .map_err(|err| format!("extensions is not a JSON object: {err}"))?;
            for (key, value) in value {
                request.extensions.insert(
                    key,
                    async_graphql::Value::from_json(value)
                        .map_err(|err| format!("extensions: {err}"))?,
                );
            }
        }
        Ok(request)
    }
}

/// The kind of the operation `request` would run, when its text parses
/// (`None` otherwise: execution reports the syntax error).
pub fn operation_type(request: &async_graphql::Request) -> Option<OperationType> {
    let document = async_graphql::parser::parse_query(&request.query).ok()?;
    match document.operations {
        DocumentOperations::Single(operation) => Some(operation.node.ty),
        DocumentOperations::Multiple(operations) => {
            let name = request.operation_name.as_deref()?;
            operations
                .iter()
                .find(|(key, _)| key.as_str() == name)
                .map(|(_, operation)| operation.node.ty)
        }
    }
}

/// Makes an anonymous `GET`'s successful answer cacheable by anyone for
/// `max_age` seconds, with an `ETag` of its body; answers `304 Not
/// Modified` when the client already holds that body. Signed-in answers
/// and answers with errors are never stored.
pub fn make_cacheable(
    request_headers: &HeaderMap,
    anonymous: bool,
    max_age: u64,
    response: Response,
) -> Response {
    let (mut parts, body) = response.into_parts();
    let vary = HeaderValue::from_static("Authorization, Accept");
    parts.headers.insert(header::VARY, vary);
    let storable = anonymous && max_age > 0 && parts.status == StatusCode::OK;
    let bytes = match body_bytes(body) {
        Some(bytes) if storable && !has_errors(&bytes) => bytes,
        Some(bytes) => {
            parts.headers.insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static("private, no-store"),
            );
            return Response::from_parts(parts, axum::body::Body::from(bytes));
        }
        None => {
            return Response::from_parts(parts, axum::body::Body::empty());
        }
    };
    let etag = format!("\"{}\"", &hex_sha256(&bytes)[..32]);
    if let Ok(value) = HeaderValue::from_str(&format!("public, max-age={max_age}")) {
        parts.headers.insert(header::CACHE_CONTROL, value);
    }
    if let Ok(value) = HeaderValue::from_str(&etag) {
        parts.headers.insert(header::ETAG, value);
    }
    let matched = request_headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(|tag| tag.trim().trim_start_matches("W/"))
        .any(|tag| tag == etag || tag == "*");
    if matched {
        parts.status = StatusCode::NOT_MODIFIED;
        parts.headers.remove(header::CONTENT_TYPE);
        parts.headers.remove(header::CONTENT_LENGTH);
        return Response::from_parts(parts, axum::body::Body::empty());
    }
    Response::from_parts(parts, axum::body::Body::from(bytes))
}

/// The bytes of a body built in memory (every GraphQL answer is).
fn body_bytes(body: axum::body::Body) -> Option<axum::body::Bytes> {
    use http_body_util::BodyExt;
    let collected = futures_util::FutureExt::now_or_never(body.collect())?;
    collected.ok().map(|collected| collected.to_bytes())
}

fn has_errors(body: &[u8]) -> bool {
    body.windows(9).any(|window| window == b"\"errors\":")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_hash(query: &str, hash: &str) -> async_graphql::Request {
        let mut request = async_graphql::Request::new(query);
        request.extensions.insert(
            "persistedQuery".into(),
            async_graphql::Value::from_json(
                serde_json::json!({ "version": 1, "sha256Hash": hash }),
            )
            .unwrap(),
        );
        request
    }

    #[test]
    fn a_hash_is_learned_from_its_text_then_stands_for_it() {
        let persisted = PersistedQueries::new(1024);
        let query = "{ __typename }";
        let hash = hex_sha256(query.as_bytes());
        let mut unknown = with_hash("", &hash);
        assert_eq!(
            persisted.resolve(&mut unknown),
            Err(PersistedError::NotFound)
        );
        let mut wrong = with_hash("{ me { id } }", &hash);
        assert_eq!(persisted.resolve(&mut wrong), Err(PersistedError::Mismatch));
        let mut first = with_hash(query, &hash);
        assert_eq!(persisted.resolve(&mut first), Ok(Some(hash.clone())));
        // Nothing is kept before the caller says the text validated.
        assert_eq!(
            persisted.resolve(&mut with_hash("", &hash)),
            Err(PersistedError::NotFound)
        );
        persisted.remember(hash.clone(), query);
        let mut later = with_hash("", &hash.to_ascii_uppercase());
        assert_eq!(persisted.resolve(&mut later), Ok(None));
        assert_eq!(later.query, query);
        let mut bad = with_hash("", "abc");
        assert_eq!(persisted.resolve(&mut bad), Err(PersistedError::Malformed));
    }

    #[test]
    fn the_least_recently_used_go_first_when_over_budget() {
        // Each text keeps 64 + 12 bytes: the budget holds two.
        let store = PersistedQueries::new(3 * (64 + 10));
        let text = |i: usize| format!("{{ q{i:07} }}");
        let hash = |i: usize| hex_sha256(text(i).as_bytes());
        for i in 0..3 {
            store.remember(hash(i), &text(i));
        }
        assert_eq!(store.bytes(), 2 * (64 + 12));
        let ask = |i: usize| store.resolve(&mut with_hash("", &hash(i))).map(|_| ());
        assert_eq!(ask(0), Err(PersistedError::NotFound), "the oldest left");
        assert_eq!(ask(1), Ok(()));
        store.remember(hash(3), &text(3));
        assert_eq!(ask(2), Err(PersistedError::NotFound), "1 was used since");
        assert_eq!((ask(1), ask(3)), (Ok(()), Ok(())));
    }

    #[test]
    fn operation_types_are_read_from_the_selected_operation() {
        let both = || async_graphql::Request::new("query A { __typename } mutation B { logout }");
        assert_eq!(
            operation_type(&both().operation_name("A")),
            Some(OperationType::Query)
        );
        assert_eq!(
            operation_type(&both().operation_name("B")),
            Some(OperationType::Mutation)
        );
        assert_eq!(operation_type(&both()), None);
        assert_eq!(
            operation_type(&async_graphql::Request::new("mutation { logout }")),
            Some(OperationType::Mutation)
        );
    }
}
