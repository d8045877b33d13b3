//! A member's report of abusive content, resolved by moderators.

use sea_orm::entity::prelude::*;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(
    rs_type = "String",
    db_type = "String(StringLen::N(16))",
    rename_all = "SCREAMING_SNAKE_CASE"
)]
pub enum FlagStatus {
    Open,
    Upheld,
    Dismissed,
}

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "flag")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub reporter_id: Option<Uuid>,
    /// What kind of thing `target_id` names: `CAMPAIGN`, `PROPOSAL`, `SIGNATURE`, `RESPONSE`.
    pub target_type: String,
    pub target_id: Uuid,
    pub reason: String,
    pub status: FlagStatus,
    pub resolved_by: Option<Uuid>,
    pub resolved_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    /// A community moderator passed it on to site moderators.
    pub escalated_by: Option<Uuid>,
    pub escalated_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
