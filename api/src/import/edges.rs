//! Ownership edges as importers write them: idempotently (an edge already
//! held is left alone), keeping history like `setOwnership` (a new current
//! parent ends the former one at its start), never making a cycle, and
//! never overruling what a moderator or a producer wrote by hand.

use chrono::{DateTime, Utc};
use entities::ownership::{self, OwnershipSource};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use uuid::Uuid;

use crate::error::Result;
use crate::service::catalogue::ownership as graph;

/// One edge read from a source.
#[derive(Clone, Debug)]
pub struct Edge {
    pub child: Uuid,
    pub parent: Uuid,
    pub source: OwnershipSource,
    pub evidence_url: Option<String>,
    /// When it started, if the source says; else when it was first imported.
    pub valid_from: Option<DateTime<Utc>>,
    /// When it ended, for a past edge.
    pub valid_to: Option<DateTime<Utc>>,
}

/// What writing an edge did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Inserted,
    /// The same edge is there already.
    Unchanged,
    /// It would make a producer own itself.
    Cycle,
    /// The child's current parent was written by hand (a moderator, a
    /// producer, a member's accepted proposal): kept.
    Curated,
}

/// Sources a moderator or a producer answers for.
fn curated(source: OwnershipSource) -> bool {
    matches!(source, OwnershipSource::Member | OwnershipSource::Producer)
}

/// Writes `edge` inside the caller's transaction.
pub async fn write(db: &impl ConnectionTrait, edge: Edge, now: DateTime<Utc>) -> Result<Outcome> {
    if edge.child == edge.parent {
        return Ok(Outcome::Cycle);
    }
    let same = ownership::Entity::find()
        .filter(ownership::Column::ChildId.eq(edge.child))
        .filter(ownership::Column::ParentId.eq(edge.parent))
        .all(db)
        .await?;
    let valid_from = edge.valid_from.unwrap_or(now).min(now);
    if let Some(valid_to) = edge.valid_to {
        // A past edge: history only, written once.
        if same
            .iter()
            .any(|known| known.valid_from == valid_from || known.valid_to == Some(valid_to))
            || valid_to <= valid_from
        {
            return Ok(Outcome::Unchanged);
        }
        insert(db, &edge, valid_from, Some(valid_to), now).await?;
        return Ok(Outcome::Inserted);
    }
    let current = graph::parent_edge(db, edge.child).await?;
    if current
        .as_ref()
        .is_some_and(|current| current.parent_id == edge.parent)
    {
        return Ok(Outcome::Unchanged);
    }
    if graph::ancestors(db, edge.parent)
        .await?
        .contains(&edge.child)
    {
        return Ok(Outcome::Cycle);
    }
    if let Some(current) = current {
        if curated(current.source) {
            return Ok(Outcome::Curated);
        }
        // The new parent starts after the current one; when the source
        // gives no later start, the change is dated now.
        let starts = if valid_from > current.valid_from {
            valid_from
        } else {
            now
        };
        ownership::Entity::update_many()
            .col_expr(ownership::Column::ValidTo, Expr::value(starts))
            .filter(ownership::Column::Id.eq(current.id))
            .exec(db)
            .await?;
        insert(db, &edge, starts, None, now).await?;
        return Ok(Outcome::Inserted);
    }
    insert(db, &edge, valid_from, None, now).await?;
    Ok(Outcome::Inserted)
}

async fn insert(
    db: &impl ConnectionTrait,
    edge: &Edge,
    valid_from: DateTime<Utc>,
    valid_to: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<()> {
    ownership::ActiveModel {
        id: Set(Uuid::now_v7()),
        child_id: Set(edge.child),
        parent_id: Set(edge.parent),
        source: Set(edge.source),
        evidence_url: Set(edge.evidence_url.clone()),
        valid_from: Set(valid_from),
        valid_to: Set(valid_to),
        created_at: Set(now),
    }
    .insert(db)
    .await?;
    Ok(())
}

/// Counts of what an importer did with edges.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct EdgeCounts {
    pub inserted: u64,
    pub unchanged: u64,
    pub cycles: u64,
    pub curated: u64,
}

impl EdgeCounts {
    pub fn add(&mut self, outcome: Outcome) {
        match outcome {
            Outcome::Inserted => self.inserted += 1,
            Outcome::Unchanged => self.unchanged += 1,
            Outcome::Cycle => self.cycles += 1,
            Outcome::Curated => self.curated += 1,
        }
    }
}

impl std::fmt::Display for EdgeCounts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} ownership edges inserted, {} unchanged, {} refused as cycles, {} kept as curated",
            self.inserted, self.unchanged, self.cycles, self.curated
        )
    }
}
