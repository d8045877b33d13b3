//! Passwords by mail: asking for a reset link, using it, and changing a
//! password while signed in. A reset signs the account out everywhere and
//! lifts its failed-login limit.

use chrono::Duration;
use entities::email_token::TokenPurpose;
use entities::{auth_token, member};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use crate::error::{AppError, Result};
use crate::outbox::mail::Mail;
use crate::outbox::templates::Template;
use crate::ratelimit::Action;
use crate::service::secret::token_digest;
use crate::service::viewer::Viewer;
use crate::service::{identity::email_token, validate};
use crate::state::AppState;

/// How long a reset link stays valid.
const RESET_TTL_MINUTES: i64 = 60;

/// Mails a reset link to `email` if it belongs to an account. The answer is
/// the same either way (and a member asking too often is silently skipped),
/// so nobody learns who has an account.
pub async fn request_reset(state: &AppState, email: &str) -> Result<bool> {
    let email = validate::email("email", email)?;
    let found = member::Entity::find()
        .filter(member::Column::EmailKey.eq(validate::email_key(&email)))
        .one(&state.db)
        .await?;
    let Some(found) = found else {
        return Ok(true);
    };
    if state.limits.check_member(Action::Resend, found.id).is_err() {
        tracing::info!(member = %found.id, "password reset mail skipped: asked too often");
        return Ok(true);
    }
    let (writer, txn) = state.begin_write().await?;
    let token = email_token::issue(
        &txn,
        found.id,
        TokenPurpose::Reset,
        Duration::minutes(RESET_TTL_MINUTES),
    )
    .await?;
    Mail::new(&found.email, &found.locale, Template::PasswordReset)
        .var("name", &found.display_name)
        .var(
            "link",
            format!("{}/reset-password?token={token}", state.public_url),
        )
        .enqueue(&txn)
        .await?;
    txn.commit().await?;
    drop(writer);
    state.outbox.wake();
    Ok(true)
}

/// Sets a new password with a reset link's token; every session of the
/// account ends and its failed-login limit is lifted.
pub async fn reset(state: &AppState, token: &str, new_password: String) -> Result<bool> {
    validate::password("newPassword", &new_password)?;
    // The token is looked up before the costly hash: a bogus one costs a read.
    email_token::check(&state.db, "token", token, TokenPurpose::Reset).await?;
    let hash = state.passwords.hash(new_password).await?;
    let (writer, txn) = state.begin_write().await?;
    let spent = email_token::spend(&txn, "token", token, TokenPurpose::Reset).await?;
    // An erased account's links are revoked with it; should one survive
    // (a row written meanwhile), it still never opens the tombstone.
    let erased = member::Entity::find_by_id(spent.member_id)
        .one(&txn)
        .await?
        .is_none_or(|found| {
            found
                .email
                .ends_with(crate::service::identity::privacy::ERASED_DOMAIN)
        });
    if erased {
        return Err(AppError::invalid(
            "token",
            "this link is invalid, expired or already used",
        ));
    }
    set_password(&txn, spent.member_id, hash, None).await?;
    email_token::revoke(&txn, spent.member_id, TokenPurpose::Reset).await?;
    txn.commit().await?;
    drop(writer);
    state
        .caches
        .member_changed(state.bus.as_ref(), spent.member_id)
        .await;
    state
        .limits
        .login_failures
        .clear(&spent.member_id.to_string());
    Ok(true)
}

/// Changes a signed-in member's password, given the current one; their
/// other sessions end, the one making the change stays.
pub async fn change(
    state: &AppState,
    actor: Viewer,
    client: std::net::IpAddr,
    current_token: Option<&str>,
    current: String,
    new_password: String,
) -> Result<bool> {
    validate::password("newPassword", &new_password)?;
    let found = member::Entity::find_by_id(actor.id)
        .one(&state.db)
        .await?
        .ok_or(AppError::NotFound("member"))?;
    // Counted apart from logins: strangers failing to sign in as this member
    // never slow the member's own change.
    let account = format!("change:{}", actor.id);
    state.limits.login_failures.check(&account, client)?;
    if !state
        .passwords
        .verify(current, found.password_hash.clone())
        .await?
    {
        state.limits.login_failures.record(&account, client);
        return Err(AppError::invalid(
            "currentPassword",
            "the current password is wrong",
        ));
    }
    let hash = state.passwords.hash(new_password).await?;
    let (writer, txn) = state.begin_write().await?;
    set_password(&txn, actor.id, hash, current_token).await?;
    txn.commit().await?;
    drop(writer);
    state
        .caches
        .member_changed(state.bus.as_ref(), actor.id)
        .await;
    Ok(true)
}

/// Stores a new hash and revokes the account's bearer tokens, but `keep`.
async fn set_password(
    txn: &impl ConnectionTrait,
    member_id: Uuid,
    hash: String,
    keep: Option<&str>,
) -> Result<()> {
    member::Entity::update_many()
        .col_expr(member::Column::PasswordHash, Expr::value(hash))
        .col_expr(member::Column::UpdatedAt, Expr::value(validate::now()))
        .filter(member::Column::Id.eq(member_id))
        .exec(txn)
        .await?;
    let mut revoke =
        auth_token::Entity::delete_many().filter(auth_token::Column::MemberId.eq(member_id));
    if let Some(keep) = keep {
        revoke = revoke.filter(auth_token::Column::TokenHash.ne(token_digest(keep)));
    }
    revoke.exec(txn).await?;
    Ok(())
}
