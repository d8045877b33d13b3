//! Proving who one is by mail: `confirmEmail`, `resendConfirmation`,
//! `requestPasswordReset`, `resetPassword` and `changePassword`.

use async_graphql::{Context, Object};

use crate::error::Result;
use crate::graphql::guards::{RequestAuth, client_ip, require_member, state};
use crate::graphql::member::Member;
use crate::ratelimit::Action;
use crate::service::{identity::confirmation, identity::password};

#[derive(Default)]
pub struct AccountMutation;

#[Object]
impl AccountMutation {
    /// Confirms your e-mail address with the token of the mailed link (the
    /// link itself, opened in a browser, does the same). Your pending
    /// signatures count from now on. A token works once, and expires.
    async fn confirm_email(&self, ctx: &Context<'_>, token: String) -> Result<Member> {
        let state = state(ctx);
        state.limits.check_address(Action::Auth, client_ip(ctx)?)?;
        confirmation::confirm(state, &token).await.map(Member)
    }

    /// Mails a new confirmation link (a few per hour).
    async fn resend_confirmation(&self, ctx: &Context<'_>) -> Result<bool> {
        let actor = require_member(ctx).await?;
        confirmation::resend(state(ctx), actor).await
    }

    /// Mails a password reset link, valid one hour, to this address if it
    /// has an account. The answer is `true` either way.
    async fn request_password_reset(&self, ctx: &Context<'_>, email: String) -> Result<bool> {
        let state = state(ctx);
        state.limits.check_address(Action::Auth, client_ip(ctx)?)?;
        password::request_reset(state, &email).await
    }

    /// Sets a new password with the token of a reset link. Every session of
    /// the account is signed out, and its failed-login limit lifted.
    async fn reset_password(
        &self,
        ctx: &Context<'_>,
        token: String,
        new_password: String,
    ) -> Result<bool> {
        let state = state(ctx);
        state.limits.check_address(Action::Auth, client_ip(ctx)?)?;
        password::reset(state, &token, new_password).await
    }

    /// Changes your password; your other sessions are signed out.
    async fn change_password(
        &self,
        ctx: &Context<'_>,
        current_password: String,
        new_password: String,
    ) -> Result<bool> {
        let actor = require_member(ctx).await?;
        let token = ctx.data::<RequestAuth>().ok().and_then(RequestAuth::token);
        let client = client_ip(ctx)?;
        password::change(
            state(ctx),
            actor,
            client,
            token,
            current_password,
            new_password,
        )
        .await
    }
}
