//! The Open Food Facts JSONL export (one product per line:
//! `code`, `product_name`, `brands`, `brands_tags`, `brand_owner`,
//! `categories_tags`, `labels_tags`, `allergens_tags`, `countries_tags`)
//! into the catalogue, streaming, in batches, idempotent: a product whose
//! fields are unchanged is left alone, so running the same file again
//! changes nothing and an interrupted run is resumed by running it again.
//! Imported products say `OPEN_FOOD_FACTS` as their source (ODbL).

use std::collections::HashMap;
use std::io::BufRead;
use std::time::Instant;

use chrono::Utc;
use entities::producer::ProducerKind;
use entities::product::ProductSource;
use entities::{brand, producer, product, product_value, value_tag};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, Set,
    TransactionTrait,
};
use serde::Deserialize;
use uuid::Uuid;

use super::countries::iso_of;
use crate::error::{AppError, Result};
use crate::service::catalogue::{gtin, product as catalogue};

/// One line of the export (fields the catalogue keeps).
#[derive(Deserialize, Default)]
struct Line {
    #[serde(default)]
    code: String,
    #[serde(default)]
    product_name: Option<String>,
    #[serde(default)]
    brands: Option<String>,
    #[serde(default)]
    brands_tags: Vec<String>,
    #[serde(default)]
    brand_owner: Option<String>,
    #[serde(default)]
    categories_tags: Vec<String>,
    #[serde(default)]
    labels_tags: Vec<String>,
    #[serde(default)]
    allergens_tags: Vec<String>,
    #[serde(default)]
    countries_tags: Vec<String>,
}

/// What an import did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Report {
    pub lines: u64,
    pub inserted: u64,
    pub updated: u64,
    pub unchanged: u64,
    /// Lines without a valid barcode or a name, or not JSON.
    pub skipped: u64,
    pub brands_created: u64,
    pub producers_created: u64,
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} lines: {} products inserted, {} updated, {} unchanged, {} skipped; {} brands and {} producers created",
            self.lines,
            self.inserted,
            self.updated,
            self.unchanged,
            self.skipped,
            self.brands_created,
            self.producers_created
        )
    }
}

/// Lines read and written per transaction.
const BATCH: usize = 500;

/// Imports every line of `input`.
pub async fn run(db: &DatabaseConnection, input: impl BufRead) -> Result<Report> {
    let started = Instant::now();
    let mut report = Report::default();
    let mut cache = Names::default();
    let mut batch = Vec::with_capacity(BATCH);
    for line in input.lines() {
        let line = line.map_err(|err| AppError::Internal(format!("reading the export: {err}")))?;
        if line.trim().is_empty() {
            continue;
        }
        report.lines += 1;
        match serde_json::from_str::<Line>(&line) {
            Ok(parsed) => batch.push(parsed),
            Err(_) => report.skipped += 1,
        }
        if batch.len() >= BATCH {
            write(db, std::mem::take(&mut batch), &mut cache, &mut report).await?;
        }
    }
    write(db, batch, &mut cache, &mut report).await?;
    tracing::info!(
        seconds = started.elapsed().as_secs_f64(),
        "import: {report}"
    );
    Ok(report)
}

/// Brands and producers by lower-cased name, as found or created, and the
/// value tags by slug.
#[derive(Default)]
struct Names {
    brands: HashMap<String, Uuid>,
    producers: HashMap<String, Uuid>,
    tags: HashMap<String, Uuid>,
}

/// Tags kept as Open Food Facts writes them (others dropped).
fn clean(tags: Vec<String>, max: usize) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for tag in tags {
        let tag = tag.trim().to_lowercase();
        if catalogue::is_tag(&tag) && !out.contains(&tag) && out.len() < max {
            out.push(tag);
        }
    }
    out
}

/// A line ready to write.
struct Row {
    code: String,
    fields: Fields,
    labels: Vec<String>,
    allergens: Vec<String>,
}

/// What a product row holds besides its key: name, brand, maker,
/// categories, labels, allergens, territories (the lists as JSON).
type Fields = (
    String,
    Option<Uuid>,
    Option<Uuid>,
    String,
    String,
    String,
    String,
);

fn fields_of(found: &product::Model) -> Fields {
    (
        found.name.clone(),
        found.brand_id,
        found.producer_id,
        found.categories.clone(),
        found.labels.clone(),
        found.allergens.clone(),
        found.territories.clone(),
    )
}

/// Writes one batch in one transaction: the products already there are
/// read in one query, the new ones inserted in multi-row statements.
async fn write(
    db: &DatabaseConnection,
    lines: Vec<Line>,
    names: &mut Names,
    report: &mut Report,
) -> Result<()> {
    if lines.is_empty() {
        return Ok(());
    }
    let txn = db.begin().await?;
    if db.get_database_backend() == sea_orm::DbBackend::Sqlite {
        // A running server may be writing too.
        crate::db::take_sqlite_write_lock(&txn).await?;
    }
    if names.tags.is_empty() {
        names.tags = value_tag::Entity::find()
            .all(&txn)
            .await?
            .into_iter()
            .map(|tag| (tag.slug, tag.id))
            .collect();
    }
    // The last line of a barcode wins within a batch.
    let mut rows: Vec<Row> = Vec::with_capacity(lines.len());
    let mut at: HashMap<String, usize> = HashMap::new();
    for line in lines {
        let Some(row) = row_of(&txn, line, names, report).await? else {
            report.skipped += 1;
            continue;
        };
        match at.get(&row.code) {
            Some(&i) => {
                rows[i] = row;
                report.skipped += 1;
            }
            None => {
                at.insert(row.code.clone(), rows.len());
                rows.push(row);
            }
        }
    }
    let existing: HashMap<String, product::Model> = product::Entity::find()
        .filter(product::Column::Gtin.is_in(rows.iter().map(|row| row.code.clone())))
        .all(&txn)
        .await?
        .into_iter()
        .map(|found| (found.gtin.clone(), found))
        .collect();
    let now = Utc::now();
    let mut inserts = Vec::new();
    let mut values = Vec::new();
    for row in rows {
        let id = match existing.get(&row.code) {
            Some(found) if fields_of(found) == row.fields => {
                report.unchanged += 1;
                continue;
            }
            Some(found) => {
                let mut active: product::ActiveModel = found.clone().into();
                let fields = row.fields;
                active.name = Set(fields.0);
                active.brand_id = Set(fields.1);
                active.producer_id = Set(fields.2);
                active.categories = Set(fields.3);
                active.labels = Set(fields.4);
                active.allergens = Set(fields.5);
                active.territories = Set(fields.6);
                active.source = Set(ProductSource::OpenFoodFacts);
                active.updated_at = Set(now);
                active.update(&txn).await?;
                product_value::Entity::delete_many()
                    .filter(product_value::Column::ProductId.eq(found.id))
                    .exec(&txn)
                    .await?;
                report.updated += 1;
                found.id
            }
            None => {
                let id = Uuid::now_v7();
                let fields = row.fields;
                inserts.push(product::ActiveModel {
                    id: Set(id),
                    gtin: Set(row.code),
                    name: Set(fields.0),
                    brand_id: Set(fields.1),
                    producer_id: Set(fields.2),
                    categories: Set(fields.3),
                    labels: Set(fields.4),
                    allergens: Set(fields.5),
                    territories: Set(fields.6),
                    source: Set(ProductSource::OpenFoodFacts),
                    created_at: Set(now),
                    updated_at: Set(now),
                });
                report.inserted += 1;
                id
            }
        };
        for (slug, status) in catalogue::statuses(&row.labels, &row.allergens) {
            if let Some(&tag) = names.tags.get(&slug) {
                values.push(product_value::ActiveModel {
                    product_id: Set(id),
                    value_tag_id: Set(tag),
                    status: Set(status),
                });
            }
        }
    }
    for chunk in chunks(inserts, 200) {
        product::Entity::insert_many(chunk)
            .exec_without_returning(&txn)
            .await?;
    }
    for chunk in chunks(values, 1_000) {
        product_value::Entity::insert_many(chunk)
            .exec_without_returning(&txn)
            .await?;
    }
    txn.commit().await?;
    Ok(())
}

/// `rows` in pieces of at most `size` (well under the databases' limits on
/// bound values).
fn chunks<T>(rows: Vec<T>, size: usize) -> Vec<Vec<T>> {
    let mut out = Vec::new();
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        out.push(rows.by_ref().take(size).collect());
    }
    out
}

/// A line's barcode and fields, its brand and owner found or created;
/// `None` without a valid barcode or a name.
async fn row_of(
    db: &impl sea_orm::ConnectionTrait,
    line: Line,
    names: &mut Names,
    report: &mut Report,
) -> Result<Option<Row>> {
    let Ok(code) = gtin::normalise("code", &line.code) else {
        return Ok(None);
    };
    let Some(name) = line
        .product_name
        .as_deref()
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .map(|name| name.chars().take(300).collect::<String>())
    else {
        return Ok(None);
    };
    let owner = match line
        .brand_owner
        .as_deref()
        .map(str::trim)
        .filter(|o| !o.is_empty())
    {
        Some(owner) => Some(producer_named(db, names, owner, report).await?),
        None => None,
    };
    let brand_name = line
        .brands
        .as_deref()
        .and_then(|brands| brands.split(',').next())
        .map(str::trim)
        .filter(|brand| !brand.is_empty())
        .map(str::to_owned)
        .or_else(|| line.brands_tags.first().cloned());
    let brand = match brand_name {
        Some(brand) => Some(brand_named(db, names, &brand, owner, report).await?),
        None => None,
    };
    let categories = clean(line.categories_tags, 20);
    let labels = clean(line.labels_tags, 30);
    let allergens = clean(line.allergens_tags, 30);
    let mut territories: Vec<String> = Vec::new();
    for country in &line.countries_tags {
        if let Some(iso) = iso_of(country)
            && !territories.iter().any(|known| known == iso)
        {
            territories.push(iso.to_owned());
        }
    }
    let json = |list: &[String]| serde_json::to_string(list).unwrap_or_else(|_| "[]".into());
    let fields = (
        name,
        brand,
        owner,
        json(&categories),
        json(&labels),
        json(&allergens),
        json(&territories),
    );
    Ok(Some(Row {
        code,
        fields,
        labels,
        allergens,
    }))
}

/// The producer named `name`, created if there is none.
async fn producer_named(
    db: &impl sea_orm::ConnectionTrait,
    names: &mut Names,
    name: &str,
    report: &mut Report,
) -> Result<Uuid> {
    let name: String = name.chars().take(200).collect();
    let key = name.to_lowercase();
    if let Some(id) = names.producers.get(&key) {
        return Ok(*id);
    }
    let id = match producer::Entity::find()
        .filter(producer::Column::NameKey.eq(key.as_str()))
        .one(db)
        .await?
    {
        Some(found) => found.id,
        None => {
            let now = Utc::now();
            let id = Uuid::now_v7();
            producer::ActiveModel {
                id: Set(id),
                name: Set(name),
                name_key: Set(key.clone()),
                kind: Set(ProducerKind::LargeGroup),
                sector: Set("food".into()),
                territory: Set(None),
                labels: Set("[]".into()),
                website: Set(None),
                lei: Set(None),
                wikidata: Set(None),
                open_corporates: Set(None),
                description: Set("Brand owner named by Open Food Facts.".into()),
                created_by: Set(None),
                created_at: Set(now),
                updated_at: Set(now),
            }
            .insert(db)
            .await?;
            report.producers_created += 1;
            id
        }
    };
    names.producers.insert(key, id);
    Ok(id)
}

/// The brand named `name`, created (owned by `owner`) if there is none; a
/// brand without an owner gains `owner`.
async fn brand_named(
    db: &impl sea_orm::ConnectionTrait,
    names: &mut Names,
    name: &str,
    owner: Option<Uuid>,
    report: &mut Report,
) -> Result<Uuid> {
    let name: String = name.chars().take(200).collect();
    let key = name.to_lowercase();
    if let Some(id) = names.brands.get(&key) {
        return Ok(*id);
    }
    let id = match brand::Entity::find()
        .filter(brand::Column::NameKey.eq(key.as_str()))
        .one(db)
        .await?
    {
        Some(found) => {
            if found.owner_id.is_none() && owner.is_some() {
                let id = found.id;
                let mut active: brand::ActiveModel = found.into();
                active.owner_id = Set(owner);
                active.update(db).await?;
                id
            } else {
                found.id
            }
        }
        None => {
            let id = Uuid::now_v7();
            brand::ActiveModel {
                id: Set(id),
                name: Set(name),
                name_key: Set(key.clone()),
                owner_id: Set(owner),
                created_at: Set(Utc::now()),
            }
            .insert(db)
            .await?;
            report.brands_created += 1;
            id
        }
    };
    names.brands.insert(key, id);
    Ok(id)
}
