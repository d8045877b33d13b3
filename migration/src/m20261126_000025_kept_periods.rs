//! Kept per-period sums of the observatory, so that a series is read one
//! row per period: each producer's facts per period (`obs_producer_period`:
//! the campaigns published in it, how soon they were answered, the
//! commitments made in it and how they ended), and each group's sums per
//! period (`obs_group_period`: its producers' released atoms of the period
//! and their facts of the period). Derived data: `observatory-rebuild`
//! recomputes it.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use crate::fk;
use crate::m20261125_000004_create_producers::Producer;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ObsProducerPeriod {
    Table,
    ProducerId,
    PeriodStart,
}

#[derive(DeriveIden)]
enum ObsGroupPeriod {
    Table,
    Dimension,
    GroupKey,
    PeriodStart,
}

/// The producer facts' columns (classes of hours `answered_00` to
/// `answered_20`).
pub(crate) fn fact_columns() -> Vec<String> {
    [
        "campaigns",
        "commitments_made",
        "commitments_kept",
        "commitments_broken",
        "commitments_open",
    ]
    .into_iter()
    .map(str::to_owned)
    .chain((0..21).map(|class| format!("answered_{class:02}")))
    .collect()
}

/// The producer totals' columns.
pub(crate) const TOTAL_COLUMNS: [&str; 16] = [
    "atoms",
    "members",
    "signatures",
    "ratings_transparency",
    "ratings_fairness",
    "ratings_commitment_keeping",
    "ratings_quality",
    "score_transparency",
    "score_fairness",
    "score_commitment_keeping",
    "score_quality",
    "pledges_buy",
    "pledges_avoid",
    "pledges_switch",
    "pledges_reduce",
    "pledged_cents",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let mut table = Table::create();
        table
            .table(ObsProducerPeriod::Table)
            .if_not_exists()
            .col(uuid(ObsProducerPeriod::ProducerId))
            .col(string_len(ObsProducerPeriod::PeriodStart, 10))
            .primary_key(
                Index::create()
                    .col(ObsProducerPeriod::ProducerId)
                    .col(ObsProducerPeriod::PeriodStart),
            )
            .foreign_key(&mut fk(
                ObsProducerPeriod::Table,
                ObsProducerPeriod::ProducerId,
                Producer::Table,
                ForeignKeyAction::Cascade,
            ));
        for column in fact_columns() {
            table.col(big_integer(Alias::new(column)).default(0).to_owned());
        }
        manager.create_table(table.to_owned()).await?;
        let mut table = Table::create();
        table
            .table(ObsGroupPeriod::Table)
            .if_not_exists()
            .col(string_len(ObsGroupPeriod::Dimension, 16))
            .col(string_len(ObsGroupPeriod::GroupKey, 120))
            .col(string_len(ObsGroupPeriod::PeriodStart, 10))
            .primary_key(
                Index::create()
                    .col(ObsGroupPeriod::Dimension)
                    .col(ObsGroupPeriod::GroupKey)
                    .col(ObsGroupPeriod::PeriodStart),
            );
        for column in TOTAL_COLUMNS
            .into_iter()
            .map(str::to_owned)
            .chain(fact_columns())
        {
            table.col(big_integer(Alias::new(column)).default(0).to_owned());
        }
        manager.create_table(table.to_owned()).await
    }
}
