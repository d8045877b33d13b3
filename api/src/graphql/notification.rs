//! Notifications: `notificationPreferences`, `updateNotificationPreferences`
//! and the `myNotifications` subscription, which streams to a signed-in
//! member (token in graphql-ws `connection_init`) the events they would be
//! mailed about, as they happen.

use async_graphql::{Context, ID, InputObject, Json, Object, SimpleObject, Subscription};
use chrono::{DateTime, Utc};
use futures_util::Stream;

use crate::bus::Notice;
use crate::error::{AppError, Result};
use crate::graphql::guards::{self, require_member, state};
use crate::graphql::webhook::WebhookEvent;
use crate::service::notify::notification::{self as service, PreferenceChanges, Preferences};

/// What you are mailed about (at most one mail per campaign per day).
#[derive(SimpleObject)]
pub struct NotificationPreferences {
    /// A campaign you signed reached a milestone or its goal.
    pub milestones: bool,
    /// The producer answered a campaign you signed.
    pub responses: bool,
    /// A commitment made to a campaign you signed closed.
    pub commitments: bool,
    /// The organiser posted an update on a campaign you signed.
    pub updates: bool,
    /// For producers' representatives: a campaign aims at your producer.
    pub new_campaigns: bool,
}

impl From<Preferences> for NotificationPreferences {
    fn from(p: Preferences) -> Self {
        Self {
            milestones: p.milestones,
            responses: p.responses,
            commitments: p.commitments,
            updates: p.updates,
            new_campaigns: p.new_campaigns,
        }
    }
}

/// Changes to your notification preferences; omitted ones stay as they are.
#[derive(InputObject, Default)]
pub struct NotificationPreferencesInput {
    pub milestones: Option<bool>,
    pub responses: Option<bool>,
    pub commitments: Option<bool>,
    pub updates: Option<bool>,
    pub new_campaigns: Option<bool>,
}

/// Something that happened on a campaign you follow.
#[derive(SimpleObject, Clone)]
pub struct Notification {
    /// The event's id (a webhook's `webhook-id` is `msg_` and its digits);
    /// `node(id:)` finds it again while the outbox keeps it.
    #[graphql(owned)]
    pub id: ID,
    pub event: WebhookEvent,
    pub campaign_id: ID,
    pub occurred_at: DateTime<Utc>,
    /// The webhook payload's `data`: the campaign and what happened.
    pub data: Json<serde_json::Value>,
}

impl From<Notice> for Notification {
    fn from(notice: Notice) -> Self {
        Self {
            id: ID(notice.id.to_string()),
            event: notice.kind.into(),
            campaign_id: ID(notice.campaign_id.to_string()),
            occurred_at: notice.at,
            data: Json(notice.payload["data"].clone()),
        }
    }
}

#[derive(Default)]
pub struct NotificationQuery;

#[Object]
impl NotificationQuery {
    /// Your notification preferences.
    async fn notification_preferences(&self, ctx: &Context<'_>) -> Result<NotificationPreferences> {
        require_member(ctx).await?;
        let found = guards::member(ctx)
            .await?
            .ok_or(AppError::Unauthenticated("sign in to do this"))?;
        Ok(Preferences::of(&found).into())
    }
}

#[derive(Default)]
pub struct NotificationMutation;

#[Object]
impl NotificationMutation {
    /// Changes what you are mailed about.
    async fn update_notification_preferences(
        &self,
        ctx: &Context<'_>,
        input: NotificationPreferencesInput,
    ) -> Result<NotificationPreferences> {
        let actor = require_member(ctx).await?;
        let changes = PreferenceChanges {
            milestones: input.milestones,
            responses: input.responses,
            commitments: input.commitments,
            updates: input.updates,
            new_campaigns: input.new_campaigns,
        };
        service::update_preferences(state(ctx), actor, changes)
            .await
            .map(Into::into)
    }
}

#[derive(Default)]
pub struct NotificationSubscription;

#[Subscription]
impl NotificationSubscription {
    /// Events of the campaigns you signed or organise, and (for producers'
    /// representatives) new campaigns aimed at your producer, as they
    /// happen on any instance. Needs a token in `connection_init`
    /// (`{ "authorization": "Bearer …" }`).
    async fn my_notifications(
        &self,
        ctx: &Context<'_>,
    ) -> Result<impl Stream<Item = Notification> + use<>> {
        let actor = require_member(ctx).await?;
        let listening = state(ctx).notices.listen(actor.id);
        Ok(futures_util::stream::unfold(
            listening,
            |mut listening| async move {
                let notice = listening.events.recv().await?;
                Some((Notification::from(notice), listening))
            },
        ))
    }
}
