//! The organiser's delivery pack: `GET /campaigns/{id}/signatures`, the
//! campaign's counted signatures as CSV or NDJSON (by `?format=` or
//! `Accept`), streamed in chunks so memory stays flat. For the campaign's
//! organiser and admins only; each line says who signed (display name or
//! "Anonymous"), where, when and what they wrote, never an e-mail address.

use std::collections::HashMap;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{FromRef, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;
use tokio_stream::wrappers::ReceiverStream;

use super::export::{Format, error_response, format, line};
use super::viewer;
use crate::error::{AppError, Result};
use crate::service::signing::signature::{self, PackLine};
use crate::service::{campaigns::campaign as campaigns, validate};
use crate::state::AppState;

/// Signatures read per chunk.
const CHUNK: u64 = 1_000;

const COLUMNS: [&str; 4] = ["signer", "territory", "signed_at", "comment"];

pub fn routes<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    AppState: FromRef<S>,
{
    Router::new().route("/campaigns/{id}/signatures", get(export))
}

async fn export(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    match prepare(&state, &id, &params, &headers).await {
        Ok((campaign, format)) => stream(state, campaign, format),
        Err(err) => error_response(err),
    }
}

async fn prepare(
    state: &AppState,
    id: &str,
    params: &HashMap<String, String>,
    headers: &HeaderMap,
) -> Result<(uuid::Uuid, Format)> {
    let format = format(params, headers)?;
    let actor = viewer(state, headers)
        .await?
        .ok_or(AppError::Unauthenticated(
            "sign in as the campaign's organiser",
        ))?;
    let id = validate::id("id", id)?;
    let found = campaigns::get(&state.db, Some(actor), id)
        .await?
        .ok_or(AppError::NotFound("campaign"))?;
    if found.organiser_id != Some(actor.id) && !actor.is_admin() {
        return Err(AppError::Forbidden(
            "only the campaign's organiser and admins may export its signatures".into(),
        ));
    }
    Ok((found.id, format))
}

fn values(signed: &PackLine) -> [serde_json::Value; 4] {
    [
        json!(signed.signer),
        json!(signed.territory),
        json!(
            signed
                .signed_at
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        ),
        json!(signed.comment),
    ]
}

fn stream(state: AppState, campaign: uuid::Uuid, format: Format) -> Response {
    let (sender, receiver) = tokio::sync::mpsc::channel::<std::io::Result<Bytes>>(4);
    tokio::spawn(async move {
        let send = |text: String| {
            let sender = sender.clone();
            async move { sender.send(Ok(Bytes::from(text))).await.is_ok() }
        };
        if format == Format::Csv && !send(format!("{}\n", COLUMNS.join(","))).await {
            return;
        }
        let mut after = None;
        loop {
            match signature::pack_chunk(&state.db, campaign, after, CHUNK).await {
                Ok(chunk) if chunk.is_empty() => return,
                Ok(chunk) => {
                    after = chunk.last().map(|signed| signed.id);
                    let text: String = chunk
                        .iter()
                        .map(|signed| line(format, &COLUMNS, &values(signed)))
                        .collect();
                    if !send(text).await {
                        return;
                    }
                }
                Err(err) => {
                    tracing::warn!(code = err.code(), "signature export failed mid-stream");
                    let _ = sender
                        .send(Err(std::io::Error::other("export interrupted")))
                        .await;
                    return;
                }
            }
        }
    });
    let (content_type, disposition) = match format {
        Format::Csv => (
            "text/csv; charset=utf-8",
            "attachment; filename=\"signatures.csv\"",
        ),
        Format::Ndjson => (
            "application/x-ndjson",
            "attachment; filename=\"signatures.ndjson\"",
        ),
    };
    let mut response = Body::from_stream(ReceiverStream::new(receiver)).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static(disposition),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
