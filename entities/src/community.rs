//! Members sharing values, optionally rooted in a territory.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "community")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[sea_orm(unique)]
    pub slug: String,
    pub name: String,
    pub description: String,
    /// ISO 3166-1 alpha-2 country or ISO 3166-2 subdivision code.
    pub territory: Option<String>,
    /// The language it is written in (`en`, `fr`).
    pub language: String,
    /// Members, kept by joining and leaving (orders `LARGEST`).
    pub member_count: i64,
    /// Joins and signatures on its campaigns weighted by age, as a natural
    /// logarithm (orders `MOST_ACTIVE`).
    pub momentum: f64,
    pub created_by: Option<Uuid>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::community_member::Entity")]
    CommunityMember,
}

impl Related<super::community_member::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::CommunityMember.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
