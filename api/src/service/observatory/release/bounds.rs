//! What a month's release counts: each contributor's acts read from the
//! source rows, then bounded (a few producers per member, once per
//! producer in each count, amounts capped) before anything is summed.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use rand::RngCore;
use rand::seq::SliceRandom;
use sea_orm::{ConnectionTrait, DatabaseConnection};
use uuid::Uuid;

use super::CellSums;
use super::budget;
use crate::error::Result;
use crate::sql::Sql;

/// One member's bounded contribution to one producer's month.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Contribution {
    signed: bool,
    /// The score of each dimension rated (one rating per dimension and month).
    scores: [Option<i64>; 4],
    pledged: [bool; 4],
    cents: i64,
}

pub(super) type Contributions = HashMap<Uuid, HashMap<Uuid, Contribution>>;

/// Each contributor's acts in `[from, to)`, by producer: counted
/// signatures, ratings and pledges not withdrawn. A row without a member
/// (an offline signature, an erased member's) is a contributor of its own.
pub(super) async fn contributions(
    db: &DatabaseConnection,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Contributions> {
    let backend = db.get_database_backend();
    // `SELECT … WHERE <conditions> AND <column> in [from, to)`.
    let range = |select: &str, column: &str| {
        let mut sql = Sql::new(backend);
        sql.push(select)
            .push(&format!(" AND {column} >= "))
            .bind(from)
            .push(&format!(" AND {column} < "))
            .bind(to);
        sql.build()
    };
    let mut out: Contributions = HashMap::new();
    let signed = db
        .query_all_raw(range(
            "SELECT COALESCE(s.member_id, s.id), s.producer_id FROM signature s \
             WHERE s.status = 'COUNTED'",
            "s.created_at",
        ))
        .await?;
    for row in signed {
        let member: Uuid = row.try_get_by_index(0)?;
        let producer: Uuid = row.try_get_by_index(1)?;
        out.entry(member)
            .or_default()
            .entry(producer)
            .or_default()
            .signed = true;
    }
    let rated = db
        .query_all_raw(range(
            "SELECT COALESCE(r.member_id, r.id), r.producer_id, r.dimension, r.score FROM trust_rating r \
             WHERE 1 = 1",
            "r.created_at",
        ))
        .await?;
    for row in rated {
        let member: Uuid = row.try_get_by_index(0)?;
        let producer: Uuid = row.try_get_by_index(1)?;
        let dimension: String = row.try_get_by_index(2)?;
        let score: i64 = i64::from(
            row.try_get_by_index::<i16>(3)
                .or_else(|_| row.try_get_by_index::<i32>(3).map(|s| s as i16))?,
        );
        let Some(i) = budget::DIMENSIONS
            .iter()
            .position(|d| d.eq_ignore_ascii_case(&dimension))
        else {
            continue;
        };
        out.entry(member)
            .or_default()
            .entry(producer)
            .or_default()
            .scores[i] = Some(score.clamp(1, 5));
    }
    let pledged = db
        .query_all_raw(range(
            "SELECT COALESCE(p.member_id, p.id), p.producer_id, p.kind, COALESCE(p.monthly_amount_cents, 0) \
             FROM pledge p WHERE p.status <> 'WITHDRAWN'",
            "p.created_at",
        ))
        .await?;
    for row in pledged {
        let member: Uuid = row.try_get_by_index(0)?;
        let producer: Uuid = row.try_get_by_index(1)?;
        let kind: String = row.try_get_by_index(2)?;
        let cents: i64 = row.try_get_by_index(3)?;
        let Some(i) = budget::KINDS
            .iter()
            .position(|k| k.eq_ignore_ascii_case(&kind))
        else {
            continue;
        };
        let cell = out.entry(member).or_default().entry(producer).or_default();
        cell.pledged[i] = true;
        cell.cents = cell.cents.saturating_add(cents.max(0));
    }
    Ok(out)
}

/// The exact cells after bounding: a contributor counts for at most
/// `max_producers` producers (chosen uniformly at random when more), at
/// most once per producer in each count, with amounts capped.
pub(super) fn bounded_sums(
    contributions: Contributions,
    max_producers: usize,
    cap_cents: i64,
    rng: &mut impl RngCore,
) -> HashMap<Uuid, CellSums> {
    let mut sums: HashMap<Uuid, CellSums> = HashMap::new();
    for (_, producers) in contributions {
        let mut kept: Vec<(Uuid, Contribution)> = producers.into_iter().collect();
        if kept.len() > max_producers {
            // Sorted first so the draw alone decides which are kept.
            kept.sort_by_key(|(producer, _)| *producer);
            kept.shuffle(rng);
            kept.truncate(max_producers);
        }
        for (producer, contribution) in kept {
            let cell = sums.entry(producer).or_default();
            cell.members += 1;
            cell.signatures += i64::from(contribution.signed);
            for i in 0..4 {
                if let Some(score) = contribution.scores[i] {
                    cell.ratings[i] += 1;
                    cell.scores[i] += score - 1;
                }
                cell.pledges[i] += i64::from(contribution.pledged[i]);
            }
            cell.amount += contribution.cents.min(cap_cents) / 100;
        }
    }
    sums
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    #[test]
    fn a_member_counts_for_few_producers_once_each() {
        let member = Uuid::now_v7();
        let producers: Vec<Uuid> = (0..5).map(|_| Uuid::now_v7()).collect();
        let mut one: HashMap<Uuid, Contribution> = HashMap::new();
        for producer in &producers {
            one.insert(
                *producer,
                Contribution {
                    signed: true,
                    scores: [Some(5), None, None, Some(1)],
                    pledged: [true, false, false, false],
                    cents: 90_000,
                },
            );
        }
        let mut rng = StdRng::seed_from_u64(3);
        let sums = bounded_sums(HashMap::from([(member, one)]), 2, 5_000, &mut rng);
        assert_eq!(sums.len(), 2, "two producers kept of five");
        for cell in sums.values() {
            assert_eq!(cell.members, 1);
            assert_eq!(cell.signatures, 1);
            assert_eq!(cell.ratings, [1, 0, 0, 1]);
            assert_eq!(cell.scores, [4, 0, 0, 0]);
            assert_eq!(cell.amount, 50, "amount capped at 5 000 cents");
        }
    }
}
