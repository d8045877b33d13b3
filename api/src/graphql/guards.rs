//! Who is asking: the bearer token of the request, resolved to a member at
//! most once per request, and the checks resolvers make with it.

use std::net::IpAddr;

use async_graphql::Context;
use tokio::sync::OnceCell;

use crate::error::{AppError, Result};
use entities::member;

use crate::service::identity::auth;
use crate::service::viewer::Viewer;
use crate::state::AppState;

/// Per-request authentication: the raw token, and the viewer it resolves to.
pub struct RequestAuth {
    token: Option<String>,
    client: Option<IpAddr>,
    member: OnceCell<Result<Option<member::Model>>>,
}

impl RequestAuth {
    pub fn new(token: Option<String>, client: Option<IpAddr>) -> Self {
        Self {
            token,
            client,
            member: OnceCell::new(),
        }
    }

    pub fn token(&self) -> Option<&str> {
        self.token.as_deref()
    }
}

/// The application state the schema was built with.
pub fn state<'a>(ctx: &Context<'a>) -> &'a AppState {
    ctx.data_unchecked::<AppState>()
}

/// The signed-in member's row, or `None` for an anonymous request, read at
/// most once per request. A token that is present but unknown or expired is
/// an `UNAUTHENTICATED` error, so a client learns to sign in again instead of
/// silently seeing less.
pub async fn member(ctx: &Context<'_>) -> Result<Option<member::Model>> {
    let Ok(request) = ctx.data::<RequestAuth>() else {
        return Ok(None);
    };
    request
        .member
        .get_or_init(|| async {
            match request.token.as_deref() {
                None => Ok(None),
                Some(token) => auth::member_for_token(state(ctx), token).await.map(Some),
            }
        })
        .await
        .clone()
}

/// Who is asking, for authorization; `None` for an anonymous request.
pub async fn viewer(ctx: &Context<'_>) -> Result<Option<Viewer>> {
    let config = &state(ctx).config;
    Ok(member(ctx)
        .await?
        .as_ref()
        .map(|member| Viewer::of(member, config)))
}

/// The signed-in member, or `UNAUTHENTICATED`.
pub async fn require_member(ctx: &Context<'_>) -> Result<Viewer> {
    viewer(ctx)
        .await?
        .ok_or(AppError::Unauthenticated("sign in to do this"))
}

/// The signed-in member about to create content (a campaign, producer,
/// community, proposal, update, flag or claim): `UNAUTHENTICATED`, then
/// `FORBIDDEN` (`EMAIL_NOT_CONFIRMED`) while confirmation is required and
/// their address is not confirmed, then `RATE_LIMITED` past
/// `CONSUMACT_CREATE_PER_HOUR`, all before any other work.
pub async fn require_creator(ctx: &Context<'_>) -> Result<Viewer> {
    let actor = require_member(ctx).await?;
    actor.require_confirmed()?;
    state(ctx)
        .limits
        .check_member(crate::ratelimit::Action::Create, actor.id)?;
    Ok(actor)
}

/// The client's address, for limits, block rules and source keys. Every
/// transport sets it (`http::policy`); an operation without one is refused,
/// never waved past the checks that need it.
pub fn client_ip(ctx: &Context<'_>) -> Result<IpAddr> {
    ctx.data::<RequestAuth>()
        .ok()
        .and_then(|request| request.client)
        .ok_or_else(|| AppError::Forbidden("the request carries no client address".into()))
}
