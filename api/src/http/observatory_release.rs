//! The differentially private release over plain HTTP: the ledger as a
//! page (`GET /observatory/privacy`), and each released month as open data
//! at a stable address, `GET /observatory/releases/YYYY-MM.csv`, with its
//! data card, `GET /observatory/releases/YYYY-MM.json` (columns, method,
//! guarantee, licence). A released month never changes, so neither do they.

use axum::Router;
use axum::extract::{FromRef, Path, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};

use super::export::{Format, error_response, line};
use super::viewer;
use crate::error::{AppError, Result};
use crate::service::observatory::atoms::COUNT_COLUMNS;
use crate::service::observatory::release::{self, budget, ledger};
use crate::service::observatory::{self as obs, Part};
use crate::state::AppState;
use crate::text::escape_html;

const NO_SUCH_FILE: AppError =
    AppError::NotFound("no such release file: use YYYY-MM.csv or YYYY-MM.json");

/// The licence of the released figures.
pub const LICENCE: &str = "CC-BY-4.0";

pub fn routes<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    AppState: FromRef<S>,
{
    Router::new()
        .route("/observatory/privacy", get(page))
        .route("/observatory/releases/{file}", get(file))
}

/// A released month's file: `YYYY-MM.csv` or `YYYY-MM.json`.
async fn file(
    State(state): State<AppState>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Response {
    match serve(&state, &name, &headers).await {
        Ok(response) => response,
        Err(err) => error_response(err),
    }
}

async fn serve(state: &AppState, name: &str, headers: &HeaderMap) -> Result<Response> {
    obs::authorize(state, viewer(state, headers).await?, Part::Picture)?;
    let (month, extension) = name
        .rsplit_once('.')
        .filter(|(month, _)| {
            chrono::NaiveDate::parse_from_str(&format!("{month}-01"), "%Y-%m-%d").is_ok()
                && month.len() == 7
        })
        .ok_or(NO_SUCH_FILE)?;
    let period = format!("{month}-01");
    let db = &state.observatory_db;
    let privacy = &state.config.privacy;
    let ledger = ledger::read(db, &privacy.dp_rho, &privacy.dp_rho_total).await?;
    let Some(released) = ledger.periods.into_iter().find(|p| p.period == period) else {
        return Err(AppError::NotFound("that month was not released"));
    };
    let cache = if state.config.observatory_public {
        "public, max-age=86400, immutable"
    } else {
        "private, max-age=86400"
    };
    let (content_type, body) = match extension {
        "csv" => ("text/csv; charset=utf-8", csv(db, &period).await?),
        "json" => (
            "application/json",
            serde_json::to_string_pretty(&card(&released, month)).unwrap_or_default(),
        ),
        _ => {
            return Err(NO_SUCH_FILE);
        }
    };
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    Ok(response)
}

/// The columns of a released month's CSV, described for its card.
fn columns() -> Vec<(String, &'static str)> {
    let mut out = vec![
        (
            "period".to_owned(),
            "first day of the month released (YYYY-MM-DD)",
        ),
        ("producer_id".to_owned(), "the producer's id"),
        ("producer".to_owned(), "the producer's name"),
        (
            "members".to_owned(),
            "distinct members who signed, rated or pledged, with noise (at least the threshold)",
        ),
    ];
    for column in COUNT_COLUMNS {
        let description = match column {
            "signatures" => "distinct signers, with noise",
            "pledged_cents" => {
                "monthly amounts pledged, each member's capped, with noise, in cents (a multiple of 100)"
            }
            c if c.starts_with("ratings_") => "ratings of this dimension, with noise",
            c if c.starts_with("score_") => {
                "sum of this dimension's scores (1-5), with noise; the mean is it divided by the ratings"
            }
            _ => "members who pledged this kind, with noise",
        };
        out.push((column.to_owned(), description));
    }
    out
}

async fn csv(db: &sea_orm::DatabaseConnection, period: &str) -> Result<String> {
    let names: Vec<String> = columns().into_iter().map(|(name, _)| name).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let mut out = format!("{}\n", names.join(","));
    for cell in ledger::cells(db, period).await? {
        let mut values: Vec<Value> = vec![
            json!(period),
            json!(cell.producer_id.to_string()),
            json!(cell.producer),
            json!(cell.members),
        ];
        values.extend(cell.counts.iter().map(|count| json!(count)));
        out.push_str(&line(Format::Csv, &names, &values));
    }
    Ok(out)
}

/// A released month's data card.
fn card(released: &ledger::PeriodRelease, month: &str) -> Value {
    let rho: f64 = released.rho.parse().unwrap_or(f64::NAN);
    json!({
        "title": format!("Consumact consumer-trust observatory, {month}"),
        "period": released.period,
        "data": format!("/observatory/releases/{month}.csv"),
        "licence": LICENCE,
        "released_at": released.released_at,
        "code_version": released.code_version,
        "columns": columns().into_iter().map(|(name, description)| json!({ "name": name, "description": description })).collect::<Vec<_>>(),
        "method": {
            "mechanism": released.mechanism,
            "unit": "one member (or one offline signature) over one calendar month",
            "contribution_bounds": {
                "max_producers_per_member": released.max_producers,
                "per_producer": "one signature, one pledge of each kind, one rating of each dimension (scores 1-5)",
                "pledge_cap_cents": released.pledge_cap_cents,
            },
            "measures": released.measures.iter().map(|m| json!({
                "measure": m.measure,
                "rho": m.rho,
                "sensitivity": m.sensitivity,
                "noise_standard_deviation": m.standard_deviation,
            })).collect::<Vec<_>>(),
            "publication": format!(
                "a producer's cell is published when its noisy member count is at least {} (a function of the budget alone); every known producer ({}) got noise, {} cells were published",
                released.threshold, released.producers, released.published
            ),
            "post_processing": "negative counts raised to 0; score sums kept within 0-4 per rating above the ratings count; nothing else",
        },
        "guarantee": {
            "rho_zcdp": rho,
            "epsilon_at_delta_1e-9": budget::epsilon_at(rho, 1e-9),
            "covers": "every figure of the month's cells, and anything computed from them (sums over producers, groups, months, rankings)",
            "does_not_cover": "producers' own acts (campaigns aimed at them, answers, commitments), which are public; campaigns' public signature counts; composition with other months (their rho add up, see the ledger)",
        },
    })
}

/// The ledger, as a page anyone can read.
async fn page(State(state): State<AppState>) -> Response {
    match privacy_page(&state).await {
        Ok(html) => (
            [
                (header::CONTENT_TYPE, "text/html; charset=utf-8"),
                (
                    header::CONTENT_SECURITY_POLICY,
                    "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
                ),
            ],
            html,
        )
            .into_response(),
        Err(err) => error_response(err),
    }
}

async fn privacy_page(state: &AppState) -> Result<String> {
    let privacy = &state.config.privacy;
    let mut body = String::new();
    if !privacy.dp() {
        body.push_str(&format!(
            "<p>This observatory publishes by <strong>k-anonymous suppression</strong>: a producer's \
             month with fewer than k = {} distinct members enters no figure. It spends no \
             differential privacy budget; nothing below applies.</p>",
            state.config.observatory_k
        ));
        return Ok(document(&body));
    }
    let ledger = ledger::read(
        &state.observatory_db,
        &privacy.dp_rho,
        &privacy.dp_rho_total,
    )
    .await?;
    let b = budget::Budget::of(privacy);
    let rho = privacy.dp_rho.value();
    body.push_str(&format!(
        "<p>Each closed month is released once, with <strong>{}</strong>, at \
         <strong>&rho; = {}</strong> per month (zCDP), that is (&epsilon; = {:.2}, &delta; = 10<sup>-9</sup>)-differential \
         privacy for each member's month. Released months never change.</p>\
         <p>Budget: &rho; spent <strong>{}</strong> of a total {}; {} left.</p>",
        escape_html(release::MECHANISM),
        escape_html(&privacy.dp_rho.text),
        budget::epsilon_at(rho, 1e-9),
        escape_html(&ledger.spent),
        escape_html(&privacy.dp_rho_total.text),
        escape_html(&ledger.remaining),
    ));
    if let Some(refusal) = &ledger.refusal {
        body.push_str(&format!(
            "<p role=\"alert\"><strong>No further month will be released:</strong> {}</p>",
            escape_html(refusal)
        ));
    }
    body.push_str(&format!(
        "<h2>Contribution bounds</h2><ul><li>a member counts for at most {} producers a month (chosen at random beyond)</li>\
         <li>per producer: one signature, one pledge of each kind, one rating of each dimension (scores 1–5)</li>\
         <li>pledged amounts capped at {} cents per member, producer and month</li>\
         <li>a cell is published when its noisy member count reaches {}</li></ul>",
        b.max_producers,
        privacy.dp_pledge_cap_cents,
        b.threshold()
    ));
    body.push_str("<h2>Released months</h2><table><thead><tr><th scope=\"col\">Month</th><th scope=\"col\">&rho;</th><th scope=\"col\">Published cells</th><th scope=\"col\">Producers</th><th scope=\"col\">Released</th><th scope=\"col\">Code</th><th scope=\"col\">Open data</th></tr></thead><tbody>");
    for period in ledger.periods.iter().rev() {
        let month = period.period.get(..7).unwrap_or_default();
        body.push_str(&format!(
            "<tr><td>{month}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>\
             <td><a href=\"/observatory/releases/{month}.csv\">CSV</a> · <a href=\"/observatory/releases/{month}.json\">data card</a></td></tr>",
            escape_html(&period.rho),
            period.published,
            period.producers,
            period.released_at.format("%Y-%m-%d %H:%M UTC"),
            escape_html(&period.code_version),
        ));
    }
    if ledger.periods.is_empty() {
        body.push_str("<tr><td colspan=\"7\">No month released yet.</td></tr>");
    }
    body.push_str("</tbody></table>");
    if let Some(last) = ledger.periods.last() {
        body.push_str(&format!("<h2>What {} spent, by measure</h2><table><thead><tr><th scope=\"col\">Measure</th><th scope=\"col\">&rho;</th><th scope=\"col\">Sensitivity</th><th scope=\"col\">Noise &sigma;</th></tr></thead><tbody>", &last.period[..7]));
        for m in &last.measures {
            body.push_str(&format!(
                "<tr><td>{}</td><td>{:.4}</td><td>{}</td><td>{:.2}</td></tr>",
                escape_html(&m.measure),
                m.rho,
                m.sensitivity,
                m.standard_deviation
            ));
        }
        body.push_str("</tbody></table>");
    }
    Ok(document(&body))
}

fn document(body: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>Observatory privacy ledger</title><style>\
         body{{font-family:system-ui,sans-serif;max-width:60rem;margin:1rem auto;padding:0 1rem;line-height:1.5}}\
         table{{border-collapse:collapse;width:100%;display:block;overflow-x:auto}}\
         th,td{{border-bottom:1px solid #ccc;padding:.3rem .6rem;text-align:left}}\
         </style></head><body><h1>Observatory privacy ledger</h1>{body}\
         <p><a href=\"/observatory\">Back to the observatory</a></p></body></html>"
    )
}
