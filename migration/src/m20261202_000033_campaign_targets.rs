//! Campaigns that follow ownership: a campaign may name the brand it is
//! about, and its organiser may escalate it to the owner of its target; each
//! escalation is kept (`campaign_escalation`), so a campaign's targets over
//! time can be told. Signatures and pledges record the producer the campaign
//! aimed at when they were made, and the observatory counts them there.

use sea_orm_migration::sea_orm::DbBackend;
use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261125_000004_create_producers::Producer;
use crate::m20261125_000005_create_campaigns::Campaign;
use crate::{fk, index};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum CampaignColumn {
    BrandId,
}

#[derive(DeriveIden)]
enum Signature {
    Table,
    ProducerId,
}

#[derive(DeriveIden)]
enum Pledge {
    Table,
    ProducerId,
}

#[derive(DeriveIden)]
enum CampaignEscalation {
    Table,
    Id,
    CampaignId,
    FromProducerId,
    ToProducerId,
    Reason,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Campaign::Table)
                    .add_column(uuid_null(CampaignColumn::BrandId))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Signature::Table)
                    .add_column(uuid_null(Signature::ProducerId))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Pledge::Table)
                    .add_column(uuid_null(Pledge::ProducerId))
                    .to_owned(),
            )
            .await?;
        // Until now a campaign never changed its target: each signature and
        // pledge aimed at its campaign's producer.
        let db = manager.get_connection();
        for table in ["signature", "pledge"] {
            db.execute_unprepared(&format!(
                "UPDATE {table} SET producer_id = \
                 (SELECT c.producer_id FROM campaign c WHERE c.id = {table}.campaign_id)"
            ))
            .await?;
            if manager.get_database_backend() == DbBackend::Postgres {
                db.execute_unprepared(&format!(
                    "ALTER TABLE {table} ALTER COLUMN producer_id SET NOT NULL"
                ))
                .await?;
            }
        }
        manager
            .create_table(
                Table::create()
                    .table(CampaignEscalation::Table)
                    .if_not_exists()
                    .col(uuid(CampaignEscalation::Id).primary_key())
                    .col(uuid(CampaignEscalation::CampaignId))
                    .col(uuid(CampaignEscalation::FromProducerId))
                    .col(uuid(CampaignEscalation::ToProducerId))
                    .col(text(CampaignEscalation::Reason))
                    .col(timestamp_with_time_zone(CampaignEscalation::CreatedAt))
                    .foreign_key(&mut fk(
                        CampaignEscalation::Table,
                        CampaignEscalation::CampaignId,
                        Campaign::Table,
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        CampaignEscalation::Table,
                        CampaignEscalation::FromProducerId,
                        Producer::Table,
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        CampaignEscalation::Table,
                        CampaignEscalation::ToProducerId,
                        Producer::Table,
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_campaign_escalation_campaign",
                CampaignEscalation::Table,
                [CampaignEscalation::CampaignId],
                false,
            ))
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(CampaignEscalation::Table).to_owned())
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Pledge::Table)
                    .drop_column(Pledge::ProducerId)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Signature::Table)
                    .drop_column(Signature::ProducerId)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Campaign::Table)
                    .drop_column(CampaignColumn::BrandId)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }
}
