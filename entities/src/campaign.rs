//! A collective action aimed at a producer.

use sea_orm::entity::prelude::*;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(
    rs_type = "String",
    db_type = "String(StringLen::N(16))",
    rename_all = "SCREAMING_SNAKE_CASE"
)]
pub enum CampaignKind {
    Petition,
    Boycott,
    Buycott,
    CoCreation,
}

/// `DRAFT → [SPONSORING →] [IN_REVIEW → (OPEN | REJECTED)] OPEN → (VICTORY
/// | CLOSED)`: sponsors and review are steps an instance may switch on.
/// Moderation hides a campaign through
/// `hidden_at` instead, so that restoring it brings back the status it had.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(
    rs_type = "String",
    db_type = "String(StringLen::N(16))",
    rename_all = "SCREAMING_SNAKE_CASE"
)]
pub enum CampaignStatus {
    Draft,
    Sponsoring,
    InReview,
    Rejected,
    Open,
    Victory,
    Closed,
}

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "campaign")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub kind: CampaignKind,
    pub status: CampaignStatus,
    pub title: String,
    pub summary: String,
    pub body: String,
    /// The producer aimed at now (an escalation moves it to an owner).
    pub producer_id: Uuid,
    /// The brand the campaign is about, when it names one.
    pub brand_id: Option<Uuid>,
    pub community_id: Option<Uuid>,
    pub organiser_id: Option<Uuid>,
    pub goal: Option<i32>,
    pub deadline: Option<DateTimeUtc>,
    /// Co-creation only: votes a proposal needs to be selected.
    pub selection_threshold: Option<i32>,
    pub published_at: Option<DateTimeUtc>,
    pub closed_at: Option<DateTimeUtc>,
    pub hidden_at: Option<DateTimeUtc>,
    /// Who decided the hiding: `SITE` (site moderators, admins) or
    /// `COMMUNITY` (a moderator of the community it belongs to).
    pub hidden_scope: Option<String>,
    pub hidden_reason: Option<String>,
    /// While `SPONSORING`: the secret the organiser hands to sponsors.
    #[sea_orm(unique)]
    pub sponsor_code: Option<String>,
    /// Members who backed it before it opened.
    pub sponsor_count: i32,
    /// Why a moderator rejected it (public).
    pub rejection_reason: Option<String>,
    /// Signatures of verified offline tallies (kept beside online ones).
    pub offline_signatures: i64,
    /// Co-creation: what contributors get (recognition, a share, a
    /// product named after them).
    pub reward_description: Option<String>,
    /// Where the action applies (ISO 3166), if anywhere in particular.
    pub territory: Option<String>,
    /// The language it is written in (`en`, `fr`).
    pub language: String,
    /// Counted online signatures plus verified offline ones, kept by every
    /// write path (orders `MOST_SIGNED`).
    pub signature_total: i64,
    /// Signatures weighted by age, as a natural logarithm relative to a fixed
    /// epoch (orders `TRENDING`; see the API's `service::signing::standing`).
    pub momentum: f64,
    /// Counted signatures at which the producer is asked to answer, when the
    /// organiser set one (at least `CONSUMACT_RESPONSE_THRESHOLD_MIN`);
    /// otherwise `CONSUMACT_RESPONSE_THRESHOLD`.
    pub response_threshold: Option<i32>,
    /// The due date of the answer its response request in force asks for
    /// (kept after an answer, so an answer's lateness shows; null with no
    /// request, or one withdrawn or voided).
    pub response_due_at: Option<DateTimeUtc>,
    /// When its producer first answered (a hidden answer counts).
    pub answered_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::producer::Entity",
        from = "Column::ProducerId",
        to = "super::producer::Column::Id"
    )]
    Producer,
    #[sea_orm(has_many = "super::signature::Entity")]
    Signature,
}

impl Related<super::producer::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Producer.def()
    }
}

impl Related<super::signature::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Signature.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
