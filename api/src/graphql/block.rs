//! The block-list, for admins: `addBlockRule`, `removeBlockRule`, `blockRules`.

use async_graphql::{Context, Enum, ID, InputObject, Object};
use chrono::{DateTime, Utc};
use entities::block_rule;

use crate::error::Result;
use crate::graphql::connection::{self, Page, complexity};
use crate::graphql::guards::{require_member, state};
use crate::service::{fraud::block, validate};

/// What a rule's pattern matches.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(name = "BlockRuleKind", remote = "entities::block_rule::BlockKind")]
pub enum BlockRuleKind {
    /// A CIDR range of client addresses, e.g. `198.51.100.0/24`.
    IpRange,
    /// An e-mail domain, e.g. `example.org`, or `*.example.org` for all its subdomains.
    EmailDomain,
}

/// A rule refusing (or, with `allow`, letting through) registrations and
/// signatures from a network or an e-mail domain.
pub struct BlockRule(pub block_rule::Model);

#[Object]
impl BlockRule {
    pub(crate) async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn kind(&self) -> BlockRuleKind {
        self.0.kind.into()
    }
    /// Normalised: `198.51.100.0/24`, `*.example.org`.
    async fn pattern(&self) -> &str {
        &self.0.pattern
    }
    /// An allow rule: what it matches passes despite block rules of its kind.
    async fn allow(&self) -> bool {
        self.0.allow
    }
    async fn reason(&self) -> &str {
        &self.0.reason
    }
    /// When it stops applying; null: until removed.
    async fn expires_at(&self) -> Option<DateTime<Utc>> {
        self.0.expires_at
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

#[derive(InputObject)]
pub struct BlockRuleInput {
    pub kind: BlockRuleKind,
    /// A CIDR range (a single address is its /32 or /128) or a domain.
    pub pattern: String,
    /// Why (3-500 characters), for the audit log and fellow admins.
    pub reason: String,
    /// When the rule stops applying (in the future); omitted: until removed.
    pub expires_at: Option<DateTime<Utc>>,
    /// Let through what it matches despite block rules of its kind.
    #[graphql(default)]
    pub allow: bool,
}

#[derive(Default)]
pub struct BlockQuery;

#[Object]
impl BlockQuery {
    /// The block-list, newest first; admins only.
    #[graphql(complexity = "complexity(first, child_complexity)")]
    async fn block_rules(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Page<BlockRule>> {
        let select = block::list(require_member(ctx).await?)?;
        connection::paginate(ctx, select, block_rule::Column::Id, first, after, BlockRule).await
    }
}

#[derive(Default)]
pub struct BlockMutation;

#[Object]
impl BlockMutation {
    /// Adds a rule; in force on every instance within a second, refusing
    /// `register` and `signCampaign` with `FORBIDDEN` (`extensions.reason:
    /// "BLOCKED"`). Admins only; audit-logged.
    async fn add_block_rule(&self, ctx: &Context<'_>, input: BlockRuleInput) -> Result<BlockRule> {
        let actor = require_member(ctx).await?;
        let rule = block::NewRule {
            kind: input.kind.into(),
            pattern: input.pattern,
            allow: input.allow,
            reason: input.reason,
            expires_at: input.expires_at,
        };
        block::add(state(ctx), actor, rule).await.map(BlockRule)
    }

    /// Removes a rule. Admins only; audit-logged.
    async fn remove_block_rule(&self, ctx: &Context<'_>, id: ID) -> Result<bool> {
        let actor = require_member(ctx).await?;
        let id = validate::id("id", &id)?;
        block::remove(state(ctx), actor, id).await
    }
}
