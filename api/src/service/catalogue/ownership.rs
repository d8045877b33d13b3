//! Who owns whom. An ownership edge says that a producer (the child) is
//! owned by another (the parent) from `valid_from`, until `valid_to` when it
//! ends; setting a new parent ends the current edge at the new one's start,
//! so the history stays. A producer has at most one current parent, and an
//! edge that would make a producer own itself, however far up, is refused.

use chrono::{DateTime, Utc};
use entities::ownership::{self, OwnershipSource};
use entities::producer;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter,
    QueryOrder, Set,
};
use uuid::Uuid;

use crate::error::{AppError, Result};
use crate::service::validate;
use crate::service::viewer::Viewer;
use crate::state::AppState;

/// Ownership chains longer than this are cut (data from outside could
/// hold a loop the write path never made).
pub const MAX_DEPTH: usize = 32;

/// Edges holding at `now`.
fn current(now: DateTime<Utc>) -> Condition {
    Condition::all()
        .add(ownership::Column::ValidFrom.lte(now))
        .add(
            Condition::any()
                .add(ownership::Column::ValidTo.is_null())
                .add(ownership::Column::ValidTo.gt(now)),
        )
}

/// The edge to `child`'s current parent.
pub async fn parent_edge(
    db: &impl ConnectionTrait,
    child: Uuid,
) -> Result<Option<ownership::Model>> {
    Ok(ownership::Entity::find()
        .filter(ownership::Column::ChildId.eq(child))
        .filter(current(validate::now()))
        .order_by_desc(ownership::Column::ValidFrom)
        .one(db)
        .await?)
}

/// `producer`'s owners, nearest first.
pub async fn ancestors(db: &impl ConnectionTrait, producer: Uuid) -> Result<Vec<Uuid>> {
    let mut out = Vec::new();
    let mut at = producer;
    while out.len() < MAX_DEPTH {
        let Some(edge) = parent_edge(db, at).await? else {
            break;
        };
        if edge.parent_id == producer || out.contains(&edge.parent_id) {
            break;
        }
        out.push(edge.parent_id);
        at = edge.parent_id;
    }
    Ok(out)
}

/// The producers `parent` owns now.
pub async fn subsidiaries(db: &impl ConnectionTrait, parent: Uuid) -> Result<Vec<Uuid>> {
    Ok(ownership::Entity::find()
        .filter(ownership::Column::ParentId.eq(parent))
        .filter(current(validate::now()))
        .order_by_asc(ownership::Column::ValidFrom)
        .all(db)
        .await?
        .into_iter()
        .map(|edge| edge.child_id)
        .collect())
}

/// Every edge naming `child`, latest first.
pub async fn history(db: &impl ConnectionTrait, child: Uuid) -> Result<Vec<ownership::Model>> {
    Ok(ownership::Entity::find()
        .filter(ownership::Column::ChildId.eq(child))
        .order_by_desc(ownership::Column::ValidFrom)
        .all(db)
        .await?)
}

/// What `set` needs.
pub struct NewOwnership {
    pub child_id: Uuid,
    pub parent_id: Uuid,
    pub source: OwnershipSource,
    pub evidence_url: Option<String>,
    /// By default now.
    pub valid_from: Option<DateTime<Utc>>,
}

fn require_curator(actor: Viewer) -> Result<()> {
    if actor.moderates() {
        Ok(())
    } else {
        Err(AppError::Forbidden(
            "moderators and admins write the ownership graph".into(),
        ))
    }
}

pub(crate) fn evidence(url: Option<String>) -> Result<Option<String>> {
    let Some(url) = url
        .map(|url| url.trim().to_owned())
        .filter(|url| !url.is_empty())
    else {
        return Ok(None);
    };
    let parsed = url::Url::parse(&url)
        .ok()
        .filter(|parsed| matches!(parsed.scheme(), "http" | "https") && url.len() <= 2_000)
        .ok_or_else(|| {
            AppError::invalid(
                "input.evidenceUrl",
                "input.evidenceUrl must be an http or https URL of up to 2 000 characters",
            )
        })?;
    Ok(Some(parsed.to_string()))
}

/// Makes `parent_id` the owner of `child_id` from `valid_from`, ending the
/// current edge; moderators and admins.
pub async fn set(state: &AppState, actor: Viewer, input: NewOwnership) -> Result<ownership::Model> {
    require_curator(actor)?;
    let evidence_url = evidence(input.evidence_url)?;
    let now = validate::now();
    let valid_from = input.valid_from.unwrap_or(now);
    if valid_from > now {
        return Err(AppError::invalid(
            "input.validFrom",
            "input.validFrom must not be in the future",
        ));
    }
    let db = &state.db;
    for id in [input.child_id, input.parent_id] {
        if producer::Entity::find_by_id(id).one(db).await?.is_none() {
            return Err(AppError::NotFound("producer"));
        }
    }
    if input.child_id == input.parent_id
        || ancestors(db, input.parent_id)
            .await?
            .contains(&input.child_id)
    {
        return Err(AppError::Conflict(
            "this edge would make a producer own itself".into(),
        ));
    }
    let (writer, txn) = state.begin_write().await?;
    if let Some(edge) = parent_edge(&txn, input.child_id).await? {
        if edge.parent_id == input.parent_id {
            return Err(AppError::Conflict(
                "this producer is owned by that parent already".into(),
            ));
        }
        if edge.valid_from >= valid_from {
            return Err(AppError::invalid(
                "input.validFrom",
                "input.validFrom must come after the current owner's start",
            ));
        }
        ownership::Entity::update_many()
            .col_expr(ownership::Column::ValidTo, Expr::value(valid_from))
            .filter(ownership::Column::Id.eq(edge.id))
            .exec(&txn)
            .await?;
    }
    let created = ownership::ActiveModel {
        id: Set(Uuid::now_v7()),
        child_id: Set(input.child_id),
        parent_id: Set(input.parent_id),
        source: Set(input.source),
        evidence_url: Set(evidence_url),
        valid_from: Set(valid_from),
        valid_to: Set(None),
        created_at: Set(now),
    }
    .insert(&txn)
    .await?;
    txn.commit().await?;
    drop(writer);
    Ok(created)
}

/// Ends the edge `id` at `valid_to` (by default now); moderators and
/// admins.
pub async fn end(
    state: &AppState,
    actor: Viewer,
    id: Uuid,
    valid_to: Option<DateTime<Utc>>,
) -> Result<ownership::Model> {
    require_curator(actor)?;
    let edge = ownership::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .ok_or(AppError::NotFound("ownership"))?;
    let valid_to = valid_to.unwrap_or_else(validate::now);
    if edge.valid_to.is_some() {
        return Err(AppError::Conflict(
            "this ownership has ended already".into(),
        ));
    }
    if valid_to <= edge.valid_from {
        return Err(AppError::invalid(
            "validTo",
            "validTo must come after the ownership's start",
        ));
    }
    let (writer, txn) = state.begin_write().await?;
    let mut ended: ownership::ActiveModel = edge.into();
    ended.valid_to = Set(Some(valid_to));
    let ended = ended.update(&txn).await?;
    txn.commit().await?;
    drop(writer);
    Ok(ended)
}

/// A producer's identifiers in public registers.
pub struct Identifiers {
    pub lei: Option<String>,
    pub wikidata: Option<String>,
    pub open_corporates: Option<String>,
}

/// Sets a producer's register identifiers (an empty text clears one);
/// moderators and admins.
pub async fn set_identifiers(
    state: &AppState,
    actor: Viewer,
    producer_id: Uuid,
    given: Identifiers,
) -> Result<producer::Model> {
    require_curator(actor)?;
    let found = producer::Entity::find_by_id(producer_id)
        .one(&state.db)
        .await?
        .ok_or(AppError::NotFound("producer"))?;
    let check = |field: &str, value: Option<String>, ok: fn(&str) -> bool, form: &str| match value
        .map(|value| value.trim().to_owned())
    {
        None => Ok(None),
        Some(value) if value.is_empty() => Ok(Some(None)),
        Some(value) if ok(&value) => Ok(Some(Some(value))),
        Some(_) => Err(AppError::invalid(field, format!("{field} must be {form}"))),
    };
    let lei = check(
        "input.lei",
        given.lei,
        |v| {
            v.len() == 20
                && v.bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        },
        "20 upper-case letters and digits",
    )?;
    let wikidata = check(
        "input.wikidata",
        given.wikidata,
        |v| {
            v.len() > 1
                && v.len() <= 12
                && v.starts_with('Q')
                && v[1..].bytes().all(|b| b.is_ascii_digit())
        },
        "a Wikidata item such as Q12345",
    )?;
    let open_corporates = check(
        "input.openCorporates",
        given.open_corporates,
        |v| {
            v.split_once('/').is_some_and(|(jurisdiction, number)| {
                (2..=10).contains(&jurisdiction.len())
                    && jurisdiction
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b == b'_')
                    && !number.is_empty()
                    && number.len() <= 60
                    && number
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            })
        },
        "a jurisdiction and a number such as fr/552032534",
    )?;
    let (writer, txn) = state.begin_write().await?;
    let mut active: producer::ActiveModel = found.into();
    if let Some(lei) = lei {
        active.lei = Set(lei);
    }
    if let Some(wikidata) = wikidata {
        active.wikidata = Set(wikidata);
    }
    if let Some(open_corporates) = open_corporates {
        active.open_corporates = Set(open_corporates);
    }
    active.updated_at = Set(validate::now());
    let saved = active.update(&txn).await?;
    txn.commit().await?;
    drop(writer);
    Ok(saved)
}
