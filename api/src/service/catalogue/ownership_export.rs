//! The ownership graph as open data: Beneficial Ownership Data Standard
//! (BODS 0.4) statements, or CSV. Every producer that owns or is owned
//! appears once as an entity statement (with its LEI, Wikidata item and
//! OpenCorporates id as identifiers), every edge, past and current, as a
//! relationship statement with its dates, source and evidence. Read in
//! pages, written as it goes.

use std::collections::HashSet;
use std::io::Write;

use chrono::{DateTime, Utc};
use entities::ownership;
use entities::producer;
use sea_orm::{
    ActiveEnum, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::error::{AppError, Result};

/// Edges read per query.
const PAGE: u64 = 5_000;

/// The formats the graph exports to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// A JSON array of BODS 0.4 statements.
    Bods,
    /// One line per edge: `child_id, child_name, child_lei, parent_id,
    /// parent_name, parent_lei, source, evidence_url, valid_from, valid_to`.
    Csv,
}

fn io(err: std::io::Error) -> AppError {
    AppError::Internal(format!("writing the export: {err}"))
}

/// Writes the whole graph to `out`; returns how many edges.
pub async fn export(
    db: &impl ConnectionTrait,
    format: Format,
    published: DateTime<Utc>,
    out: &mut impl Write,
) -> Result<u64> {
    let mut written = 0u64;
    let mut stated: HashSet<Uuid> = HashSet::new();
    let mut after: Option<Uuid> = None;
    let mut first = true;
    match format {
        Format::Bods => out.write_all(b"[").map_err(io)?,
        Format::Csv => out
            .write_all(
                b"child_id,child_name,child_lei,parent_id,parent_name,parent_lei,source,evidence_url,valid_from,valid_to\n",
            )
            .map_err(io)?,
    }
    loop {
        let mut query = ownership::Entity::find()
            .order_by_asc(ownership::Column::Id)
            .limit(PAGE);
        if let Some(after) = after {
            query = query.filter(ownership::Column::Id.gt(after));
        }
        let edges = query.all(db).await?;
        let Some(last) = edges.last() else {
            break;
        };
        after = Some(last.id);
        let ids: HashSet<Uuid> = edges
            .iter()
            .flat_map(|edge| [edge.child_id, edge.parent_id])
            .collect();
        let producers: std::collections::HashMap<Uuid, producer::Model> = producer::Entity::find()
            .filter(producer::Column::Id.is_in(ids))
            .all(db)
            .await?
            .into_iter()
            .map(|found| (found.id, found))
            .collect();
        for edge in &edges {
            let (Some(child), Some(parent)) = (
                producers.get(&edge.child_id),
                producers.get(&edge.parent_id),
            ) else {
                continue;
            };
            match format {
                Format::Bods => {
                    for entity in [child, parent] {
                        if stated.insert(entity.id) {
                            emit(out, &mut first, &entity_statement(entity, published))?;
                        }
                    }
                    emit(out, &mut first, &relationship_statement(edge, published))?;
                }
                Format::Csv => {
                    let fields = [
                        child.id.to_string(),
                        child.name.clone(),
                        child.lei.clone().unwrap_or_default(),
                        parent.id.to_string(),
                        parent.name.clone(),
                        parent.lei.clone().unwrap_or_default(),
                        edge.source.to_value(),
                        edge.evidence_url.clone().unwrap_or_default(),
                        edge.valid_from.to_rfc3339(),
                        edge.valid_to.map(|at| at.to_rfc3339()).unwrap_or_default(),
                    ];
                    let line: Vec<String> = fields.iter().map(|field| csv_field(field)).collect();
                    writeln!(out, "{}", line.join(",")).map_err(io)?;
                }
            }
            written += 1;
        }
    }
    if format == Format::Bods {
        out.write_all(b"]\n").map_err(io)?;
    }
    out.flush().map_err(io)?;
    Ok(written)
}

/// One statement of the array, after a comma unless it is the first.
fn emit(out: &mut impl Write, first: &mut bool, statement: &Value) -> Result<()> {
    out.write_all(if *first { b"\n" } else { b",\n" })
        .map_err(io)?;
    *first = false;
    serde_json::to_writer(&mut *out, statement).map_err(|err| AppError::Internal(err.to_string()))
}

/// A CSV field, quoted when it holds a comma, a quote or a line break,
/// and kept from being read as a formula by spreadsheets.
fn csv_field(text: &str) -> String {
    let text = if text.starts_with(['=', '+', '-', '@']) {
        format!("'{text}")
    } else {
        text.to_owned()
    };
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text
    }
}

/// A statement's id: the same statement gets the same id in every export
/// (32 hex digits of its SHA-256), a changed one a new id.
fn statement_id(key: &str) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(key.as_bytes());
    digest[..16]
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

fn publication(published: DateTime<Utc>) -> Value {
    json!({
        "publicationDate": published.format("%Y-%m-%d").to_string(),
        "bodsVersion": "0.4",
        "publisher": { "name": "Consumact" },
    })
}

fn entity_statement(entity: &producer::Model, published: DateTime<Utc>) -> Value {
    let mut identifiers =
        vec![json!({ "id": entity.id.to_string(), "schemeName": "Consumact producer" })];
    if let Some(lei) = &entity.lei {
        identifiers.push(json!({ "id": lei, "scheme": "XI-LEI", "schemeName": "Global Legal Entity Identifier Index" }));
    }
    if let Some(item) = &entity.wikidata {
        identifiers.push(json!({ "id": item, "schemeName": "Wikidata", "uri": format!("https://www.wikidata.org/wiki/{item}") }));
    }
    if let Some(company) = &entity.open_corporates {
        identifiers.push(json!({ "id": company, "schemeName": "OpenCorporates", "uri": format!("https://opencorporates.com/companies/{company}") }));
    }
    json!({
        "statementId": statement_id(&format!("entity:{}:{}", entity.id, entity.updated_at.timestamp())),
        "declarationSubject": entity.id.to_string(),
        "statementDate": entity.updated_at.format("%Y-%m-%d").to_string(),
        "publicationDetails": publication(published),
        "recordId": entity.id.to_string(),
        "recordStatus": "new",
        "recordType": "entity",
        "recordDetails": {
            "isComponent": false,
            "entityType": { "type": "registeredEntity" },
            "name": entity.name,
            "identifiers": identifiers,
        },
    })
}

fn relationship_statement(edge: &ownership::Model, published: DateTime<Utc>) -> Value {
    let mut interest = json!({
        "type": "otherInfluenceOrControl",
        "directOrIndirect": "direct",
        "beneficialOwnershipOrControl": false,
        "details": format!("parent organisation (source: {})", edge.source.to_value()),
        "startDate": edge.valid_from.format("%Y-%m-%d").to_string(),
    });
    if let Some(ended) = edge.valid_to {
        interest["endDate"] = json!(ended.format("%Y-%m-%d").to_string());
    }
    let mut statement = json!({
        "statementId": statement_id(&format!("edge:{}:{:?}", edge.id, edge.valid_to)),
        "declarationSubject": edge.child_id.to_string(),
        "statementDate": edge.created_at.format("%Y-%m-%d").to_string(),
        "publicationDetails": publication(published),
        "recordId": edge.id.to_string(),
        "recordStatus": if edge.valid_to.is_some() { "closed" } else { "new" },
        "recordType": "relationship",
        "recordDetails": {
            "isComponent": false,
            "subject": edge.child_id.to_string(),
            "interestedParty": edge.parent_id.to_string(),
            "interests": [interest],
        },
    });
    if let Some(url) = &edge.evidence_url {
        statement["source"] = json!({ "type": ["thirdParty"], "url": url });
    }
    statement
}

#[cfg(test)]
mod tests {
    use super::csv_field;

    #[test]
    fn csv_fields_are_quoted_and_never_formulas() {
        assert_eq!(csv_field("Ferrero"), "Ferrero");
        assert_eq!(csv_field("Mars, Inc."), "\"Mars, Inc.\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=HYPERLINK(1)"), "'=HYPERLINK(1)");
    }
}
