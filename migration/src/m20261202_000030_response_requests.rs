//! Producers must answer: a campaign's own response threshold, and the
//! response request it makes of its producer once its count reaches it
//! (one row per campaign: requested, withdrawn below the threshold before
//! an answer, extended once, reminded, overdue, voided by a moderator).
//! Who extended or voided a request is in the audit log, not here.
//!
//! Beside the campaign, as its standing: the due date of its request in
//! force and when it was first answered, so that lists filter and order by
//! where a campaign stands with its answer through an index.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Campaign {
    Table,
    Id,
    ResponseThreshold,
    ResponseDueAt,
    AnsweredAt,
}

#[derive(DeriveIden)]
enum Producer {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum ResponseRequest {
    Table,
    CampaignId,
    ProducerId,
    RequestedAt,
    OriginalDueAt,
    DueAt,
    RemindedAt,
    OverdueAt,
    ExtendedAt,
    ExtensionReason,
    WithdrawnAt,
    VoidedAt,
    VoidReason,
}

/// The observatory's tables of producers' facts (and their sums), which
/// gain the response requests' figures (filled by the rebuild the facts'
/// version asks for at start-up).
const FACT_TABLES: [&str; 5] = [
    "obs_producer_fact",
    "obs_group_total",
    "obs_producer_period",
    "obs_group_period",
    "obs_producer_window",
];

const FACT_COLUMNS: [&str; 3] = [
    "responses_requested",
    "responses_on_time",
    "responses_overdue",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Campaign::Table)
                    .add_column(integer_null(Campaign::ResponseThreshold))
                    .to_owned(),
            )
            .await?;
        for column in [Campaign::ResponseDueAt, Campaign::AnsweredAt] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Campaign::Table)
                        .add_column(timestamp_with_time_zone_null(column))
                        .to_owned(),
                )
                .await?;
        }
        // Campaigns answered before this migration.
        manager
            .get_connection()
            .execute_unprepared(
                "UPDATE campaign SET answered_at = (SELECT MIN(r.created_at) \
                 FROM producer_response r WHERE r.campaign_id = campaign.id)",
            )
            .await?;
        for table in FACT_TABLES {
            for column in FACT_COLUMNS {
                manager
                    .alter_table(
                        Table::alter()
                            .table(Alias::new(table))
                            .add_column(big_integer(Alias::new(column)).default(0))
                            .to_owned(),
                    )
                    .await?;
            }
        }
        manager
            .create_index(
                Index::create()
                    .name("idx_campaign_response_due")
                    .table(Campaign::Table)
                    .col(Campaign::ResponseDueAt)
                    .col(Campaign::Id)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ResponseRequest::Table)
                    .col(uuid(ResponseRequest::CampaignId).primary_key())
                    .col(uuid(ResponseRequest::ProducerId))
                    .col(timestamp_with_time_zone(ResponseRequest::RequestedAt))
                    .col(timestamp_with_time_zone(ResponseRequest::OriginalDueAt))
                    .col(timestamp_with_time_zone(ResponseRequest::DueAt))
                    .col(timestamp_with_time_zone_null(ResponseRequest::RemindedAt))
                    .col(timestamp_with_time_zone_null(ResponseRequest::OverdueAt))
                    .col(timestamp_with_time_zone_null(ResponseRequest::ExtendedAt))
                    .col(text_null(ResponseRequest::ExtensionReason))
                    .col(timestamp_with_time_zone_null(ResponseRequest::WithdrawnAt))
                    .col(timestamp_with_time_zone_null(ResponseRequest::VoidedAt))
                    .col(text_null(ResponseRequest::VoidReason))
                    .foreign_key(
                        ForeignKey::create()
                            .from(ResponseRequest::Table, ResponseRequest::CampaignId)
                            .to(Campaign::Table, Campaign::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(ResponseRequest::Table, ResponseRequest::ProducerId)
                            .to(Producer::Table, Producer::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // A producer's requests (accountability, open requests) and the
        // upkeep's walk over the ones still due.
        manager
            .create_index(
                Index::create()
                    .name("idx_response_request_producer")
                    .table(ResponseRequest::Table)
                    .col(ResponseRequest::ProducerId)
                    .col(ResponseRequest::DueAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_response_request_due")
                    .table(ResponseRequest::Table)
                    .col(ResponseRequest::DueAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in FACT_TABLES {
            for column in FACT_COLUMNS {
                manager
                    .alter_table(
                        Table::alter()
                            .table(Alias::new(table))
                            .drop_column(Alias::new(column))
                            .to_owned(),
                    )
                    .await?;
            }
        }
        manager
            .drop_table(Table::drop().table(ResponseRequest::Table).to_owned())
            .await?;
        manager
            .drop_index(
                Index::drop()
                    .name("idx_campaign_response_due")
                    .table(Campaign::Table)
                    .to_owned(),
            )
            .await?;
        for column in [
            Campaign::ResponseThreshold,
            Campaign::ResponseDueAt,
            Campaign::AnsweredAt,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Campaign::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
