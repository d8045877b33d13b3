//! The observatory over plain HTTP: the open-data export
//! (`GET /observatory/export`, CSV or NDJSON, streamed) and the analysts'
//! dashboard (`GET /observatory`, static files built into the binary).

use std::collections::HashMap;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{FromRef, Query, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};
use tokio_stream::wrappers::ReceiverStream;

use super::export::{Format, error_response, format, line};
use super::viewer;
use crate::error::{AppError, Result};
use crate::service::observatory::{
    self as obs, FilterInput, GroupBy, Observatory, Part, RankAfter, RankBy, metrics::Cell,
};
use crate::state::AppState;

/// Producers read per chunk of the export: memory stays flat however many
/// producers there are.
const EXPORT_CHUNK: u64 = 500;

const DASHBOARD_HTML: &str = include_str!("../../assets/observatory.html");
const DASHBOARD_JS: &str = include_str!("../../assets/observatory.js");
const DASHBOARD_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'";

/// The observatory's routes, for any router state that holds the app's.
pub fn routes<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    AppState: FromRef<S>,
{
    Router::new()
        .route("/observatory", get(dashboard))
        .route("/observatory/app.js", get(dashboard_js))
        .route("/observatory/export", get(export))
}

async fn dashboard() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CONTENT_SECURITY_POLICY, DASHBOARD_POLICY),
        ],
        DASHBOARD_HTML,
    )
        .into_response()
}

async fn dashboard_js() -> Response {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        DASHBOARD_JS,
    )
        .into_response()
}

fn group_by(name: &str) -> Result<GroupBy> {
    match name.to_ascii_uppercase().as_str() {
        "SECTOR" => Ok(GroupBy::Sector),
        "COMMUNITY" => Ok(GroupBy::Community),
        "VALUE_TAG" => Ok(GroupBy::ValueTag),
        "TERRITORY" => Ok(GroupBy::Territory),
        _ => Err(AppError::invalid(
            "by",
            "by must be SECTOR, COMMUNITY, VALUE_TAG or TERRITORY",
        )),
    }
}

fn time(
    params: &HashMap<String, String>,
    name: &str,
) -> Result<Option<chrono::DateTime<chrono::Utc>>> {
    params
        .get(name)
        .map(|value| {
            chrono::DateTime::parse_from_rfc3339(value)
                .map(|at| at.with_timezone(&chrono::Utc))
                .map_err(|_| {
                    AppError::invalid(name, format!("{name} must be an RFC 3339 date-time"))
                })
        })
        .transpose()
}

fn window(name: &str) -> Result<obs::Window> {
    obs::Window::ALL
        .into_iter()
        .find(|window| window.name().eq_ignore_ascii_case(name))
        .ok_or_else(|| {
            AppError::invalid("window", "window must be LAST_12_MONTHS or LAST_FULL_MONTH")
        })
}

fn filter(params: &HashMap<String, String>) -> Result<FilterInput> {
    use sea_orm::ActiveEnum;
    let kind = params
        .get("kind")
        .map(|kind| {
            entities::producer::ProducerKind::try_from_value(&kind.to_ascii_uppercase())
                .map_err(|_| AppError::invalid("kind", "kind is not a producer kind"))
        })
        .transpose()?;
    Ok(FilterInput {
        sector: params.get("sector").cloned(),
        kind,
        territory: params.get("territory").cloned(),
        value_tag: params.get("valueTag").cloned(),
        community: params.get("community").cloned(),
        from: time(params, "from")?,
        to: time(params, "to")?,
        window: params.get("window").map(|name| window(name)).transpose()?,
    })
}

/// `GET /observatory/export`: the ranking's producers (`level=producers`,
/// the default) or groups (`level=groups&by=SECTOR`), with the GraphQL
/// filters as query parameters and the same suppression.
async fn export(
    State(state): State<AppState>,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    match prepare(&state, &params, &headers).await {
        Ok((format, scope, level)) => stream(state, format, scope, level).await,
        Err(err) => error_response(err),
    }
}

enum Level {
    /// By producer id, or in ranking order when asked (`orderBy`).
    Producers(Option<RankBy>),
    Groups(GroupBy),
}

fn rank_by(name: &str) -> Result<RankBy> {
    match name.to_ascii_uppercase().as_str() {
        "TRUST_INDEX" => Ok(RankBy::TrustIndex),
        "SIGNATURES" => Ok(RankBy::Signatures),
        "RESPONSE_RATE" => Ok(RankBy::ResponseRate),
        _ => Err(AppError::invalid(
            "orderBy",
            "orderBy must be TRUST_INDEX, SIGNATURES or RESPONSE_RATE",
        )),
    }
}

async fn prepare(
    state: &AppState,
    params: &HashMap<String, String>,
    headers: &HeaderMap,
) -> Result<(Format, obs::Scope, Level)> {
    obs::authorize(state, viewer(state, headers).await?, Part::Picture)?;
    let format = format(params, headers)?;
    let level = match params.get("level").map(String::as_str) {
        None | Some("producers") => Level::Producers(
            params
                .get("orderBy")
                .map(|name| rank_by(name))
                .transpose()?,
        ),
        Some("groups") if params.contains_key("orderBy") => {
            return Err(AppError::invalid(
                "orderBy",
                "orderBy ranks producers: use it with level=producers",
            ));
        }
        Some("groups") => Level::Groups(group_by(
            params
                .get("by")
                .ok_or_else(|| AppError::invalid("by", "level=groups needs by"))?,
        )?),
        Some(_) => {
            return Err(AppError::invalid(
                "level",
                "level must be producers or groups",
            ));
        }
    };
    let scope = Observatory::new(state).scope(filter(params)?).await?;
    Ok((format, scope, level))
}

const METRIC_COLUMNS: &[&str] = &[
    "suppressed",
    "member_count",
    "trust_index",
    "rating_count",
    "transparency_mean",
    "fairness_mean",
    "commitment_keeping_mean",
    "quality_mean",
    "signatures",
    "pledges_buy",
    "pledges_avoid",
    "pledges_switch",
    "pledges_reduce",
    "pledge_balance",
    "pledged_monthly_cents",
    "campaigns",
    "campaigns_answered",
    "response_rate",
    "median_hours_to_first_response",
    "responses_requested",
    "responses_on_time",
    "responses_overdue",
    "response_on_time_rate",
    "response_overdue_rate",
    "commitments_made",
    "commitments_kept",
    "commitments_broken",
    "commitments_open",
    // Standard errors, in the differentially private release only.
    "member_count_se",
    "trust_index_se",
    "rating_count_se",
    "signatures_se",
    "pledged_monthly_cents_se",
];

fn metric_values(cell: &Cell) -> Vec<Value> {
    let mut values = vec![json!(cell.suppressed), json!(cell.member_count)];
    match &cell.metrics {
        None => values.extend(std::iter::repeat_n(Value::Null, METRIC_COLUMNS.len() - 2)),
        Some(m) => {
            values.push(json!(m.trust_index));
            values.push(json!(m.rating_count));
            values.extend(m.dimensions.iter().map(|d| json!(d.mean)));
            values.extend([
                json!(m.signatures),
                json!(m.pledges.buy),
                json!(m.pledges.avoid),
                json!(m.pledges.switch),
                json!(m.pledges.reduce),
                json!(m.pledges.balance),
                json!(m.pledges.monthly_amount_cents),
                json!(m.responses.campaigns),
                json!(m.responses.answered),
                json!(m.responses.response_rate),
                json!(m.responses.median_hours_to_first_response),
                json!(m.responses.requested),
                json!(m.responses.answered_on_time),
                json!(m.responses.overdue),
                json!(m.responses.on_time_rate),
                json!(m.responses.overdue_rate),
                json!(m.commitments.made),
                json!(m.commitments.kept),
                json!(m.commitments.broken),
                json!(m.commitments.open),
            ]);
            let errors = m.errors.as_ref();
            values.extend([
                json!(errors.map(|e| e.member_count)),
                json!(errors.and_then(|e| e.trust_index)),
                json!(errors.map(|e| e.rating_count)),
                json!(errors.map(|e| e.signatures)),
                json!(errors.map(|e| e.monthly_amount_cents)),
            ]);
        }
    }
    values
}

/// The export's producers, a chunk at a time: by id; in ranking order
/// from the stored totals' indexes (all time or a kept window, by trust index
/// or signatures); or, for other rankings, ranked in full once and then cut
/// in chunks (over a custom range, ranking each chunk would sum the range's
/// atoms again for every chunk).
enum Chunks {
    ById(Option<uuid::Uuid>),
    Ranked(Option<RankAfter>, RankBy, bool),
    InFull(RankBy, Option<std::vec::IntoIter<obs::ProducerTrust>>),
}

impl Chunks {
    fn new(order: Option<RankBy>, scope: &obs::Scope) -> Self {
        match order {
            None => Chunks::ById(None),
            Some(by) if Observatory::ranks_by_page(by) && !obs::query::ranged(scope) => {
                Chunks::Ranked(None, by, false)
            }
            Some(by) => Chunks::InFull(by, None),
        }
    }

    async fn next(
        &mut self,
        observatory: &Observatory<'_>,
        scope: &obs::Scope,
    ) -> Result<Vec<obs::ProducerTrust>> {
        match self {
            Chunks::ById(after) => {
                let chunk = observatory
                    .producer_chunk(scope, *after, EXPORT_CHUNK)
                    .await?;
                *after = chunk.last().map(|trust| trust.producer.id);
                Ok(chunk)
            }
            Chunks::Ranked(_, _, true) => Ok(Vec::new()),
            Chunks::Ranked(after, by, done) => {
                let page = observatory
                    .ranking_page(scope, *by, *after, EXPORT_CHUNK as usize, false)
                    .await?;
                *done = !page.has_next;
                *after = page.rows.last().map(|(_, position)| *position);
                Ok(page.rows.into_iter().map(|(trust, _)| trust).collect())
            }
            Chunks::InFull(by, ranked) => {
                if ranked.is_none() {
                    *ranked = Some(observatory.ranking(scope, *by).await?.into_iter());
                }
                Ok(ranked
                    .as_mut()
                    .map(|rest| rest.take(EXPORT_CHUNK as usize).collect())
                    .unwrap_or_default())
            }
        }
    }
}

/// Streams the export. The first chunk is read before the response
/// starts, so that a failure there (the database, or its replica, down)
/// answers an error status with its code; a failure after it cuts the
/// stream, as the headers are gone.
async fn stream(state: AppState, format: Format, scope: obs::Scope, level: Level) -> Response {
    let (sender, receiver) =
        tokio::sync::mpsc::channel::<std::result::Result<Bytes, std::io::Error>>(4);
    let (ready, started) = tokio::sync::oneshot::channel::<Option<AppError>>();
    let key_columns: &[&str] = match level {
        Level::Producers(_) => &["producer_id", "producer_name"],
        Level::Groups(_) => &["group_key", "group_label", "producer_count"],
    };
    let columns: Vec<&str> = key_columns.iter().chain(METRIC_COLUMNS).copied().collect();
    tokio::spawn(async move {
        let send = |text: String| {
            let sender = sender.clone();
            async move { sender.send(Ok(Bytes::from(text))).await.is_ok() }
        };
        // Answers the waiting handler with the first read's outcome; true
        // when the stream goes on (its header sent).
        let header = format!("{}\n", columns.join(","));
        let begin = |failure: Option<AppError>| async move {
            let failed = failure.is_some();
            if ready.send(failure).is_err() || failed {
                return false;
            }
            format != Format::Csv || send(header).await
        };
        let observatory = Observatory::new(&state);
        let failed = match level {
            Level::Producers(order) => {
                let mut chunks = Chunks::new(order, &scope);
                let mut begin = Some(begin);
                loop {
                    let next = chunks.next(&observatory, &scope).await;
                    if let Some(begin) = begin.take() {
                        let failure = next.as_ref().err().cloned();
                        if !begin(failure).await {
                            return;
                        }
                    }
                    match next {
                        Ok(chunk) if chunk.is_empty() => break None,
                        Ok(chunk) => {
                            let mut text = String::new();
                            for trust in chunk {
                                let mut values = vec![
                                    json!(trust.producer.id.to_string()),
                                    json!(trust.producer.name),
                                ];
                                values.extend(metric_values(&trust.cell));
                                text.push_str(&line(format, &columns, &values));
                            }
                            if !send(text).await {
                                return;
                            }
                        }
                        Err(err) => break Some(err),
                    }
                }
            }
            Level::Groups(by) => match observatory.groups(by, &scope).await {
                Err(err) => {
                    begin(Some(err)).await;
                    return;
                }
                Ok(groups) => {
                    if !begin(None).await {
                        return;
                    }
                    for group in groups {
                        let mut values = vec![
                            json!(group.key),
                            json!(group.label),
                            json!(group.producer_count),
                        ];
                        values.extend(metric_values(&group.cell));
                        if !send(line(format, &columns, &values)).await {
                            return;
                        }
                    }
                    None
                }
            },
        };
        if let Some(err) = failed {
            // Headers are gone: cut the stream so the client sees it incomplete.
            tracing::warn!(code = err.code(), "observatory export failed mid-stream");
            let _ = sender
                .send(Err(std::io::Error::other("export interrupted")))
                .await;
        }
    });
    let content_type = match format {
        Format::Csv => "text/csv; charset=utf-8",
        Format::Ndjson => "application/x-ndjson",
    };
    let filename = match format {
        Format::Csv => "attachment; filename=\"observatory.csv\"",
        Format::Ndjson => "attachment; filename=\"observatory.ndjson\"",
    };
    match started.await {
        Ok(None) => {}
        Ok(Some(err)) => return error_response(err),
        Err(_) => {
            return error_response(AppError::Internal(
                "the export ended before it began".into(),
            ));
        }
    }
    let mut response = Body::from_stream(ReceiverStream::new(receiver)).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static(filename),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_metric_column_gets_a_value() {
        assert_eq!(
            metric_values(&Cell::suppressed()).len(),
            METRIC_COLUMNS.len()
        );
    }
}
