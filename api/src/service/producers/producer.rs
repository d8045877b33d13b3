//! Producers: the brands, companies and cooperatives campaigns address.

use entities::producer::{self, ProducerKind};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Select, Set,
};
use uuid::Uuid;

use crate::error::{AppError, Result};
use crate::service::campaigns::community::territory_condition;
use crate::service::observatory::rollup::AtomRule;
use crate::service::validate;
use crate::service::viewer::Viewer;
use crate::state::AppState;

/// What `create` needs.
pub struct NewProducer {
    pub name: String,
    pub kind: ProducerKind,
    pub sector: String,
    pub territory: Option<String>,
    pub labels: Vec<String>,
    pub website: Option<String>,
    pub description: Option<String>,
}

/// The case- and space-insensitive form under which a name is unique.
fn name_key(name: &str) -> String {
    name.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// Registers a producer; any member may, so campaigns can target anyone.
pub async fn create(
    state: &AppState,
    actor: Viewer,
    input: NewProducer,
) -> Result<producer::Model> {
    let db = &state.db;
    let name = validate::text("input.name", &input.name, 2, 120)?;
    let sector = validate::slug("input.sector", &input.sector)?;
    let territory = validate::optional_territory("input.territory", input.territory.as_deref())?;
    let labels = validate::labels("input.labels", &input.labels)?;
    let website = input
        .website
        .as_deref()
        .filter(|site| !site.trim().is_empty())
        .map(|site| validate::website("input.website", site))
        .transpose()?;
    let description =
        validate::optional_text("input.description", input.description.as_deref(), 5_000)?
            .unwrap_or_default();
    let key = name_key(&name);
    let taken = AppError::Conflict(format!("a producer named `{name}` exists already"));
    if producer::Entity::find()
        .filter(producer::Column::NameKey.eq(&key))
        .one(db)
        .await?
        .is_some()
    {
        return Err(taken);
    }
    let now = validate::now();
    let (writer, txn) = state.begin_write().await?;
    let created = producer::ActiveModel {
        id: Set(Uuid::now_v7()),
        name: Set(name.clone()),
        name_key: Set(key),
        kind: Set(input.kind),
        sector: Set(sector),
        territory: Set(territory),
        labels: Set(serde_json::to_string(&labels).map_err(|e| AppError::Internal(e.to_string()))?),
        website: Set(website),
        lei: Set(None),
        wikidata: Set(None),
        open_corporates: Set(None),
        description: Set(description),
        created_by: Set(Some(actor.id)),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await
    .map_err(AppError::on_unique(format!(
        "a producer named `{name}` exists already"
    )))?;
    // Its observatory total and its sector and territory groups.
    crate::service::observatory::groups::regroup(&txn, AtomRule::of(&state.config), created.id)
        .await?;
    txn.commit().await?;
    drop(writer);
    Ok(created)
}

/// The producer with this id, or `NOT_FOUND`.
pub async fn get(db: &impl ConnectionTrait, id: Uuid) -> Result<producer::Model> {
    producer::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound("producer"))
}

/// A producer's labels, decoded from their stored JSON.
pub fn labels(model: &producer::Model) -> Vec<String> {
    serde_json::from_str(&model.labels).unwrap_or_default()
}

/// How a producer list may be narrowed.
#[derive(Default)]
pub struct ProducerFilter {
    pub sector: Option<String>,
    pub kind: Option<ProducerKind>,
    /// A country also matches its subdivisions.
    pub territory: Option<String>,
}

/// The producers matching `filter`, for the caller to page through.
pub fn list(filter: ProducerFilter) -> Result<Select<producer::Entity>> {
    let mut query = producer::Entity::find();
    if let Some(sector) = filter.sector.as_deref() {
        query = query.filter(producer::Column::Sector.eq(sector.trim()));
    }
    if let Some(kind) = filter.kind {
        query = query.filter(producer::Column::Kind.eq(kind));
    }
    if let Some(territory) = filter.territory.as_deref() {
        let territory = validate::territory("filter.territory", territory)?;
        query = query.filter(territory_condition(producer::Column::Territory, &territory));
    }
    Ok(query)
}

#[cfg(test)]
mod tests {
    use super::name_key;

    #[test]
    fn names_collide_regardless_of_case_and_spacing() {
        assert_eq!(name_key("  Acme   Foods "), name_key("acme foods"));
    }
}
