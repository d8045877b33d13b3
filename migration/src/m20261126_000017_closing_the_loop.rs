//! Closing the loop: webhooks and their deliveries, members' notification
//! preferences and the daily digests they receive, offline tallies, and the
//! marks that keep each event announced once.

use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261125_000001_create_members::Member;
use crate::m20261125_000003_create_communities::Community;
use crate::m20261125_000004_create_producers::Producer;
use crate::m20261125_000005_create_campaigns::Campaign;
use crate::{Common, fk, index};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Webhook {
    Table,
    OwnerId,
    Url,
    /// Wire names between commas: `,campaign.milestone,campaign.closed,`.
    Events,
    CampaignId,
    ProducerId,
    CommunityId,
    Secret,
    ConsecutiveFailures,
    DisabledAt,
}

#[derive(DeriveIden)]
enum WebhookDelivery {
    Table,
    WebhookId,
    EventId,
    EventType,
    Body,
    Status,
    Attempts,
    ResponseStatus,
    LastError,
    LastAttemptAt,
    DeliveredAt,
}

#[derive(DeriveIden)]
enum NotificationDigest {
    Table,
    MemberId,
    CampaignId,
    /// When the pending digest goes out; `NULL` while nothing waits.
    DueAt,
    /// The next digest tells what happened after this instant: the last
    /// digest's, or the first event's.
    Since,
    /// No digest of this campaign to this member before this instant.
    NextAllowedAt,
}

#[derive(DeriveIden)]
#[allow(clippy::enum_variant_names)] // the columns' own names
enum MemberColumn {
    NotifyMilestones,
    NotifyResponses,
    NotifyCommitments,
    NotifyUpdates,
    NotifyNewCampaigns,
}

#[derive(DeriveIden)]
enum CampaignColumn {
    OfflineSignatures,
}

#[derive(DeriveIden)]
enum ProducerResponse {
    Table,
    DueNotifiedAt,
}

#[derive(DeriveIden)]
enum Signature {
    Table,
    CampaignId,
    Status,
    Territory,
}

#[derive(DeriveIden)]
enum OfflineTally {
    Table,
    CampaignId,
    RecordedBy,
    Count,
    Territory,
    CollectedFrom,
    CollectedTo,
    Evidence,
    Status,
    ReviewedBy,
    ReviewedAt,
    RejectionReason,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Webhook::Table)
                    .if_not_exists()
                    .col(pk_uuid(Common::Id))
                    .col(uuid(Webhook::OwnerId))
                    .col(string_len(Webhook::Url, 2048))
                    .col(string_len(Webhook::Events, 1024))
                    .col(uuid_null(Webhook::CampaignId))
                    .col(uuid_null(Webhook::ProducerId))
                    .col(uuid_null(Webhook::CommunityId))
                    .col(string_len(Webhook::Secret, 128))
                    .col(integer(Webhook::ConsecutiveFailures).default(0))
                    .col(timestamp_with_time_zone_null(Webhook::DisabledAt))
                    .col(timestamp_with_time_zone(Common::CreatedAt))
                    .foreign_key(&mut fk(
                        Webhook::Table,
                        Webhook::OwnerId,
                        Member::Table,
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        Webhook::Table,
                        Webhook::CampaignId,
                        Campaign::Table,
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        Webhook::Table,
                        Webhook::ProducerId,
                        Producer::Table,
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        Webhook::Table,
                        Webhook::CommunityId,
                        Community::Table,
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        for (name, column) in [
            ("idx_webhook_owner", Webhook::OwnerId),
            ("idx_webhook_campaign", Webhook::CampaignId),
            ("idx_webhook_producer", Webhook::ProducerId),
            ("idx_webhook_community", Webhook::CommunityId),
        ] {
            manager
                .create_index(index(name, Webhook::Table, [column], false))
                .await?;
        }

        manager
            .create_table(
                Table::create()
                    .table(WebhookDelivery::Table)
                    .if_not_exists()
                    .col(pk_uuid(Common::Id))
                    .col(uuid(WebhookDelivery::WebhookId))
                    .col(uuid(WebhookDelivery::EventId))
                    .col(string_len(WebhookDelivery::EventType, 40))
                    .col(text(WebhookDelivery::Body))
                    .col(string_len(WebhookDelivery::Status, 16))
                    .col(integer(WebhookDelivery::Attempts).default(0))
                    .col(integer_null(WebhookDelivery::ResponseStatus))
                    .col(text_null(WebhookDelivery::LastError))
                    .col(timestamp_with_time_zone_null(
                        WebhookDelivery::LastAttemptAt,
                    ))
                    .col(timestamp_with_time_zone_null(WebhookDelivery::DeliveredAt))
                    .col(timestamp_with_time_zone(Common::CreatedAt))
                    .foreign_key(&mut fk(
                        WebhookDelivery::Table,
                        WebhookDelivery::WebhookId,
                        Webhook::Table,
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "uq_webhook_delivery_event",
                WebhookDelivery::Table,
                [WebhookDelivery::WebhookId, WebhookDelivery::EventId],
                true,
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(NotificationDigest::Table)
                    .if_not_exists()
                    .col(uuid(NotificationDigest::MemberId))
                    .col(uuid(NotificationDigest::CampaignId))
                    .col(timestamp_with_time_zone_null(NotificationDigest::DueAt))
                    .col(timestamp_with_time_zone_null(NotificationDigest::Since))
                    .col(timestamp_with_time_zone_null(
                        NotificationDigest::NextAllowedAt,
                    ))
                    .primary_key(
                        Index::create()
                            .col(NotificationDigest::MemberId)
                            .col(NotificationDigest::CampaignId),
                    )
                    .foreign_key(&mut fk(
                        NotificationDigest::Table,
                        NotificationDigest::MemberId,
                        Member::Table,
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        NotificationDigest::Table,
                        NotificationDigest::CampaignId,
                        Campaign::Table,
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_notification_digest_due",
                NotificationDigest::Table,
                [NotificationDigest::DueAt],
                false,
            ))
            .await?;

        // SQLite adds one column per ALTER TABLE.
        for column in [
            MemberColumn::NotifyMilestones,
            MemberColumn::NotifyResponses,
            MemberColumn::NotifyCommitments,
            MemberColumn::NotifyUpdates,
            MemberColumn::NotifyNewCampaigns,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Member::Table)
                        .add_column(boolean(column).default(true))
                        .to_owned(),
                )
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(Campaign::Table)
                    .add_column(big_integer(CampaignColumn::OfflineSignatures).default(0))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(ProducerResponse::Table)
                    .add_column(timestamp_with_time_zone_null(
                        ProducerResponse::DueNotifiedAt,
                    ))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(OfflineTally::Table)
                    .if_not_exists()
                    .col(pk_uuid(Common::Id))
                    .col(uuid(OfflineTally::CampaignId))
                    .col(uuid_null(OfflineTally::RecordedBy))
                    .col(integer(OfflineTally::Count))
                    .col(string_len_null(OfflineTally::Territory, 16))
                    .col(timestamp_with_time_zone(OfflineTally::CollectedFrom))
                    .col(timestamp_with_time_zone(OfflineTally::CollectedTo))
                    .col(text(OfflineTally::Evidence))
                    .col(string_len(OfflineTally::Status, 16))
                    .col(uuid_null(OfflineTally::ReviewedBy))
                    .col(timestamp_with_time_zone_null(OfflineTally::ReviewedAt))
                    .col(text_null(OfflineTally::RejectionReason))
                    .col(timestamp_with_time_zone(Common::CreatedAt))
                    .foreign_key(&mut fk(
                        OfflineTally::Table,
                        OfflineTally::CampaignId,
                        Campaign::Table,
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        OfflineTally::Table,
                        OfflineTally::RecordedBy,
                        Member::Table,
                        ForeignKeyAction::SetNull,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_offline_tally_campaign",
                OfflineTally::Table,
                [OfflineTally::CampaignId],
                false,
            ))
            .await?;
        // A campaign's counts per territory, read from the index alone.
        manager
            .create_index(index(
                "idx_signature_campaign_territory",
                Signature::Table,
                [
                    Signature::CampaignId,
                    Signature::Status,
                    Signature::Territory,
                ],
                false,
            ))
            .await
    }
}
