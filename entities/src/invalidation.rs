//! A moderator's striking out of a campaign's signatures that match a
//! filter: the signatures stay, `INVALIDATED`, until it is undone.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "invalidation")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub campaign_id: Uuid,
    #[sea_orm(column_type = "Text")]
    pub reason: String,
    /// The filter, as JSON, for the record.
    #[sea_orm(column_type = "Text")]
    pub filter: String,
    /// Signatures struck out (or, for a dry run, that would have been).
    pub count: i64,
    pub dry_run: bool,
    pub actor_id: Option<Uuid>,
    /// When it was undone.
    pub revalidated_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
