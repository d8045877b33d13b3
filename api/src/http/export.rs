//! What the streamed exports share (the observatory's, the organiser's
//! signatures): the format a client asks for, one line of CSV or NDJSON,
//! and errors in GraphQL's shape with a matching HTTP status.

use std::collections::HashMap;

use axum::Json;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::error::{AppError, Result};

/// An error as JSON in GraphQL's shape, with the HTTP status its code means.
pub fn error_response(err: AppError) -> Response {
    let status = match err.code() {
        "BAD_USER_INPUT" => StatusCode::BAD_REQUEST,
        "UNAUTHENTICATED" => StatusCode::UNAUTHORIZED,
        "FORBIDDEN" => StatusCode::FORBIDDEN,
        "NOT_FOUND" => StatusCode::NOT_FOUND,
        "UNAVAILABLE" => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    let mut extensions = json!({ "code": err.code() });
    if let AppError::InvalidInput { field, .. } = &err {
        extensions["field"] = json!(field);
    }
    if let AppError::Internal(detail) = &err {
        tracing::error!(%detail, "export failed");
    }
    let body = json!({ "errors": [{ "message": err.message(), "extensions": extensions }] });
    (status, Json(body)).into_response()
}

/// The format of an export.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Ndjson,
}

pub fn format(params: &HashMap<String, String>, headers: &HeaderMap) -> Result<Format> {
    if let Some(format) = params.get("format") {
        return match format.to_ascii_lowercase().as_str() {
            "csv" => Ok(Format::Csv),
            "ndjson" | "jsonl" => Ok(Format::Ndjson),
            _ => Err(AppError::invalid("format", "format must be csv or ndjson")),
        };
    }
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    Ok(if accept.contains("ndjson") {
        Format::Ndjson
    } else {
        Format::Csv
    })
}

fn csv_field(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(text) => {
            // A name starting like a formula would run as one in a spreadsheet.
            let text = if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
                format!("'{text}")
            } else {
                text.clone()
            };
            if text.contains([',', '"', '\n', '\r']) {
                format!("\"{}\"", text.replace('"', "\"\""))
            } else {
                text
            }
        }
        other => other.to_string(),
    }
}

/// One line of an export: CSV fields in `columns` order, or an NDJSON object.
pub fn line(format: Format, columns: &[&str], values: &[Value]) -> String {
    match format {
        Format::Csv => {
            let mut line = values.iter().map(csv_field).collect::<Vec<_>>().join(",");
            line.push('\n');
            line
        }
        Format::Ndjson => {
            let object: serde_json::Map<String, Value> = columns
                .iter()
                .map(|column| (*column).to_owned())
                .zip(values.iter().cloned())
                .collect();
            let mut line = Value::Object(object).to_string();
            line.push('\n');
            line
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_when_needed() {
        assert_eq!(csv_field(&json!("plain")), "plain");
        assert_eq!(csv_field(&json!("a, \"b\"")), "\"a, \"\"b\"\"\"");
        assert_eq!(csv_field(&Value::Null), "");
        assert_eq!(csv_field(&json!(4.5)), "4.5");
        assert_eq!(csv_field(&json!("=HYPERLINK(1)")), "'=HYPERLINK(1)");
    }
}
