//! An idea submitted in a co-creation campaign or a community.

use sea_orm::entity::prelude::*;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(
    rs_type = "String",
    db_type = "String(StringLen::N(16))",
    rename_all = "SCREAMING_SNAKE_CASE"
)]
pub enum ProposalStatus {
    Open,
    Selected,
    Adopted,
}

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "proposal")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub campaign_id: Option<Uuid>,
    pub community_id: Option<Uuid>,
    pub author_id: Option<Uuid>,
    pub title: String,
    pub body: String,
    pub status: ProposalStatus,
    pub selected_at: Option<DateTimeUtc>,
    pub adopted_at: Option<DateTimeUtc>,
    pub hidden_at: Option<DateTimeUtc>,
    /// Who decided the hiding: `SITE` (site moderators, admins) or
    /// `COMMUNITY` (a moderator of the community it belongs to).
    pub hidden_scope: Option<String>,
    pub hidden_reason: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
