//! Producers (brands, companies, cooperatives) and the members who speak for them.

use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261125_000001_create_members::Member;
use crate::{Common, fk, index};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
pub(crate) enum Producer {
    Table,
    Name,
    NameKey,
    Kind,
    Sector,
    Territory,
    Labels,
    Website,
    Description,
    CreatedBy,
}

#[derive(DeriveIden)]
enum ProducerRepresentative {
    Table,
    ProducerId,
    MemberId,
    Status,
    DecidedBy,
    DecidedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Producer::Table)
                    .if_not_exists()
                    .col(pk_uuid(Common::Id))
                    .col(string_len(Producer::Name, 120))
                    // Case-folded name: one producer per name, so metrics don't split.
                    .col(string_len_uniq(Producer::NameKey, 120))
                    .col(string_len(Producer::Kind, 24))
                    .col(string_len(Producer::Sector, 64))
                    .col(string_len_null(Producer::Territory, 6))
                    // A JSON array of label strings (e.g. ["organic", "fairtrade"]).
                    .col(text(Producer::Labels))
                    .col(string_len_null(Producer::Website, 300))
                    .col(text(Producer::Description))
                    .col(uuid_null(Producer::CreatedBy))
                    .col(timestamp_with_time_zone(Common::CreatedAt))
                    .col(timestamp_with_time_zone(Common::UpdatedAt))
                    .foreign_key(&mut fk(
                        Producer::Table,
                        Producer::CreatedBy,
                        Member::Table,
                        ForeignKeyAction::SetNull,
                    ))
                    .to_owned(),
            )
            .await?;
        for (name, column) in [
            ("idx_producer_sector", Producer::Sector),
            ("idx_producer_kind", Producer::Kind),
            ("idx_producer_territory", Producer::Territory),
        ] {
            manager
                .create_index(index(name, Producer::Table, [column], false))
                .await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(ProducerRepresentative::Table)
                    .if_not_exists()
                    .col(pk_uuid(Common::Id))
                    .col(uuid(ProducerRepresentative::ProducerId))
                    .col(uuid(ProducerRepresentative::MemberId))
                    .col(string_len(ProducerRepresentative::Status, 16))
                    .col(uuid_null(ProducerRepresentative::DecidedBy))
                    .col(timestamp_with_time_zone_null(
                        ProducerRepresentative::DecidedAt,
                    ))
                    .col(timestamp_with_time_zone(Common::CreatedAt))
                    .foreign_key(&mut fk(
                        ProducerRepresentative::Table,
                        ProducerRepresentative::ProducerId,
                        Producer::Table,
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        ProducerRepresentative::Table,
                        ProducerRepresentative::MemberId,
                        Member::Table,
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        ProducerRepresentative::Table,
                        ProducerRepresentative::DecidedBy,
                        Member::Table,
                        ForeignKeyAction::SetNull,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "uq_producer_representative",
                ProducerRepresentative::Table,
                [
                    ProducerRepresentative::ProducerId,
                    ProducerRepresentative::MemberId,
                ],
                true,
            ))
            .await
    }
}
