//! Members and sessions: `me`, `register`, `login`, `logout`, `setMemberRole`.

use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use entities::member;

use crate::error::{AppError, Result};
use crate::graphql::connection::{self, Page, complexity};
use crate::graphql::guards::{self, RequestAuth, client_ip, require_member, state, viewer};
use crate::graphql::pledge::Pledge;
use crate::graphql::proposal::Proposal;
use crate::graphql::signing::Signature;
use crate::graphql::value_tag::ValueTag;
use crate::ratelimit::Action;
use crate::service::{identity::auth, validate};

/// What a member may do beyond taking part.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(name = "MemberRole", remote = "entities::member::Role")]
pub enum MemberRole {
    /// Takes part: signs, pledges, votes, organises campaigns.
    Member,
    /// Also reads the observatory's full metrics.
    Analyst,
    /// Also hides and restores content.
    Moderator,
    /// Everything, including granting roles.
    Admin,
}

/// A person with an account, as others see them. Email never appears.
pub struct Member(pub member::Model);

impl Member {
    /// `FORBIDDEN` unless the caller is this member.
    async fn require_self(&self, ctx: &Context<'_>) -> Result<()> {
        if require_member(ctx).await?.id != self.0.id {
            return Err(AppError::Forbidden(
                "only the member themself can list this".into(),
            ));
        }
        Ok(())
    }
}

#[Object]
impl Member {
    pub(crate) async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn handle(&self) -> &str {
        &self.0.handle
    }
    async fn display_name(&self) -> &str {
        &self.0.display_name
    }
    async fn role(&self) -> MemberRole {
        self.0.role.into()
    }
    /// ISO 3166 code of where the member lives, if they said; the member's
    /// own (null for everyone else).
    async fn territory(&self, ctx: &Context<'_>) -> Result<Option<&str>> {
        let own = viewer(ctx).await?.is_some_and(|v| v.id == self.0.id);
        Ok(self.0.territory.as_deref().filter(|_| own))
    }
    /// The values the member holds (see `updateProfile`); only the member
    /// themself may read them.
    async fn values(&self, ctx: &Context<'_>) -> Result<Vec<ValueTag>> {
        self.require_self(ctx).await?;
        let held = crate::service::identity::profile::values_of(&state(ctx).db, self.0.id).await?;
        Ok(held.into_iter().map(ValueTag).collect())
    }
    /// Whether communities joined and campaigns signed count as signals for
    /// recommendations; only the member themself may read it.
    async fn use_activity_signals(&self, ctx: &Context<'_>) -> Result<bool> {
        self.require_self(ctx).await?;
        Ok(self.0.use_activity_signals)
    }
    /// The member's proposals that were adopted (public credit), newest first.
    #[graphql(complexity = "complexity(first, child_complexity)")]
    async fn adopted_proposals(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Page<Proposal>> {
        connection::paginate(
            ctx,
            crate::service::campaigns::proposal::adopted_by(self.0.id),
            entities::proposal::Column::Id,
            first,
            after,
            Proposal,
        )
        .await
    }
    /// How many of the member's proposals were adopted.
    async fn adopted_proposal_count(&self, ctx: &Context<'_>) -> Result<u64> {
        use sea_orm::PaginatorTrait;
        Ok(crate::service::campaigns::proposal::adopted_by(self.0.id)
            .count(&state(ctx).db)
            .await?)
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// Whether the member confirmed their e-mail address (see
    /// `confirmEmail`); only the member themself may read it.
    async fn email_confirmed(&self, ctx: &Context<'_>) -> Result<bool> {
        self.require_self(ctx).await?;
        Ok(self.0.email_confirmed_at.is_some())
    }
    /// Language of the mail the member gets (`en` or `fr`); only the member
    /// themself may read it.
    async fn locale(&self, ctx: &Context<'_>) -> Result<&str> {
        self.require_self(ctx).await?;
        Ok(&self.0.locale)
    }
    /// The member's signatures (pending ones included), newest first; only
    /// the member may list them.
    #[graphql(complexity = "complexity(first, child_complexity)")]
    async fn signatures(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Page<Signature>> {
        self.require_self(ctx).await?;
        let select = crate::service::signing::signature::of_member(self.0.id);
        connection::paginate(
            ctx,
            select,
            entities::signature::Column::Id,
            first,
            after,
            Signature,
        )
        .await
    }
    /// The member's pledges, newest first; only the member may list them.
    #[graphql(complexity = "complexity(first, child_complexity)")]
    async fn pledges(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Page<Pledge>> {
        self.require_self(ctx).await?;
        let select = crate::service::campaigns::pledge::of_member(self.0.id);
        connection::paginate(
            ctx,
            select,
            entities::pledge::Column::Id,
            first,
            after,
            Pledge,
        )
        .await
    }
}

/// Changes to your profile; fields left out stay as they are.
#[derive(InputObject, Default)]
pub struct UpdateProfileInput {
    /// Slugs of the values you hold (replaces them; at most 10).
    pub values: Option<Vec<String>>,
    /// ISO 3166 code such as `FR` or `FR-ARA`; an empty text removes it.
    pub territory: Option<String>,
    /// `en` or `fr`.
    pub locale: Option<String>,
    /// Let communities joined and campaigns signed count as signals for
    /// recommendations.
    pub use_activity_signals: Option<bool>,
}

/// A bearer token and the member it signs in. Send the token as
/// `Authorization: Bearer <token>`.
#[derive(SimpleObject)]
pub struct AuthPayload {
    pub token: String,
    pub member: Member,
}

impl From<auth::Session> for AuthPayload {
    fn from(session: auth::Session) -> Self {
        Self {
            token: session.token,
            member: Member(session.member),
        }
    }
}

#[derive(InputObject)]
pub struct RegisterInput {
    /// 3-32 letters, digits or underscores; unique regardless of case.
    pub handle: String,
    pub email: String,
    /// 8-128 characters.
    pub password: String,
    /// Shown next to signatures; defaults to the handle.
    pub display_name: Option<String>,
    /// ISO 3166 code such as `FR` or `FR-IDF`.
    pub territory: Option<String>,
    /// Language of the mail you get: `en` (default) or `fr`.
    pub locale: Option<String>,
}

#[derive(InputObject)]
pub struct LoginInput {
    /// The member's handle or email.
    pub handle_or_email: String,
    pub password: String,
}

#[derive(Default)]
pub struct MemberQuery;

#[Object]
impl MemberQuery {
    /// The signed-in member; null without a token.
    async fn me(&self, ctx: &Context<'_>) -> Result<Option<Member>> {
        Ok(guards::member(ctx).await?.map(Member))
    }

    /// Everything the server holds about you, as one JSON document.
    async fn export_my_data(
        &self,
        ctx: &Context<'_>,
    ) -> Result<async_graphql::Json<serde_json::Value>> {
        let actor = require_member(ctx).await?;
        crate::service::identity::privacy::export(&state(ctx).db, actor)
            .await
            .map(async_graphql::Json)
    }
}

#[derive(Default)]
pub struct MemberMutation;

#[Object]
impl MemberMutation {
    /// Creates an account and signs it in, and mails a link that confirms
    /// the address (until then, signatures are `PENDING`). One account per
    /// address: `+tags`, case and (for Gmail) dots do not make a new one.
    async fn register(&self, ctx: &Context<'_>, input: RegisterInput) -> Result<AuthPayload> {
        let state = state(ctx);
        state.limits.check_address(Action::Auth, client_ip(ctx)?)?;
        let registration = auth::Registration {
            handle: input.handle,
            email: input.email,
            password: input.password,
            display_name: input.display_name,
            territory: input.territory,
            locale: input.locale,
        };
        auth::register(state, Some(client_ip(ctx)?), registration)
            .await
            .map(AuthPayload::from)
    }

    /// Signs in with a handle or email and a password. Failed attempts are
    /// limited per address and per account (`RATE_LIMITED`).
    async fn login(&self, ctx: &Context<'_>, input: LoginInput) -> Result<AuthPayload> {
        let state = state(ctx);
        let client = client_ip(ctx)?;
        state.limits.check_address(Action::Auth, client)?;
        auth::login(state, client, &input.handle_or_email, input.password)
            .await
            .map(AuthPayload::from)
    }

    /// Changes your values, territory, language and signal preference;
    /// private to you (`me { values territory locale useActivitySignals }`).
    async fn update_profile(&self, ctx: &Context<'_>, input: UpdateProfileInput) -> Result<Member> {
        let actor = require_member(ctx).await?;
        let changes = crate::service::identity::profile::ProfileChanges {
            values: input.values,
            territory: input.territory,
            locale: input.locale,
            use_activity_signals: input.use_activity_signals,
        };
        crate::service::identity::profile::update(state(ctx), actor, changes)
            .await
            .map(Member)
    }

    /// Revokes the token this request was made with.
    async fn logout(&self, ctx: &Context<'_>) -> Result<bool> {
        let actor = require_member(ctx).await?;
        let token = ctx.data::<RequestAuth>().ok().and_then(RequestAuth::token);
        match token {
            Some(token) => auth::logout(state(ctx), actor.id, token).await,
            None => Ok(false),
        }
    }

    /// Erases your personal data (confirm with your password). Your
    /// signatures, pledges and votes still count, anonymously; you are signed
    /// out everywhere and cannot sign in again.
    async fn delete_account(&self, ctx: &Context<'_>, password: String) -> Result<bool> {
        let actor = require_member(ctx).await?;
        let state = state(ctx);
        crate::service::identity::privacy::erase(&state.db, &state.passwords, actor, password)
            .await?;
        state
            .caches
            .member_changed(state.bus.as_ref(), actor.id)
            .await;
        Ok(true)
    }

    /// Grants a role to a member; admins only.
    async fn set_member_role(
        &self,
        ctx: &Context<'_>,
        member_id: ID,
        role: MemberRole,
    ) -> Result<Member> {
        let actor = require_member(ctx).await?;
        let member_id = validate::id("memberId", &member_id)?;
        let state = state(ctx);
        let changed = auth::set_role(&state.db, actor, member_id, role.into()).await?;
        state
            .caches
            .member_changed(state.bus.as_ref(), member_id)
            .await;
        Ok(Member(changed))
    }
}
