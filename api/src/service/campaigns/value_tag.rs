//! The value-tag taxonomy: listing it, extending it, resolving slugs.

use entities::value_tag::{self, Category};
use std::collections::HashMap;

use sea_orm::sea_query::{Expr, ExprTrait, Query, SelectStatement};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set,
};
use uuid::Uuid;

use crate::error::{AppError, Result};
use crate::service::validate;
use crate::service::viewer::Viewer;

/// Most value tags one community or campaign may carry.
pub const MAX_TAGS: usize = 10;

/// Every tag, optionally of one category, ordered by category then slug.
pub async fn list(
    db: &impl ConnectionTrait,
    category: Option<Category>,
) -> Result<Vec<value_tag::Model>> {
    let mut query = value_tag::Entity::find();
    if let Some(category) = category {
        query = query.filter(value_tag::Column::Category.eq(category));
    }
    Ok(query
        .order_by_asc(value_tag::Column::Category)
        .order_by_asc(value_tag::Column::Slug)
        .all(db)
        .await?)
}

/// What `create` needs.
pub struct NewValueTag {
    pub slug: String,
    pub name: String,
    pub category: Category,
    pub description: Option<String>,
}

/// Adds a tag to the taxonomy; admins only.
pub async fn create(
    db: &impl ConnectionTrait,
    actor: Viewer,
    input: NewValueTag,
) -> Result<value_tag::Model> {
    if !actor.is_admin() {
        return Err(AppError::Forbidden(
            "only an admin may extend the value taxonomy".into(),
        ));
    }
    let slug = validate::slug("input.slug", &input.slug)?;
    let name = validate::text("input.name", &input.name, 2, 80)?;
    let description =
        validate::optional_text("input.description", input.description.as_deref(), 500)?
            .unwrap_or_default();
    value_tag::ActiveModel {
        id: Set(Uuid::now_v7()),
        slug: Set(slug.clone()),
        name: Set(name),
        category: Set(input.category),
        description: Set(description),
        created_at: Set(validate::now()),
    }
    .insert(db)
    .await
    .map_err(AppError::on_unique(format!(
        "the value tag `{slug}` exists already"
    )))
}

/// The ids of the tags named by `slugs` (deduplicated), refusing unknown ones.
pub async fn resolve(
    db: &impl ConnectionTrait,
    field: &str,
    slugs: &[String],
) -> Result<Vec<Uuid>> {
    let mut wanted: Vec<&str> = slugs.iter().map(|slug| slug.trim()).collect();
    wanted.sort_unstable();
    wanted.dedup();
    if wanted.len() > MAX_TAGS {
        return Err(AppError::invalid(
            field,
            format!("{field} may hold at most {MAX_TAGS} value tags"),
        ));
    }
    if wanted.is_empty() {
        return Ok(Vec::new());
    }
    let found = value_tag::Entity::find()
        .filter(value_tag::Column::Slug.is_in(wanted.iter().copied()))
        .all(db)
        .await?;
    if let Some(missing) = wanted
        .iter()
        .find(|slug| !found.iter().any(|tag| tag.slug == **slug))
    {
        return Err(AppError::invalid(
            field,
            format!("unknown value tag `{missing}`"),
        ));
    }
    Ok(found.into_iter().map(|tag| tag.id).collect())
}

/// Loads the tags named in `(owner, tag)` pairs and groups them by owner.
pub async fn grouped(
    db: &impl ConnectionTrait,
    pairs: impl Iterator<Item = (Uuid, Uuid)>,
) -> Result<HashMap<Uuid, Vec<value_tag::Model>>> {
    let pairs: Vec<(Uuid, Uuid)> = pairs.collect();
    let tags: HashMap<Uuid, value_tag::Model> = value_tag::Entity::find()
        .filter(value_tag::Column::Id.is_in(pairs.iter().map(|(_, tag)| *tag)))
        .all(db)
        .await?
        .into_iter()
        .map(|tag| (tag.id, tag))
        .collect();
    let mut grouped: HashMap<Uuid, Vec<value_tag::Model>> = HashMap::new();
    for (owner, tag) in pairs {
        if let Some(tag) = tags.get(&tag) {
            grouped.entry(owner).or_default().push(tag.clone());
        }
    }
    for list in grouped.values_mut() {
        list.sort_by(|a, b| a.slug.cmp(&b.slug));
    }
    Ok(grouped)
}

/// `SELECT owner FROM link JOIN value_tag … WHERE value_tag.slug = slug`: the
/// ids of whatever `link` ties to the tag named `slug`, for an `IN` filter.
pub fn owners_tagged<E: EntityTrait>(
    link: E,
    owner: E::Column,
    tag: E::Column,
    slug: &str,
) -> SelectStatement {
    Query::select()
        .column(owner)
        .from(link)
        .inner_join(
            value_tag::Entity,
            Expr::col((value_tag::Entity, value_tag::Column::Id)).equals((link, tag)),
        )
        .and_where(Expr::col((value_tag::Entity, value_tag::Column::Slug)).eq(slug.trim()))
        .to_owned()
}
