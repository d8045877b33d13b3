//! The HTTP surface: GraphQL over HTTP (POST), websockets and GraphiQL
//! (GET), health, readiness and metrics, the pages mailed links open
//! (`email_links`), the streamed exports (`observatory`, `signatures`);
//! CORS and security headers.

mod cacheable;
mod documents;
mod email_links;
mod export;
mod observatory;
mod observatory_release;
mod policy;
mod signatures;
mod websocket;

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use async_graphql::parser::types::OperationType;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::rejection::QueryRejection;
use axum::extract::ws::{WebSocketUpgrade, rejection::WebSocketUpgradeRejection};
use axum::extract::{ConnectInfo, DefaultBodyLimit, Query, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use sea_orm::ConnectionTrait;
use serde_json::json;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

use crate::graphql::AppSchema;
use crate::state::AppState;

#[derive(Clone)]
struct HttpState {
    app: AppState,
    schema: AppSchema,
    /// The same schema validating in async-graphql's `Fast` mode, for
    /// documents already fully validated (see `documents`).
    fast_schema: AppSchema,
    documents: std::sync::Arc<documents::Documents>,
    persisted: std::sync::Arc<cacheable::PersistedQueries>,
    sockets: std::sync::Arc<websocket::Sockets>,
    /// Shared subscription feeds (see `websocket::shared`).
    feeds: std::sync::Arc<websocket::Feeds>,
}

impl axum::extract::FromRef<HttpState> for AppState {
    fn from_ref(state: &HttpState) -> Self {
        state.app.clone()
    }
}

/// The application's routes, and those of `/metrics` apart when
/// `CONSUMACT_METRICS_ADDR` serves them on an address of their own (the
/// application's then has no `/metrics`).
pub struct Routes {
    pub app: Router,
    pub metrics: Option<Router>,
}

/// The application's routes.
pub fn router(app: AppState, schema: AppSchema, fast_schema: AppSchema) -> Routes {
    let body_limit = app.config.max_body_bytes;
    let cors = cors(&app.config.cors_origins);
    let sockets = websocket::Sockets::new(app.config.limits.ws_max_per_address);
    sockets.follow(&app);
    let persisted = std::sync::Arc::new(cacheable::PersistedQueries::new(
        app.config.limits.persisted_queries_bytes,
    ));
    let apart = app.config.metrics_addr.is_some();
    let documents = std::sync::Arc::new(documents::Documents::new(
        &schema.sdl(),
        app.config.limits.document_cache_bytes,
    ));
    let state = HttpState {
        app,
        schema,
        fast_schema,
        documents,
        feeds: std::sync::Arc::default(),
        persisted,
        sockets,
    };
    let metrics_routes = || Router::new().route("/metrics", get(metrics));
    let mut routes = Router::new()
        .route("/graphql", get(graphql_get).post(graphql))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz));
    if !apart {
        routes = routes.merge(metrics_routes());
    }
    let routes = routes
        .merge(observatory::routes())
        .merge(observatory_release::routes())
        .merge(email_links::routes())
        .merge(signatures::routes())
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(cors)
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        .layer(TraceLayer::new_for_http())
        .with_state(state.clone());
    Routes {
        app: routes,
        metrics: apart.then(|| metrics_routes().with_state(state)),
    }
}

/// Cross-origin access for the configured browser origins only.
fn cors(origins: &[String]) -> CorsLayer {
    let allowed: Vec<HeaderValue> = origins
        .iter()
        .map(|origin| origin.trim())
        .filter(|origin| !origin.is_empty())
        .filter_map(|origin| HeaderValue::from_str(origin).ok())
        .collect();
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(allowed))
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
        .max_age(Duration::from_secs(3600))
}

/// The bearer token of a request, if it carries one.
pub(crate) fn bearer_token(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_owned())
        .filter(|token| !token.is_empty())
}

/// The member a plain-HTTP request's bearer token belongs to (`None`
/// without a token; `UNAUTHENTICATED` for a bad one).
pub(crate) async fn viewer(
    state: &AppState,
    headers: &HeaderMap,
) -> crate::error::Result<Option<crate::service::viewer::Viewer>> {
    match bearer_token(headers) {
        Some(token) => Ok(Some(crate::service::viewer::Viewer::of(
            &crate::service::identity::auth::member_for_token(state, &token).await?,
            &state.config,
        ))),
        None => Ok(None),
    }
}

/// The client's address: the socket peer, or the last entry of the
/// configured proxy header when one is set (only behind a trusted proxy).
pub(crate) fn client_ip(
    config: &crate::config::Config,
    headers: &HeaderMap,
    peer: SocketAddr,
) -> IpAddr {
    config
        .client_ip_header
        .as_deref()
        .and_then(|name| headers.get(name))
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.rsplit(',').next())
        .and_then(|last| last.trim().parse().ok())
        .unwrap_or(peer.ip())
}

async fn graphql(
    State(state): State<HttpState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let json_content = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.to_ascii_lowercase().starts_with("application/json"));
    if !json_content {
        // Also what keeps a plain cross-site HTML form from reaching a mutation.
        return request_error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "send the GraphQL request as application/json".into(),
        );
    }
    let body = match body {
        Ok(body) => body,
        Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return request_error(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!(
                    "request body larger than {} bytes",
                    state.app.config.max_body_bytes
                ),
            );
        }
        Err(rejection) => return request_error(rejection.status(), rejection.body_text()),
    };
    // JSON is UTF-8; parsers may skip over unknown fields without looking.
    if std::str::from_utf8(&body).is_err() {
        return request_error(
            StatusCode::BAD_REQUEST,
            "the request body is not valid UTF-8".into(),
        );
    }
    let request: async_graphql::Request = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(err) => {
            return request_error(
                StatusCode::BAD_REQUEST,
                format!("malformed GraphQL request: {err}"),
            );
        }
    };
    let mut request = request;
    let learn = match state.persisted.resolve(&mut request) {
        Ok(learn) => learn,
        Err(err) => return persisted_error(&err),
    };
    run(&state, peer, &headers, request, learn).await
}

/// Runs a parsed request (its persisted query resolved) under the request
/// policy and answers it; a persisted query's text sent with its hash
/// (`learn`) is kept once it has parsed and validated.
async fn run(
    state: &HttpState,
    peer: SocketAddr,
    headers: &HeaderMap,
    request: async_graphql::Request,
    learn: Option<String>,
) -> Response {
    if request.query.trim().is_empty() {
        return request_error(StatusCode::BAD_REQUEST, "the request has no query".into());
    }
    let caller = policy::Caller {
        token: bearer_token(headers),
        client: client_ip(&state.app.config, headers, peer),
    };
    let text = learn.as_ref().map(|_| request.query.clone());
    let executed = policy::execute(state, &caller, request).await;
    if let (Some(hash), Some(text)) = (learn, text) {
        let invalid = executed.response.errors.iter().any(|error| {
            policy::has_code(error, "GRAPHQL_PARSE_FAILED")
                || policy::has_code(error, "GRAPHQL_VALIDATION_FAILED")
        });
        if !invalid {
            state.persisted.remember(hash, &text);
        }
    }
    let mut response = if executed.timed_out {
        // A timeout is no request error: HTTP 200 whatever the Accept.
        (StatusCode::OK, Json(&executed.response)).into_response()
    } else {
        graphql_response(headers, executed.response)
    };
    if let Ok(value) = HeaderValue::from_str(&executed.request_id) {
        response.headers_mut().insert("x-request-id", value);
    }
    response
}

const GRAPHQL_RESPONSE_JSON: &str = "application/graphql-response+json";

/// Serialises a result as the GraphQL-over-HTTP specification asks: with
/// `Accept: application/graphql-response+json`, a request that failed before
/// execution (unparsable, invalid, bad variables) is an HTTP 400 without a
/// `data` entry; with `application/json` (also for a missing or `*/*`
/// Accept), results are HTTP 200 as legacy clients expect.
fn graphql_response(headers: &HeaderMap, response: async_graphql::Response) -> Response {
    let modern = headers
        .get(header::ACCEPT)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|accept| accept.contains(GRAPHQL_RESPONSE_JSON));
    let failed_before_execution = policy::failed_before_execution(&response);
    let (status, content_type) = match (modern, failed_before_execution) {
        (true, true) => (StatusCode::BAD_REQUEST, GRAPHQL_RESPONSE_JSON),
        (true, false) => (StatusCode::OK, GRAPHQL_RESPONSE_JSON),
        (false, _) => (StatusCode::OK, "application/json"),
    };
    // Written straight to bytes; a modern client's request that failed
    // before execution gets no `data` entry at all.
    let written = if modern && failed_before_execution {
        serde_json::to_value(&response).and_then(|mut body| {
            if let Some(object) = body.as_object_mut() {
                object.remove("data");
            }
            serde_json::to_vec(&body)
        })
    } else {
        serde_json::to_vec(&response)
    };
    let body = match written {
        Ok(body) => body,
        Err(err) => {
            tracing::error!(%err, "cannot serialise a GraphQL response");
            return request_error(StatusCode::INTERNAL_SERVER_ERROR, "internal error".into());
        }
    };
    let mut response = (status, body).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

/// A persisted query that cannot be used, in GraphQL's error shape; an
/// unknown hash is an HTTP 200, as clients expect before sending the text.
fn persisted_error(err: &cacheable::PersistedError) -> Response {
    let status = match err {
        cacheable::PersistedError::NotFound => StatusCode::OK,
        _ => StatusCode::BAD_REQUEST,
    };
    let body = json!({
        "errors": [{
            "message": err.message(),
            "extensions": { "code": err.code() },
        }]
    });
    (status, Json(body)).into_response()
}

/// A request that is not a GraphQL request at all, answered in GraphQL's
/// error shape so that clients handle every failure the same way.
fn request_error(status: StatusCode, message: String) -> Response {
    let body = json!({
        "errors": [{
            "message": message,
            "extensions": { "code": "BAD_REQUEST" },
        }]
    });
    (status, Json(body)).into_response()
}

/// `GET /graphql`: a websocket upgrade speaking `graphql-transport-ws` (or
/// the legacy `graphql-ws`) serves subscriptions; `?query=…` (or a
/// persisted query's hash in `?extensions=…`) runs a query, cacheable when
/// anonymous (see `cacheable`); a browser asking for HTML gets GraphiQL.
async fn graphql_get(
    State(state): State<HttpState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    params: Result<Query<cacheable::GetParams>, QueryRejection>,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    if let Ok(upgrade) = upgrade {
        return websocket::upgrade(state, peer, &headers, upgrade);
    }
    let params = match params {
        Ok(Query(params)) => params,
        Err(rejection) => {
            return request_error(StatusCode::BAD_REQUEST, rejection.body_text());
        }
    };
    if params.is_request() {
        let mut request = match params.into_request() {
            Ok(request) => request,
            Err(why) => return request_error(StatusCode::BAD_REQUEST, why),
        };
        let learn = match state.persisted.resolve(&mut request) {
            Ok(learn) => learn,
            Err(err) => return persisted_error(&err),
        };
        if let Some(OperationType::Mutation | OperationType::Subscription) =
            cacheable::operation_type(&request)
        {
            let mut refused = request_error(
                StatusCode::METHOD_NOT_ALLOWED,
                "GET runs queries only: send mutations with POST (subscriptions over a websocket)"
                    .into(),
            );
            refused
                .headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static("POST"));
            return refused;
        }
        let anonymous = bearer_token(&headers).is_none();
        let response = run(&state, peer, &headers, request, learn).await;
        return cacheable::make_cacheable(
            &headers,
            anonymous,
            state.app.config.public_max_age_secs,
            response,
        );
    }
    let wants_html = headers
        .get(header::ACCEPT)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"));
    if !wants_html {
        return request_error(
            StatusCode::BAD_REQUEST,
            "send a query: GET /graphql?query=…, or POST /graphql".into(),
        );
    }
    if !state.app.config.graphiql {
        return (StatusCode::NOT_FOUND, "GraphiQL is disabled").into_response();
    }
    // A static page (our own; async-graphql's template engine would pull
    // handlebars and its derive stack into the build for one string).
    Html(include_str!("../../assets/graphiql.html")).into_response()
}

/// Prometheus metrics, with gauges read at scrape time; with
/// `CONSUMACT_METRICS_TOKEN` set, only for a request bearing it (HTTP 401).
async fn metrics(State(state): State<HttpState>, headers: HeaderMap) -> Response {
    let app = &state.app;
    if let Some(expected) = app
        .config
        .metrics_token
        .as_deref()
        .filter(|t| !t.is_empty())
    {
        let presented = bearer_token(&headers).unwrap_or_default();
        if !constant_time_eq(presented.as_bytes(), expected.as_bytes()) {
            return (
                StatusCode::UNAUTHORIZED,
                [(header::WWW_AUTHENTICATE, "Bearer")],
                "the metrics need CONSUMACT_METRICS_TOKEN as a bearer token\n",
            )
                .into_response();
        }
    }
    let (pool_size, pool_idle) = match app.db.get_database_backend() {
        sea_orm::DbBackend::Postgres => {
            let pool = app.db.get_postgres_connection_pool();
            (pool.size(), pool.num_idle())
        }
        sea_orm::DbBackend::Sqlite => {
            let pool = app.db.get_sqlite_connection_pool();
            (pool.size(), pool.num_idle())
        }
        _ => (0, 0),
    };
    // The queue as the database holds it, whichever instance folds it.
    let (fold_queued, fold_lag_ms) = crate::service::fold::queue::backlog(&app.db)
        .await
        .unwrap_or_else(|err| {
            tracing::warn!(code = err.code(), "the fold's queue could not be read");
            (-1, -1)
        });
    let (documents_kept, documents_bytes) = state.documents.size();
    let gauges = [
        (
            "consumact_subscribers",
            "Live subscriptions on this instance.",
            app.live.subscribers() as f64,
        ),
        (
            "consumact_subscription_feeds",
            "Shared subscription feeds on this instance (one execution each, for all their subscribers).",
            state.feeds.len() as f64,
        ),
        (
            "consumact_websockets",
            "Open GraphQL websockets on this instance.",
            f64::from(state.sockets.open()),
        ),
        (
            "consumact_db_pool_connections",
            "Open database connections.",
            f64::from(pool_size),
        ),
        (
            "consumact_db_pool_idle_connections",
            "Idle database connections.",
            pool_idle as f64,
        ),
        (
            "consumact_counters_degraded",
            "1 while the counter store does not answer.",
            f64::from(u8::from(app.counters.is_degraded())),
        ),
        (
            "consumact_document_cache_hits",
            "GraphQL requests whose document this instance had parsed before.",
            state
                .documents
                .hits
                .load(std::sync::atomic::Ordering::Relaxed) as f64,
        ),
        (
            "consumact_document_cache_misses",
            "GraphQL requests whose document this instance had not parsed before.",
            state
                .documents
                .misses
                .load(std::sync::atomic::Ordering::Relaxed) as f64,
        ),
        (
            "consumact_document_cache_documents",
            "Parsed GraphQL documents this instance keeps.",
            documents_kept as f64,
        ),
        (
            "consumact_document_cache_bytes",
            "Estimated bytes of the parsed documents kept (CONSUMACT_DOCUMENT_CACHE_BYTES bounds it).",
            documents_bytes as f64,
        ),
        (
            "consumact_fold_queued",
            "Writes waiting to be folded into the kept figures, on every instance (-1: unreadable).",
            fold_queued as f64,
        ),
        (
            "consumact_fold_lag_seconds",
            "How long the oldest write waiting to be folded has waited (0: none waits).",
            fold_lag_ms as f64 / 1_000.0,
        ),
        (
            "consumact_fold_last_pass_lag_seconds",
            "How long the oldest write of this instance's last fold pass had waited.",
            app.metrics
                .fold_last_lag_ms
                .load(std::sync::atomic::Ordering::Relaxed) as f64
                / 1_000.0,
        ),
        (
            "process_resident_memory_bytes",
            "Resident memory of this process (0 where the system does not say).",
            crate::metrics::resident_memory_bytes().unwrap_or(0) as f64,
        ),
    ];
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        app.metrics.render(&gauges),
    )
        .into_response()
}

/// Whether `a` equals `b`, in a time that does not depend on where they differ.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

async fn healthz() -> &'static str {
    "ok"
}

/// Ready when the database answers (HTTP 503 otherwise). A counter store
/// that does not answer makes the server `degraded`, still HTTP 200: it
/// serves correctly from the database meanwhile.
async fn readyz(State(state): State<HttpState>) -> Response {
    let database = state.app.db.execute_unprepared("SELECT 1").await.is_ok();
    let counters = state.app.counters.probe().await;
    let (status, summary) = match (database, counters) {
        (false, _) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
        (true, false) => (StatusCode::OK, "degraded"),
        (true, true) => (StatusCode::OK, "ready"),
    };
    let body = json!({
        "status": summary,
        "database": if database { "ok" } else { "down" },
        "counters": if counters { "ok" } else { "degraded" },
    });
    (status, Json(body)).into_response()
}
