//! Producers must answer: a campaign's own response threshold, and the
//! response request it makes of its producer once its count reaches it
//! (one row per campaign: requested, withdrawn below the threshold before
//! an answer, extended once, reminded, overdue, voided by a moderator).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Campaign {
    Table,
    Id,
    ResponseThreshold,
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
    ExtendedBy,
    ExtensionReason,
    WithdrawnAt,
    VoidedAt,
    VoidedBy,
    VoidReason,
}

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
                    .col(uuid_null(ResponseRequest::ExtendedBy))
                    .col(text_null(ResponseRequest::ExtensionReason))
                    .col(timestamp_with_time_zone_null(ResponseRequest::WithdrawnAt))
                    .col(timestamp_with_time_zone_null(ResponseRequest::VoidedAt))
                    .col(uuid_null(ResponseRequest::VoidedBy))
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
        manager
            .drop_table(Table::drop().table(ResponseRequest::Table).to_owned())
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Campaign::Table)
                    .drop_column(Campaign::ResponseThreshold)
                    .to_owned(),
            )
            .await
    }
}
