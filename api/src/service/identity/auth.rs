//! Accounts and sessions: registration, login, bearer tokens and roles.
//!
//! Passwords are hashed with Argon2id (cost from config, on a blocking thread
//! so the async workers keep serving). Tokens are 256 random bits; only their
//! SHA-256 digest is stored, so a database leak yields no usable token.

use chrono::Duration;
use entities::{auth_token, member, member::Role};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    Set,
};
use std::sync::Arc;

use uuid::Uuid;

use crate::cache::TokenEntry;
use crate::error::{AppError, Result};
use crate::service::secret::{random_token, token_digest};
pub use crate::service::viewer::Viewer;
use crate::service::{identity::confirmation, validate};
use crate::state::AppState;

pub use crate::service::identity::hashing::Passwords;

/// What `register` needs.
pub struct Registration {
    pub handle: String,
    pub email: String,
    pub password: String,
    pub display_name: Option<String>,
    pub territory: Option<String>,
    /// `en` (default) or `fr`: the language of the mail the member gets.
    pub locale: Option<String>,
}

/// A member and the bearer token that now authenticates them.
pub struct Session {
    pub token: String,
    pub member: member::Model,
}

async fn issue_token(db: &impl ConnectionTrait, member_id: Uuid, ttl_hours: u32) -> Result<String> {
    let token = random_token("cst_");
    let now = validate::now();
    auth_token::ActiveModel {
        id: Set(Uuid::now_v7()),
        member_id: Set(member_id),
        token_hash: Set(token_digest(&token)),
        created_at: Set(now),
        expires_at: Set(now + Duration::hours(i64::from(ttl_hours))),
    }
    .insert(db)
    .await?;
    Ok(token)
}

/// The answer to a registration whose address is already held: it does not
/// say whose, nor even that it is held, beyond refusing.
const ADDRESS_REFUSED: &str = "this e-mail address cannot be used for a new account; if it is yours, sign in or reset your password";

/// Creates a member with role MEMBER (unless the block-list refuses the
/// client's network or the address's domain), signs them in, and (with
/// confirmation required) mails them a confirmation link, written to the
/// outbox in the same transaction as the account.
pub async fn register(
    state: &AppState,
    client: Option<std::net::IpAddr>,
    input: Registration,
) -> Result<Session> {
    let handle = validate::handle("input.handle", &input.handle)?;
    let email = validate::email("input.email", &input.email)?;
    let domain = crate::service::source::email_domain(&email);
    state.blocks.check(client, domain.as_deref())?;
    validate::password("input.password", &input.password)?;
    let display_name = match input.display_name.as_deref() {
        Some(name) => validate::text("input.displayName", name, 1, 80)?,
        None => handle.clone(),
    };
    let territory = validate::optional_territory("input.territory", input.territory.as_deref())?;
    let locale = validate::locale("input.locale", input.locale.as_deref())?;
    check_available(&state.db, &handle, &email).await?;
    check_not_released(
        &state.db,
        &handle,
        state.config.limits.handle_quarantine_days,
    )
    .await?;
    let password_hash = state.passwords.hash(input.password).await?;
    let (writer, txn) = state.begin_write().await?;
    let member = insert_member(
        &txn,
        NewMember {
            handle,
            email,
            password_hash,
            display_name,
            territory,
            locale,
            role: Role::Member,
            confirmed: false,
        },
    )
    .await?;
    let token = issue_token(&txn, member.id, state.config.token_ttl_hours).await?;
    if state.config.confirmation_required() {
        confirmation::mail_link(&txn, state, &member).await?;
    }
    txn.commit().await?;
    drop(writer);
    state.outbox.wake();
    Ok(Session { token, member })
}

struct NewMember {
    handle: String,
    email: String,
    password_hash: String,
    display_name: String,
    territory: Option<String>,
    locale: String,
    role: Role,
    /// Admins created by the operator count as confirmed.
    confirmed: bool,
}

/// Friendly answers for the common case; the unique indexes stay the guard
/// under races.
async fn check_available(db: &impl ConnectionTrait, handle: &str, email: &str) -> Result<()> {
    if member::Entity::find()
        .filter(member::Column::HandleKey.eq(handle.to_lowercase()))
        .one(db)
        .await?
        .is_some()
    {
        return Err(AppError::Conflict(format!(
            "the handle `{handle}` is taken"
        )));
    }
    if member::Entity::find()
        .filter(member::Column::EmailKey.eq(validate::email_key(email)))
        .one(db)
        .await?
        .is_some()
    {
        return Err(AppError::Conflict(ADDRESS_REFUSED.into()));
    }
    Ok(())
}

/// `CONFLICT` (as for a taken handle) while `handle` is one an erased
/// account gave up less than `days` ago: a name others still know as
/// someone's is not handed to a newcomer at once.
async fn check_not_released(db: &impl ConnectionTrait, handle: &str, days: u32) -> Result<()> {
    let since = validate::now() - Duration::days(i64::from(days));
    let held = entities::released_handle::Entity::find_by_id(handle.to_lowercase())
        .one(db)
        .await?
        .is_some_and(|released| released.released_at > since);
    if held {
        return Err(AppError::Conflict(format!(
            "the handle `{handle}` is taken"
        )));
    }
    Ok(())
}

async fn insert_member(db: &impl ConnectionTrait, new: NewMember) -> Result<member::Model> {
    let now = validate::now();
    member::ActiveModel {
        id: Set(Uuid::now_v7()),
        handle_key: Set(new.handle.to_lowercase()),
        handle: Set(new.handle),
        email_key: Set(validate::email_key(&new.email)),
        email: Set(new.email),
        email_confirmed_at: Set(new.confirmed.then_some(now)),
        locale: Set(new.locale),
        password_hash: Set(new.password_hash),
        display_name: Set(new.display_name),
        role: Set(new.role),
        territory: Set(new.territory),
        notify_milestones: Set(true),
        notify_responses: Set(true),
        notify_commitments: Set(true),
        notify_updates: Set(true),
        notify_new_campaigns: Set(true),
        use_activity_signals: Set(true),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db)
    .await
    .map_err(AppError::on_unique(
        "this handle or e-mail address cannot be used for a new account",
    ))
}

/// Signs in with a handle or an email and a password. Failures are counted
/// per account and source network with a growing delay
/// (`ratelimit::LoginFailures`); an absent account is counted and hashed
/// exactly as a present one, so neither the answer nor its time tells
/// whether it exists.
pub async fn login(
    state: &AppState,
    client: std::net::IpAddr,
    login: &str,
    password: String,
) -> Result<Session> {
    let login = login.trim();
    let condition = if login.contains('@') {
        member::Column::EmailKey.eq(validate::email_key(login))
    } else {
        member::Column::HandleKey.eq(login.to_lowercase())
    };
    let found = member::Entity::find()
        .filter(condition)
        .one(&state.db)
        .await?;
    let account = match &found {
        Some(member) => member.id.to_string(),
        None => format!("absent:{}", login.to_lowercase()),
    };
    let failures = &state.limits.login_failures;
    failures.check(&account, client)?;
    let matches = match &found {
        Some(member) => {
            state
                .passwords
                .verify(password, member.password_hash.clone())
                .await?
        }
        None => state.passwords.verify_nothing(password).await?,
    };
    let (true, Some(member)) = (matches, found) else {
        failures.record(&account, client);
        return Err(AppError::Unauthenticated("wrong handle, email or password"));
    };
    failures.succeeded(&account, client);
    let token = issue_token(&state.db, member.id, state.config.token_ttl_hours).await?;
    Ok(Session { token, member })
}

/// Revokes one token, on every instance.
pub async fn logout(state: &AppState, member: Uuid, token: &str) -> Result<bool> {
    let result = auth_token::Entity::delete_many()
        .filter(auth_token::Column::TokenHash.eq(token_digest(token)))
        .exec(&state.db)
        .await?;
    state
        .caches
        .member_changed(state.bus.as_ref(), member)
        .await;
    Ok(result.rows_affected > 0)
}

/// The member a bearer token authenticates: `UNAUTHENTICATED` when the token
/// is unknown or expired. From this instance's cache when it holds the
/// token (see `cache`), else one query, token and member together.
pub async fn member_for_token(state: &AppState, token: &str) -> Result<member::Model> {
    let digest = token_digest(token);
    if let Some(entry) = state.caches.token(&digest) {
        return Ok(entry.member.as_ref().clone());
    }
    let read = state.caches.generation();
    let found = auth_token::Entity::find()
        .filter(auth_token::Column::TokenHash.eq(digest.as_str()))
        .find_also_related(member::Entity)
        .one(&state.db)
        .await?;
    match found {
        Some((token, Some(member))) if token.expires_at > validate::now() => {
            state.caches.put_token(
                read,
                digest,
                TokenEntry {
                    member: Arc::new(member.clone()),
                    expires_at: token.expires_at,
                },
            );
            Ok(member)
        }
        Some((_, Some(_))) => Err(AppError::Unauthenticated(
            "your session has expired, sign in again",
        )),
        _ => Err(AppError::Unauthenticated("invalid bearer token")),
    }
}

/// Creates the admin named by the arguments, or promotes that handle when it
/// already exists *and* its address is the one given (compared in canonical
/// form; its password is left untouched then). A handle held by an account
/// with another address is refused (`CONFLICT`): whoever registered the
/// handle first would otherwise be made admin with their own credentials.
pub async fn ensure_admin(
    db: &DatabaseConnection,
    passwords: &Passwords,
    handle: &str,
    email: &str,
    password: &str,
) -> Result<member::Model> {
    let handle = validate::handle("handle", handle)?;
    let email = validate::email("email", email)?;
    validate::password("password", password)?;
    let existing = member::Entity::find()
        .filter(member::Column::HandleKey.eq(handle.to_lowercase()))
        .one(db)
        .await?;
    if let Some(existing) = existing {
        if existing.email_key != validate::email_key(&email) {
            return Err(AppError::Conflict(format!(
                "the handle `{handle}` belongs to an account with another e-mail address, \
                 so it is not made admin: choose a free handle for the first admin \
                 (CONSUMACT_ADMIN_HANDLE), or set CONSUMACT_ADMIN_EMAIL to that account's \
                 address if it is yours"
            )));
        }
        if existing.role == Role::Admin && existing.email_confirmed_at.is_some() {
            return Ok(existing);
        }
        // An admin named by the operator counts as confirmed.
        let now = validate::now();
        let mut active: member::ActiveModel = existing.clone().into();
        active.role = Set(Role::Admin);
        active.email_confirmed_at = Set(existing.email_confirmed_at.or(Some(now)));
        active.updated_at = Set(now);
        return Ok(active.update(db).await?);
    }
    check_available(db, &handle, &email).await?;
    let password_hash = passwords.hash(password.to_owned()).await?;
    insert_member(
        db,
        NewMember {
            display_name: handle.clone(),
            handle,
            email,
            password_hash,
            territory: None,
            locale: "en".to_owned(),
            role: Role::Admin,
            confirmed: true,
        },
    )
    .await
}

/// Grants a role. Only admins may, and an admin cannot demote themself (so
/// the last admin cannot lock everyone out by mistake).
pub async fn set_role(
    db: &DatabaseConnection,
    actor: Viewer,
    member_id: Uuid,
    role: Role,
) -> Result<member::Model> {
    if !actor.is_admin() {
        return Err(AppError::Forbidden("only an admin may grant roles".into()));
    }
    if actor.id == member_id && role != Role::Admin {
        return Err(AppError::Conflict(
            "an admin cannot remove their own admin role".into(),
        ));
    }
    let member = member::Entity::find_by_id(member_id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound("member"))?;
    let mut active: member::ActiveModel = member.into();
    active.role = Set(role);
    active.updated_at = Set(validate::now());
    Ok(active.update(db).await?)
}
