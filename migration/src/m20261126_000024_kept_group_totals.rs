//! Kept per-group totals of the observatory: which groups (sector,
//! territory, community, value tag) each producer belongs to
//! (`obs_group_member`), and each group's sums of its producers' kept
//! totals and facts (`obs_group_total`), kept by the same writes in the
//! same transactions, so that the groups of the whole observatory are read
//! from one row per group. Derived data: `observatory-rebuild` recomputes it.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use crate::fk;
use crate::m20261125_000004_create_producers::Producer;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ObsGroupMember {
    Table,
    Dimension,
    GroupKey,
    ProducerId,
}

#[derive(DeriveIden)]
enum ObsGroupTotal {
    Table,
    Dimension,
    GroupKey,
    Producers,
}

/// The sums a group keeps, after its producer count: the producer totals'
/// columns, then the producer facts' (classes of hours `answered_00` to
/// `answered_20`).
fn sum_columns() -> Vec<String> {
    [
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

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ObsGroupMember::Table)
                    .if_not_exists()
                    .col(string_len(ObsGroupMember::Dimension, 16))
                    .col(string_len(ObsGroupMember::GroupKey, 120))
                    .col(uuid(ObsGroupMember::ProducerId))
                    .primary_key(
                        Index::create()
                            .col(ObsGroupMember::Dimension)
                            .col(ObsGroupMember::GroupKey)
                            .col(ObsGroupMember::ProducerId),
                    )
                    .foreign_key(&mut fk(
                        ObsGroupMember::Table,
                        ObsGroupMember::ProducerId,
                        Producer::Table,
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(crate::index(
                "idx_obs_group_member_producer",
                ObsGroupMember::Table,
                [ObsGroupMember::ProducerId],
                false,
            ))
            .await?;
        let mut table = Table::create();
        table
            .table(ObsGroupTotal::Table)
            .if_not_exists()
            .col(string_len(ObsGroupTotal::Dimension, 16))
            .col(string_len(ObsGroupTotal::GroupKey, 120))
            .col(big_integer(ObsGroupTotal::Producers).default(0))
            .primary_key(
                Index::create()
                    .col(ObsGroupTotal::Dimension)
                    .col(ObsGroupTotal::GroupKey),
            );
        for column in sum_columns() {
            table.col(big_integer(Alias::new(column)).default(0).to_owned());
        }
        manager.create_table(table.to_owned()).await
    }
}
