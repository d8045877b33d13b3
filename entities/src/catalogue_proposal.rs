//! A catalogue entry a member proposed (a product, a brand, an ownership
//! edge) or an ownership edge a producer's representative disputed, pending
//! until a moderator accepts (the entry is written, or the edge ended) or
//! rejects it.

use sea_orm::entity::prelude::*;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(
    rs_type = "String",
    db_type = "String(StringLen::N(16))",
    rename_all = "SCREAMING_SNAKE_CASE"
)]
pub enum ProposalKind {
    Product,
    Brand,
    Ownership,
    /// An ownership edge said to be wrong.
    Dispute,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(
    rs_type = "String",
    db_type = "String(StringLen::N(16))",
    rename_all = "SCREAMING_SNAKE_CASE"
)]
pub enum ProposalStatus {
    Pending,
    Accepted,
    Rejected,
}

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "catalogue_proposal")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub kind: ProposalKind,
    /// What is proposed, as JSON (`kind` and the fields of the matching
    /// mutation's input in snake_case; for a dispute, the edge's id).
    pub payload: String,
    /// None once the proposer deleted their account.
    pub proposer_id: Option<Uuid>,
    /// Why, in the proposer's words.
    pub reason: String,
    pub evidence_url: Option<String>,
    pub status: ProposalStatus,
    /// The moderator's reason (who decided: the audit log).
    pub decision_reason: Option<String>,
    pub decided_at: Option<DateTimeUtc>,
    /// What accepting it wrote: the product, brand or edge created, or the
    /// disputed edge that was ended.
    pub result_id: Option<Uuid>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
