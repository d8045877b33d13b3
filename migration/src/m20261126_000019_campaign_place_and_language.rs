//! Where a campaign applies, and the language campaigns and communities
//! are written in (so that search can stem French as French).

use sea_orm_migration::{prelude::*, schema::*};

use crate::index;
use crate::m20261125_000003_create_communities::Community;
use crate::m20261125_000005_create_campaigns::Campaign;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum CampaignColumn {
    /// ISO 3166: where the action applies.
    Territory,
    Language,
}

#[derive(DeriveIden)]
enum CommunityColumn {
    Language,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite adds one column per ALTER TABLE.
        for column in [
            string_len_null(CampaignColumn::Territory, 16),
            string_len(CampaignColumn::Language, 8)
                .default("en")
                .to_owned(),
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
            .alter_table(
                Table::alter()
                    .table(Community::Table)
                    .add_column(string_len(CommunityColumn::Language, 8).default("en"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_campaign_territory",
                Campaign::Table,
                [CampaignColumn::Territory],
                false,
            ))
            .await
    }
}
