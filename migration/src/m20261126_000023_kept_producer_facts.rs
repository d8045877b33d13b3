//! Kept per-producer facts of the observatory: the producer's side of the
//! picture (published campaigns aimed at it, those it answered and how fast,
//! the commitments it made and how they ended), one row per producer, kept
//! by every write that changes them in the same transaction, so that a
//! ranking page, a group or the export reads one row per producer instead of
//! every campaign and response. How fast is kept as a distribution: answered
//! campaigns counted in classes of hours to the first answer (`answered_00`
//! to `answered_20`), from which any set of producers' median is estimated.
//! Derived data: `observatory-rebuild` recomputes it.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use crate::fk;
use crate::m20261125_000004_create_producers::Producer;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ObsProducerFact {
    Table,
    ProducerId,
    Campaigns,
    CommitmentsMade,
    CommitmentsKept,
    CommitmentsBroken,
    CommitmentsOpen,
}

/// Classes of hours to a first answer (the server's `facts::CLASSES`).
const CLASSES: usize = 21;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let mut table = Table::create();
        table
            .table(ObsProducerFact::Table)
            .if_not_exists()
            .col(uuid(ObsProducerFact::ProducerId).primary_key())
            .foreign_key(&mut fk(
                ObsProducerFact::Table,
                ObsProducerFact::ProducerId,
                Producer::Table,
                ForeignKeyAction::Cascade,
            ));
        for column in [
            ObsProducerFact::Campaigns,
            ObsProducerFact::CommitmentsMade,
            ObsProducerFact::CommitmentsKept,
            ObsProducerFact::CommitmentsBroken,
            ObsProducerFact::CommitmentsOpen,
        ] {
            table.col(big_integer(column).default(0).to_owned());
        }
        for class in 0..CLASSES {
            table.col(
                big_integer(Alias::new(format!("answered_{class:02}")))
                    .default(0)
                    .to_owned(),
            );
        }
        manager.create_table(table.to_owned()).await
    }
}
