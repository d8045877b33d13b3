//! The fold's queue (`fold_change`): one row per committed write that moves
//! derived figures, holding what it moves in a compact JSON form. Writers
//! append ([`record`]) inside their own transaction; the folder takes rows
//! ([`take`]) inside the transaction that applies them, so a row is applied
//! exactly once, whichever instance folds and whenever it crashes.

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbBackend};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{AppError, Result};
use crate::service::observatory::atoms::Delta;
use crate::service::signing::standing::SignatureChange;
use crate::sql::Sql;

/// What one write moves: changes to observatory atoms, and signatures that
/// started or stopped counting on campaigns (their kept totals, momentum,
/// communities and answer duties).
#[derive(Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Changes {
    #[serde(rename = "r", default, skip_serializing_if = "Vec::is_empty")]
    rollup: Vec<RollupEntry>,
    #[serde(rename = "s", default, skip_serializing_if = "Vec::is_empty")]
    signatures: Vec<SignatureEntry>,
}

/// A change to an atom as `rollup::apply_many` takes it: producer, time,
/// member, delta.
pub type AtomChange = (Uuid, DateTime<Utc>, Uuid, Delta);

/// Producer, time (µs since the epoch), member, the 14 counts then the
/// contributions.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct RollupEntry(Uuid, i64, Uuid, [i64; 15]);

/// Campaign, community, time (µs since the epoch), +1 or -1.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct SignatureEntry(Uuid, Option<Uuid>, i64, i64);

fn from_micros(micros: i64) -> Result<DateTime<Utc>> {
    DateTime::from_timestamp_micros(micros)
        .ok_or_else(|| AppError::Internal(format!("a queued change has no valid time: {micros}")))
}

impl Changes {
    /// A member's change to a producer's atom (a rating, a pledge).
    pub fn rollup(&mut self, producer: Uuid, at: DateTime<Utc>, member: Uuid, delta: &Delta) {
        let mut values = [0; 15];
        values[..14].copy_from_slice(&delta.values());
        values[14] = delta.contributions;
        self.rollup
            .push(RollupEntry(producer, at.timestamp_micros(), member, values));
    }

    /// A signature on `campaign` that started (`sign` 1) or stopped (-1)
    /// counting: its producer's atom (when it has a member) and the kept
    /// values of its campaign and community.
    pub fn signature(
        &mut self,
        producer: Uuid,
        member: Option<Uuid>,
        campaign: Uuid,
        community: Option<Uuid>,
        at: DateTime<Utc>,
        sign: i64,
    ) {
        if let Some(member) = member {
            self.rollup(producer, at, member, &Delta::signature(sign));
        }
        self.signatures.push(SignatureEntry(
            campaign,
            community,
            at.timestamp_micros(),
            sign,
        ));
    }

    pub fn is_empty(&self) -> bool {
        self.rollup.is_empty() && self.signatures.is_empty()
    }

    /// How many changes this holds.
    pub fn len(&self) -> usize {
        self.rollup.len() + self.signatures.len()
    }

    fn merge(&mut self, other: Changes) {
        self.rollup.extend(other.rollup);
        self.signatures.extend(other.signatures);
    }

    /// The atoms' changes, as `rollup::apply_many` takes them.
    pub fn rollup_changes(&self) -> Result<Vec<AtomChange>> {
        self.rollup
            .iter()
            .map(|RollupEntry(producer, at, member, values)| {
                Ok((
                    *producer,
                    from_micros(*at)?,
                    *member,
                    Delta::from_values(values),
                ))
            })
            .collect()
    }

    /// The campaigns' changes, as `standing::signatures` takes them.
    pub fn signature_changes(&self) -> Result<Vec<SignatureChange>> {
        self.signatures
            .iter()
            .map(|SignatureEntry(campaign, community, at, sign)| {
                Ok(SignatureChange {
                    campaign_id: *campaign,
                    community_id: *community,
                    at: from_micros(*at)?,
                    sign: *sign,
                })
            })
            .collect()
    }

    fn encode(&self) -> Result<String> {
        serde_json::to_string(self)
            .map_err(|err| AppError::Internal(format!("cannot encode queued changes: {err}")))
    }

    fn decode(text: &str) -> Result<Self> {
        serde_json::from_str(text)
            .map_err(|err| AppError::Internal(format!("a queued change cannot be read: {err}")))
    }
}

/// Appends `changes` to the queue inside the caller's transaction: they
/// are folded once it commits, and never if it does not.
pub async fn record(conn: &impl ConnectionTrait, changes: &Changes) -> Result<()> {
    if changes.is_empty() {
        return Ok(());
    }
    let mut sql = Sql::new(conn.get_database_backend());
    sql.push("INSERT INTO fold_change (created_ms, changes) VALUES (")
        .bind(Utc::now().timestamp_millis())
        .push(", ")
        .bind(changes.encode()?)
        .push(")");
    conn.execute_raw(sql.build()).await?;
    Ok(())
}

/// What [`take`] took.
pub struct Taken {
    pub changes: Changes,
    /// Queued writes taken.
    pub writes: usize,
    /// When the oldest of them was queued (ms since the epoch).
    pub oldest_ms: i64,
}

/// Takes up to `limit` queued writes, oldest first, deleting them in the
/// caller's transaction: a concurrent taker skips what this one deleted,
/// so each write is applied by the transaction that took it, or by none.
pub async fn take(conn: &impl ConnectionTrait, limit: u32) -> Result<Taken> {
    let mut sql = Sql::new(conn.get_database_backend());
    sql.push("DELETE FROM fold_change WHERE id IN (SELECT id FROM fold_change ORDER BY id LIMIT ")
        .bind(i64::from(limit))
        .push(") RETURNING created_ms, changes");
    let mut taken = Taken {
        changes: Changes::default(),
        writes: 0,
        oldest_ms: i64::MAX,
    };
    for row in conn.query_all_raw(sql.build()).await? {
        let created: i64 = row.try_get_by_index(0)?;
        let text: String = row.try_get_by_index(1)?;
        taken.changes.merge(Changes::decode(&text)?);
        taken.writes += 1;
        taken.oldest_ms = taken.oldest_ms.min(created);
    }
    Ok(taken)
}

/// Whether anything waits in the queue (a cheap look before a pass).
pub async fn any_queued(conn: &impl ConnectionTrait) -> Result<bool> {
    let mut sql = Sql::new(conn.get_database_backend());
    sql.push("SELECT 1 FROM fold_change LIMIT 1");
    Ok(conn.query_one_raw(sql.build()).await?.is_some())
}

/// Queued writes and the age of the oldest, in milliseconds (0 when none):
/// the fold's lag, for `/metrics`.
pub async fn backlog(conn: &impl ConnectionTrait) -> Result<(i64, i64)> {
    let mut sql = Sql::new(conn.get_database_backend());
    sql.push("SELECT COUNT(*), MIN(created_ms) FROM fold_change");
    let Some(row) = conn.query_one_raw(sql.build()).await? else {
        return Ok((0, 0));
    };
    let count: i64 = row.try_get_by_index(0)?;
    let oldest: Option<i64> = row.try_get_by_index(1)?;
    let age = oldest.map_or(0, |oldest| (Utc::now().timestamp_millis() - oldest).max(0));
    Ok((count, age))
}

/// For a rebuild of the observatory, which recomputes every atom from the
/// source rows these writes already changed: drops the atoms' part of every
/// queued write and keeps the campaigns' part for the folder. The caller
/// holds the queue's lock (no write may be queued meanwhile).
pub async fn strip_rollups(conn: &impl ConnectionTrait) -> Result<u64> {
    let backend = conn.get_database_backend();
    let mut select = Sql::new(backend);
    select.push("SELECT id, changes FROM fold_change WHERE changes LIKE '%\"r\":%'");
    let mut stripped = 0;
    for row in conn.query_all_raw(select.build()).await? {
        let id: i64 = row.try_get_by_index(0)?;
        let text: String = row.try_get_by_index(1)?;
        let mut changes = Changes::decode(&text)?;
        changes.rollup.clear();
        let mut sql = Sql::new(backend);
        if changes.is_empty() {
            sql.push("DELETE FROM fold_change WHERE id = ").bind(id);
        } else {
            sql.push("UPDATE fold_change SET changes = ")
                .bind(changes.encode()?)
                .push(" WHERE id = ")
                .bind(id);
        }
        conn.execute_raw(sql.build()).await?;
        stripped += 1;
    }
    Ok(stripped)
}

/// On PostgreSQL, the advisory lock a fold pass and a rebuild hold for
/// their transaction, so passes of several instances run one at a time
/// (each in large batches) and never beside a rebuild.
pub async fn lock(conn: &impl ConnectionTrait) -> Result<()> {
    if conn.get_database_backend() == DbBackend::Postgres {
        conn.execute_unprepared(&format!("SELECT pg_advisory_xact_lock({FOLD_LOCK})"))
            .await?;
    }
    Ok(())
}

/// The key of [`lock`].
const FOLD_LOCK: i64 = 0x0063_6f6e_666f_6c64;

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn changes_read_back_as_they_were_written() {
        let at = Utc.with_ymd_and_hms(2026, 3, 17, 23, 59, 7).unwrap()
            + chrono::Duration::microseconds(123_456);
        let (producer, member, campaign) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        let mut changes = Changes::default();
        changes.signature(producer, Some(member), campaign, None, at, -1);
        changes.rollup(
            producer,
            at,
            member,
            &Delta::pledge(1, entities::pledge::PledgeKind::Avoid, Some(1_500)),
        );
        let back = Changes::decode(&changes.encode().unwrap()).unwrap();
        assert_eq!(back, changes);
        let rollups = back.rollup_changes().unwrap();
        assert_eq!(rollups.len(), 2);
        assert_eq!(rollups[0], (producer, at, member, Delta::signature(-1)));
        assert_eq!(rollups[1].3.pledged_cents, 1_500);
        let signatures = back.signature_changes().unwrap();
        assert_eq!(
            (
                signatures[0].campaign_id,
                signatures[0].at,
                signatures[0].sign
            ),
            (campaign, at, -1)
        );
    }

    #[test]
    fn a_signature_without_a_member_moves_its_campaign_only() {
        let mut changes = Changes::default();
        let at = Utc::now();
        changes.signature(Uuid::now_v7(), None, Uuid::now_v7(), None, at, 1);
        assert_eq!((changes.rollup.len(), changes.signatures.len()), (0, 1));
    }
}
