//! A person with an account. Email and password hash never leave the server.

use sea_orm::entity::prelude::*;

/// What a member may do beyond taking part: analysts read the observatory,
/// moderators hide content, admins do everything and grant roles.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(
    rs_type = "String",
    db_type = "String(StringLen::N(16))",
    rename_all = "SCREAMING_SNAKE_CASE"
)]
pub enum Role {
    Member,
    Analyst,
    Moderator,
    Admin,
}

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "member")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// As the member typed it; `handle_key` holds the lower-cased form that is unique.
    pub handle: String,
    #[sea_orm(unique)]
    pub handle_key: String,
    #[sea_orm(unique)]
    pub email: String,
    /// The address in canonical form (see the API's `email_key`): unique,
    /// so one address cannot hold two accounts through `+tags` or dots.
    #[sea_orm(unique)]
    pub email_key: String,
    /// When the member proved they read mail at `email`; `None` until then.
    pub email_confirmed_at: Option<DateTimeUtc>,
    /// Language of the mail they receive: `en` or `fr`.
    pub locale: String,
    pub password_hash: String,
    pub display_name: String,
    pub role: Role,
    pub territory: Option<String>,
    /// Mail when a campaign they signed reaches a milestone or its goal.
    pub notify_milestones: bool,
    /// Mail when the producer answers a campaign they signed.
    pub notify_responses: bool,
    /// Mail when a commitment made to a campaign they signed closes.
    pub notify_commitments: bool,
    /// Mail when the organiser posts an update on a campaign they signed.
    pub notify_updates: bool,
    /// Producers' representatives: mail when a campaign aims at their producer.
    pub notify_new_campaigns: bool,
    /// Whether communities joined and campaigns signed count as signals
    /// for discovery, besides the values the member states.
    pub use_activity_signals: bool,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::auth_token::Entity")]
    AuthToken,
}

impl Related<super::auth_token::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::AuthToken.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
