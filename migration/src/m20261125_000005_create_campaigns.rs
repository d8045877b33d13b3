//! Campaigns aimed at producers, their value tags and their organisers' updates.

use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261125_000001_create_members::Member;
use crate::m20261125_000002_create_value_tags::ValueTag;
use crate::m20261125_000003_create_communities::Community;
use crate::m20261125_000004_create_producers::Producer;
use crate::{Common, fk, index};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
pub(crate) enum Campaign {
    Table,
    Kind,
    Status,
    Title,
    Summary,
    Body,
    ProducerId,
    CommunityId,
    OrganiserId,
    Goal,
    Deadline,
    SelectionThreshold,
    PublishedAt,
    ClosedAt,
    HiddenAt,
    HiddenReason,
}

#[derive(DeriveIden)]
enum CampaignValueTag {
    Table,
    CampaignId,
    ValueTagId,
}

#[derive(DeriveIden)]
enum CampaignUpdate {
    Table,
    CampaignId,
    AuthorId,
    Title,
    Body,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Campaign::Table)
                    .if_not_exists()
                    .col(pk_uuid(Common::Id))
                    .col(string_len(Campaign::Kind, 16))
                    .col(string_len(Campaign::Status, 16))
                    .col(string_len(Campaign::Title, 140))
                    .col(string_len(Campaign::Summary, 280))
                    .col(text(Campaign::Body))
                    .col(uuid(Campaign::ProducerId))
                    .col(uuid_null(Campaign::CommunityId))
                    // Null once the organiser deletes their account; the campaign stays.
                    .col(uuid_null(Campaign::OrganiserId))
                    .col(integer_null(Campaign::Goal))
                    .col(timestamp_with_time_zone_null(Campaign::Deadline))
                    .col(integer_null(Campaign::SelectionThreshold))
                    .col(timestamp_with_time_zone_null(Campaign::PublishedAt))
                    .col(timestamp_with_time_zone_null(Campaign::ClosedAt))
                    .col(timestamp_with_time_zone_null(Campaign::HiddenAt))
                    .col(text_null(Campaign::HiddenReason))
                    .col(timestamp_with_time_zone(Common::CreatedAt))
                    .col(timestamp_with_time_zone(Common::UpdatedAt))
                    .foreign_key(&mut fk(
                        Campaign::Table,
                        Campaign::ProducerId,
                        Producer::Table,
                        ForeignKeyAction::Restrict,
                    ))
                    .foreign_key(&mut fk(
                        Campaign::Table,
                        Campaign::CommunityId,
                        Community::Table,
                        ForeignKeyAction::SetNull,
                    ))
                    .foreign_key(&mut fk(
                        Campaign::Table,
                        Campaign::OrganiserId,
                        Member::Table,
                        ForeignKeyAction::SetNull,
                    ))
                    .to_owned(),
            )
            .await?;
        for (name, column) in [
            ("idx_campaign_status", Campaign::Status),
            ("idx_campaign_producer", Campaign::ProducerId),
            ("idx_campaign_community", Campaign::CommunityId),
            ("idx_campaign_organiser", Campaign::OrganiserId),
        ] {
            manager
                .create_index(index(name, Campaign::Table, [column], false))
                .await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(CampaignValueTag::Table)
                    .if_not_exists()
                    .col(uuid(CampaignValueTag::CampaignId))
                    .col(uuid(CampaignValueTag::ValueTagId))
                    .primary_key(
                        Index::create()
                            .col(CampaignValueTag::CampaignId)
                            .col(CampaignValueTag::ValueTagId),
                    )
                    .foreign_key(&mut fk(
                        CampaignValueTag::Table,
                        CampaignValueTag::CampaignId,
                        Campaign::Table,
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        CampaignValueTag::Table,
                        CampaignValueTag::ValueTagId,
                        ValueTag::Table,
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_campaign_value_tag_tag",
                CampaignValueTag::Table,
                [CampaignValueTag::ValueTagId],
                false,
            ))
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(CampaignUpdate::Table)
                    .if_not_exists()
                    .col(pk_uuid(Common::Id))
                    .col(uuid(CampaignUpdate::CampaignId))
                    .col(uuid_null(CampaignUpdate::AuthorId))
                    .col(string_len(CampaignUpdate::Title, 140))
                    .col(text(CampaignUpdate::Body))
                    .col(timestamp_with_time_zone(Common::CreatedAt))
                    .foreign_key(&mut fk(
                        CampaignUpdate::Table,
                        CampaignUpdate::CampaignId,
                        Campaign::Table,
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        CampaignUpdate::Table,
                        CampaignUpdate::AuthorId,
                        Member::Table,
                        ForeignKeyAction::SetNull,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_campaign_update_campaign",
                CampaignUpdate::Table,
                [CampaignUpdate::CampaignId],
                false,
            ))
            .await
    }
}
