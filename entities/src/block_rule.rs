//! A rule of the block-list: an address range or an e-mail domain refused at
//! registration and signing, or (with `allow`) let through despite a rule
//! of the same kind.

use sea_orm::entity::prelude::*;

/// What a rule's pattern matches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(
    rs_type = "String",
    db_type = "String(StringLen::N(16))",
    rename_all = "SCREAMING_SNAKE_CASE"
)]
pub enum BlockKind {
    /// A CIDR range of client addresses (`192.0.2.0/24`, `2001:db8::/32`).
    IpRange,
    /// An e-mail domain, or with `*.` all its subdomains.
    EmailDomain,
}

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "block_rule")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub kind: BlockKind,
    /// Normalised: a network address with its prefix length, or a
    /// lower-case domain.
    pub pattern: String,
    /// An allow rule: what it matches passes despite block rules of its kind.
    pub allow: bool,
    #[sea_orm(column_type = "Text")]
    pub reason: String,
    /// The rule stops applying then; `None`: until removed.
    pub expires_at: Option<DateTimeUtc>,
    pub created_by: Option<Uuid>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
