//! Campaigns read over GraphQL: `campaign`, `campaigns` and the `Campaign`
//! object (its changes are in `campaign_edit`).

use async_graphql::dataloader::DataLoader;
use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use entities::{campaign, campaign_update, producer_response, signature};

use crate::error::Result;
use crate::graphql::campaign_target::CampaignTarget;
use crate::graphql::catalogue::Brand;
use crate::graphql::community::Community;
use crate::graphql::connection::{self, Page, complexity};
use crate::graphql::guards::{state, viewer};
use crate::graphql::loaders::{
    CampaignCountsOf, CampaignTags, CommunityById, DbLoader, MemberById,
};
use crate::graphql::member::Member;
use crate::graphql::offline_tally::OfflineTally;
use crate::graphql::pledge::{Pledge, PledgeTotals};
use crate::graphql::producer::Producer;
use crate::graphql::producer_voice::{CampaignUpdate, ProducerResponse};
use crate::graphql::proposal::{Proposal, ranked_page};
use crate::graphql::response::{ResponseExtension, ResponseState, ResponseView};
use crate::graphql::signing::{CampaignCounters, Milestone, Signature};
use crate::graphql::value_tag::ValueTag;
use crate::service::campaigns::proposal::Venue;
use crate::service::{self, validate};

/// The form of collective action a campaign takes.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(name = "CampaignKind", remote = "entities::campaign::CampaignKind")]
pub enum CampaignKind {
    /// Signatures asking the producer for a change.
    Petition,
    /// Members stop buying until the producer changes.
    Boycott,
    /// Members buy on purpose to support the producer.
    Buycott,
    /// Members propose and vote on ideas for the producer.
    CoCreation,
}

/// Where a campaign stands: `DRAFT → [SPONSORING →] [IN_REVIEW →] OPEN →
/// (VICTORY | CLOSED)`, or `REJECTED` by a moderator in review.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(name = "CampaignStatus", remote = "entities::campaign::CampaignStatus")]
pub enum CampaignStatus {
    /// Visible to its organiser only.
    Draft,
    /// Gathering sponsors before it opens (its organiser shares the sponsor code).
    Sponsoring,
    /// Waiting for a moderator's approval.
    InReview,
    /// Refused by a moderator, with a public reason.
    Rejected,
    /// Public and accepting support.
    Open,
    /// Ended with the producer meeting the demand.
    Victory,
    /// Ended otherwise.
    Closed,
}

/// How `closeCampaign` ends a campaign.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum CampaignOutcome {
    Victory,
    Closed,
}

/// A collective action aimed at a producer.
pub struct Campaign(pub campaign::Model);

impl Campaign {
    /// Whether the signed-in member organises it (or is an admin).
    async fn organised_by_viewer(&self, ctx: &Context<'_>) -> Result<bool> {
        Ok(viewer(ctx)
            .await?
            .is_some_and(|v| v.is_admin() || self.0.organiser_id == Some(v.id)))
    }
}

#[Object]
impl Campaign {
    pub(crate) async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn kind(&self) -> CampaignKind {
        self.0.kind.into()
    }
    async fn status(&self) -> CampaignStatus {
        self.0.status.into()
    }
    async fn title(&self) -> &str {
        &self.0.title
    }
    async fn summary(&self) -> &str {
        &self.0.summary
    }
    async fn body(&self) -> &str {
        &self.0.body
    }
    /// Supporters the organiser aims for.
    async fn goal(&self) -> Option<i32> {
        self.0.goal
    }
    async fn deadline(&self) -> Option<DateTime<Utc>> {
        self.0.deadline
    }
    /// CO_CREATION only: votes a proposal needs to be selected.
    async fn selection_threshold(&self) -> Option<i32> {
        self.0.selection_threshold
    }
    /// Where the action applies (ISO 3166), if anywhere in particular.
    async fn territory(&self) -> Option<&str> {
        self.0.territory.as_deref()
    }
    /// The language it is written in (`en`, `fr`).
    async fn language(&self) -> &str {
        &self.0.language
    }
    /// CO_CREATION only: what contributors get when their idea is adopted.
    async fn reward_description(&self) -> Option<&str> {
        self.0.reward_description.as_deref()
    }
    /// Counted signatures (online and verified offline) at which the
    /// producer is asked to answer: the organiser's, or
    /// `CONSUMACT_RESPONSE_THRESHOLD`.
    async fn response_threshold(&self, ctx: &Context<'_>) -> i64 {
        self.0.response_threshold.map_or(
            i64::from(state(ctx).config.responses.response_threshold),
            i64::from,
        )
    }
    /// Where the campaign stands with its producer's answer.
    async fn response_state(&self, ctx: &Context<'_>) -> Result<ResponseState> {
        Ok(ResponseView::of(ctx, &self.0).await?.state())
    }
    /// When the count reached the response threshold (null when it has not,
    /// or the request was withdrawn or voided).
    async fn response_requested_at(&self, ctx: &Context<'_>) -> Result<Option<DateTime<Utc>>> {
        let view = ResponseView::of(ctx, &self.0).await?;
        Ok(view.standing().map(|found| found.requested_at))
    }
    /// The date the producer is asked to answer by (after an extension, the
    /// extended one).
    async fn response_due_at(&self, ctx: &Context<'_>) -> Result<Option<DateTime<Utc>>> {
        let view = ResponseView::of(ctx, &self.0).await?;
        Ok(view.standing().map(|found| found.due_at))
    }
    /// When the producer first answered (a hidden answer counts).
    async fn answered_at(&self, ctx: &Context<'_>) -> Result<Option<DateTime<Utc>>> {
        Ok(ResponseView::of(ctx, &self.0).await?.answered_at)
    }
    /// The extension a representative asked for, with its reason.
    async fn response_extension(&self, ctx: &Context<'_>) -> Result<Option<ResponseExtension>> {
        Ok(ResponseView::of(ctx, &self.0).await?.extension())
    }
    /// When invalidations brought the count back under the threshold
    /// before an answer: the request was made, then withdrawn (as a
    /// milestone reached before an invalidation is marked).
    async fn response_withdrawn_at(&self, ctx: &Context<'_>) -> Result<Option<DateTime<Utc>>> {
        let view = ResponseView::of(ctx, &self.0).await?;
        Ok(view.request.and_then(|found| found.withdrawn_at))
    }
    /// When a moderator voided the response request (a campaign found
    /// fraudulent), and why.
    async fn response_voided_at(&self, ctx: &Context<'_>) -> Result<Option<DateTime<Utc>>> {
        let view = ResponseView::of(ctx, &self.0).await?;
        Ok(view.request.and_then(|found| found.voided_at))
    }
    /// True while an answer is requested and the producer has no approved
    /// representative to receive it; the request waits for one.
    async fn unreached(&self, ctx: &Context<'_>) -> Result<bool> {
        let view = ResponseView::of(ctx, &self.0).await?;
        if view.standing().is_none() || view.answered_at.is_some() {
            return Ok(false);
        }
        let db = &state(ctx).db;
        Ok(
            service::signing::response_request::representatives(db, self.0.producer_id)
                .await?
                .is_empty(),
        )
    }
    /// The producer aimed at now (an escalation moves it to an owner).
    async fn producer(&self, ctx: &Context<'_>) -> Result<Producer> {
        Producer::load(ctx, self.0.producer_id).await
    }
    /// The brand the campaign is about, when it names one.
    async fn brand(&self, ctx: &Context<'_>) -> Result<Option<Brand>> {
        crate::graphql::campaign_target::brand_of(ctx, &self.0).await
    }
    /// The producers it aimed at, first to now (more than one after an
    /// escalation).
    async fn targets(&self, ctx: &Context<'_>) -> Result<Vec<CampaignTarget>> {
        crate::graphql::campaign_target::targets_of(ctx, &self.0).await
    }
    async fn community(&self, ctx: &Context<'_>) -> Result<Option<Community>> {
        let Some(id) = self.0.community_id else {
            return Ok(None);
        };
        let loader = ctx.data_unchecked::<DataLoader<DbLoader>>();
        Ok(loader.load_one(CommunityById(id)).await?.map(Community))
    }
    /// Null once the organiser has deleted their account.
    async fn organiser(&self, ctx: &Context<'_>) -> Result<Option<Member>> {
        let Some(id) = self.0.organiser_id else {
            return Ok(None);
        };
        let loader = ctx.data_unchecked::<DataLoader<DbLoader>>();
        Ok(loader.load_one(MemberById(id)).await?.map(Member))
    }
    async fn value_tags(&self, ctx: &Context<'_>) -> Result<Vec<ValueTag>> {
        let loader = ctx.data_unchecked::<DataLoader<DbLoader>>();
        let tags = loader.load_one(CampaignTags(self.0.id)).await?;
        Ok(tags.unwrap_or_default().into_iter().map(ValueTag).collect())
    }
    /// Whether the signed-in member may edit, publish or close it.
    async fn viewer_can_edit(&self, ctx: &Context<'_>) -> Result<bool> {
        self.organised_by_viewer(ctx).await
    }
    /// Live counters: signatures, pledges, active pledges; for its organiser
    /// (and admins) also the signatures waiting for their signer to confirm.
    async fn counters(&self, ctx: &Context<'_>) -> Result<CampaignCounters> {
        // From memory when this instance has them; batched otherwise.
        let counts = match state(ctx).counters.read_now(self.0.id).await {
            Some(counts) => counts,
            None => ctx
                .data_unchecked::<DataLoader<DbLoader>>()
                .load_one(CampaignCountsOf(self.0.id))
                .await?
                .unwrap_or_default(),
        };
        let mut counters = CampaignCounters::new(self.0.id, counts, validate::now())
            .with_offline(self.0.offline_signatures);
        if self.organised_by_viewer(ctx).await? {
            counters.pending_signatures =
                Some(service::signing::signature::pending_count(&state(ctx).db, self.0.id).await?);
        }
        Ok(counters)
    }
    /// The code sponsors back it with, while `SPONSORING`; its organiser
    /// (and admins) only.
    async fn sponsor_code(&self, ctx: &Context<'_>) -> Result<Option<&str>> {
        Ok(if self.organised_by_viewer(ctx).await? {
            self.0.sponsor_code.as_deref()
        } else {
            None
        })
    }
    /// Members who backed it before it opened.
    async fn sponsor_count(&self) -> i32 {
        self.0.sponsor_count
    }
    /// Why a moderator rejected it (`REJECTED` only).
    async fn rejection_reason(&self) -> Option<&str> {
        self.0.rejection_reason.as_deref()
    }
    /// What the campaign's pledges add up to; the amount shows once at
    /// least k pledges (`CONSUMACT_OBSERVATORY_K`) sum into it.
    async fn pledge_totals(&self, ctx: &Context<'_>) -> Result<PledgeTotals> {
        let state = state(ctx);
        let k = i64::from(state.config.observatory_k);
        Ok(service::campaigns::pledge::totals(&state.db, self.0.id, k)
            .await?
            .into())
    }
    /// The signed-in member's pledge here, if any.
    async fn viewer_pledge(&self, ctx: &Context<'_>) -> Result<Option<Pledge>> {
        let Some(viewer) = viewer(ctx).await? else {
            return Ok(None);
        };
        Ok(
            service::campaigns::pledge::of_viewer(&state(ctx).db, viewer, self.0.id)
                .await?
                .map(Pledge),
        )
    }
    /// The producer's answers, newest first.
    #[graphql(complexity = "complexity(first, child_complexity)")]
    async fn responses(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Page<ProducerResponse>> {
        let select = service::producers::producer_voice::of_campaign(self.0.id);
        connection::paginate(
            ctx,
            select,
            producer_response::Column::Id,
            first,
            after,
            ProducerResponse,
        )
        .await
    }
    /// The organiser's news, newest first.
    #[graphql(complexity = "complexity(first, child_complexity)")]
    async fn updates(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Page<CampaignUpdate>> {
        let select = service::producers::producer_voice::updates_of(self.0.id);
        connection::paginate(
            ctx,
            select,
            campaign_update::Column::Id,
            first,
            after,
            CampaignUpdate,
        )
        .await
    }
    /// Proposals (CO_CREATION campaigns), best score first.
    #[graphql(complexity = "complexity(first, child_complexity)")]
    async fn proposals(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Page<Proposal>> {
        ranked_page(ctx, Venue::Campaign(self.0.id), first, after).await
    }
    /// Counted signatures per country and per subdivision (ISO 3166),
    /// largest first. Places with fewer signers than the observatory's k
    /// (and signers who gave no place) are merged into one `OTHER` line, so
    /// no small place exposes its signers; country lines and `OTHER` add up
    /// to the online count.
    async fn signatures_by_territory(&self, ctx: &Context<'_>) -> Result<Vec<TerritoryCount>> {
        let state = state(ctx);
        let lines = service::signing::signature::by_territory(
            &state.db,
            self.0.id,
            state.config.observatory_k,
        )
        .await?;
        Ok(lines
            .into_iter()
            .map(|(territory, count)| TerritoryCount { territory, count })
            .collect())
    }
    /// Signatures collected offline: all tallies for its organiser and
    /// moderators, verified ones for everyone else; newest first.
    #[graphql(complexity = "complexity(first, child_complexity)")]
    async fn offline_tallies(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Page<OfflineTally>> {
        let select =
            service::signing::offline_tally::of_campaign(state(ctx), viewer(ctx).await?, &self.0)
                .await?;
        connection::paginate(
            ctx,
            select,
            entities::offline_tally::Column::Id,
            first,
            after,
            OfflineTally,
        )
        .await
    }
    /// Signature milestones reached so far (10, 100, 1 000…, and the goal).
    async fn milestones(&self, ctx: &Context<'_>) -> Result<Vec<Milestone>> {
        let reached = service::signing::milestone::of_campaign(&state(ctx).db, self.0.id).await?;
        Ok(reached
            .into_iter()
            .map(|model| Milestone {
                model,
                goal: self.0.goal,
            })
            .collect())
    }
    /// Public signatures, newest first.
    #[graphql(complexity = "complexity(first, child_complexity)")]
    async fn signatures(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Page<Signature>> {
        let select = service::signing::signature::of_campaign(self.0.id);
        connection::paginate(ctx, select, signature::Column::Id, first, after, Signature).await
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
    async fn published_at(&self) -> Option<DateTime<Utc>> {
        self.0.published_at
    }
    async fn closed_at(&self) -> Option<DateTime<Utc>> {
        self.0.closed_at
    }
}

/// How a campaign list is ordered; every order walks an index.
#[derive(Enum, Clone, Copy, PartialEq, Eq, Default)]
pub enum CampaignOrder {
    /// Newest first (by creation).
    #[default]
    Newest,
    /// Most signatures (online and verified offline) first.
    MostSigned,
    /// Most momentum first: signatures weighted by age, a day's weighing
    /// about as much as the whole past.
    Trending,
    /// Open campaigns with a deadline still ahead, the nearest first.
    ClosingSoon,
    /// Campaigns awaiting their producer's answer, by due date: the longest
    /// overdue first, then the nearest due.
    ResponseDue,
}

/// A page of the campaigns the caller may see that match `filter`, newest first.
pub async fn campaign_page(
    ctx: &Context<'_>,
    filter: service::campaigns::campaign::CampaignFilter,
    first: Option<i32>,
    after: Option<String>,
) -> Result<Page<Campaign>> {
    ordered_campaign_page(ctx, filter, CampaignOrder::Newest, first, after).await
}

/// A page of the campaigns the caller may see that match `filter`, in `order`.
pub async fn ordered_campaign_page(
    ctx: &Context<'_>,
    filter: service::campaigns::campaign::CampaignFilter,
    order: CampaignOrder,
    first: Option<i32>,
    after: Option<String>,
) -> Result<Page<Campaign>> {
    use sea_orm::{ColumnTrait, QueryFilter};
    let select = service::campaigns::campaign::list(viewer(ctx).await?, filter);
    let (select, key) = match order {
        CampaignOrder::Newest => {
            return connection::paginate(ctx, select, campaign::Column::Id, first, after, Campaign)
                .await;
        }
        CampaignOrder::MostSigned => (select, (campaign::Column::SignatureTotal, true)),
        CampaignOrder::Trending => (select, (campaign::Column::Momentum, true)),
        CampaignOrder::ClosingSoon => (
            select
                .filter(campaign::Column::Status.eq(entities::campaign::CampaignStatus::Open))
                .filter(campaign::Column::Deadline.gt(validate::now())),
            (campaign::Column::Deadline, false),
        ),
        CampaignOrder::ResponseDue => (
            select
                .filter(campaign::Column::AnsweredAt.is_null())
                .filter(campaign::Column::ResponseDueAt.is_not_null()),
            (campaign::Column::ResponseDueAt, false),
        ),
    };
    let order = connection::KeyOrder {
        column: key.0,
        descending: key.1,
    };
    connection::paginate_by(
        ctx,
        select,
        campaign::Column::Id,
        order,
        first,
        after,
        Campaign,
    )
    .await
}

#[derive(InputObject, Default)]
#[graphql(name = "CampaignFilter")]
pub struct CampaignFilterInput {
    pub kind: Option<CampaignKind>,
    /// DRAFT lists only the signed-in member's own drafts (every draft for an admin).
    pub status: Option<CampaignStatus>,
    pub producer_id: Option<ID>,
    pub community_id: Option<ID>,
    pub organiser_id: Option<ID>,
    /// Slug of a value tag the campaign carries.
    pub value_tag: Option<String>,
    /// ISO 3166 code where the campaign applies; a country (`FR`) also
    /// finds its subdivisions (`FR-ARA`).
    pub territory: Option<String>,
    /// Where the campaign stands with its producer's answer: any of these
    /// (`responseState: OVERDUE`, or `[REQUESTED, OVERDUE]` for every open
    /// request).
    pub response_state: Option<Vec<ResponseState>>,
}

impl CampaignFilterInput {
    pub fn into_service(self) -> Result<service::campaigns::campaign::CampaignFilter> {
        let id = |field: &str, value: Option<ID>| {
            value.map(|value| validate::id(field, &value)).transpose()
        };
        Ok(service::campaigns::campaign::CampaignFilter {
            kind: self.kind.map(Into::into),
            status: self.status.map(Into::into),
            producer_id: id("filter.producerId", self.producer_id)?,
            community_id: id("filter.communityId", self.community_id)?,
            organiser_id: id("filter.organiserId", self.organiser_id)?,
            value_tag: self.value_tag,
            territory: self
                .territory
                .map(|territory| validate::territory("filter.territory", &territory))
                .transpose()?,
            response_states: self
                .response_state
                .unwrap_or_default()
                .into_iter()
                .map(Into::into)
                .collect(),
        })
    }
}

/// Signers of one place.
#[derive(SimpleObject)]
pub struct TerritoryCount {
    /// An ISO 3166 code (`FR`, `FR-ARA`), or `OTHER`.
    pub territory: String,
    pub count: i64,
}

#[derive(Default)]
pub struct CampaignQuery;

#[Object]
impl CampaignQuery {
    /// A campaign; null when it does not exist or is not visible to the caller.
    async fn campaign(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Campaign>> {
        let id = validate::id("id", &id)?;
        let viewer = viewer(ctx).await?;
        Ok(
            service::campaigns::campaign::get_cached(state(ctx), viewer, id)
                .await?
                .map(|found| Campaign(std::sync::Arc::unwrap_or_clone(found))),
        )
    }

    /// Published campaigns (and the caller's own drafts), newest first
    /// unless `orderBy` says otherwise.
    #[graphql(complexity = "complexity(first, child_complexity)")]
    async fn campaigns(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        filter: Option<CampaignFilterInput>,
        #[graphql(default)] order_by: CampaignOrder,
    ) -> Result<Page<Campaign>> {
        let filter = filter.unwrap_or_default().into_service()?;
        ordered_campaign_page(ctx, filter, order_by, first, after).await
    }
}
