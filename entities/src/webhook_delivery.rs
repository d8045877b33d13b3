//! One event for one webhook: the exact body sent at every attempt, and
//! how the attempts went.

use sea_orm::entity::prelude::*;

/// Where a delivery stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(
    rs_type = "String",
    db_type = "String(StringLen::N(16))",
    rename_all = "SCREAMING_SNAKE_CASE"
)]
pub enum DeliveryStatus {
    /// Not acknowledged yet; retried.
    Pending,
    /// The endpoint answered 2xx.
    Delivered,
    /// Given up: retried for the whole window, or the endpoint was disabled.
    Failed,
}

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_delivery")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub webhook_id: Uuid,
    /// The event's id: the `webhook-id` header, the same at every attempt.
    pub event_id: Uuid,
    pub event_type: String,
    pub body: String,
    pub status: DeliveryStatus,
    pub attempts: i32,
    /// The HTTP status of the last answer, if one came.
    pub response_status: Option<i32>,
    pub last_error: Option<String>,
    pub last_attempt_at: Option<DateTimeUtc>,
    pub delivered_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
