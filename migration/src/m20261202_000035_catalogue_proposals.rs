//! Members propose catalogue entries (a product, a brand, an ownership edge)
//! and producers' representatives dispute ownership edges; each waits,
//! pending, for a moderator to accept or reject it.

use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261125_000001_create_members::Member;
use crate::{fk, index};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum CatalogueProposal {
    Table,
    Id,
    Kind,
    Payload,
    ProposerId,
    Reason,
    EvidenceUrl,
    Status,
    DecisionReason,
    DecidedAt,
    ResultId,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(CatalogueProposal::Table)
                    .if_not_exists()
                    .col(uuid(CatalogueProposal::Id).primary_key())
                    .col(string_len(CatalogueProposal::Kind, 16))
                    .col(text(CatalogueProposal::Payload))
                    .col(uuid_null(CatalogueProposal::ProposerId))
                    .col(text(CatalogueProposal::Reason))
                    .col(text_null(CatalogueProposal::EvidenceUrl))
                    .col(string_len(CatalogueProposal::Status, 16))
                    .col(text_null(CatalogueProposal::DecisionReason))
                    .col(timestamp_with_time_zone_null(CatalogueProposal::DecidedAt))
                    .col(uuid_null(CatalogueProposal::ResultId))
                    .col(timestamp_with_time_zone(CatalogueProposal::CreatedAt))
                    .foreign_key(&mut fk(
                        CatalogueProposal::Table,
                        CatalogueProposal::ProposerId,
                        Member::Table,
                        ForeignKeyAction::SetNull,
                    ))
                    .to_owned(),
            )
            .await?;
        for (name, columns) in [
            (
                "idx_catalogue_proposal_status",
                vec![CatalogueProposal::Status, CatalogueProposal::Id],
            ),
            (
                "idx_catalogue_proposal_proposer",
                vec![CatalogueProposal::ProposerId, CatalogueProposal::CreatedAt],
            ),
        ] {
            manager
                .create_index(index(name, CatalogueProposal::Table, columns, false))
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(CatalogueProposal::Table).to_owned())
            .await?;
        Ok(())
    }
}
