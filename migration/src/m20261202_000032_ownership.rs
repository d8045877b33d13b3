//! Who owns whom: ownership edges between producers, each with its source
//! and evidence and the time it held (a change ends one edge and starts
//! another, so the history stays), and the identifiers that tie a producer
//! to public registers (LEI, Wikidata, OpenCorporates).

use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261125_000004_create_producers::Producer;
use crate::{fk, index};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Ownership {
    Table,
    Id,
    ChildId,
    ParentId,
    Source,
    EvidenceUrl,
    ValidFrom,
    ValidTo,
    CreatedAt,
}

#[derive(DeriveIden)]
enum ProducerColumn {
    Lei,
    Wikidata,
    OpenCorporates,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [
            ProducerColumn::Lei,
            ProducerColumn::Wikidata,
            ProducerColumn::OpenCorporates,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Producer::Table)
                        .add_column(string_len_null(column, 100))
                        .to_owned(),
                )
                .await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(Ownership::Table)
                    .if_not_exists()
                    .col(uuid(Ownership::Id).primary_key())
                    .col(uuid(Ownership::ChildId))
                    .col(uuid(Ownership::ParentId))
                    .col(string_len(Ownership::Source, 16))
                    .col(text_null(Ownership::EvidenceUrl))
                    .col(timestamp_with_time_zone(Ownership::ValidFrom))
                    .col(timestamp_with_time_zone_null(Ownership::ValidTo))
                    .col(timestamp_with_time_zone(Ownership::CreatedAt))
                    .foreign_key(&mut fk(
                        Ownership::Table,
                        Ownership::ChildId,
                        Producer::Table,
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        Ownership::Table,
                        Ownership::ParentId,
                        Producer::Table,
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        for (name, column) in [
            ("idx_ownership_child", Ownership::ChildId),
            ("idx_ownership_parent", Ownership::ParentId),
        ] {
            manager
                .create_index(index(name, Ownership::Table, [column], false))
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Ownership::Table).to_owned())
            .await?;
        for column in [
            ProducerColumn::Lei,
            ProducerColumn::Wikidata,
            ProducerColumn::OpenCorporates,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Producer::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
