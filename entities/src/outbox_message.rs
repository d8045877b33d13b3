//! A message due to leave the server (a mail today; webhooks later),
//! written in the same transaction as the change that causes it and
//! delivered afterwards, at least once.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "outbox_message")]
pub struct Model {
    /// Also the stable id receivers de-duplicate on (`Message-ID`).
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// What kind of delivery: `mail`, …
    pub kind: String,
    /// JSON document the delivery of this kind reads.
    #[sea_orm(column_type = "Text")]
    pub payload: String,
    /// Not delivered before this time (backoff after a failure).
    pub due_at: DateTimeUtc,
    /// Delivery attempts so far.
    pub attempts: i32,
    #[sea_orm(column_type = "Text", nullable)]
    pub last_error: Option<String>,
    /// A worker claimed it until then; another may take it afterwards.
    pub locked_until: Option<DateTimeUtc>,
    pub sent_at: Option<DateTimeUtc>,
    /// Given up after too many attempts.
    pub failed_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
