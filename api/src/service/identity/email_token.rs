//! Single-use tokens sent by mail: address confirmation and password reset.
//! Only their SHA-256 digest is stored; spending one is a guarded update,
//! so two requests racing with the same link cannot both succeed.

use chrono::Duration;
use entities::email_token::{self, Column, TokenPurpose};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use uuid::Uuid;

use crate::error::{AppError, Result};
use crate::service::secret::{random_token, token_digest};
use crate::service::validate;

/// Creates a token for `member_id`, valid for `ttl`; returns the secret to mail.
pub async fn issue(
    db: &impl ConnectionTrait,
    member_id: Uuid,
    purpose: TokenPurpose,
    ttl: Duration,
) -> Result<String> {
    let token = random_token("");
    let now = validate::now();
    email_token::ActiveModel {
        id: Set(Uuid::now_v7()),
        member_id: Set(member_id),
        purpose: Set(purpose),
        token_hash: Set(token_digest(&token)),
        created_at: Set(now),
        expires_at: Set(now + ttl),
        used_at: Set(None),
    }
    .insert(db)
    .await?;
    Ok(token)
}

/// The unspent, unexpired token `token` for `purpose`, read without
/// writing anything: a cheap check that comes before costly work (a password
/// hash, SQLite's writer turn). `BAD_USER_INPUT` on `field` otherwise.
pub async fn check(
    db: &impl ConnectionTrait,
    field: &str,
    token: &str,
    purpose: TokenPurpose,
) -> Result<email_token::Model> {
    let found = find(db, field, token, purpose).await?;
    if found.used_at.is_some() || found.expires_at <= validate::now() {
        return Err(invalid(field));
    }
    Ok(found)
}

/// The token row whatever its state (spent or expired included), or
/// `BAD_USER_INPUT` on `field` when no such token was issued for `purpose`.
pub async fn find(
    db: &impl ConnectionTrait,
    field: &str,
    token: &str,
    purpose: TokenPurpose,
) -> Result<email_token::Model> {
    let token = token.trim();
    if token.is_empty() || token.len() > 128 {
        return Err(invalid(field));
    }
    email_token::Entity::find()
        .filter(Column::TokenHash.eq(token_digest(token)))
        .filter(Column::Purpose.eq(purpose))
        .one(db)
        .await?
        .ok_or_else(|| invalid(field))
}

fn invalid(field: &str) -> AppError {
    AppError::invalid(field, "this link is invalid, expired or already used")
}

/// Spends `token`: the token row, or `BAD_USER_INPUT` on `field` when the
/// token is unknown, meant for something else, expired or already spent.
pub async fn spend(
    db: &impl ConnectionTrait,
    field: &str,
    token: &str,
    purpose: TokenPurpose,
) -> Result<email_token::Model> {
    let found = find(db, field, token, purpose).await?;
    let now = validate::now();
    let spent = email_token::Entity::update_many()
        .col_expr(Column::UsedAt, Expr::value(now))
        .filter(Column::Id.eq(found.id))
        .filter(Column::UsedAt.is_null())
        .filter(Column::ExpiresAt.gt(now))
        .exec(db)
        .await?;
    if spent.rows_affected != 1 {
        return Err(invalid(field));
    }
    Ok(found)
}

/// Spends every unused token of `member_id` for `purpose` (a newer link, a
/// reset done, an address confirmed).
pub async fn revoke(
    db: &impl ConnectionTrait,
    member_id: Uuid,
    purpose: TokenPurpose,
) -> Result<()> {
    email_token::Entity::update_many()
        .col_expr(Column::UsedAt, Expr::value(validate::now()))
        .filter(Column::MemberId.eq(member_id))
        .filter(Column::Purpose.eq(purpose))
        .filter(Column::UsedAt.is_null())
        .exec(db)
        .await?;
    Ok(())
}

/// Deletes tokens that expired before `before` (spent or not).
pub async fn purge_expired(
    db: &impl ConnectionTrait,
    before: chrono::DateTime<chrono::Utc>,
) -> Result<u64> {
    Ok(email_token::Entity::delete_many()
        .filter(Column::ExpiresAt.lt(before))
        .exec(db)
        .await?
        .rows_affected)
}
