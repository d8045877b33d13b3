//! A campaign's organiser moving it from its target to an owner of that
//! target (for instance when the target left the response request
//! unanswered). The rows, oldest first, tell the campaign's targets over
//! time; who decided is in the audit log.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "campaign_escalation")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub campaign_id: Uuid,
    /// The target until then.
    pub from_producer_id: Uuid,
    /// The target from then on: an owner, however far up, of the former.
    pub to_producer_id: Uuid,
    pub reason: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
