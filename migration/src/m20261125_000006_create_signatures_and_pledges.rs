//! Signatures, milestones reached and pledges: the actions members take on a campaign.

use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261125_000001_create_members::Member;
use crate::m20261125_000005_create_campaigns::Campaign;
use crate::{Common, fk, index};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Signature {
    Table,
    CampaignId,
    MemberId,
    Comment,
    Anonymous,
    Territory,
    HiddenAt,
}

#[derive(DeriveIden)]
enum Milestone {
    Table,
    CampaignId,
    Threshold,
    ReachedAt,
}

#[derive(DeriveIden)]
enum Pledge {
    Table,
    CampaignId,
    MemberId,
    Kind,
    MonthlyAmountCents,
    ActivationThreshold,
    Status,
    ActivatedAt,
    ClosedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Signature::Table)
                    .if_not_exists()
                    .col(pk_uuid(Common::Id))
                    .col(uuid(Signature::CampaignId))
                    // Null after the signer deletes their account: the signature still counts.
                    .col(uuid_null(Signature::MemberId))
                    .col(text_null(Signature::Comment))
                    .col(boolean(Signature::Anonymous))
                    .col(string_len_null(Signature::Territory, 6))
                    .col(timestamp_with_time_zone_null(Signature::HiddenAt))
                    .col(timestamp_with_time_zone(Common::CreatedAt))
                    .foreign_key(&mut fk(
                        Signature::Table,
                        Signature::CampaignId,
                        Campaign::Table,
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        Signature::Table,
                        Signature::MemberId,
                        Member::Table,
                        ForeignKeyAction::SetNull,
                    ))
                    .to_owned(),
            )
            .await?;
        // The last guard against double counting: one signature per member and campaign.
        manager
            .create_index(index(
                "uq_signature_campaign_member",
                Signature::Table,
                [Signature::CampaignId, Signature::MemberId],
                true,
            ))
            .await?;
        manager
            .create_index(index(
                "idx_signature_member",
                Signature::Table,
                [Signature::MemberId],
                false,
            ))
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Milestone::Table)
                    .if_not_exists()
                    .col(uuid(Milestone::CampaignId))
                    .col(big_integer(Milestone::Threshold))
                    .col(timestamp_with_time_zone(Milestone::ReachedAt))
                    // Each milestone is recorded once, however many signers cross it together.
                    .primary_key(
                        Index::create()
                            .col(Milestone::CampaignId)
                            .col(Milestone::Threshold),
                    )
                    .foreign_key(&mut fk(
                        Milestone::Table,
                        Milestone::CampaignId,
                        Campaign::Table,
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Pledge::Table)
                    .if_not_exists()
                    .col(pk_uuid(Common::Id))
                    .col(uuid(Pledge::CampaignId))
                    .col(uuid_null(Pledge::MemberId))
                    .col(string_len(Pledge::Kind, 16))
                    .col(big_integer_null(Pledge::MonthlyAmountCents))
                    .col(integer_null(Pledge::ActivationThreshold))
                    .col(string_len(Pledge::Status, 16))
                    .col(timestamp_with_time_zone_null(Pledge::ActivatedAt))
                    .col(timestamp_with_time_zone_null(Pledge::ClosedAt))
                    .col(timestamp_with_time_zone(Common::CreatedAt))
                    .col(timestamp_with_time_zone(Common::UpdatedAt))
                    .foreign_key(&mut fk(
                        Pledge::Table,
                        Pledge::CampaignId,
                        Campaign::Table,
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        Pledge::Table,
                        Pledge::MemberId,
                        Member::Table,
                        ForeignKeyAction::SetNull,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "uq_pledge_campaign_member",
                Pledge::Table,
                [Pledge::CampaignId, Pledge::MemberId],
                true,
            ))
            .await?;
        manager
            .create_index(index(
                "idx_pledge_campaign_status",
                Pledge::Table,
                [Pledge::CampaignId, Pledge::Status],
                false,
            ))
            .await
    }
}
