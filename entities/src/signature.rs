//! One member backing one campaign; unique per (campaign, member).

use sea_orm::entity::prelude::*;

/// `PENDING` (its signer has not confirmed their address) → `COUNTED` →
/// `INVALIDATED`. Only counted signatures count anywhere.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(
    rs_type = "String",
    db_type = "String(StringLen::N(16))",
    rename_all = "SCREAMING_SNAKE_CASE"
)]
pub enum SignatureStatus {
    Pending,
    Counted,
    Invalidated,
}

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "signature")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub campaign_id: Uuid,
    /// The producer the campaign aimed at when it was signed: the
    /// observatory counts the signature there, even after an escalation.
    pub producer_id: Uuid,
    /// None once the signer deleted their account; the signature still counts.
    pub member_id: Option<Uuid>,
    pub comment: Option<String>,
    pub anonymous: bool,
    pub territory: Option<String>,
    pub hidden_at: Option<DateTimeUtc>,
    /// Who decided the hiding: `SITE` (site moderators, admins) or
    /// `COMMUNITY` (a moderator of the community it belongs to).
    pub hidden_scope: Option<String>,
    pub status: SignatureStatus,
    /// Hex HMAC-SHA-256 of the client's /24 (IPv4) or /64 (IPv6) prefix
    /// under the instance's source key: which signatures share a network,
    /// never the address. `None` when unknown (sponsors, older rows).
    pub source_key: Option<String>,
    /// The signer's e-mail domain when they signed.
    pub email_domain: Option<String>,
    /// The invalidation that struck it out, while `INVALIDATED`.
    pub invalidation_id: Option<Uuid>,
    /// The open fraud signal that holds it `PENDING` until a moderator decides.
    pub held_by: Option<Uuid>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::campaign::Entity",
        from = "Column::CampaignId",
        to = "super::campaign::Column::Id",
        on_delete = "Cascade"
    )]
    Campaign,
}

impl Related<super::campaign::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Campaign.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
