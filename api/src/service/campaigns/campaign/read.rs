//! Reading campaigns: which a viewer may see, one by id (through the
//! cache for public ones), lists and their filters, a campaign's values.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use entities::campaign::{self, CampaignKind, CampaignStatus};
use entities::member::Role;
use entities::{campaign_value_tag, value_tag};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, Select};
use std::collections::HashMap;
use uuid::Uuid;

use crate::error::Result;
use crate::service::signing::response_request::ResponseState;
use crate::service::validate;
use crate::service::viewer::Viewer;
use crate::service::{campaigns::community, campaigns::value_tag as tags};
use crate::state::AppState;

/// Ids of the campaigns everyone may see (published, not hidden), as a
/// subquery.
pub fn public_ids() -> sea_orm::sea_query::SelectStatement {
    sea_orm::sea_query::Query::select()
        .column(campaign::Column::Id)
        .from(campaign::Entity)
        .and_where(campaign::Column::HiddenAt.is_null())
        .and_where(campaign::Column::Status.is_not_in(NOT_PUBLIC))
        .to_owned()
}

/// Statuses of campaigns not public yet.
const NOT_PUBLIC: [CampaignStatus; 3] = [
    CampaignStatus::Draft,
    CampaignStatus::Sponsoring,
    CampaignStatus::InReview,
];

/// Whether `viewer` may see `campaign`: drafts and campaigns gathering
/// sponsors only to their organiser and admins, campaigns in review also to
/// moderators, hidden campaigns only to moderators and admins.
pub fn visible_to(campaign: &campaign::Model, viewer: Option<Viewer>) -> bool {
    let privileged = |roles: &[Role]| viewer.is_some_and(|v| roles.contains(&v.role));
    if campaign.hidden_at.is_some() && !privileged(&[Role::Moderator, Role::Admin]) {
        return false;
    }
    !NOT_PUBLIC.contains(&campaign.status)
        || privileged(&[Role::Admin])
        || (campaign.status == CampaignStatus::InReview && privileged(&[Role::Moderator]))
        || viewer.is_some_and(|v| campaign.organiser_id == Some(v.id))
}

/// The campaign with this id if `viewer` may see it.
pub async fn get(
    db: &impl ConnectionTrait,
    viewer: Option<Viewer>,
    id: Uuid,
) -> Result<Option<campaign::Model>> {
    Ok(campaign::Entity::find_by_id(id)
        .one(db)
        .await?
        .filter(|found| visible_to(found, viewer)))
}

/// [`get`] through this instance's cache (see `cache`): what the signing
/// path and public reads use; write paths read the row itself. Shared, not
/// copied: a campaign's body may be long.
pub async fn get_cached(
    state: &AppState,
    viewer: Option<Viewer>,
    id: Uuid,
) -> Result<Option<Arc<campaign::Model>>> {
    let found = match state.caches.campaign(id) {
        Some(found) => found,
        None => {
            let read = state.caches.generation();
            let Some(found) = campaign::Entity::find_by_id(id).one(&state.db).await? else {
                return Ok(None);
            };
            let found = Arc::new(found);
            state.caches.put_campaign(read, found.clone());
            found
        }
    };
    Ok(Some(found).filter(|found| visible_to(found, viewer)))
}

/// How a campaign list may be narrowed.
#[derive(Default)]
pub struct CampaignFilter {
    pub kind: Option<CampaignKind>,
    pub status: Option<CampaignStatus>,
    pub producer_id: Option<Uuid>,
    pub community_id: Option<Uuid>,
    pub organiser_id: Option<Uuid>,
    /// Slug of a value tag the campaign must carry.
    pub value_tag: Option<String>,
    /// A validated ISO 3166 code; a country also matches its subdivisions.
    pub territory: Option<String>,
    /// Where campaigns stand with their producer's answer (any of these;
    /// empty: all).
    pub response_states: Vec<ResponseState>,
}

/// The campaigns `viewer` may see that match `filter`: public ones, plus
/// the viewer's own not yet public (every one for an admin); never hidden
/// ones.
pub fn list(viewer: Option<Viewer>, filter: CampaignFilter) -> Select<campaign::Entity> {
    let mut query = campaign::Entity::find().filter(campaign::Column::HiddenAt.is_null());
    let drafts = match viewer {
        Some(viewer) if viewer.is_admin() => Condition::all(),
        Some(viewer) => Condition::all().add(campaign::Column::OrganiserId.eq(viewer.id)),
        None => Condition::all().add(Expr::value(false)),
    };
    query = query.filter(
        Condition::any()
            .add(campaign::Column::Status.is_not_in(NOT_PUBLIC))
            .add(drafts),
    );
    if let Some(kind) = filter.kind {
        query = query.filter(campaign::Column::Kind.eq(kind));
    }
    if let Some(status) = filter.status {
        query = query.filter(campaign::Column::Status.eq(status));
    }
    if let Some(producer_id) = filter.producer_id {
        query = query.filter(campaign::Column::ProducerId.eq(producer_id));
    }
    if let Some(community_id) = filter.community_id {
        query = query.filter(campaign::Column::CommunityId.eq(community_id));
    }
    if let Some(organiser_id) = filter.organiser_id {
        query = query.filter(campaign::Column::OrganiserId.eq(organiser_id));
    }
    if let Some(territory) = filter.territory.as_deref() {
        query = query.filter(community::territory_condition(
            campaign::Column::Territory,
            territory,
        ));
    }
    if !filter.response_states.is_empty() {
        let now = validate::now();
        let mut any = Condition::any();
        for wanted in &filter.response_states {
            any = any.add(response_condition(*wanted, now));
        }
        query = query.filter(any);
    }
    if let Some(slug) = filter.value_tag.as_deref() {
        let tagged = tags::owners_tagged(
            campaign_value_tag::Entity,
            campaign_value_tag::Column::CampaignId,
            campaign_value_tag::Column::ValueTagId,
            slug,
        );
        query = query.filter(campaign::Column::Id.in_subquery(tagged));
    }
    query
}

/// The campaigns in `state`, from their standing columns (`response_due_at`,
/// `answered_at`); the same rule as `response_request::state_of`.
fn response_condition(state: ResponseState, now: DateTime<Utc>) -> Condition {
    use campaign::Column::{AnsweredAt, ResponseDueAt};
    match state {
        ResponseState::NotRequested => Condition::all()
            .add(AnsweredAt.is_null())
            .add(ResponseDueAt.is_null()),
        ResponseState::Requested => Condition::all()
            .add(AnsweredAt.is_null())
            .add(ResponseDueAt.gte(now)),
        ResponseState::Overdue => Condition::all()
            .add(AnsweredAt.is_null())
            .add(ResponseDueAt.lt(now)),
        ResponseState::Answered => Condition::all().add(AnsweredAt.is_not_null()).add(
            Condition::any()
                .add(ResponseDueAt.is_null())
                .add(Expr::col(AnsweredAt).lte(Expr::col(ResponseDueAt))),
        ),
        ResponseState::AnsweredLate => Condition::all()
            .add(AnsweredAt.is_not_null())
            .add(Expr::col(AnsweredAt).gt(Expr::col(ResponseDueAt))),
    }
}

/// The value tags of each campaign in `ids`.
pub async fn tags_of(
    db: &impl ConnectionTrait,
    ids: &[Uuid],
) -> Result<HashMap<Uuid, Vec<value_tag::Model>>> {
    let rows = campaign_value_tag::Entity::find()
        .filter(campaign_value_tag::Column::CampaignId.is_in(ids.iter().copied()))
        .all(db)
        .await?;
    tags::grouped(
        db,
        rows.into_iter()
            .map(|row| (row.campaign_id, row.value_tag_id)),
    )
    .await
}
