//! An endpoint that receives events as signed HTTP requests (Standard
//! Webhooks), scoped to a campaign, a producer's campaigns, a community's
//! campaigns, or (an admin's) every campaign.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Who registered it; mailed when it is disabled.
    pub owner_id: Uuid,
    pub url: String,
    /// The event types it receives, as wire names between commas
    /// (`,campaign.milestone,campaign.closed,`), so one `LIKE` finds them.
    pub events: String,
    pub campaign_id: Option<Uuid>,
    pub producer_id: Option<Uuid>,
    pub community_id: Option<Uuid>,
    /// `whsec_` and the base64 of the signing key.
    pub secret: String,
    /// Failed attempts since the last acknowledged one.
    pub consecutive_failures: i32,
    /// Set when too many attempts failed in a row; nothing is sent until
    /// its secret is rotated.
    pub disabled_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
