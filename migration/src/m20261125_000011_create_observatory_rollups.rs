//! Rollup tables of the consumer-trust observatory.
//!
//! `obs_atom` holds one row per producer and period (a day or a calendar
//! month, the observatory's grain) with the sums every metric is built
//! from; `obs_contributor` knows which members contributed to each atom, so
//! the atom's distinct member count stays exact as contributions come and
//! go. Both are derived data: the write path keeps them current and the
//! `observatory-rebuild` subcommand recomputes them from the source tables.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use crate::m20261125_000004_create_producers::Producer;
use crate::{fk, index};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
pub(crate) enum ObsAtom {
    Table,
    ProducerId,
    /// `YYYY-MM-DD`, the first day of the period.
    PeriodStart,
    Members,
    Signatures,
    RatingsTransparency,
    RatingsFairness,
    RatingsCommitmentKeeping,
    RatingsQuality,
    ScoreTransparency,
    ScoreFairness,
    ScoreCommitmentKeeping,
    ScoreQuality,
    PledgesBuy,
    PledgesAvoid,
    PledgesSwitch,
    PledgesReduce,
    PledgedCents,
}

/// An atom's summed columns, which the tables kept above the atoms (and
/// the release's cells) repeat.
pub(crate) const ATOM_SUMS: [ObsAtom; 15] = [
    ObsAtom::Members,
    ObsAtom::Signatures,
    ObsAtom::RatingsTransparency,
    ObsAtom::RatingsFairness,
    ObsAtom::RatingsCommitmentKeeping,
    ObsAtom::RatingsQuality,
    ObsAtom::ScoreTransparency,
    ObsAtom::ScoreFairness,
    ObsAtom::ScoreCommitmentKeeping,
    ObsAtom::ScoreQuality,
    ObsAtom::PledgesBuy,
    ObsAtom::PledgesAvoid,
    ObsAtom::PledgesSwitch,
    ObsAtom::PledgesReduce,
    ObsAtom::PledgedCents,
];

#[derive(DeriveIden)]
enum ObsContributor {
    Table,
    ProducerId,
    PeriodStart,
    MemberId,
    Weight,
}

#[derive(DeriveIden)]
enum ObsMeta {
    Table,
    Key,
    Value,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let counts = ATOM_SUMS;
        let mut atom = Table::create();
        atom.table(ObsAtom::Table)
            .if_not_exists()
            .col(uuid(ObsAtom::ProducerId))
            .col(string_len(ObsAtom::PeriodStart, 10))
            .primary_key(
                Index::create()
                    .col(ObsAtom::ProducerId)
                    .col(ObsAtom::PeriodStart),
            )
            .foreign_key(&mut fk(
                ObsAtom::Table,
                ObsAtom::ProducerId,
                Producer::Table,
                ForeignKeyAction::Cascade,
            ));
        for column in counts {
            atom.col(big_integer(column).default(0).to_owned());
        }
        manager.create_table(atom.to_owned()).await?;
        manager
            .create_index(index(
                "idx_obs_atom_period",
                ObsAtom::Table,
                [ObsAtom::PeriodStart],
                false,
            ))
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ObsContributor::Table)
                    .if_not_exists()
                    .col(uuid(ObsContributor::ProducerId))
                    .col(string_len(ObsContributor::PeriodStart, 10))
                    .col(uuid(ObsContributor::MemberId))
                    .col(integer(ObsContributor::Weight))
                    .primary_key(
                        Index::create()
                            .col(ObsContributor::ProducerId)
                            .col(ObsContributor::PeriodStart)
                            .col(ObsContributor::MemberId),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_obs_contributor_member",
                ObsContributor::Table,
                [ObsContributor::MemberId],
                false,
            ))
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ObsMeta::Table)
                    .if_not_exists()
                    .col(string_len(ObsMeta::Key, 64).primary_key())
                    .col(string(ObsMeta::Value))
                    .to_owned(),
            )
            .await
    }
}
