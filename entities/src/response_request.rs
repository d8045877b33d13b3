//! What a campaign asks of its producer once its count reaches the response
//! threshold: an answer by a due date. One row per campaign; a request
//! withdrawn (the count fell back before an answer) or voided (a moderator
//! found the campaign fraudulent) stays, marked.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "response_request")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub campaign_id: Uuid,
    /// The producer asked (the campaign's target when it was requested).
    pub producer_id: Uuid,
    pub requested_at: DateTimeUtc,
    /// The due date as first set.
    pub original_due_at: DateTimeUtc,
    /// The due date now (later than the original after an extension).
    pub due_at: DateTimeUtc,
    /// When the representatives were reminded before the due date.
    pub reminded_at: Option<DateTimeUtc>,
    /// When the due date passed without an answer (`campaign.response_overdue`).
    pub overdue_at: Option<DateTimeUtc>,
    /// When a representative asked for more time (who: the audit log).
    pub extended_at: Option<DateTimeUtc>,
    pub extension_reason: Option<String>,
    /// When invalidations brought the count back under the threshold
    /// before an answer; reaching it again requests anew.
    pub withdrawn_at: Option<DateTimeUtc>,
    /// When a moderator voided it (who: the audit log).
    pub voided_at: Option<DateTimeUtc>,
    pub void_reason: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
