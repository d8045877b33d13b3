//! A producer's public answer to a campaign, possibly with a commitment.

use sea_orm::entity::prelude::*;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(
    rs_type = "String",
    db_type = "String(StringLen::N(16))",
    rename_all = "SCREAMING_SNAKE_CASE"
)]
pub enum CommitmentStatus {
    Pending,
    Kept,
    Broken,
}

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "producer_response")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub campaign_id: Uuid,
    pub producer_id: Uuid,
    pub author_id: Option<Uuid>,
    pub body: String,
    pub commitment: Option<String>,
    pub due_at: Option<DateTimeUtc>,
    pub commitment_status: Option<CommitmentStatus>,
    pub commitment_closed_at: Option<DateTimeUtc>,
    /// When `commitment.due` was announced (once, when `due_at` passed).
    pub due_notified_at: Option<DateTimeUtc>,
    pub hidden_at: Option<DateTimeUtc>,
    /// Who decided the hiding: `SITE` (site moderators, admins) or
    /// `COMMUNITY` (a moderator of the community it belongs to).
    pub hidden_scope: Option<String>,
    pub hidden_reason: Option<String>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
