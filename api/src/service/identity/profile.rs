//! A member's own profile for discovery: the values they hold, where they
//! live, their language, and whether what they do (communities joined,
//! campaigns signed) counts as a signal too. Private to the member.

use entities::{member, member_value_tag, value_tag};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use uuid::Uuid;

use crate::error::{AppError, Result};
use crate::service::viewer::Viewer;
use crate::service::{campaigns::value_tag as tags, validate};
use crate::state::AppState;

/// What `update` may change; `None` leaves a field as it is.
#[derive(Default)]
pub struct ProfileChanges {
    /// Replaces the member's values (slugs of value tags).
    pub values: Option<Vec<String>>,
    /// An empty text removes it.
    pub territory: Option<String>,
    pub locale: Option<String>,
    pub use_activity_signals: Option<bool>,
}

/// Applies `changes` to `actor`'s profile, in one transaction.
pub async fn update(
    state: &AppState,
    actor: Viewer,
    changes: ProfileChanges,
) -> Result<member::Model> {
    let values = match &changes.values {
        Some(slugs) => Some(tags::resolve(&state.db, "input.values", slugs).await?),
        None => None,
    };
    let territory = changes
        .territory
        .as_deref()
        .map(|territory| validate::clearable_territory("input.territory", territory))
        .transpose()?;
    let locale = changes
        .locale
        .as_deref()
        .map(|locale| validate::locale("input.locale", Some(locale)))
        .transpose()?;
    let (writer, txn) = state.begin_write().await?;
    let mut update = member::Entity::update_many()
        .col_expr(member::Column::UpdatedAt, Expr::value(validate::now()))
        .filter(member::Column::Id.eq(actor.id));
    if let Some(territory) = territory {
        update = update.col_expr(member::Column::Territory, Expr::value(territory));
    }
    if let Some(locale) = locale {
        update = update.col_expr(member::Column::Locale, Expr::value(locale));
    }
    if let Some(signals) = changes.use_activity_signals {
        update = update.col_expr(member::Column::UseActivitySignals, Expr::value(signals));
    }
    update.exec(&txn).await?;
    if let Some(values) = values {
        member_value_tag::Entity::delete_many()
            .filter(member_value_tag::Column::MemberId.eq(actor.id))
            .exec(&txn)
            .await?;
        if !values.is_empty() {
            member_value_tag::Entity::insert_many(values.into_iter().map(|tag| {
                member_value_tag::ActiveModel {
                    member_id: Set(actor.id),
                    value_tag_id: Set(tag),
                }
            }))
            .exec_without_returning(&txn)
            .await?;
        }
    }
    let updated = member::Entity::find_by_id(actor.id)
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound("member"))?;
    txn.commit().await?;
    drop(writer);
    state
        .caches
        .member_changed(state.bus.as_ref(), actor.id)
        .await;
    Ok(updated)
}

/// The language content is written in: `given` (`en` or `fr`), or by
/// default the language of its author's mail.
pub async fn language_of(
    db: &impl ConnectionTrait,
    field: &str,
    given: Option<&str>,
    author: Viewer,
) -> Result<String> {
    if given.is_some() {
        return validate::locale(field, given);
    }
    Ok(member::Entity::find_by_id(author.id)
        .one(db)
        .await?
        .map_or_else(|| "en".to_owned(), |found| found.locale))
}

/// The values `member` holds, by slug.
pub async fn values_of(db: &impl ConnectionTrait, member: Uuid) -> Result<Vec<value_tag::Model>> {
    let ids: Vec<Uuid> = member_value_tag::Entity::find()
        .filter(member_value_tag::Column::MemberId.eq(member))
        .all(db)
        .await?
        .into_iter()
        .map(|row| row.value_tag_id)
        .collect();
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(value_tag::Entity::find()
        .filter(value_tag::Column::Id.is_in(ids))
        .order_by_asc(value_tag::Column::Slug)
        .all(db)
        .await?)
}
