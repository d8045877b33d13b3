//! The rollups' atoms and contributors, counted while the rows are
//! generated.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::DatabaseConnection;
use uuid::Uuid;

use super::bulk::{BULK_BATCH, Behind, write_rollup_rows};
use super::rows::{SeedAtom, SeedContributor};
use crate::config::Grain;
use crate::error::Result;
use crate::service::observatory::rollup;

/// The rollups' atoms and contributors, counted as the rows are generated.
/// Grouping the contributions of millions of rows by (producer, period,
/// member) is the slowest part of a rebuild; here it is one sort in memory,
/// and the rows go in already in their key's order.
pub(super) struct AtomCount {
    grain: Grain,
    producers: Ranked,
    members: Ranked,
    /// (producer rank, period, member rank), one per contribution.
    contributions: Vec<(u32, NaiveDate, u32)>,
    /// Each atom's count columns ([`rollup::COUNT_COLUMNS`]).
    atoms: HashMap<(u32, NaiveDate), [i64; 14]>,
}

/// Ids by their rank in the database's order, and each one's rank by its
/// place in the generator's list.
pub(super) struct Ranked {
    ids: Vec<Uuid>,
    rank: Vec<u32>,
}

impl Ranked {
    pub(super) fn new(ids: &[Uuid]) -> Self {
        let mut order: Vec<u32> = (0..ids.len() as u32).collect();
        // PostgreSQL orders uuids as bytes, as `Uuid`'s `Ord` does.
        order.sort_unstable_by_key(|&i| ids[i as usize]);
        let mut rank = vec![0; ids.len()];
        for (position, &i) in order.iter().enumerate() {
            rank[i as usize] = position as u32;
        }
        Self {
            ids: order.iter().map(|&i| ids[i as usize]).collect(),
            rank,
        }
    }
}

impl AtomCount {
    pub(super) fn new(grain: Grain, producers: &[Uuid], members: &[Uuid]) -> Self {
        Self {
            grain,
            producers: Ranked::new(producers),
            members: Ranked::new(members),
            contributions: Vec::new(),
            atoms: HashMap::new(),
        }
    }

    /// What member `member` (index) did at `at` on producer `producer`
    /// (index): one contribution, and `delta` to the atom.
    pub(super) fn add(
        &mut self,
        producer: usize,
        at: DateTime<Utc>,
        member: usize,
        delta: &rollup::Delta,
    ) {
        let producer = self.producers.rank[producer];
        let period = rollup::period_day(self.grain, at);
        self.contributions
            .push((producer, period, self.members.rank[member]));
        let atom = self.atoms.entry((producer, period)).or_insert([0; 14]);
        for (sum, value) in atom.iter_mut().zip(delta.values()) {
            *sum += value;
        }
    }

    /// Writes the contributors (a weight per member and atom) and the atoms
    /// (with their distinct members), in key order; returns the atoms
    /// written.
    pub(super) async fn write(mut self, db: &DatabaseConnection) -> Result<u64> {
        self.contributions.sort_unstable();
        let mut atoms: Vec<_> = self.atoms.into_iter().collect();
        atoms.sort_unstable_by_key(|(key, _)| *key);
        let mut members = vec![0i64; atoms.len()];
        let (mut batch, mut atom) = (Vec::with_capacity(BULK_BATCH), 0);
        let mut behind = Behind::default();
        for run in self.contributions.chunk_by(|a, b| a == b) {
            let (producer, period, member) = run[0];
            // Both are in key order, and every contribution has its atom.
            while atoms[atom].0 != (producer, period) {
                atom += 1;
            }
            members[atom] += 1;
            batch.push(SeedContributor {
                producer_id: self.producers.ids[producer as usize],
                period,
                member_id: self.members.ids[member as usize],
                weight: run.len() as i32,
            });
            if batch.len() >= BULK_BATCH {
                let (db, rows) = (db.clone(), std::mem::take(&mut batch));
                behind
                    .send(async move { write_rollup_rows(&db, rows).await })
                    .await?;
            }
        }
        behind.finish().await?;
        write_rollup_rows(db, batch).await?;
        let count = atoms.len() as u64;
        let rows = atoms
            .into_iter()
            .zip(members)
            .map(|(((producer, period), counts), members)| SeedAtom {
                producer_id: self.producers.ids[producer as usize],
                period,
                members,
                counts,
            })
            .collect();
        write_rollup_rows(db, rows).await?;
        Ok(count)
    }
}
