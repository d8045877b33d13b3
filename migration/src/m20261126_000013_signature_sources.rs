//! Where each signature came from, without the address: a keyed hash of the
//! client's network prefix, and the signer's e-mail domain.

use sea_orm_migration::{prelude::*, schema::*};

use crate::index;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Signature {
    Table,
    CampaignId,
    /// Hex HMAC-SHA-256 of the client's /24 (IPv4) or /64 (IPv6).
    SourceKey,
    EmailDomain,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [
            string_len_null(Signature::SourceKey, 64),
            string_len_null(Signature::EmailDomain, 254),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Signature::Table)
                        .add_column(column)
                        .to_owned(),
                )
                .await?;
        }
        // Moderators look a campaign's signatures up by source and by domain.
        manager
            .create_index(index(
                "idx_signature_campaign_source",
                Signature::Table,
                [Signature::CampaignId, Signature::SourceKey],
                false,
            ))
            .await?;
        manager
            .create_index(index(
                "idx_signature_campaign_domain",
                Signature::Table,
                [Signature::CampaignId, Signature::EmailDomain],
                false,
            ))
            .await
    }
}
