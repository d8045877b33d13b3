//! The Open Food Facts JSONL export (one product per line:
//! `code`, `product_name`, `brands`, `brands_tags`, `brand_owner`,
//! `categories_tags`, `labels_tags`, `allergens_tags`, `countries_tags`)
//! into the catalogue, streaming, in batches, idempotent: a product whose
//! fields are unchanged is left alone, so running the same file again
//! changes nothing and an interrupted run is resumed by running it again.
//! Imported products say `OPEN_FOOD_FACTS` as their source (ODbL).

use std::collections::{BTreeMap, HashMap};
use std::io::BufRead;
use std::time::Instant;

use chrono::Utc;
use entities::producer::ProducerKind;
use entities::product::ProductSource;
use entities::{brand, producer, product, product_value, value_tag};
use sea_orm::{ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, Set};
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
    let txn = super::begin(db).await?;
    if names.tags.is_empty() {
        names.tags = value_tag::Entity::find()
            .all(&txn)
            .await?
            .into_iter()
            .map(|tag| (tag.slug, tag.id))
            .collect();
    }
    let read = lines.len();
    let lines: Vec<Line> = lines.into_iter().filter(usable).collect();
    report.skipped += (read - lines.len()) as u64;
    resolve_names(&txn, &lines, names, report).await?;
    // The last line of a barcode wins within a batch.
    let mut rows: Vec<Row> = Vec::with_capacity(lines.len());
    let mut at: HashMap<String, usize> = HashMap::new();
    for line in lines {
        let Some(row) = row_of(line, names) else {
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
                active.category = Set(catalogue::deepest(&fields.3));
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
                    category: Set(catalogue::deepest(&fields.3)),
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

/// Whether a line has a valid barcode and a name (else it is skipped).
fn usable(line: &Line) -> bool {
    gtin::normalise("code", &line.code).is_ok()
        && line
            .product_name
            .as_deref()
            .is_some_and(|name| !name.trim().is_empty())
}

/// The owner and the brand a line names (the first of its brands).
fn names_of(line: &Line) -> (Option<String>, Option<String>) {
    let owner = line
        .brand_owner
        .as_deref()
        .map(str::trim)
        .filter(|owner| !owner.is_empty())
        .map(|owner| owner.chars().take(200).collect());
    let brand = line
        .brands
        .as_deref()
        .and_then(|brands| brands.split(',').next())
        .map(str::trim)
        .filter(|brand| !brand.is_empty())
        .map(str::to_owned)
        .or_else(|| line.brands_tags.first().cloned())
        .map(|brand| brand.chars().take(200).collect());
    (owner, brand)
}

/// Finds or creates, in a few statements, every producer and brand the
/// batch names that the cache does not know yet.
async fn resolve_names(
    db: &impl sea_orm::ConnectionTrait,
    lines: &[Line],
    names: &mut Names,
    report: &mut Report,
) -> Result<()> {
    let now = Utc::now();
    let mut owners: BTreeMap<String, String> = BTreeMap::new();
    let mut brands: BTreeMap<String, (String, Option<String>)> = BTreeMap::new();
    for line in lines {
        let (owner, brand) = names_of(line);
        let owner_key = owner.as_ref().map(|owner| owner.to_lowercase());
        if let (Some(owner), Some(key)) = (owner, owner_key.clone())
            && !names.producers.contains_key(&key)
        {
            owners.entry(key).or_insert(owner);
        }
        if let Some(brand) = brand {
            let key = brand.to_lowercase();
            if !names.brands.contains_key(&key) {
                brands.entry(key).or_insert((brand, owner_key));
            }
        }
    }
    if !owners.is_empty() {
        for found in producer::Entity::find()
            .filter(producer::Column::NameKey.is_in(owners.keys().cloned()))
            .all(db)
            .await?
        {
            owners.remove(&found.name_key);
            names.producers.insert(found.name_key, found.id);
        }
        let mut created = Vec::new();
        for (key, name) in owners {
            let id = Uuid::now_v7();
            names.producers.insert(key.clone(), id);
            created.push(producer::ActiveModel {
                id: Set(id),
                name: Set(name),
                name_key: Set(key),
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
            });
        }
        report.producers_created += created.len() as u64;
        for chunk in chunks(created, 200) {
            producer::Entity::insert_many(chunk)
                .exec_without_returning(db)
                .await?;
        }
    }
    if !brands.is_empty() {
        for found in brand::Entity::find()
            .filter(brand::Column::NameKey.is_in(brands.keys().cloned()))
            .all(db)
            .await?
        {
            let owner = brands
                .remove(&found.name_key)
                .and_then(|(_, owner)| owner)
                .and_then(|key| names.producers.get(&key).copied());
            names.brands.insert(found.name_key.clone(), found.id);
            // A brand without an owner gains the one the export names.
            if found.owner_id.is_none() && owner.is_some() {
                let mut active: brand::ActiveModel = found.into();
                active.owner_id = Set(owner);
                active.update(db).await?;
            }
        }
        let mut created = Vec::new();
        for (key, (name, owner)) in brands {
            let id = Uuid::now_v7();
            names.brands.insert(key.clone(), id);
            created.push(brand::ActiveModel {
                id: Set(id),
                name: Set(name),
                name_key: Set(key),
                owner_id: Set(owner.and_then(|key| names.producers.get(&key).copied())),
                created_at: Set(now),
            });
        }
        report.brands_created += created.len() as u64;
        for chunk in chunks(created, 500) {
            brand::Entity::insert_many(chunk)
                .exec_without_returning(db)
                .await?;
        }
    }
    Ok(())
}

/// A line's barcode and fields (its brand and owner from `names`); `None`
/// without a valid barcode or a name.
fn row_of(line: Line, names: &Names) -> Option<Row> {
    let code = gtin::normalise("code", &line.code).ok()?;
    let name = line
        .product_name
        .as_deref()
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .map(|name| name.chars().take(300).collect::<String>())?;
    let (owner, brand) = names_of(&line);
    let owner = owner.and_then(|owner| names.producers.get(&owner.to_lowercase()).copied());
    let brand = brand.and_then(|brand| names.brands.get(&brand.to_lowercase()).copied());
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
    Some(Row {
        code,
        fields,
        labels,
        allergens,
    })
}
