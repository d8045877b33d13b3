//! Producers' answers as a duty: where a campaign stands with its
//! producer's answer, the one extension a representative may ask for, the
//! moderators' void, and each producer's accountability. Thin: the rules
//! live in `service::signing::response_request` and
//! `service::producers::response_duty`.

use async_graphql::{Context, Enum, ID, Object, SimpleObject};
use chrono::{DateTime, Utc};
use entities::{campaign, response_request as request};

use crate::error::{AppError, Result};
use crate::graphql::campaign::Campaign;
use crate::graphql::guards::{require_member, state};
use crate::service::campaigns::campaign as campaigns;
use crate::service::producers::response_duty;
use crate::service::signing::response_request::{self as service, in_force};
use crate::service::validate;
use crate::service::viewer::Viewer;

/// Where a campaign stands with its producer's answer.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "crate::service::signing::response_request::ResponseState")]
pub enum ResponseState {
    /// The count has not reached the response threshold (or the request
    /// was withdrawn below it, or voided), and no answer came.
    NotRequested,
    /// An answer is awaited by `responseDueAt`.
    Requested,
    /// Answered (by the due date, if one was set).
    Answered,
    /// Answered after the due date.
    AnsweredLate,
    /// The due date passed without an answer.
    Overdue,
}

/// The one extension of a response request, shown publicly.
#[derive(SimpleObject)]
pub struct ResponseExtension {
    pub reason: String,
    pub extended_at: DateTime<Utc>,
    /// The due date before the extension.
    pub original_due_at: DateTime<Utc>,
}

/// How a producer answers the campaigns that asked it to.
#[derive(SimpleObject)]
pub struct Accountability {
    /// Requests made of it (withdrawn and voided ones left out).
    pub requested: i64,
    pub answered: i64,
    pub answered_on_time: i64,
    /// Unanswered past their due date.
    pub overdue: i64,
    pub median_days_to_answer: Option<f64>,
    /// The longest wait from a request to its answer, or to now.
    pub longest_silence_days: Option<f64>,
}

impl From<response_duty::Accountability> for Accountability {
    fn from(found: response_duty::Accountability) -> Self {
        Self {
            requested: found.requested,
            answered: found.answered,
            answered_on_time: found.answered_on_time,
            overdue: found.overdue,
            median_days_to_answer: found.median_days_to_answer,
            longest_silence_days: found.longest_silence_days,
        }
    }
}

/// What a campaign's response fields read: its request and first answer.
pub(crate) struct ResponseView {
    pub request: Option<request::Model>,
    pub answered_at: Option<DateTime<Utc>>,
}

impl ResponseView {
    pub async fn of(ctx: &Context<'_>, found: &campaign::Model) -> Result<Self> {
        let db = &state(ctx).db;
        Ok(Self {
            request: service::of_campaign(db, found.id).await?,
            answered_at: response_duty::answered_at(db, found.id).await?,
        })
    }

    pub fn standing(&self) -> Option<&request::Model> {
        self.request.as_ref().filter(|found| in_force(found))
    }

    pub fn state(&self) -> ResponseState {
        service::state_of(self.request.as_ref(), self.answered_at, validate::now()).into()
    }

    pub fn extension(&self) -> Option<ResponseExtension> {
        let found = self.standing()?;
        Some(ResponseExtension {
            reason: found.extension_reason.clone()?,
            extended_at: found.extended_at?,
            original_due_at: found.original_due_at,
        })
    }
}

#[derive(Default)]
pub struct ResponseMutation;

#[Object]
impl ResponseMutation {
    /// Asks once for more time to answer a campaign's response request
    /// (`CONSUMACT_RESPONSE_EXTENSION_DAYS`); the reason (10 to 1 000
    /// characters) is shown publicly. The producer's approved
    /// representatives only; `CONFLICT` for a second extension, a request
    /// answered or not made.
    async fn request_response_extension(
        &self,
        ctx: &Context<'_>,
        campaign_id: ID,
        reason: String,
    ) -> Result<Campaign> {
        let actor = require_member(ctx).await?;
        let id = validate::id("campaignId", &campaign_id)?;
        response_duty::extend(state(ctx), actor, id, &reason).await?;
        reload(ctx, actor, id).await
    }

    /// Voids the response request of a campaign found fraudulent;
    /// moderators only, audit-logged with the reason.
    async fn void_response_request(
        &self,
        ctx: &Context<'_>,
        campaign_id: ID,
        reason: String,
    ) -> Result<Campaign> {
        let actor = require_member(ctx).await?;
        let id = validate::id("campaignId", &campaign_id)?;
        response_duty::void(state(ctx), actor, id, &reason).await?;
        reload(ctx, actor, id).await
    }
}

/// The campaign as `actor` sees it after a change.
async fn reload(ctx: &Context<'_>, actor: Viewer, id: uuid::Uuid) -> Result<Campaign> {
    campaigns::get(&state(ctx).db, Some(actor), id)
        .await?
        .map(Campaign)
        .ok_or(AppError::NotFound("campaign"))
}

/// `Producer.accountability`.
pub async fn accountability(ctx: &Context<'_>, producer_id: uuid::Uuid) -> Result<Accountability> {
    response_duty::accountability(&state(ctx).db, producer_id, validate::now())
        .await
        .map(Into::into)
}
