//! The daily digest of one campaign's news to one member: at most one mail
//! per campaign per member per day, however many events happen.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "notification_digest")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub member_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub campaign_id: Uuid,
    /// When the pending digest goes out; `None` while nothing waits.
    pub due_at: Option<DateTimeUtc>,
    /// The next digest tells what happened after this instant: when the
    /// last one was written, or (before any) just before the first event.
    pub since: Option<DateTimeUtc>,
    /// The next digest goes out no earlier than this.
    pub next_allowed_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
