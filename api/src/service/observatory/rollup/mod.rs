//! Keeps the rollups current: the fold (`service::fold`) applies the
//! queued [`Delta`]s of committed writes to their producer-period atoms
//! ([`apply_many`]), and [`rebuild`] (in [`mod@rebuild`]) recomputes every
//! atom from the source tables.
//!
//! The same statements keep each producer's total (`obs_producer_total`)
//! and its cumulative sums by period (`super::cumulative`):
//! the sums of its *released* atoms (at least k members). An atom's change
//! enters the total while the atom is released; when the atom crosses k,
//! its whole sums enter (upward) or leave (downward) the total, exactly
//! once, because the atom's old and new values come from the one locked
//! row update that moved it.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, TransactionTrait};
use uuid::Uuid;

use super::atoms::Prior;
use super::groups;
use super::query::{RATINGS_SUM, trust_expression};
use super::sql::{Sql, period_start};
use crate::error::Result;

pub use super::atoms::{
    AtomRule, COUNT_COLUMNS, Delta, TOTAL_COLUMNS, dimension_index, period_day, period_of,
    pledge_index, total_columns,
};

mod rebuild;

pub(crate) use rebuild::{CONTRIBUTOR_KEYS, set_aside_contributor_keys};
pub use rebuild::{Rebuilt, ensure_current, ensure_trust_index, rebuild, rebuild_above_atoms};

/// Sort memory for rebuilding indexes after a bulk load (PostgreSQL's
/// default, 64 MB, makes a 10-million-row index spill to disk).
pub const BULK_SORT_MEMORY: &str = "SET LOCAL maintenance_work_mem = '512MB'";

/// Applies many changes at once (a fold pass): contributions are
/// summed per member and atom, each atom is written once, then each
/// producer's total, groups, windows and cumulative sums. Rows are locked in key order (contributors, atoms,
/// totals), so concurrent batches never deadlock.
pub async fn apply_many(
    conn: &impl ConnectionTrait,
    rule: AtomRule,
    changes: &[(Uuid, DateTime<Utc>, Uuid, Delta)],
) -> Result<()> {
    let grain = rule.grain;
    let backend = conn.get_database_backend();
    let mut contributions: BTreeMap<(Uuid, String, Uuid), i64> = BTreeMap::new();
    let mut atoms: BTreeMap<(Uuid, String), (i64, Delta)> = BTreeMap::new();
    for (producer, at, member, delta) in changes {
        if delta.is_empty() {
            continue;
        }
        let period = period_of(grain, *at);
        if delta.contributions != 0 {
            *contributions
                .entry((*producer, period.clone(), *member))
                .or_default() += delta.contributions;
        }
        atoms
            .entry((*producer, period))
            .or_insert_with(|| (0, Delta::default()))
            .1
            .add(delta);
    }
    contributions.retain(|_, added| *added != 0);
    let keys: Vec<_> = contributions.iter().collect();
    for chunk in keys.chunks(CONTRIBUTIONS_PER_STATEMENT) {
        for ((producer, period), joined) in contribute(conn, backend, chunk).await? {
            if let Some(atom) = atoms.get_mut(&(producer, period)) {
                atom.0 += joined;
            }
        }
    }
    let atoms: Vec<_> = atoms.into_iter().collect();
    let mut totals: BTreeMap<Uuid, [i64; TOTAL_COLUMNS]> = BTreeMap::new();
    let mut moved = Vec::new();
    let mut released = Vec::new();
    for chunk in atoms.chunks(ATOMS_PER_STATEMENT) {
        for (producer, period, change) in upsert_atoms(conn, backend, rule.k, chunk).await? {
            if change.iter().all(|value| *value == 0) {
                continue;
            }
            let total = totals.entry(producer).or_insert([0; TOTAL_COLUMNS]);
            for (sum, part) in total.iter_mut().zip(change) {
                *sum += part;
            }
            moved.push((producer, period.clone(), groups::atom_change(&change)));
            released.push((producer, period, change));
        }
    }
    let totals: Vec<_> = totals.into_iter().collect();
    for chunk in totals.chunks(ATOMS_PER_STATEMENT) {
        add_to_totals(conn, backend, chunk).await?;
    }
    // Read after the totals' rows are locked: a producer's groups do not
    // change meanwhile (see `groups`).
    groups::add_to_groups(conn, &moved).await?;
    super::windows::add(conn, &moved).await?;
    super::cumulative::add(conn, rule.k, &released).await
}

/// What an atom's move from `old` to `new` (members, then the count
/// columns) changes in its producer's total: the released atom's sums
/// leave and the new ones enter, so crossing k moves the whole atom once.
fn total_change(k: i64, old: &[i64], new: &[i64]) -> [i64; TOTAL_COLUMNS] {
    let released = |values: &[i64]| values[0] >= k;
    let mut change = [0; TOTAL_COLUMNS];
    change[0] = i64::from(released(new)) - i64::from(released(old));
    for (i, slot) in change.iter_mut().enumerate().skip(1) {
        let value = |values: &[i64]| {
            if released(values) { values[i - 1] } else { 0 }
        };
        *slot = value(new) - value(old);
    }
    change
}

/// Adds each producer's change to its total, creating the totals not there
/// yet (every producer has one once [`groups::regroup`] met it, as a
/// rebuild gives); one statement, producers in key order.
async fn add_to_totals(
    conn: &impl ConnectionTrait,
    backend: DbBackend,
    totals: &[(Uuid, [i64; TOTAL_COLUMNS])],
) -> Result<()> {
    if totals.is_empty() {
        return Ok(());
    }
    let columns: Vec<&str> = total_columns().collect();
    let mut sql = Sql::new(backend);
    sql.push("INSERT INTO obs_producer_total (producer_id, ")
        .push(&columns.join(", "))
        .push(") VALUES ");
    for (i, (producer, change)) in totals.iter().enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        sql.push("(").bind(*producer);
        for value in change {
            sql.push(", ").bind(*value);
        }
        sql.push(")");
    }
    sql.push(" ON CONFLICT (producer_id) DO UPDATE SET ");
    for (i, column) in columns.iter().enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        sql.push(&format!(
            "{column} = obs_producer_total.{column} + excluded.{column}"
        ));
    }
    // A change that moves nothing (an atom still under k) writes nothing.
    sql.push(" WHERE ");
    for (i, column) in columns.iter().enumerate() {
        if i > 0 {
            sql.push(" OR ");
        }
        sql.push(&format!("excluded.{column} <> 0"));
    }
    conn.execute_raw(sql.build()).await?;
    Ok(())
}

/// An atom's key (producer, period) and its change: distinct members
/// joining (or leaving) and the counts.
type AtomChange = ((Uuid, String), (i64, Delta));

/// Atom rows one statement writes (17 bound values each).
const ATOMS_PER_STATEMENT: usize = 500;

/// Adds each change to its atom, creating the atoms not there yet, in one
/// statement (rows in key order, as the caller's map gives them, so
/// concurrent batches lock alike), and returns what each atom's move
/// changes in its producer's total.
async fn upsert_atoms(
    conn: &impl ConnectionTrait,
    backend: DbBackend,
    k: u32,
    atoms: &[AtomChange],
) -> Result<Vec<(Uuid, String, [i64; TOTAL_COLUMNS])>> {
    if atoms.is_empty() {
        return Ok(Vec::new());
    }
    let mut sql = Sql::new(backend);
    sql.push("INSERT INTO obs_atom (producer_id, period_start, members");
    for column in COUNT_COLUMNS {
        sql.push(", ").push(column);
    }
    sql.push(") VALUES ");
    for (i, ((producer, period), (members, delta))) in atoms.iter().enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        sql.push("(")
            .bind(*producer)
            .push(", ")
            .bind(period.clone())
            .push(", ")
            .bind(*members);
        for value in delta.values() {
            sql.push(", ").bind(value);
        }
        sql.push(")");
    }
    sql.push(" ON CONFLICT (producer_id, period_start) DO UPDATE SET members = obs_atom.members + excluded.members");
    for column in COUNT_COLUMNS {
        sql.push(&format!(
            ", {column} = obs_atom.{column} + excluded.{column}"
        ));
    }
    sql.push(" RETURNING producer_id, period_start, members");
    for column in COUNT_COLUMNS {
        sql.push(", ").push(column);
    }
    let changes: BTreeMap<(Uuid, &str), Vec<i64>> = atoms
        .iter()
        .map(|((producer, period), (members, delta))| {
            let mut values = vec![*members];
            values.extend(delta.values());
            ((*producer, period.as_str()), values)
        })
        .collect();
    let k = i64::from(k);
    let mut moved = Vec::with_capacity(atoms.len());
    for row in conn.query_all_raw(sql.build()).await? {
        let producer: Uuid = row.try_get_by_index(0)?;
        let period: String = row.try_get_by_index(1)?;
        let Some(change) = changes.get(&(producer, period.as_str())) else {
            continue;
        };
        let new = (0..change.len())
            .map(|i| row.try_get_by_index::<i64>(2 + i))
            .collect::<std::result::Result<Vec<i64>, _>>()?;
        // This statement added exactly `change` to the locked row.
        let old: Vec<i64> = new
            .iter()
            .zip(change)
            .map(|(new, added)| new - added)
            .collect();
        moved.push((producer, period, total_change(k, &old, &new)));
    }
    Ok(moved)
}

/// Contributor rows one statement writes (4 bound values each, well
/// within both engines' limits).
const CONTRIBUTIONS_PER_STATEMENT: usize = 1_000;

/// Adds each member's contributions to their atoms in one statement (rows
/// in key order, so concurrent writers lock alike), deletes the rows that
/// fell to zero, and returns each atom's change in distinct members (+1 per
/// newcomer, -1 per leaver).
async fn contribute(
    conn: &impl ConnectionTrait,
    backend: DbBackend,
    changes: &[(&(Uuid, String, Uuid), &i64)],
) -> Result<BTreeMap<(Uuid, String), i64>> {
    let mut sql = Sql::new(backend);
    sql.push("INSERT INTO obs_contributor (producer_id, period_start, member_id, weight) VALUES ");
    for (i, ((producer, period, member), added)) in changes.iter().enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        sql.push("(")
            .bind(*producer)
            .push(", ")
            .bind(period.clone())
            .push(", ")
            .bind(*member)
            .push(", ")
            .bind(**added)
            .push(")");
    }
    sql.push(
        " ON CONFLICT (producer_id, period_start, member_id) DO UPDATE SET weight = obs_contributor.weight + excluded.weight \
         RETURNING producer_id, period_start, member_id, weight",
    );
    let added: BTreeMap<&(Uuid, String, Uuid), i64> =
        changes.iter().map(|(key, added)| (*key, **added)).collect();
    let mut joined: BTreeMap<(Uuid, String), i64> = BTreeMap::new();
    let mut emptied: BTreeMap<(Uuid, String), ()> = BTreeMap::new();
    for row in conn.query_all_raw(sql.build()).await? {
        let producer: Uuid = row.try_get_by_index(0)?;
        let period: String = row.try_get_by_index(1)?;
        let member: Uuid = row.try_get_by_index(2)?;
        let weight: i64 = row
            .try_get_by_index::<i64>(3)
            .or_else(|_| row.try_get_by_index::<i32>(3).map(i64::from))?;
        let key = (producer, period, member);
        let Some(added) = added.get(&key).copied() else {
            continue;
        };
        let change = if weight <= 0 {
            // A leaver only when they were counted before this change.
            if weight - added > 0 { -1 } else { 0 }
        } else if weight == added {
            1
        } else {
            0
        };
        let atom = (key.0, key.1);
        if weight <= 0 {
            emptied.insert(atom.clone(), ());
        }
        *joined.entry(atom).or_default() += change;
    }
    for (producer, period) in emptied.into_keys() {
        let mut sql = Sql::new(backend);
        sql.push("DELETE FROM obs_contributor WHERE producer_id = ")
            .bind(producer)
            .push(" AND period_start = ")
            .bind(period)
            .push(" AND weight <= 0");
        conn.execute_raw(sql.build()).await?;
    }
    Ok(joined)
}
#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Grain;
    use chrono::TimeZone;
    use entities::pledge::PledgeKind;
    use entities::trust_rating::Dimension;

    #[test]
    fn periods_start_on_the_first_day() {
        let at = Utc.with_ymd_and_hms(2026, 3, 17, 23, 59, 0).unwrap();
        assert_eq!(period_of(Grain::Month, at), "2026-03-01");
        assert_eq!(period_of(Grain::Day, at), "2026-03-17");
    }

    #[test]
    fn a_changed_rating_moves_the_score_only() {
        let delta = Delta::rating(Dimension::Quality, Some(2), 5);
        assert_eq!(delta.scores, [0, 0, 0, 3]);
        assert_eq!(delta.ratings, [0; 4]);
        assert_eq!(delta.contributions, 0);
        let first = Delta::rating(Dimension::Fairness, None, 4);
        assert_eq!(
            (first.ratings[1], first.scores[1], first.contributions),
            (1, 4, 1)
        );
    }

    /// An atom's members then its 14 counts, all counts at `count`.
    fn atom(members: i64, count: i64) -> Vec<i64> {
        std::iter::once(members)
            .chain(std::iter::repeat_n(count, COUNT_COLUMNS.len()))
            .collect()
    }

    #[test]
    fn an_atom_enters_and_leaves_its_total_whole_when_it_crosses_k() {
        let k = 3;
        // Crossing up: the whole atom enters, not just the change.
        let up = total_change(k, &atom(2, 10), &atom(3, 11));
        assert_eq!(up[..3], [1, 3, 11]);
        // Crossing down: the whole atom as it was leaves.
        let down = total_change(k, &atom(3, 11), &atom(2, 12));
        assert_eq!(down[..3], [-1, -3, -11]);
        // Released both sides: the change only.
        let within = total_change(k, &atom(5, 11), &atom(6, 14));
        assert_eq!(within[..3], [0, 1, 3]);
        // Under k both sides: nothing.
        assert_eq!(
            total_change(k, &atom(1, 4), &atom(2, 9)),
            [0; TOTAL_COLUMNS]
        );
    }

    #[test]
    fn pledges_count_by_kind_and_amount() {
        let delta = Delta::pledge(-1, PledgeKind::Avoid, Some(1_500));
        assert_eq!(delta.pledges, [0, -1, 0, 0]);
        assert_eq!(delta.pledged_cents, -1_500);
        assert_eq!(delta.contributions, -1);
    }
}
