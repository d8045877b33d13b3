//! Wikidata entity JSON (CC0) into the ownership graph: companies with their
//! identifiers (LEI P1278, OpenCorporates P1320, website P856), their brands
//! (P1716), their parent organisation (P749, or a majority owner P127) and
//! their subsidiaries (P355), each edge dated by its start (P580) and end
//! (P582) qualifiers and linked to the item as evidence.
//!
//! Reads the dump's layout (a JSON array with one entity per line), JSON
//! Lines, or `Special:EntityData` documents (`{"entities": {…}}`). Entities
//! are read first and written after, since a statement names items the
//! file holds further on: meant for the extract of the companies and brands
//! of interest, not the whole of Wikidata. Idempotent: a second run finds
//! every producer, brand and edge in place.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::BufRead;

use chrono::{DateTime, NaiveDate, Utc};
use entities::brand;
use entities::ownership::OwnershipSource;
use entities::producer::{self, ProducerKind};
use sea_orm::{ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, Set};
use serde_json::Value;
use uuid::Uuid;

use super::edges::{self, Edge, EdgeCounts};
use crate::error::{AppError, Result};

/// What an import did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Report {
    pub entities: u64,
    /// Lines that were not an entity.
    pub skipped: u64,
    pub producers_created: u64,
    /// Producers found whose identifiers this import filled in.
    pub producers_updated: u64,
    pub brands_created: u64,
    /// Brands without an owner that gained one.
    pub brands_updated: u64,
    pub edges: EdgeCounts,
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} entities ({} lines skipped): {} producers created, {} updated; {} brands created, {} updated; {}",
            self.entities,
            self.skipped,
            self.producers_created,
            self.producers_updated,
            self.brands_created,
            self.brands_updated,
            self.edges
        )
    }
}

/// A statement naming another item, with its dates.
#[derive(Clone, Debug, Default)]
struct Link {
    item: String,
    start: Option<DateTime<Utc>>,
    end: Option<DateTime<Utc>>,
    /// P1107 (proportion), for owners.
    share: Option<f64>,
    preferred: bool,
}

/// What the importer keeps of an entity.
#[derive(Clone, Debug, Default)]
struct Entity {
    label: Option<String>,
    lei: Option<String>,
    open_corporates: Option<String>,
    website: Option<String>,
    brands: Vec<Link>,
    parents: Vec<Link>,
    owners: Vec<Link>,
    subsidiaries: Vec<Link>,
}

impl Entity {
    fn is_company(&self) -> bool {
        self.lei.is_some()
            || self.open_corporates.is_some()
            || !self.brands.is_empty()
            || !self.parents.is_empty()
            || !self.owners.is_empty()
            || !self.subsidiaries.is_empty()
    }
}

/// Imports every entity of `input`.
pub async fn run(db: &DatabaseConnection, input: impl BufRead) -> Result<Report> {
    let mut report = Report::default();
    let mut entities: BTreeMap<String, Entity> = BTreeMap::new();
    for line in input.lines() {
        let line = line.map_err(|err| AppError::Internal(format!("reading the file: {err}")))?;
        let line = line.trim().trim_end_matches(',');
        if line.is_empty() || line == "[" || line == "]" {
            continue;
        }
        let Ok(value) = serde_json::from_str::<Value>(line) else {
            report.skipped += 1;
            continue;
        };
        let found: Vec<&Value> = match value.get("entities").and_then(Value::as_object) {
            Some(map) => map.values().collect(),
            None => vec![&value],
        };
        for entity in found {
            match parse(entity) {
                Some((id, parsed)) => {
                    report.entities += 1;
                    entities.insert(id, parsed);
                }
                None => report.skipped += 1,
            }
        }
    }
    write(db, &entities, &mut report).await?;
    tracing::info!("wikidata import: {report}");
    Ok(report)
}

fn item_url(id: &str) -> String {
    format!("https://www.wikidata.org/wiki/{id}")
}

/// Whether `id` is an item id (`Q` and digits).
fn is_item(id: &str) -> bool {
    id.len() > 1
        && id.len() <= 12
        && id.starts_with('Q')
        && id[1..].bytes().all(|b| b.is_ascii_digit())
}

fn parse(entity: &Value) -> Option<(String, Entity)> {
    let id = entity.get("id")?.as_str()?;
    if !is_item(id) {
        return None;
    }
    let labels = entity.get("labels");
    let label = ["en", "fr"]
        .iter()
        .find_map(|lang| labels?.get(lang)?.get("value")?.as_str())
        .or_else(|| {
            labels?
                .as_object()?
                .values()
                .find_map(|label| label.get("value")?.as_str())
        })
        .map(|label| label.trim().chars().take(120).collect::<String>())
        .filter(|label| !label.is_empty());
    let claims = entity.get("claims");
    let statements = |property: &str| -> Vec<&Value> {
        claims
            .and_then(|claims| claims.get(property))
            .and_then(Value::as_array)
            .map(|list| {
                list.iter()
                    .filter(|statement| {
                        statement.get("rank").and_then(Value::as_str) != Some("deprecated")
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    let text = |property: &str| -> Option<String> {
        statements(property).iter().find_map(|statement| {
            statement
                .get("mainsnak")?
                .get("datavalue")?
                .get("value")?
                .as_str()
                .map(|value| value.trim().to_owned())
        })
    };
    let links = |property: &str| -> Vec<Link> {
        statements(property)
            .iter()
            .filter_map(|statement| {
                let value = statement.get("mainsnak")?.get("datavalue")?.get("value")?;
                let item = value
                    .get("id")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
                    .or_else(|| value.get("numeric-id")?.as_u64().map(|n| format!("Q{n}")))?;
                let qualifier = |name: &str| statement.get("qualifiers")?.get(name)?.get(0);
                let time = |name: &str| {
                    qualifier(name)?
                        .get("datavalue")?
                        .get("value")?
                        .get("time")?
                        .as_str()
                        .and_then(time_of)
                };
                let share = qualifier("P1107").and_then(|q| {
                    q.get("datavalue")?
                        .get("value")?
                        .get("amount")?
                        .as_str()?
                        .trim_start_matches('+')
                        .parse()
                        .ok()
                });
                Some(Link {
                    item,
                    start: time("P580"),
                    end: time("P582"),
                    share,
                    preferred: statement.get("rank").and_then(Value::as_str) == Some("preferred"),
                })
            })
            .filter(|link| is_item(&link.item))
            .collect()
    };
    let lei = text("P1278").filter(|lei| {
        lei.len() == 20
            && lei
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
    });
    let open_corporates = text("P1320").filter(|id| {
        id.split_once('/').is_some_and(|(place, number)| {
            !place.is_empty() && !number.is_empty() && id.len() <= 100
        })
    });
    let website = text("P856").filter(|url| {
        url.len() <= 500 && (url.starts_with("https://") || url.starts_with("http://"))
    });
    Some((
        id.to_owned(),
        Entity {
            label,
            lei,
            open_corporates,
            website,
            brands: links("P1716"),
            parents: links("P749"),
            owners: links("P127"),
            subsidiaries: links("P355"),
        },
    ))
}

/// A Wikidata time (`+2015-03-01T00:00:00Z`, with month or day 00 at
/// lower precision).
fn time_of(text: &str) -> Option<DateTime<Utc>> {
    let text = text.strip_prefix('+')?;
    let date = text.split('T').next()?;
    let mut parts = date.split('-');
    let year: i32 = parts.next()?.parse().ok()?;
    let month: u32 = parts.next()?.parse().ok()?;
    let day: u32 = parts.next()?.parse().ok()?;
    NaiveDate::from_ymd_opt(year, month.max(1), day.max(1))?
        .and_hms_opt(0, 0, 0)
        .map(|at| at.and_utc())
}

/// The parent a company states: its preferred parent organisation, else
/// its first; else an owner with a majority (or no stated share).
fn parent_links(entity: &Entity) -> Vec<Link> {
    let mut out: Vec<Link> = entity.parents.clone();
    if out.iter().all(|link| link.end.is_some()) {
        out.extend(
            entity
                .owners
                .iter()
                .filter(|link| link.share.is_none_or(|share| share > 0.5))
                .cloned(),
        );
    }
    // Current ones: the preferred first.
    out.sort_by_key(|link| (link.end.is_none(), !link.preferred));
    out
}

async fn write(
    db: &DatabaseConnection,
    entities: &BTreeMap<String, Entity>,
    report: &mut Report,
) -> Result<()> {
    let now = Utc::now();
    // Which items are companies: those with company statements, and those
    // others name as parent, owner or subsidiary. Items named as brands
    // only are brands.
    let mut companies: HashSet<String> = HashSet::new();
    for (id, entity) in entities {
        if entity.is_company() {
            companies.insert(id.clone());
        }
        for link in parent_links(entity).iter().chain(&entity.subsidiaries) {
            companies.insert(link.item.clone());
        }
    }
    let txn = super::begin(db).await?;
    let mut producers: HashMap<String, Uuid> = HashMap::new();
    for id in &companies {
        let Some(entity) = entities.get(id) else {
            // Named but not in the file: no name to give it.
            continue;
        };
        let Some(label) = entity.label.clone() else {
            continue;
        };
        let found = match producer::Entity::find()
            .filter(producer::Column::Wikidata.eq(id.as_str()))
            .one(&txn)
            .await?
        {
            Some(found) => Some(found),
            None => {
                producer::Entity::find()
                    .filter(producer::Column::NameKey.eq(label.to_lowercase()))
                    .one(&txn)
                    .await?
            }
        };
        let producer_id = match found {
            Some(found) => {
                let id_now = found.id;
                let mut active: producer::ActiveModel = found.clone().into();
                let mut changed = false;
                let fill = |current: &Option<String>, given: &Option<String>| {
                    (current.is_none() && given.is_some()).then(|| given.clone())
                };
                if let Some(value) = fill(&found.wikidata, &Some(id.clone())) {
                    active.wikidata = Set(value);
                    changed = true;
                }
                if let Some(value) = fill(&found.lei, &entity.lei) {
                    active.lei = Set(value);
                    changed = true;
                }
                if let Some(value) = fill(&found.open_corporates, &entity.open_corporates) {
                    active.open_corporates = Set(value);
                    changed = true;
                }
                if let Some(value) = fill(&found.website, &entity.website) {
                    active.website = Set(value);
                    changed = true;
                }
                if changed {
                    active.updated_at = Set(now);
                    active.update(&txn).await?;
                    report.producers_updated += 1;
                }
                id_now
            }
            None => {
                let created = producer::ActiveModel {
                    id: Set(Uuid::now_v7()),
                    name: Set(label.clone()),
                    name_key: Set(label.to_lowercase()),
                    kind: Set(ProducerKind::LargeGroup),
                    sector: Set("food".into()),
                    territory: Set(None),
                    labels: Set("[]".into()),
                    website: Set(entity.website.clone()),
                    lei: Set(entity.lei.clone()),
                    wikidata: Set(Some(id.clone())),
                    open_corporates: Set(entity.open_corporates.clone()),
                    description: Set(format!("Company described by Wikidata ({id}).")),
                    created_by: Set(None),
                    created_at: Set(now),
                    updated_at: Set(now),
                }
                .insert(&txn)
                .await?;
                report.producers_created += 1;
                created.id
            }
        };
        producers.insert(id.clone(), producer_id);
    }
    // Brands named by their owners.
    for (id, entity) in entities {
        let Some(&owner) = producers.get(id) else {
            continue;
        };
        for link in entity.brands.iter().filter(|link| link.end.is_none()) {
            let Some(name) = entities
                .get(&link.item)
                .and_then(|brand| brand.label.clone())
            else {
                continue;
            };
            let key: String = name.to_lowercase().chars().take(200).collect();
            match brand::Entity::find()
                .filter(brand::Column::NameKey.eq(key.clone()))
                .one(&txn)
                .await?
            {
                Some(found) if found.owner_id.is_none() => {
                    let mut active: brand::ActiveModel = found.into();
                    active.owner_id = Set(Some(owner));
                    active.update(&txn).await?;
                    report.brands_updated += 1;
                }
                Some(_) => {}
                None => {
                    brand::ActiveModel {
                        id: Set(Uuid::now_v7()),
                        name: Set(name.chars().take(200).collect()),
                        name_key: Set(key),
                        owner_id: Set(Some(owner)),
                        created_at: Set(now),
                    }
                    .insert(&txn)
                    .await?;
                    report.brands_created += 1;
                }
            }
        }
    }
    // Edges: each company's parents, then the subsidiaries parents name
    // (the same edge, seen from above, is found in place).
    let mut found_edges: Vec<(String, Link, String)> = Vec::new();
    for (id, entity) in entities {
        for link in parent_links(entity) {
            found_edges.push((id.clone(), link.clone(), id.clone()));
        }
    }
    for (id, entity) in entities {
        for link in &entity.subsidiaries {
            let mut child = link.clone();
            child.item = id.clone();
            found_edges.push((link.item.clone(), child, id.clone()));
        }
    }
    // Past edges first, so a current one ends nothing it should not; a
    // company's own statements (the preferred first) before its parents'.
    found_edges.sort_by_key(|(_, link, _)| link.end.is_none());
    let mut current_set: HashSet<String> = HashSet::new();
    for (child, link, stated_on) in found_edges {
        let (Some(&child_id), Some(&parent_id)) =
            (producers.get(&child), producers.get(&link.item))
        else {
            continue;
        };
        // One current parent per company: the first its statements give.
        if link.end.is_none() && !current_set.insert(child.clone()) {
            continue;
        }
        let outcome = edges::write(
            &txn,
            Edge {
                child: child_id,
                parent: parent_id,
                source: OwnershipSource::Wikidata,
                evidence_url: Some(item_url(&stated_on)),
                valid_from: link.start,
                valid_to: link.end,
            },
            now,
        )
        .await?;
        report.edges.add(outcome);
    }
    txn.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_at_every_precision_read_as_their_first_day() {
        let day = |y, m, d| {
            NaiveDate::from_ymd_opt(y, m, d)
                .unwrap()
                .and_hms_opt(0, 0, 0)
                .unwrap()
                .and_utc()
        };
        assert_eq!(time_of("+2015-03-17T00:00:00Z"), Some(day(2015, 3, 17)));
        assert_eq!(time_of("+2015-03-00T00:00:00Z"), Some(day(2015, 3, 1)));
        assert_eq!(time_of("+1998-00-00T00:00:00Z"), Some(day(1998, 1, 1)));
        assert_eq!(time_of("-0500-00-00T00:00:00Z"), None);
        assert_eq!(time_of("yesterday"), None);
    }

    #[test]
    fn a_minority_owner_is_not_a_parent() {
        let link = |item: &str, share| Link {
            item: item.into(),
            share,
            ..Link::default()
        };
        let entity = Entity {
            owners: vec![
                link("Q1", Some(0.2)),
                link("Q2", Some(0.6)),
                link("Q3", None),
            ],
            ..Entity::default()
        };
        let items: Vec<String> = parent_links(&entity).into_iter().map(|l| l.item).collect();
        assert_eq!(items, vec!["Q2", "Q3"]);
    }
}
