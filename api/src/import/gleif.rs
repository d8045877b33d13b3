//! GLEIF Level 2 relationship records (RR-CDF, CC0) into the ownership
//! graph: who consolidates whom, between producers known by their LEI.
//! `IS_DIRECTLY_CONSOLIDATED_BY` gives a producer's parent;
//! `IS_ULTIMATELY_CONSOLIDATED_BY` is used only for a producer with no
//! direct parent, in the file or already in the graph. Inactive
//! relationships with an end date are kept as history.
//!
//! Reads the golden copy's JSON document (`{"RelationshipRecords":
//! {"RelationshipRecord": […]}}`, values plain or wrapped as `{"$": …}`) or
//! one record per line, as a stream of JSON values. Records naming an LEI
//! no producer carries are counted as unmatched (run the Wikidata import,
//! or `setProducerIdentifiers`, first). Idempotent.

use std::collections::{HashMap, HashSet};
use std::io::Read;

use chrono::{DateTime, Utc};
use entities::ownership::OwnershipSource;
use entities::producer;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use serde_json::Value;
use uuid::Uuid;

use super::edges::{self, Edge, EdgeCounts};
use crate::error::{AppError, Result};
use crate::service::catalogue::ownership as graph;

/// What an import did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Report {
    pub records: u64,
    /// Not a consolidation between two LEIs, annulled, or unreadable.
    pub skipped: u64,
    /// Naming an LEI no producer carries.
    pub unmatched: u64,
    pub edges: EdgeCounts,
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} relationship records ({} skipped, {} naming unknown LEIs): {}",
            self.records, self.skipped, self.unmatched, self.edges
        )
    }
}

/// A consolidation read from a record.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Record {
    child: String,
    parent: String,
    direct: bool,
    start: Option<DateTime<Utc>>,
    /// Set for an inactive relationship that ended.
    end: Option<DateTime<Utc>>,
}

/// A field's text, plain or wrapped as `{"$": …}`.
fn text(value: Option<&Value>) -> Option<&str> {
    let value = value?;
    value
        .as_str()
        .or_else(|| value.get("$").and_then(Value::as_str))
}

fn date(value: Option<&Value>) -> Option<DateTime<Utc>> {
    let text = text(value)?;
    DateTime::parse_from_rfc3339(text)
        .map(|at| at.with_timezone(&Utc))
        .ok()
        .or_else(|| {
            chrono::NaiveDate::parse_from_str(text.get(..10)?, "%Y-%m-%d")
                .ok()?
                .and_hms_opt(0, 0, 0)
                .map(|at| at.and_utc())
        })
}

fn is_lei(text: &str) -> bool {
    text.len() == 20
        && text
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

fn parse(record: &Value) -> Option<Record> {
    if text(
        record
            .get("Registration")
            .and_then(|r| r.get("RegistrationStatus")),
    ) == Some("ANNULLED")
    {
        return None;
    }
    let relationship = record.get("Relationship")?;
    let node = |name: &str| -> Option<String> {
        let node = relationship.get(name)?;
        if text(node.get("NodeIDType")) != Some("LEI") {
            return None;
        }
        text(node.get("NodeID"))
            .filter(|lei| is_lei(lei))
            .map(str::to_owned)
    };
    let direct = match text(relationship.get("RelationshipType"))? {
        "IS_DIRECTLY_CONSOLIDATED_BY" => true,
        "IS_ULTIMATELY_CONSOLIDATED_BY" => false,
        _ => return None,
    };
    let periods = relationship
        .get("RelationshipPeriods")
        .and_then(|periods| periods.get("RelationshipPeriod"));
    let periods: Vec<&Value> = match periods {
        Some(Value::Array(list)) => list.iter().collect(),
        Some(one) => vec![one],
        None => Vec::new(),
    };
    let period = periods
        .iter()
        .find(|period| text(period.get("PeriodType")) == Some("RELATIONSHIP_PERIOD"));
    let start = period.and_then(|period| date(period.get("StartDate")));
    let ended = period.and_then(|period| date(period.get("EndDate")));
    let end = match text(relationship.get("RelationshipStatus")) {
        Some("ACTIVE") => None,
        // An inactive relationship is history only when its end is known.
        _ => Some(ended?),
    };
    Some(Record {
        child: node("StartNode")?,
        parent: node("EndNode")?,
        direct,
        start,
        end,
    })
}

/// Imports every relationship record of `input`.
pub async fn run(db: &DatabaseConnection, input: impl Read) -> Result<Report> {
    let mut report = Report::default();
    let mut records = Vec::new();
    for value in serde_json::Deserializer::from_reader(input).into_iter::<Value>() {
        let value =
            value.map_err(|err| AppError::Internal(format!("reading the records: {err}")))?;
        let found: Vec<&Value> = match value
            .get("RelationshipRecords")
            .and_then(|records| records.get("RelationshipRecord"))
        {
            Some(Value::Array(list)) => list.iter().collect(),
            Some(one) => vec![one],
            None => vec![&value],
        };
        for record in found {
            report.records += 1;
            match parse(record) {
                Some(parsed) => records.push(parsed),
                None => report.skipped += 1,
            }
        }
    }
    write(db, records, &mut report).await?;
    tracing::info!("gleif import: {report}");
    Ok(report)
}

async fn write(db: &DatabaseConnection, records: Vec<Record>, report: &mut Report) -> Result<()> {
    let leis: HashSet<String> = records
        .iter()
        .flat_map(|record| [record.child.clone(), record.parent.clone()])
        .collect();
    let mut producers: HashMap<String, Uuid> = HashMap::new();
    let leis: Vec<String> = leis.into_iter().collect();
    for chunk in leis.chunks(500) {
        for found in producer::Entity::find()
            .filter(producer::Column::Lei.is_in(chunk.iter().cloned()))
            .all(db)
            .await?
        {
            if let Some(lei) = found.lei {
                producers.insert(lei, found.id);
            }
        }
    }
    let with_direct: HashSet<String> = records
        .iter()
        .filter(|record| record.direct && record.end.is_none())
        .map(|record| record.child.clone())
        .collect();
    let mut ordered = records;
    // History first, then direct parents, then ultimate ones.
    ordered.sort_by_key(|record| (record.end.is_none(), !record.direct));
    let now = Utc::now();
    let txn = super::begin(db).await?;
    for record in ordered {
        let (Some(&child), Some(&parent)) =
            (producers.get(&record.child), producers.get(&record.parent))
        else {
            report.unmatched += 1;
            continue;
        };
        if !record.direct && record.end.is_none() {
            // The ultimate parent stands in only where no direct one is known.
            if with_direct.contains(&record.child)
                || graph::parent_edge(&txn, child).await?.is_some()
            {
                report.edges.add(edges::Outcome::Unchanged);
                continue;
            }
        }
        let outcome = edges::write(
            &txn,
            Edge {
                child,
                parent,
                source: OwnershipSource::Gleif,
                evidence_url: Some(format!(
                    "https://search.gleif.org/#/record/{}",
                    record.child
                )),
                valid_from: record.start,
                valid_to: record.end,
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
    use serde_json::json;

    #[test]
    fn records_read_plain_or_wrapped_and_keep_only_consolidations() {
        let wrapped = json!({
            "Relationship": {
                "StartNode": { "NodeID": { "$": "AAAAAAAAAAAAAAAAAA11" }, "NodeIDType": { "$": "LEI" } },
                "EndNode": { "NodeID": { "$": "BBBBBBBBBBBBBBBBBB22" }, "NodeIDType": { "$": "LEI" } },
                "RelationshipType": { "$": "IS_DIRECTLY_CONSOLIDATED_BY" },
                "RelationshipPeriods": { "RelationshipPeriod": [
                    { "StartDate": { "$": "2012-01-01T00:00:00Z" }, "PeriodType": { "$": "ACCOUNTING_PERIOD" } },
                    { "StartDate": { "$": "2015-06-30T00:00:00Z" }, "PeriodType": { "$": "RELATIONSHIP_PERIOD" } }
                ]},
                "RelationshipStatus": { "$": "ACTIVE" }
            },
            "Registration": { "RegistrationStatus": { "$": "PUBLISHED" } }
        });
        let read = parse(&wrapped).unwrap();
        assert_eq!(read.child, "AAAAAAAAAAAAAAAAAA11");
        assert_eq!(read.parent, "BBBBBBBBBBBBBBBBBB22");
        assert!(read.direct);
        assert_eq!(
            read.start.unwrap().to_rfc3339(),
            "2015-06-30T00:00:00+00:00"
        );
        assert_eq!(read.end, None);

        let plain = json!({
            "Relationship": {
                "StartNode": { "NodeID": "AAAAAAAAAAAAAAAAAA11", "NodeIDType": "LEI" },
                "EndNode": { "NodeID": "CCCCCCCCCCCCCCCCCC33", "NodeIDType": "LEI" },
                "RelationshipType": "IS_ULTIMATELY_CONSOLIDATED_BY",
                "RelationshipPeriods": { "RelationshipPeriod": {
                    "StartDate": "2010-01-01", "EndDate": "2014-12-31", "PeriodType": "RELATIONSHIP_PERIOD"
                }},
                "RelationshipStatus": "INACTIVE"
            }
        });
        let read = parse(&plain).unwrap();
        assert!(!read.direct);
        assert!(read.end.is_some());

        let mut branch = plain.clone();
        branch["Relationship"]["RelationshipType"] = json!("IS_INTERNATIONAL_BRANCH_OF");
        assert_eq!(parse(&branch), None);
        let mut annulled = wrapped.clone();
        annulled["Registration"]["RegistrationStatus"] = json!({ "$": "ANNULLED" });
        assert_eq!(parse(&annulled), None);
        let mut inactive_open = plain;
        inactive_open["Relationship"]["RelationshipPeriods"]["RelationshipPeriod"]
            .as_object_mut()
            .unwrap()
            .remove("EndDate");
        assert_eq!(parse(&inactive_open), None);
    }
}
