//! Who is asking: the bearer token of the request, resolved to a member at
//! most once per request, and the checks resolvers make with it.

use std::net::IpAddr;

use async_graphql::Context;
use tokio::sync::OnceCell;

use crate::error::{AppError, Result};
use crate::service::auth::{self, Viewer};
use crate::state::AppState;

/// Per-request authentication: the raw token, and the viewer it resolves to.
pub struct RequestAuth {
    token: Option<String>,
    client: Option<IpAddr>,
    viewer: OnceCell<Result<Option<Viewer>>>,
}

impl RequestAuth {
    pub fn new(token: Option<String>, client: Option<IpAddr>) -> Self {
        Self {
            token,
            client,
            viewer: OnceCell::new(),
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

/// The signed-in member, or `None` for an anonymous request. A token that
/// is present but unknown or expired is an `UNAUTHENTICATED` error, so a
/// client learns to sign in again instead of silently seeing less.
pub async fn viewer(ctx: &Context<'_>) -> Result<Option<Viewer>> {
    let Ok(request) = ctx.data::<RequestAuth>() else {
        return Ok(None);
    };
    request
        .viewer
        .get_or_init(|| async {
            match request.token.as_deref() {
                None => Ok(None),
                Some(token) => auth::viewer_for_token(&state(ctx).db, token)
                    .await
                    .map(Some),
            }
        })
        .await
        .clone()
}

/// The signed-in member, or `UNAUTHENTICATED`.
pub async fn require_member(ctx: &Context<'_>) -> Result<Viewer> {
    viewer(ctx)
        .await?
        .ok_or(AppError::Unauthenticated("sign in to do this"))
}

/// The client's address, for rate limits (`None` outside HTTP requests).
pub fn client_ip(ctx: &Context<'_>) -> Option<IpAddr> {
    ctx.data::<RequestAuth>()
        .ok()
        .and_then(|request| request.client)
}
