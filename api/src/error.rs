//! The domain's one error type and its one mapping to GraphQL errors.
//!
//! Every variant says what the client receives as `extensions.code`. Database
//! and other internal failures are logged with their detail and reach the
//! client as a bare `INTERNAL` or `UNAVAILABLE`, never with SQL in them.
//!
//! `AppError` deliberately does not implement `Display`: async-graphql has a
//! blanket `From<T: Display>` for its error type that would swallow the
//! extensions; without `Display` our own `From` below applies instead, and a
//! resolver can return `Result<T, AppError>` directly.

use async_graphql::ErrorExtensions;
use sea_orm::{DbErr, RuntimeErr, SqlErr};

/// Result of every service function.
pub type Result<T> = std::result::Result<T, AppError>;

#[derive(Clone, Debug)]
pub enum AppError {
    /// `BAD_USER_INPUT`, with `extensions.field` naming the offending input.
    InvalidInput { field: String, message: String },
    /// `NOT_FOUND`: the id or slug names nothing the caller may see.
    NotFound(&'static str),
    /// `UNAUTHENTICATED`: no token, or a token that is unknown or expired.
    Unauthenticated(&'static str),
    /// `FORBIDDEN`: authenticated, but not allowed to do this.
    Forbidden(String),
    /// `FORBIDDEN` with `extensions.reason`, a stable word a client can act
    /// on (`EMAIL_NOT_CONFIRMED`: confirm your address first).
    Refused {
        reason: &'static str,
        message: String,
    },
    /// `CONFLICT`: a duplicate, or an action the current state does not allow.
    Conflict(String),
    /// `RATE_LIMITED`, with `extensions.retryAfterMs`.
    RateLimited { retry_after_ms: u64 },
    /// `UNAVAILABLE`: a backing service is down; retrying later may succeed.
    Unavailable,
    /// `INTERNAL`: a bug or unexpected state; the detail goes to the log only.
    Internal(String),
}

impl AppError {
    /// A `BAD_USER_INPUT` error about `field`.
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        AppError::InvalidInput {
            field: field.to_owned(),
            message: message.into(),
        }
    }

    /// The stable `extensions.code` clients switch on.
    pub fn code(&self) -> &'static str {
        match self {
            AppError::InvalidInput { .. } => "BAD_USER_INPUT",
            AppError::NotFound(_) => "NOT_FOUND",
            AppError::Unauthenticated(_) => "UNAUTHENTICATED",
            AppError::Forbidden(_) | AppError::Refused { .. } => "FORBIDDEN",
            AppError::Conflict(_) => "CONFLICT",
            AppError::RateLimited { .. } => "RATE_LIMITED",
            AppError::Unavailable => "UNAVAILABLE",
            AppError::Internal(_) => "INTERNAL",
        }
    }

    /// The message a client may show to a person.
    pub fn message(&self) -> String {
        match self {
            AppError::InvalidInput { message, .. } => message.clone(),
            AppError::NotFound(what) => format!("{what} not found"),
            AppError::Unauthenticated(why) => (*why).to_owned(),
            AppError::Forbidden(message)
            | AppError::Conflict(message)
            | AppError::Refused { message, .. } => message.clone(),
            AppError::RateLimited { .. } => "too many requests, try again later".to_owned(),
            AppError::Unavailable => "service temporarily unavailable, try again".to_owned(),
            AppError::Internal(_) => "internal error".to_owned(),
        }
    }

    /// `FORBIDDEN` with reason `EMAIL_NOT_CONFIRMED`.
    pub fn email_not_confirmed() -> Self {
        AppError::Refused {
            reason: "EMAIL_NOT_CONFIRMED",
            message: "confirm your e-mail address first (see the mail we sent you)".into(),
        }
    }

    /// Maps a failed write to `CONFLICT` when it broke a unique constraint,
    /// and to the usual database mapping otherwise.
    pub fn on_unique(message: impl Into<String>) -> impl FnOnce(DbErr) -> AppError {
        move |err| match err.sql_err() {
            Some(SqlErr::UniqueConstraintViolation(_)) => AppError::Conflict(message.into()),
            _ => AppError::from(err),
        }
    }
}

/// Whether a database error means "the database is not reachable right
/// now" (retrying later may succeed) rather than a bug.
fn database_unreachable(err: &DbErr) -> bool {
    let runtime = match err {
        DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => return true,
        DbErr::Exec(runtime) | DbErr::Query(runtime) => runtime,
        _ => return false,
    };
    let RuntimeErr::SqlxError(sqlx_error) = runtime else {
        return false;
    };
    match sqlx_error.as_ref() {
        sqlx::Error::Io(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::Protocol(_) => true,
        // Class 08: connection exceptions; 57P: the server is shutting down
        // or starting; 57014: a statement stopped by `statement_timeout`
        // (the database is too busy to answer in time).
        sqlx::Error::Database(database) => database.code().is_some_and(|code| {
            code.starts_with("08") || code.starts_with("57P") || code == "57014"
        }),
        _ => false,
    }
}

impl From<DbErr> for AppError {
    fn from(err: DbErr) -> Self {
        if database_unreachable(&err) {
            tracing::warn!(error = %err, "database unavailable");
            AppError::Unavailable
        } else {
            tracing::error!(error = %err, "database error");
            AppError::Internal(err.to_string())
        }
    }
}

impl From<AppError> for async_graphql::Error {
    fn from(err: AppError) -> Self {
        err.extend()
    }
}

impl ErrorExtensions for AppError {
    fn extend(&self) -> async_graphql::Error {
        async_graphql::Error::new(self.message()).extend_with(|_, extensions| {
            extensions.set("code", self.code());
            match self {
                AppError::InvalidInput { field, .. } => extensions.set("field", field.as_str()),
                AppError::RateLimited { retry_after_ms } => {
                    extensions.set("retryAfterMs", *retry_after_ms)
                }
                AppError::Refused { reason, .. } => extensions.set("reason", *reason),
                _ => {}
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_errors_hide_their_detail() {
        let err = AppError::Internal("relation \"member\" does not exist".into());
        assert_eq!(err.message(), "internal error");
        assert_eq!(err.code(), "INTERNAL");
    }

    #[test]
    fn invalid_input_names_its_field() {
        let gql: async_graphql::Error = AppError::invalid("input.slug", "too short").into();
        let extensions = gql.extensions.expect("extensions");
        assert_eq!(
            extensions.get("code"),
            Some(&async_graphql::Value::from("BAD_USER_INPUT"))
        );
        assert_eq!(
            extensions.get("field"),
            Some(&async_graphql::Value::from("input.slug"))
        );
    }
}
