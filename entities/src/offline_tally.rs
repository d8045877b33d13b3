//! Signatures collected offline (on paper, at a market stall), recorded by
//! the organiser and counted once a moderator verifies them.

use sea_orm::entity::prelude::*;

/// A tally's review.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(
    rs_type = "String",
    db_type = "String(StringLen::N(16))",
    rename_all = "SCREAMING_SNAKE_CASE"
)]
pub enum TallyStatus {
    /// Waits for a moderator; counts nowhere.
    Pending,
    /// Counts in `offlineSignatures` and the campaign's total.
    Verified,
    Rejected,
    /// Verified, then taken back out of the count by a site moderator.
    Revoked,
}

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "offline_tally")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub campaign_id: Uuid,
    pub recorded_by: Option<Uuid>,
    pub count: i32,
    /// Where they were collected (ISO 3166).
    pub territory: Option<String>,
    pub collected_from: DateTimeUtc,
    pub collected_to: DateTimeUtc,
    /// What a moderator checks: where the sheets are, a scan's address.
    pub evidence: String,
    pub status: TallyStatus,
    pub reviewed_by: Option<Uuid>,
    pub reviewed_at: Option<DateTimeUtc>,
    pub rejection_reason: Option<String>,
    pub created_at: DateTimeUtc,
    /// A moderator of the campaign's community vouched for it (a site
    /// moderator still verifies).
    pub recommended_by: Option<Uuid>,
    pub recommended_at: Option<DateTimeUtc>,
    /// A site moderator took a verified tally back out of the count.
    pub revoked_by: Option<Uuid>,
    pub revoked_at: Option<DateTimeUtc>,
    pub revocation_reason: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
