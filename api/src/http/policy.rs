//! One request policy for every transport: a GraphQL operation arriving
//! over HTTP (`POST` or `GET /graphql`) or over a websocket runs through
//! [`execute`] (queries and mutations) or [`subscribe`] (subscriptions),
//! never through the schema directly.
//!
//! What the policy gives every operation, whatever carried it:
//! - the caller: the bearer token (resolved to a member afresh for each
//!   operation, so a revoked session or a changed role shows at the next
//!   operation) and the client address, which resolvers need for per-address
//!   limits, block rules, source keys and surge detection
//!   (`graphql::guards::client_ip` refuses an operation without one);
//! - a batched loader of its own;
//! - the request timeout (`CONSUMACT_REQUEST_TIMEOUT_MS`) and the per-operation
//!   metrics, for queries and mutations;
//! - a request id in its log lines, and on every `INTERNAL` error it returns.
//!
//! A check added here holds on every transport; a check added in a resolver
//! holds too, because every transport reaches resolvers through here.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use async_graphql::dataloader::DataLoader;
use async_graphql::{ErrorExtensionValues, Request, Response, ServerError, Value};
use futures_util::stream::BoxStream;
use tracing::Instrument;
use uuid::Uuid;

use super::HttpState;
use super::documents::{self, Documents, Lookup};
use crate::graphql::guards::RequestAuth;
use crate::graphql::loaders::DbLoader;
use crate::metrics::Metrics;
use async_graphql::parser::types::ExecutableDocument;

/// Who sends an operation, as the transport saw it.
#[derive(Clone, Debug)]
pub(crate) struct Caller {
    /// The bearer token (HTTP `Authorization`, or the websocket's
    /// `connection_init` payload).
    pub token: Option<String>,
    /// The client's address: the socket peer, or the trusted proxy header.
    pub client: IpAddr,
}

/// An operation's answer and the id its log lines carry.
pub(crate) struct Executed {
    pub response: Response,
    pub request_id: String,
    /// Whether it was stopped by the request timeout.
    pub timed_out: bool,
}

/// Runs a query or mutation under the policy.
pub(crate) async fn execute(state: &HttpState, caller: &Caller, request: Request) -> Executed {
    // One id per request, in every log line it causes and in the answer, so
    // that a user's report of an INTERNAL error can be found in the logs.
    let request_id = Uuid::new_v4().to_string();
    let span = tracing::info_span!("graphql", request_id = %request_id);
    let limit = Duration::from_millis(state.app.config.request_timeout_ms.max(1));
    let operation = request
        .operation_name
        .clone()
        .or_else(|| crate::metrics::operation_name_in(&request.query).map(str::to_owned));
    let (request, fast, learn) = cached_document(state, request);
    let request = prepare(state, caller, request);
    let started = Instant::now();
    let schema = if fast {
        &state.fast_schema
    } else {
        &state.schema
    };
    let executed = tokio::time::timeout(limit, schema.execute(request))
        .instrument(span)
        .await;
    let metrics = &state.app.metrics;
    let (mut response, timed_out) = match executed {
        Ok(response) => (response, false),
        Err(_) => {
            tracing::warn!(%request_id, "request timed out");
            let mut error = ServerError::new("the request took too long and was stopped", None);
            error.extensions = Some(extensions("TIMEOUT"));
            (Response::from_errors(vec![error]), true)
        }
    };
    metrics.observe(
        operation.as_deref(),
        started.elapsed(),
        !response.errors.is_empty(),
    );
    if let Some(learn) = learn
        && !timed_out
        && !failed_before_execution(&response)
    {
        learn.apply(&state.documents);
    }
    if response
        .errors
        .iter()
        .any(|error| has_code(error, "RATE_LIMITED"))
    {
        Metrics::increment(&metrics.rate_limited);
    }
    for error in &mut response.errors {
        if timed_out || has_code(error, "INTERNAL") {
            error
                .extensions
                .get_or_insert_with(Default::default)
                .set("requestId", request_id.as_str());
        }
    }
    Executed {
        response,
        request_id,
        timed_out,
    }
}

/// Starts a subscription under the policy; the stream ends when the
/// subscription does.
pub(crate) fn subscribe(
    state: &HttpState,
    caller: &Caller,
    request: Request,
) -> BoxStream<'static, Response> {
    count_subscription(state, &request);
    let request = prepare(state, caller, request);
    Box::pin(state.schema.execute_stream(request))
}

/// Counts a subscription when it starts (its lifetime is no latency),
/// whether it runs its own execution or joins a shared one.
pub(crate) fn count_subscription(state: &HttpState, request: &Request) {
    let operation = request
        .operation_name
        .clone()
        .or_else(|| crate::metrics::operation_name_in(&request.query).map(str::to_owned));
    state
        .app
        .metrics
        .observe(operation.as_deref(), Duration::ZERO, false);
}

/// What a request teaches the document cache once it passed validation.
enum Learn {
    /// A new document, with the shape of its variables.
    Remember {
        text: String,
        operation: Option<String>,
        shape: String,
        document: ExecutableDocument,
    },
    /// A known document, validated with a new shape of variables.
    Validated {
        text: String,
        operation: Option<String>,
        shape: String,
    },
}

impl Learn {
    fn apply(self, documents: &Documents) {
        match self {
            Learn::Remember {
                text,
                operation,
                shape,
                document,
            } => documents.remember(&text, operation.as_deref(), shape, document),
            Learn::Validated {
                text,
                operation,
                shape,
            } => documents.validated(&text, operation.as_deref(), shape),
        }
    }
}

/// The request with its parsed document from the cache (or parsed here,
/// to be kept), whether it may skip full validation, and what to keep
/// once it ran (see `documents`).
fn cached_document(state: &HttpState, mut request: Request) -> (Request, bool, Option<Learn>) {
    let operation = request.operation_name.clone();
    match state
        .documents
        .lookup(&request.query, operation.as_deref(), &request.variables)
    {
        Lookup::Validated(document) => {
            request.set_parsed_query(document);
            (request, true, None)
        }
        Lookup::Parsed(document, shape) => {
            request.set_parsed_query(document);
            let learn = Learn::Validated {
                text: request.query.clone(),
                operation,
                shape,
            };
            (request, false, Some(learn))
        }
        Lookup::Unknown => {
            // Unparsable: async-graphql parses it again and says why.
            let Ok(document) = async_graphql::parser::parse_query(&request.query) else {
                return (request, false, None);
            };
            let learn = documents::shape(&document, operation.as_deref(), &request.variables).map(
                |shape| Learn::Remember {
                    text: request.query.clone(),
                    operation,
                    shape,
                    document: document.clone(),
                },
            );
            request.set_parsed_query(document);
            (request, false, learn)
        }
    }
}

/// The data every operation carries.
fn prepare(state: &HttpState, caller: &Caller, request: Request) -> Request {
    request
        .data(RequestAuth::new(caller.token.clone(), Some(caller.client)))
        .data(loader(state))
}

/// Batched database lookups for one operation.
fn loader(state: &HttpState) -> DataLoader<DbLoader> {
    DataLoader::new(
        DbLoader {
            db: state.app.db.clone(),
            counters: state.app.counters.clone(),
        },
        tokio::spawn,
    )
}

/// Whether `response` failed before execution (parse, validation,
/// variables): no data, and no error has a path. HTTP answers it with 400 to
/// `application/graphql-response+json` clients, the websocket with `error`.
pub(crate) fn failed_before_execution(response: &Response) -> bool {
    response.data == Value::Null
        && !response.errors.is_empty()
        && response.errors.iter().all(|error| error.path.is_empty())
}

/// An error's `extensions.code`, for errors made outside resolvers.
pub(crate) fn extensions(code: &str) -> ErrorExtensionValues {
    let mut extensions = ErrorExtensionValues::default();
    extensions.set("code", code);
    extensions
}

pub(crate) fn has_code(error: &ServerError, code: &str) -> bool {
    error
        .extensions
        .as_ref()
        .and_then(|extensions| extensions.get("code"))
        .is_some_and(|found| *found == Value::from(code))
}
