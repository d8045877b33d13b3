//! Proposals co-created in campaigns or communities, and the votes on them.

use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261125_000001_create_members::Member;
use crate::m20261125_000003_create_communities::Community;
use crate::m20261125_000005_create_campaigns::Campaign;
use crate::{Common, fk, index};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Proposal {
    Table,
    CampaignId,
    CommunityId,
    AuthorId,
    Title,
    Body,
    Status,
    SelectedAt,
    AdoptedAt,
    HiddenAt,
    HiddenReason,
}

#[derive(DeriveIden)]
enum Vote {
    Table,
    ProposalId,
    MemberId,
    Direction,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Proposal::Table)
                    .if_not_exists()
                    .col(pk_uuid(Common::Id))
                    .col(uuid_null(Proposal::CampaignId))
                    .col(uuid_null(Proposal::CommunityId))
                    .col(uuid_null(Proposal::AuthorId))
                    .col(string_len(Proposal::Title, 140))
                    .col(text(Proposal::Body))
                    .col(string_len(Proposal::Status, 16))
                    .col(timestamp_with_time_zone_null(Proposal::SelectedAt))
                    .col(timestamp_with_time_zone_null(Proposal::AdoptedAt))
                    .col(timestamp_with_time_zone_null(Proposal::HiddenAt))
                    .col(text_null(Proposal::HiddenReason))
                    .col(timestamp_with_time_zone(Common::CreatedAt))
                    .col(timestamp_with_time_zone(Common::UpdatedAt))
                    .foreign_key(&mut fk(
                        Proposal::Table,
                        Proposal::CampaignId,
                        Campaign::Table,
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        Proposal::Table,
                        Proposal::CommunityId,
                        Community::Table,
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        Proposal::Table,
                        Proposal::AuthorId,
                        Member::Table,
                        ForeignKeyAction::SetNull,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_proposal_campaign",
                Proposal::Table,
                [Proposal::CampaignId],
                false,
            ))
            .await?;
        manager
            .create_index(index(
                "idx_proposal_community",
                Proposal::Table,
                [Proposal::CommunityId],
                false,
            ))
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Vote::Table)
                    .if_not_exists()
                    .col(uuid(Vote::ProposalId))
                    .col(uuid(Vote::MemberId))
                    // +1 (up) or -1 (down); clearing a vote deletes its row.
                    .col(small_integer(Vote::Direction))
                    .col(timestamp_with_time_zone(Common::CreatedAt))
                    .col(timestamp_with_time_zone(Common::UpdatedAt))
                    .primary_key(Index::create().col(Vote::ProposalId).col(Vote::MemberId))
                    .foreign_key(&mut fk(
                        Vote::Table,
                        Vote::ProposalId,
                        Proposal::Table,
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        Vote::Table,
                        Vote::MemberId,
                        Member::Table,
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_vote_member",
                Vote::Table,
                [Vote::MemberId],
                false,
            ))
            .await
    }
}
