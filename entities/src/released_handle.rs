//! A handle an erased account gave up, held back from new accounts for a
//! while (`CONSUMACT_HANDLE_QUARANTINE_DAYS`), so that nobody takes over a
//! name others still know as someone else's.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "released_handle")]
pub struct Model {
    /// The handle in lower case, as `member.handle_key` held it.
    #[sea_orm(primary_key, auto_increment = false)]
    pub handle_key: String,
    pub released_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
