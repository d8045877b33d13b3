//! Verified participation: confirmed e-mail addresses, single-use e-mail
//! tokens (confirmation, password reset), signature statuses, the outbox of
//! messages leaving the server, and campaign sponsors.

use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261125_000001_create_members::Member;
use crate::m20261125_000005_create_campaigns::Campaign;
use crate::{Common, fk, index};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum MemberColumn {
    /// The address in canonical form (lower-case, no `+tag`, no dots where
    /// the provider ignores them): one account per canonical address.
    EmailKey,
    EmailConfirmedAt,
    Locale,
}

#[derive(DeriveIden)]
enum EmailToken {
    Table,
    MemberId,
    Purpose,
    TokenHash,
    ExpiresAt,
    UsedAt,
}

#[derive(DeriveIden)]
enum OutboxMessage {
    Table,
    Kind,
    Payload,
    DueAt,
    Attempts,
    LastError,
    LockedUntil,
    SentAt,
    FailedAt,
}

#[derive(DeriveIden)]
enum SignatureColumn {
    #[sea_orm(iden = "signature")]
    Table,
    Status,
    MemberId,
}

#[derive(DeriveIden)]
enum CampaignColumn {
    SponsorCode,
    SponsorCount,
    RejectionReason,
}

#[derive(DeriveIden)]
enum CampaignSponsor {
    Table,
    CampaignId,
    MemberId,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite adds one column per ALTER TABLE.
        for column in [
            string_len_null(MemberColumn::EmailKey, 254),
            timestamp_with_time_zone_null(MemberColumn::EmailConfirmedAt),
            string_len(MemberColumn::Locale, 8).default("en").to_owned(),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Member::Table)
                        .add_column(column)
                        .to_owned(),
                )
                .await?;
        }
        // Existing members keep their address as its key, and count as
        // confirmed: they joined before confirmation existed.
        manager
            .get_connection()
            .execute_unprepared(
                "UPDATE member SET email_key = LOWER(email), email_confirmed_at = created_at",
            )
            .await?;
        manager
            .create_index(index(
                "uq_member_email_key",
                Member::Table,
                [MemberColumn::EmailKey],
                true,
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(EmailToken::Table)
                    .if_not_exists()
                    .col(pk_uuid(Common::Id))
                    .col(uuid(EmailToken::MemberId))
                    .col(string_len(EmailToken::Purpose, 16))
                    .col(string_len_uniq(EmailToken::TokenHash, 64))
                    .col(timestamp_with_time_zone(Common::CreatedAt))
                    .col(timestamp_with_time_zone(EmailToken::ExpiresAt))
                    .col(timestamp_with_time_zone_null(EmailToken::UsedAt))
                    .foreign_key(&mut fk(
                        EmailToken::Table,
                        EmailToken::MemberId,
                        Member::Table,
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_email_token_member",
                EmailToken::Table,
                [EmailToken::MemberId, EmailToken::Purpose],
                false,
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(OutboxMessage::Table)
                    .if_not_exists()
                    .col(pk_uuid(Common::Id))
                    .col(string_len(OutboxMessage::Kind, 64))
                    .col(text(OutboxMessage::Payload))
                    .col(timestamp_with_time_zone(OutboxMessage::DueAt))
                    .col(integer(OutboxMessage::Attempts).default(0))
                    .col(text_null(OutboxMessage::LastError))
                    .col(timestamp_with_time_zone_null(OutboxMessage::LockedUntil))
                    .col(timestamp_with_time_zone_null(OutboxMessage::SentAt))
                    .col(timestamp_with_time_zone_null(OutboxMessage::FailedAt))
                    .col(timestamp_with_time_zone(Common::CreatedAt))
                    .to_owned(),
            )
            .await?;
        // Workers look for unsent messages by due time.
        manager
            .create_index(index(
                "idx_outbox_due",
                OutboxMessage::Table,
                [OutboxMessage::SentAt, OutboxMessage::DueAt],
                false,
            ))
            .await?;

        manager
            .alter_table(
                Table::alter()
                    .table(SignatureColumn::Table)
                    .add_column(
                        string_len(SignatureColumn::Status, 16)
                            .default("COUNTED")
                            .to_owned(),
                    )
                    .to_owned(),
            )
            .await?;
        // Confirming an address finds that member's pending signatures.
        manager
            .create_index(index(
                "idx_signature_member_status",
                SignatureColumn::Table,
                [SignatureColumn::MemberId, SignatureColumn::Status],
                false,
            ))
            .await?;

        for column in [
            string_len_null(CampaignColumn::SponsorCode, 32),
            integer(CampaignColumn::SponsorCount).default(0).to_owned(),
            text_null(CampaignColumn::RejectionReason),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Campaign::Table)
                        .add_column(column)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .create_index(index(
                "uq_campaign_sponsor_code",
                Campaign::Table,
                [CampaignColumn::SponsorCode],
                true,
            ))
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(CampaignSponsor::Table)
                    .if_not_exists()
                    .col(uuid(CampaignSponsor::CampaignId))
                    .col(uuid(CampaignSponsor::MemberId))
                    .col(timestamp_with_time_zone(Common::CreatedAt))
                    .primary_key(
                        Index::create()
                            .col(CampaignSponsor::CampaignId)
                            .col(CampaignSponsor::MemberId),
                    )
                    .foreign_key(&mut fk(
                        CampaignSponsor::Table,
                        CampaignSponsor::CampaignId,
                        Campaign::Table,
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        CampaignSponsor::Table,
                        CampaignSponsor::MemberId,
                        Member::Table,
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await
    }
}
