//! Signing and live counters: `signCampaign`, `withdrawSignature`, the
//! `Signature` and `CampaignCounters` types, and the `campaignCounters`
//! subscription.

use async_graphql::dataloader::DataLoader;
use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject, Subscription};
use chrono::{DateTime, Utc};
use entities::{milestone, signature};
use futures_util::{Stream, StreamExt};
use tokio::sync::broadcast;
use tokio::sync::broadcast::error::RecvError;

use crate::bus::CounterChange;
use crate::counters::{CampaignCounts, Counter};
use crate::error::{AppError, Result};
use crate::graphql::campaign::Campaign;
use crate::graphql::guards::{self, client_ip, require_member, state, viewer};
use crate::graphql::loaders::{CampaignById, DbLoader, MemberById};
use crate::service::signing::signature::ANONYMOUS;
use crate::service::{self, campaigns::campaign as campaigns, validate};

/// One member backing one campaign, as the public sees it.
pub struct Signature(pub signature::Model);

#[Object]
impl Signature {
    pub(crate) async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// The signer's display name, or "Anonymous".
    async fn signer(&self, ctx: &Context<'_>) -> Result<String> {
        let Some(member_id) = self.0.member_id.filter(|_| !self.0.anonymous) else {
            return Ok(ANONYMOUS.to_owned());
        };
        let loader = ctx.data_unchecked::<DataLoader<DbLoader>>();
        Ok(loader
            .load_one(MemberById(member_id))
            .await?
            .map_or_else(|| ANONYMOUS.to_owned(), |member| member.display_name))
    }
    async fn anonymous(&self) -> bool {
        self.0.anonymous
    }
    /// `PENDING` until the signer confirms their address; public lists
    /// show `COUNTED` ones only.
    async fn status(&self) -> SignatureStatus {
        self.0.status.into()
    }
    /// Where it came from: a keyed hash of the signer's network (/24 or
    /// /64), equal for signatures from one network, never the address.
    /// Moderators and admins only; null for others.
    async fn source_key(&self, ctx: &Context<'_>) -> Result<Option<&str>> {
        Ok(if moderates(ctx).await? {
            self.0.source_key.as_deref()
        } else {
            None
        })
    }
    /// The signer's e-mail domain. Moderators and admins only; null for others.
    async fn email_domain(&self, ctx: &Context<'_>) -> Result<Option<&str>> {
        Ok(if moderates(ctx).await? {
            self.0.email_domain.as_deref()
        } else {
            None
        })
    }
    async fn comment(&self) -> Option<&str> {
        self.0.comment.as_deref()
    }
    /// Where the signer lives (ISO 3166), if they said: shown to the
    /// signer and to admins only (the organiser gets it in the delivery
    /// pack's export), null for everyone else. Public breakdowns go through
    /// `Campaign.signaturesByTerritory`.
    async fn territory(&self, ctx: &Context<'_>) -> Result<Option<&str>> {
        let shown = viewer(ctx).await?.is_some_and(|viewer| {
            viewer.is_admin() || (self.0.member_id.is_some() && self.0.member_id == Some(viewer.id))
        });
        Ok(if shown {
            self.0.territory.as_deref()
        } else {
            None
        })
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// The campaign signed; null if it is no longer visible to the caller.
    async fn campaign(&self, ctx: &Context<'_>) -> Result<Option<Campaign>> {
        let loader = ctx.data_unchecked::<DataLoader<DbLoader>>();
        let viewer = viewer(ctx).await?;
        Ok(loader
            .load_one(CampaignById(self.0.campaign_id))
            .await?
            .filter(|found| campaigns::visible_to(found, viewer))
            .map(Campaign))
    }
}

/// A signature's state: only `COUNTED` ones count anywhere.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(
    name = "SignatureStatus",
    remote = "entities::signature::SignatureStatus"
)]
pub enum SignatureStatus {
    /// Waits for its signer to confirm their e-mail address.
    Pending,
    /// Counts.
    Counted,
    /// Struck out by a moderator; kept for the record.
    Invalidated,
}

/// Whether the caller is a moderator or an admin.
async fn moderates(ctx: &Context<'_>) -> Result<bool> {
    Ok(viewer(ctx).await?.is_some_and(|v| v.moderates()))
}

/// A campaign's live counters.
#[derive(SimpleObject, Clone)]
pub struct CampaignCounters {
    pub campaign_id: ID,
    /// Counted signatures.
    pub signatures: i64,
    /// Signatures waiting for their signers to confirm their address; only
    /// for the campaign's organiser (and admins), null otherwise.
    pub pending_signatures: Option<i64>,
    /// Pledges not withdrawn or expired.
    pub pledges: i64,
    /// Pledges in force.
    pub active_pledges: i64,
    /// Signatures collected offline, from verified tallies (apart from
    /// online ones). A subscription reads it when it starts: tallies are
    /// verified rarely, and a new subscription sees them.
    pub offline_signatures: i64,
    /// Online and verified offline signatures: what the goal is measured by.
    pub total: i64,
    pub updated_at: DateTime<Utc>,
    /// In a subscription: the milestone the latest change crossed, if any.
    pub milestone: Option<i64>,
    /// In a subscription: whether the latest change reached the goal.
    pub goal_reached: bool,
}

impl CampaignCounters {
    /// These counters with `offline` verified offline signatures.
    pub fn with_offline(mut self, offline: i64) -> Self {
        self.offline_signatures = offline;
        self.total = self.signatures + offline;
        self
    }

    pub fn new(campaign_id: uuid::Uuid, counts: CampaignCounts, at: DateTime<Utc>) -> Self {
        Self {
            campaign_id: ID(campaign_id.to_string()),
            signatures: counts.signatures,
            pledges: counts.pledges,
            active_pledges: counts.active_pledges,
            offline_signatures: 0,
            total: counts.signatures,
            pending_signatures: None,
            updated_at: at,
            milestone: None,
            goal_reached: false,
        }
    }
}

/// A signature count a campaign crossed.
pub struct Milestone {
    pub model: milestone::Model,
    pub goal: Option<i32>,
}

#[Object]
impl Milestone {
    async fn threshold(&self) -> i64 {
        self.model.threshold
    }
    async fn reached_at(&self) -> DateTime<Utc> {
        self.model.reached_at
    }
    /// Whether this milestone is the campaign's goal.
    async fn is_goal(&self) -> bool {
        self.goal.map(i64::from) == Some(self.model.threshold)
    }
    /// Whether an invalidation has since brought the count back below it:
    /// reached, then struck signatures took it away.
    async fn reached_before_invalidation(&self) -> bool {
        self.model.invalidated_at.is_some()
    }
}

#[derive(InputObject, Default)]
pub struct SignInput {
    /// Public comment, up to 500 characters.
    pub comment: Option<String>,
    /// Show "Anonymous" instead of your name.
    #[graphql(default)]
    pub anonymous: bool,
}

#[derive(Default)]
pub struct SigningMutation;

#[Object]
impl SigningMutation {
    /// Signs an open campaign. Signing twice is a `CONFLICT` and counts once.
    /// A signer whose address is not confirmed yet gets a `PENDING`
    /// signature that counts once they confirm.
    async fn sign_campaign(
        &self,
        ctx: &Context<'_>,
        campaign_id: ID,
        input: Option<SignInput>,
    ) -> Result<Signature> {
        let actor = require_member(ctx).await?;
        let id = validate::id("campaignId", &campaign_id)?;
        let input = input.unwrap_or_default();
        // The row is cached from authentication: no second read on the hot path.
        let signer = guards::member(ctx).await?;
        let sign = service::signing::signature::SignInput {
            comment: input.comment,
            anonymous: input.anonymous,
            territory: signer.as_ref().and_then(|signer| signer.territory.clone()),
            email_domain: signer
                .as_ref()
                .and_then(|signer| service::source::email_domain(&signer.email)),
        };
        service::signing::signature::sign(state(ctx), actor, Some(client_ip(ctx)?), id, sign)
            .await
            .map(Signature)
    }

    /// Withdraws your signature from an open campaign.
    async fn withdraw_signature(&self, ctx: &Context<'_>, campaign_id: ID) -> Result<bool> {
        let actor = require_member(ctx).await?;
        let id = validate::id("campaignId", &campaign_id)?;
        service::signing::signature::withdraw(state(ctx), actor, id).await
    }
}

#[derive(Default)]
pub struct CounterSubscription;

#[Subscription]
impl CounterSubscription {
    /// The campaign's counters now, then after every change, from whichever
    /// server instance the change was made on.
    async fn campaign_counters(
        &self,
        ctx: &Context<'_>,
        campaign_id: ID,
    ) -> Result<futures_util::stream::BoxStream<'static, CampaignCounters>> {
        let state = state(ctx).clone();
        let id = validate::id("campaignId", &campaign_id)?;
        let found = campaigns::get(&state.db, viewer(ctx).await?, id)
            .await?
            .ok_or(AppError::NotFound("campaign"))?;
        // Subscribe before reading, so no change falls between the two.
        let receiver = state.live.subscribe(id);
        let counts = state.counters.read_many(&state.db, &[id]).await?;
        let initial = CampaignCounters::new(
            id,
            counts.get(&id).copied().unwrap_or_default(),
            validate::now(),
        )
        .with_offline(found.offline_signatures);
        let organiser = viewer(ctx)
            .await?
            .is_some_and(|v| found.organiser_id == Some(v.id) || v.is_admin());
        if !organiser {
            return Ok(counter_updates(receiver, initial).boxed());
        }
        // The organiser also sees signatures waiting for confirmation, read
        // with the first value and again with each change.
        let db = state.db.clone();
        Ok(counter_updates(receiver, initial)
            .then(move |mut counters| {
                let db = db.clone();
                async move {
                    if let Ok(pending) = service::signing::signature::pending_count(&db, id).await {
                        counters.pending_signatures = Some(pending);
                    }
                    counters
                }
            })
            .boxed())
    }
}

/// `initial`, then the counters after each event about the same campaign.
/// A subscriber that falls behind the bounded channel skips what it missed
/// (the newest value wins) and never slows publishers down. Concurrent
/// changes may be published out of order: an event numbered before one
/// already shown does not move the count back (a milestone it carries is
/// still announced, with the newer count).
pub fn counter_updates(
    receiver: broadcast::Receiver<CounterChange>,
    initial: CampaignCounters,
) -> impl Stream<Item = CampaignCounters> {
    let campaign: uuid::Uuid = initial.campaign_id.0.parse().unwrap_or_default();
    futures_util::stream::unfold(
        (receiver, initial, [None::<i64>; 3], true),
        move |(mut receiver, mut latest, mut seen, first)| {
            async move {
                if first {
                    return Some((latest.clone(), (receiver, latest, seen, false)));
                }
                loop {
                    match receiver.recv().await {
                        Ok(event) if event.campaign_id == campaign => {
                            let counter = Counter::from(event.counter);
                            let slot = &mut seen[counter.index()];
                            let stale = match (event.seq, *slot) {
                                (Some(seq), Some(shown)) => seq <= shown,
                                (Some(_), None) => false,
                                // Unnumbered (counted from the database): by time.
                                (None, _) => event.at < latest.updated_at,
                            };
                            if stale && event.milestone.is_none() {
                                continue;
                            }
                            let mut counts = CampaignCounts {
                                signatures: latest.signatures,
                                pledges: latest.pledges,
                                active_pledges: latest.active_pledges,
                            };
                            if !stale {
                                counts.set(counter, event.value);
                                if event.seq.is_some() {
                                    *slot = event.seq;
                                }
                            }
                            let at = event.at.max(latest.updated_at);
                            let offline = latest.offline_signatures;
                            latest = CampaignCounters::new(event.campaign_id, counts, at)
                                .with_offline(offline);
                            latest.milestone = event.milestone;
                            latest.goal_reached = event.goal_reached;
                            return Some((latest.clone(), (receiver, latest, seen, false)));
                        }
                        Ok(_) | Err(RecvError::Lagged(_)) => continue,
                        Err(RecvError::Closed) => return None,
                    }
                }
            }
        },
    )
}

#[cfg(test)]
mod tests {
    use futures_util::StreamExt;

    use super::*;
    use crate::bus::{BUFFER, CounterName, LiveBus, memory::MemoryBus};

    fn event(campaign: uuid::Uuid, value: i64) -> CounterChange {
        CounterChange {
            campaign_id: campaign,
            counter: CounterName::Signatures,
            value,
            at: validate::now(),
            milestone: None,
            goal_reached: false,
            seq: Some(value),
        }
    }

    #[tokio::test]
    async fn an_older_change_published_late_does_not_move_the_count_back() {
        let events = MemoryBus::default();
        let campaign = uuid::Uuid::now_v7();
        let receiver = events.subscribe();
        let initial = CampaignCounters::new(campaign, CampaignCounts::default(), validate::now());
        let mut stream = Box::pin(counter_updates(receiver, initial));
        assert_eq!(stream.next().await.unwrap().signatures, 0);
        events.publish(event(campaign, 2)).await;
        // Change 1 committed first but is published after change 2.
        events.publish(event(campaign, 1)).await;
        events.publish(event(campaign, 3)).await;
        assert_eq!(stream.next().await.unwrap().signatures, 2);
        assert_eq!(stream.next().await.unwrap().signatures, 3);
    }

    #[tokio::test]
    async fn a_subscriber_that_never_reads_does_not_block_publishers() {
        let events = MemoryBus::default();
        let campaign = uuid::Uuid::now_v7();
        let receiver = events.subscribe();
        let initial = CampaignCounters::new(campaign, CampaignCounts::default(), validate::now());
        let mut stream = Box::pin(counter_updates(receiver, initial));
        // Far more events than the buffer holds, with nobody reading.
        let published = (BUFFER * 3) as i64;
        for value in 1..=published {
            events.publish(event(campaign, value)).await;
        }
        events.publish(event(uuid::Uuid::now_v7(), 7)).await;
        assert_eq!(stream.next().await.unwrap().signatures, 0);
        let mut last = 0;
        let mut seen = 0;
        while last < published {
            last = stream.next().await.unwrap().signatures;
            seen += 1;
        }
        assert_eq!(last, published, "the newest value arrives");
        assert!(
            seen <= BUFFER,
            "the stale backlog was skipped ({seen} updates)"
        );
    }
}
