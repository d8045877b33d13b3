//! Products and brands: the catalogue moderators write, and what a product
//! says of each value. Labels and allergens come as value-tag slugs or Open
//! Food Facts tags (`en:vegan`, `en:gluten`); each maps to a value it
//! confirms (`YES`) or rules out (`NO`). A value a product says nothing of
//! is unknown, never taken for a match; when a label and an allergen
//! disagree, `NO` wins.

use std::collections::BTreeMap;

use chrono::Utc;
use entities::product_value::{self, ValueStatus};
use entities::{brand, producer, product, value_tag};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, Select,
    Set,
};
use uuid::Uuid;

use super::gtin;
use crate::error::{AppError, Result};
use crate::service::validate;
use crate::service::viewer::Viewer;
use crate::state::AppState;

/// Open Food Facts labels (without their language prefix) and the value
/// each confirms.
const LABELS: &[(&str, &str, ValueStatus)] = &[
    ("vegan", "vegan", ValueStatus::Yes),
    ("non-vegan", "vegan", ValueStatus::No),
    ("halal", "halal", ValueStatus::Yes),
    ("kosher", "kosher", ValueStatus::Yes),
    ("gluten-free", "gluten-free", ValueStatus::Yes),
    ("no-gluten", "gluten-free", ValueStatus::Yes),
    ("peanut-free", "peanut-free", ValueStatus::Yes),
    ("no-peanuts", "peanut-free", ValueStatus::Yes),
    ("organic", "organic", ValueStatus::Yes),
    ("eu-organic", "organic", ValueStatus::Yes),
    ("usda-organic", "organic", ValueStatus::Yes),
    ("ab-agriculture-biologique", "organic", ValueStatus::Yes),
    ("fair-trade", "fair-trade", ValueStatus::Yes),
    ("fairtrade-international", "fair-trade", ValueStatus::Yes),
    ("max-havelaar", "fair-trade", ValueStatus::Yes),
    ("palm-oil-free", "palm-oil-free", ValueStatus::Yes),
    ("no-palm-oil", "palm-oil-free", ValueStatus::Yes),
];

/// Open Food Facts allergens and the values their presence rules out.
const ALLERGENS: &[(&str, &str)] = &[
    ("gluten", "gluten-free"),
    ("peanuts", "peanut-free"),
    ("milk", "vegan"),
    ("eggs", "vegan"),
    ("fish", "vegan"),
    ("crustaceans", "vegan"),
    ("molluscs", "vegan"),
];

/// A tag without its Open Food Facts language prefix (`en:vegan` → `vegan`).
fn bare(tag: &str) -> &str {
    match tag.split_once(':') {
        Some((lang, rest)) if lang.len() == 2 => rest,
        _ => tag,
    }
}

/// What `labels` and `allergens` say of each value, by slug.
pub fn statuses(labels: &[String], allergens: &[String]) -> BTreeMap<String, ValueStatus> {
    let mut out = BTreeMap::new();
    for label in labels {
        let label = bare(label);
        let said = LABELS
            .iter()
            .find(|(tag, _, _)| *tag == label)
            .map(|(_, slug, status)| (*slug, *status))
            // A value-tag slug given as a label confirms that value.
            .unwrap_or((label, ValueStatus::Yes));
        let entry = out.entry(said.0.to_owned()).or_insert(said.1);
        if said.1 == ValueStatus::No {
            *entry = ValueStatus::No;
        }
    }
    for allergen in allergens {
        let allergen = bare(allergen);
        for (_, slug) in ALLERGENS.iter().filter(|(tag, _)| *tag == allergen) {
            out.insert((*slug).to_owned(), ValueStatus::No);
        }
    }
    out
}

/// Tags as Open Food Facts writes them: lower-case words and hyphens,
/// with an optional two-letter language prefix.
fn tags(field: &str, given: Vec<String>, max: usize, prefixed: bool) -> Result<Vec<String>> {
    if given.len() > max {
        return Err(AppError::invalid(field, format!("{field}: at most {max}")));
    }
    let mut out = Vec::with_capacity(given.len());
    for tag in given {
        let tag = tag.trim().to_lowercase();
        let (prefix, word) = match tag.split_once(':') {
            Some((lang, word)) => (Some(lang), word),
            None => (None, tag.as_str()),
        };
        let word_ok = !word.is_empty()
            && word.len() <= 100
            && word
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        let prefix_ok = match prefix {
            Some(lang) => lang.len() == 2 && lang.bytes().all(|b| b.is_ascii_lowercase()),
            None => !prefixed,
        };
        if !word_ok || !prefix_ok {
            let form = if prefixed {
                "`en:word-word`"
            } else {
                "`word-word` or `en:word-word`"
            };
            return Err(AppError::invalid(
                field,
                format!("{field}: `{tag}` is not a tag of the form {form}"),
            ));
        }
        if !out.contains(&tag) {
            out.push(tag);
        }
    }
    Ok(out)
}

/// What `create` needs (also what a member's proposal keeps until a
/// moderator accepts it).
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct NewProduct {
    pub gtin: String,
    pub name: String,
    pub brand_id: Option<Uuid>,
    pub producer_id: Option<Uuid>,
    pub categories: Vec<String>,
    pub labels: Vec<String>,
    pub allergens: Vec<String>,
    pub territories: Vec<String>,
}

/// Catalogue writes: moderators and admins.
fn require_curator(actor: Viewer) -> Result<()> {
    if actor.moderates() {
        Ok(())
    } else {
        Err(AppError::Forbidden(
            "moderators and admins write the catalogue".into(),
        ))
    }
}

/// The deepest of a JSON list of categories (the last one).
pub fn deepest(categories: &str) -> Option<String> {
    serde_json::from_str::<Vec<String>>(categories)
        .ok()
        .and_then(|list| list.last().cloned())
}

/// Adds a product to the catalogue, with what it says of each value.
pub async fn create(state: &AppState, actor: Viewer, input: NewProduct) -> Result<product::Model> {
    require_curator(actor)?;
    let gtin = gtin::normalise("input.gtin", &input.gtin)?;
    let name = validate::text("input.name", &input.name, 1, 300)?;
    let categories = tags("input.categories", input.categories, 20, true)?;
    let labels = tags("input.labels", input.labels, 30, false)?;
    let allergens = tags("input.allergens", input.allergens, 30, false)?;
    if input.territories.len() > 50 {
        return Err(AppError::invalid(
            "input.territories",
            "input.territories: at most 50",
        ));
    }
    let mut territories = Vec::new();
    for territory in &input.territories {
        let code = validate::territory("input.territories", territory)?;
        if !territories.contains(&code) {
            territories.push(code);
        }
    }
    let db = &state.db;
    if let Some(id) = input.brand_id
        && brand::Entity::find_by_id(id).one(db).await?.is_none()
    {
        return Err(AppError::NotFound("brand"));
    }
    if let Some(id) = input.producer_id
        && producer::Entity::find_by_id(id).one(db).await?.is_none()
    {
        return Err(AppError::NotFound("producer"));
    }
    if by_gtin(db, &gtin).await?.is_some() {
        return Err(AppError::Conflict(format!(
            "a product with the barcode {gtin} is in the catalogue already"
        )));
    }
    let json = |list: &[String]| serde_json::to_string(list).unwrap_or_else(|_| "[]".into());
    let now = Utc::now();
    let (writer, txn) = state.begin_write().await?;
    let created = product::ActiveModel {
        id: Set(Uuid::now_v7()),
        gtin: Set(gtin),
        name: Set(name),
        brand_id: Set(input.brand_id),
        producer_id: Set(input.producer_id),
        categories: Set(json(&categories)),
        category: Set(categories.last().cloned()),
        labels: Set(json(&labels)),
        allergens: Set(json(&allergens)),
        territories: Set(json(&territories)),
        source: Set(product::ProductSource::Catalogue),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await
    .map_err(|err| match AppError::from(err) {
        AppError::Conflict(_) => {
            AppError::Conflict("this barcode is in the catalogue already".into())
        }
        other => other,
    })?;
    write_values(&txn, created.id, &labels, &allergens).await?;
    txn.commit().await?;
    drop(writer);
    Ok(created)
}

/// Records what a product's `labels` and `allergens` say of each value,
/// replacing what was recorded.
pub async fn write_values(
    db: &impl ConnectionTrait,
    product_id: Uuid,
    labels: &[String],
    allergens: &[String],
) -> Result<()> {
    product_value::Entity::delete_many()
        .filter(product_value::Column::ProductId.eq(product_id))
        .exec(db)
        .await?;
    let said = statuses(labels, allergens);
    if said.is_empty() {
        return Ok(());
    }
    let known = value_tag::Entity::find()
        .filter(value_tag::Column::Slug.is_in(said.keys().cloned()))
        .all(db)
        .await?;
    let rows: Vec<product_value::ActiveModel> = known
        .iter()
        .filter_map(|tag| {
            Some(product_value::ActiveModel {
                product_id: Set(product_id),
                value_tag_id: Set(tag.id),
                status: Set(*said.get(&tag.slug)?),
            })
        })
        .collect();
    if !rows.is_empty() {
        product_value::Entity::insert_many(rows)
            .exec_without_returning(db)
            .await?;
    }
    Ok(())
}

/// Whether `tag` has Open Food Facts' form (lower-case words and hyphens,
/// an optional two-letter language prefix).
pub fn is_tag(tag: &str) -> bool {
    tags("tag", vec![tag.to_owned()], 1, false).is_ok()
}

/// The product with the normalised barcode `gtin`.
pub async fn by_gtin(db: &impl ConnectionTrait, gtin: &str) -> Result<Option<product::Model>> {
    Ok(product::Entity::find()
        .filter(product::Column::Gtin.eq(gtin))
        .one(db)
        .await?)
}

/// What the product `id` says of values: (value tag, status) pairs, by slug.
pub async fn values_of(
    db: &impl ConnectionTrait,
    id: Uuid,
) -> Result<Vec<(value_tag::Model, ValueStatus)>> {
    let said = product_value::Entity::find()
        .filter(product_value::Column::ProductId.eq(id))
        .all(db)
        .await?;
    let tags = value_tag::Entity::find()
        .filter(value_tag::Column::Id.is_in(said.iter().map(|row| row.value_tag_id)))
        .all(db)
        .await?;
    let mut out: Vec<_> = said
        .into_iter()
        .filter_map(|row| {
            let tag = tags.iter().find(|tag| tag.id == row.value_tag_id)?.clone();
            Some((tag, row.status))
        })
        .collect();
    out.sort_by(|a, b| a.0.slug.cmp(&b.0.slug));
    Ok(out)
}

/// How a product list may be narrowed.
#[derive(Default)]
pub struct ProductFilter {
    pub brand_id: Option<Uuid>,
    pub producer_id: Option<Uuid>,
    /// An Open Food Facts category tag the product carries.
    pub category: Option<String>,
    /// A value-tag slug the product confirms (`YES`).
    pub value_tag: Option<String>,
}

/// The products matching `filter`.
pub fn list(filter: &ProductFilter) -> Result<Select<product::Entity>> {
    let mut query = product::Entity::find();
    if let Some(id) = filter.brand_id {
        query = query.filter(product::Column::BrandId.eq(id));
    }
    if let Some(id) = filter.producer_id {
        query = query.filter(product::Column::ProducerId.eq(id));
    }
    if let Some(category) = &filter.category {
        let category = tags("filter.category", vec![category.clone()], 1, true)?.remove(0);
        // Stored as a JSON array of tags: the quoted tag is one element.
        query = query.filter(product::Column::Categories.contains(format!("\"{category}\"")));
    }
    if let Some(slug) = &filter.value_tag {
        let tag = sea_orm::sea_query::Query::select()
            .column(value_tag::Column::Id)
            .from(value_tag::Entity)
            .and_where(value_tag::Column::Slug.eq(slug.as_str()))
            .to_owned();
        let confirmed = sea_orm::sea_query::Query::select()
            .column(product_value::Column::ProductId)
            .from(product_value::Entity)
            .and_where(product_value::Column::ValueTagId.in_subquery(tag))
            .and_where(product_value::Column::Status.eq(ValueStatus::Yes))
            .to_owned();
        query = query.filter(Condition::all().add(product::Column::Id.in_subquery(confirmed)));
    }
    Ok(query)
}

/// Adds a brand, owned by `owner_id` if given.
pub async fn create_brand(
    state: &AppState,
    actor: Viewer,
    name: &str,
    owner_id: Option<Uuid>,
) -> Result<brand::Model> {
    require_curator(actor)?;
    let name = validate::text("input.name", name, 1, 200)?;
    let db = &state.db;
    if let Some(id) = owner_id
        && producer::Entity::find_by_id(id).one(db).await?.is_none()
    {
        return Err(AppError::NotFound("producer"));
    }
    let key = name.to_lowercase();
    if brand::Entity::find()
        .filter(brand::Column::NameKey.eq(key.as_str()))
        .one(db)
        .await?
        .is_some()
    {
        return Err(AppError::Conflict(format!(
            "the brand {name} exists already"
        )));
    }
    let (writer, txn) = state.begin_write().await?;
    let created = brand::ActiveModel {
        id: Set(Uuid::now_v7()),
        name: Set(name),
        name_key: Set(key),
        owner_id: Set(owner_id),
        created_at: Set(Utc::now()),
    }
    .insert(&txn)
    .await?;
    txn.commit().await?;
    drop(writer);
    Ok(created)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn said(labels: &[&str], allergens: &[&str]) -> Vec<(String, ValueStatus)> {
        let own = |list: &[&str]| list.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        statuses(&own(labels), &own(allergens))
            .into_iter()
            .collect()
    }

    #[test]
    fn labels_confirm_and_allergens_rule_out() {
        assert_eq!(
            said(&["en:vegan", "en:eu-organic", "halal"], &[]),
            [
                ("halal".to_owned(), ValueStatus::Yes),
                ("organic".to_owned(), ValueStatus::Yes),
                ("vegan".to_owned(), ValueStatus::Yes),
            ]
        );
        // A gluten-free label against gluten among the allergens: no.
        assert_eq!(
            said(&["en:no-gluten"], &["en:gluten", "en:milk"]),
            [
                ("gluten-free".to_owned(), ValueStatus::No),
                ("vegan".to_owned(), ValueStatus::No),
            ]
        );
        // Nothing said: nothing known.
        assert!(said(&[], &["en:mustard"]).is_empty());
    }

    #[test]
    fn tags_are_checked() {
        assert!(tags("t", vec!["en:hazelnut-spreads".into()], 5, true).is_ok());
        assert!(tags("t", vec!["hazelnut-spreads".into()], 5, true).is_err());
        assert!(tags("t", vec!["vegan".into(), "fr:bio".into()], 5, false).is_ok());
        assert!(tags("t", vec!["Vegan <b>".into()], 5, false).is_err());
        assert!(tags("t", vec!["a".into(), "b".into()], 1, false).is_err());
    }
}
