//! Communities: creating them, joining and leaving, finding them.

use std::collections::HashMap;

use entities::community_member::MembershipRole;
use entities::{community, community_member, community_value_tag, value_tag};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, Select,
    Set,
};
use uuid::Uuid;

use crate::error::{AppError, Result};
use crate::service::viewer::Viewer;
use crate::service::{campaigns::value_tag as tags, signing::standing, validate};
use crate::state::AppState;

/// What `create` needs.
pub struct NewCommunity {
    pub name: String,
    pub slug: String,
    pub description: Option<String>,
    pub value_tags: Vec<String>,
    pub territory: Option<String>,
    /// `en` or `fr`; by default its creator's language.
    pub language: Option<String>,
}

/// Creates a community; its creator joins it as its first moderator.
pub async fn create(
    state: &AppState,
    actor: Viewer,
    input: NewCommunity,
) -> Result<community::Model> {
    let db = &state.db;
    let name = validate::text("input.name", &input.name, 3, 120)?;
    let slug = validate::slug("input.slug", &input.slug)?;
    let description =
        validate::optional_text("input.description", input.description.as_deref(), 5_000)?
            .unwrap_or_default();
    let territory = validate::optional_territory("input.territory", input.territory.as_deref())?;
    let tag_ids = tags::resolve(db, "input.valueTags", &input.value_tags).await?;
    let language = crate::service::identity::profile::language_of(
        db,
        "input.language",
        input.language.as_deref(),
        actor,
    )
    .await?;
    if community::Entity::find()
        .filter(community::Column::Slug.eq(&slug))
        .one(db)
        .await?
        .is_some()
    {
        return Err(AppError::Conflict(format!("the slug `{slug}` is taken")));
    }

    let now = validate::now();
    let (writer, txn) = state.begin_write().await?;
    let created = community::ActiveModel {
        id: Set(Uuid::now_v7()),
        slug: Set(slug.clone()),
        name: Set(name),
        description: Set(description),
        territory: Set(territory),
        language: Set(language),
        member_count: Set(1),
        momentum: Set(standing::log_weight(now)),
        created_by: Set(Some(actor.id)),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await
    .map_err(AppError::on_unique(format!("the slug `{slug}` is taken")))?;
    if !tag_ids.is_empty() {
        community_value_tag::Entity::insert_many(tag_ids.into_iter().map(|value_tag_id| {
            community_value_tag::ActiveModel {
                community_id: Set(created.id),
                value_tag_id: Set(value_tag_id),
            }
        }))
        .exec(&txn)
        .await?;
    }
    community_member::ActiveModel {
        community_id: Set(created.id),
        member_id: Set(actor.id),
        role: Set(MembershipRole::Moderator),
        joined_at: Set(now),
    }
    .insert(&txn)
    .await?;
    txn.commit().await?;
    drop(writer);
    Ok(created)
}

/// The community with this id, or `NOT_FOUND`.
pub async fn get(db: &impl ConnectionTrait, id: Uuid) -> Result<community::Model> {
    community::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound("community"))
}

/// The community with this slug, if any.
pub async fn by_slug(db: &impl ConnectionTrait, slug: &str) -> Result<Option<community::Model>> {
    Ok(community::Entity::find()
        .filter(community::Column::Slug.eq(slug.trim()))
        .one(db)
        .await?)
}

/// Joins a community; joining twice is a `CONFLICT`.
pub async fn join(state: &AppState, actor: Viewer, id: Uuid) -> Result<community::Model> {
    let found = get(&state.db, id).await?;
    let now = validate::now();
    let (writer, txn) = state.begin_write().await?;
    community_member::ActiveModel {
        community_id: Set(found.id),
        member_id: Set(actor.id),
        role: Set(MembershipRole::Member),
        joined_at: Set(now),
    }
    .insert(&txn)
    .await
    .map_err(AppError::on_unique(
        "you are already a member of this community",
    ))?;
    standing::membership(&txn, found.id, now, 1).await?;
    txn.commit().await?;
    drop(writer);
    get(&state.db, id).await
}

/// Leaves a community; leaving one you are not in is a `CONFLICT`.
pub async fn leave(state: &AppState, actor: Viewer, id: Uuid) -> Result<community::Model> {
    let found = get(&state.db, id).await?;
    let (writer, txn) = state.begin_write().await?;
    let deleted = community_member::Entity::delete_by_id((found.id, actor.id))
        .exec(&txn)
        .await?;
    if deleted.rows_affected == 0 {
        return Err(AppError::Conflict(
            "you are not a member of this community".into(),
        ));
    }
    standing::membership(&txn, found.id, validate::now(), -1).await?;
    txn.commit().await?;
    drop(writer);
    get(&state.db, id).await
}

/// How a community list may be narrowed.
#[derive(Default)]
pub struct CommunityFilter {
    /// Slug of a value tag the community must share.
    pub value_tag: Option<String>,
    /// A country also matches its subdivisions: `FR` finds `FR-IDF`.
    pub territory: Option<String>,
}

/// The communities matching `filter`, for the caller to page through.
pub fn list(filter: CommunityFilter) -> Result<Select<community::Entity>> {
    let mut query = community::Entity::find();
    if let Some(territory) = filter.territory.as_deref() {
        let territory = validate::territory("filter.territory", territory)?;
        query = query.filter(territory_condition(
            community::Column::Territory,
            &territory,
        ));
    }
    if let Some(slug) = filter.value_tag.as_deref() {
        let tagged = tags::owners_tagged(
            community_value_tag::Entity,
            community_value_tag::Column::CommunityId,
            community_value_tag::Column::ValueTagId,
            slug,
        );
        query = query.filter(community::Column::Id.in_subquery(tagged));
    }
    Ok(query)
}

/// `column` equals `territory`, or lies inside it when it is a country.
pub fn territory_condition(column: impl ColumnTrait, territory: &str) -> Condition {
    let mut condition = Condition::any().add(column.eq(territory));
    if !territory.contains('-') {
        condition = condition.add(column.starts_with(format!("{territory}-")));
    }
    condition
}

/// The communities in `ids` that `member` belongs to.
pub async fn memberships(
    db: &impl ConnectionTrait,
    member: Uuid,
    ids: &[Uuid],
) -> Result<Vec<community_member::Model>> {
    Ok(community_member::Entity::find()
        .filter(community_member::Column::MemberId.eq(member))
        .filter(community_member::Column::CommunityId.is_in(ids.iter().copied()))
        .all(db)
        .await?)
}

/// The value tags of each community in `ids`.
pub async fn tags_of(
    db: &impl ConnectionTrait,
    ids: &[Uuid],
) -> Result<HashMap<Uuid, Vec<value_tag::Model>>> {
    let rows = community_value_tag::Entity::find()
        .filter(community_value_tag::Column::CommunityId.is_in(ids.iter().copied()))
        .all(db)
        .await?;
    tags::grouped(
        db,
        rows.into_iter()
            .map(|row| (row.community_id, row.value_tag_id)),
    )
    .await
}
