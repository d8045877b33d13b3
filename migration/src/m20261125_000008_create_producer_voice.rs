//! Producer responses and commitments, the community's review of them, and trust ratings.

use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261125_000001_create_members::Member;
use crate::m20261125_000004_create_producers::Producer;
use crate::m20261125_000005_create_campaigns::Campaign;
use crate::{Common, fk, index};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ProducerResponse {
    Table,
    CampaignId,
    ProducerId,
    AuthorId,
    Body,
    Commitment,
    DueAt,
    CommitmentStatus,
    CommitmentClosedAt,
    HiddenAt,
    HiddenReason,
}

#[derive(DeriveIden)]
enum CommitmentReview {
    Table,
    ResponseId,
    MemberId,
    Verdict,
}

#[derive(DeriveIden)]
enum TrustRating {
    Table,
    MemberId,
    ProducerId,
    Dimension,
    Score,
    Period,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ProducerResponse::Table)
                    .if_not_exists()
                    .col(pk_uuid(Common::Id))
                    .col(uuid(ProducerResponse::CampaignId))
                    .col(uuid(ProducerResponse::ProducerId))
                    .col(uuid_null(ProducerResponse::AuthorId))
                    .col(text(ProducerResponse::Body))
                    .col(text_null(ProducerResponse::Commitment))
                    .col(timestamp_with_time_zone_null(ProducerResponse::DueAt))
                    .col(string_len_null(ProducerResponse::CommitmentStatus, 16))
                    .col(timestamp_with_time_zone_null(
                        ProducerResponse::CommitmentClosedAt,
                    ))
                    .col(timestamp_with_time_zone_null(ProducerResponse::HiddenAt))
                    .col(text_null(ProducerResponse::HiddenReason))
                    .col(timestamp_with_time_zone(Common::CreatedAt))
                    .foreign_key(&mut fk(
                        ProducerResponse::Table,
                        ProducerResponse::CampaignId,
                        Campaign::Table,
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        ProducerResponse::Table,
                        ProducerResponse::ProducerId,
                        Producer::Table,
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        ProducerResponse::Table,
                        ProducerResponse::AuthorId,
                        Member::Table,
                        ForeignKeyAction::SetNull,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_producer_response_campaign",
                ProducerResponse::Table,
                [ProducerResponse::CampaignId],
                false,
            ))
            .await?;
        manager
            .create_index(index(
                "idx_producer_response_producer",
                ProducerResponse::Table,
                [ProducerResponse::ProducerId],
                false,
            ))
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(CommitmentReview::Table)
                    .if_not_exists()
                    .col(uuid(CommitmentReview::ResponseId))
                    .col(uuid(CommitmentReview::MemberId))
                    .col(string_len(CommitmentReview::Verdict, 16))
                    .col(timestamp_with_time_zone(Common::CreatedAt))
                    .primary_key(
                        Index::create()
                            .col(CommitmentReview::ResponseId)
                            .col(CommitmentReview::MemberId),
                    )
                    .foreign_key(&mut fk(
                        CommitmentReview::Table,
                        CommitmentReview::ResponseId,
                        ProducerResponse::Table,
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        CommitmentReview::Table,
                        CommitmentReview::MemberId,
                        Member::Table,
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(TrustRating::Table)
                    .if_not_exists()
                    .col(pk_uuid(Common::Id))
                    .col(uuid_null(TrustRating::MemberId))
                    .col(uuid(TrustRating::ProducerId))
                    .col(string_len(TrustRating::Dimension, 24))
                    .col(small_integer(TrustRating::Score))
                    // Calendar month `YYYY-MM`: re-rating within a month replaces that month's rating.
                    .col(string_len(TrustRating::Period, 7))
                    .col(timestamp_with_time_zone(Common::CreatedAt))
                    .col(timestamp_with_time_zone(Common::UpdatedAt))
                    .foreign_key(&mut fk(
                        TrustRating::Table,
                        TrustRating::MemberId,
                        Member::Table,
                        ForeignKeyAction::SetNull,
                    ))
                    .foreign_key(&mut fk(
                        TrustRating::Table,
                        TrustRating::ProducerId,
                        Producer::Table,
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "uq_trust_rating_member_period",
                TrustRating::Table,
                [
                    TrustRating::MemberId,
                    TrustRating::ProducerId,
                    TrustRating::Dimension,
                    TrustRating::Period,
                ],
                true,
            ))
            .await?;
        manager
            .create_index(index(
                "idx_trust_rating_producer_period",
                TrustRating::Table,
                [TrustRating::ProducerId, TrustRating::Period],
                false,
            ))
            .await
    }
}
