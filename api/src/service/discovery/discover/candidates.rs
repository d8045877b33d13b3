//! The candidates discovery scores: a few index-backed lists per target
//! (sharing a value, in the territory, in the viewer's communities,
//! trending, closing soon, newest), each cut at
//! `CONSUMACT_DISCOVER_CANDIDATES` and fetched concurrently, then scored.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use entities::campaign::{self, CampaignStatus};
use entities::{campaign_value_tag, community, community_value_tag, signature};
use futures_util::future::try_join_all;
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, FromQueryResult, QueryFilter, QueryOrder,
    QuerySelect,
};
use uuid::Uuid;

use super::{Profile, Reason, ReasonKind, Scored, Scoring, Weights};
use crate::error::Result;
use crate::service::campaigns::community::territory_condition;
use crate::service::validate;

/// What scoring a campaign needs (not its texts).
#[derive(FromQueryResult)]
pub(super) struct CampaignCandidate {
    id: Uuid,
    territory: Option<String>,
    community_id: Option<Uuid>,
    deadline: Option<DateTime<Utc>>,
    momentum: f64,
    published_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
}

/// What scoring a community needs.
#[derive(FromQueryResult)]
pub(super) struct CommunityCandidate {
    id: Uuid,
    territory: Option<String>,
    momentum: f64,
    created_at: DateTime<Utc>,
}

/// Open campaigns everyone may see, not past their deadline, narrowed to
/// what scoring reads.
pub(super) fn open_campaigns(now: DateTime<Utc>) -> sea_orm::Select<campaign::Entity> {
    campaign::Entity::find()
        .select_only()
        .columns([
            campaign::Column::Id,
            campaign::Column::Territory,
            campaign::Column::CommunityId,
            campaign::Column::Deadline,
            campaign::Column::Momentum,
            campaign::Column::PublishedAt,
            campaign::Column::CreatedAt,
        ])
        .filter(campaign::Column::HiddenAt.is_null())
        .filter(campaign::Column::Status.eq(CampaignStatus::Open))
        .filter(
            Condition::any()
                .add(campaign::Column::Deadline.is_null())
                .add(campaign::Column::Deadline.gt(now)),
        )
}

/// Value tags of each of `ids`, from a link table.
pub(super) async fn tags_by_owner(
    db: &impl ConnectionTrait,
    select: sea_orm::Selector<sea_orm::SelectGetableTuple<(Uuid, Uuid)>>,
) -> Result<HashMap<Uuid, Vec<Uuid>>> {
    let mut tags: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
    for (owner, tag) in select.all(db).await? {
        tags.entry(owner).or_default().push(tag);
    }
    Ok(tags)
}

pub(super) async fn campaigns_for(
    db: &impl ConnectionTrait,
    weights: &Weights,
    profile: &Profile,
    now: DateTime<Utc>,
) -> Result<Vec<Scored>> {
    let n = weights.candidates;
    let trending = || {
        open_campaigns(now)
            .order_by_desc(campaign::Column::Momentum)
            .order_by_desc(campaign::Column::Id)
            .limit(n)
    };
    let mut lists = vec![
        trending(),
        open_campaigns(now)
            .filter(campaign::Column::Deadline.gt(now))
            .order_by_asc(campaign::Column::Deadline)
            .limit(n / 2),
        open_campaigns(now)
            .order_by_desc(campaign::Column::Id)
            .limit(n / 2),
    ];
    let values = profile.all_values();
    if !values.is_empty() {
        let tagged = sea_orm::sea_query::Query::select()
            .column(campaign_value_tag::Column::CampaignId)
            .from(campaign_value_tag::Entity)
            .and_where(campaign_value_tag::Column::ValueTagId.is_in(values))
            .to_owned();
        lists.push(trending().filter(campaign::Column::Id.in_subquery(tagged)));
    }
    if let Some(territory) = &profile.territory {
        let country = validate::country_of(territory);
        lists.push(trending().filter(territory_condition(campaign::Column::Territory, country)));
    }
    if !profile.communities.is_empty() {
        lists.push(
            trending()
                .filter(campaign::Column::CommunityId.is_in(profile.communities.keys().copied())),
        );
    }
    let found = try_join_all(
        lists
            .into_iter()
            .map(|list| list.into_model::<CampaignCandidate>().all(db)),
    )
    .await?;
    let mut candidates: HashMap<Uuid, CampaignCandidate> = found
        .into_iter()
        .flatten()
        .map(|candidate| (candidate.id, candidate))
        .collect();
    let ids: Vec<Uuid> = candidates.keys().copied().collect();
    let signed = async {
        match profile.member {
            Some(member) => {
                signature::Entity::find()
                    .select_only()
                    .column(signature::Column::CampaignId)
                    .filter(signature::Column::MemberId.eq(member))
                    .filter(signature::Column::CampaignId.is_in(ids.iter().copied()))
                    .into_tuple::<Uuid>()
                    .all(db)
                    .await
            }
            None => Ok(Vec::new()),
        }
    };
    let tags = tags_by_owner(
        db,
        campaign_value_tag::Entity::find()
            .select_only()
            .column(campaign_value_tag::Column::CampaignId)
            .column(campaign_value_tag::Column::ValueTagId)
            .filter(campaign_value_tag::Column::CampaignId.is_in(ids.iter().copied()))
            .into_tuple(),
    );
    let (signed, tags) = tokio::try_join!(async { Ok(signed.await?) }, tags)?;
    for id in signed {
        candidates.remove(&id);
    }
    let scoring = Scoring {
        weights,
        profile,
        now,
    };
    Ok(candidates
        .into_values()
        .map(|candidate| {
            let mut reasons = Vec::new();
            let mut score = scoring.shared(
                tags.get(&candidate.id),
                candidate.territory.as_deref(),
                (candidate.momentum, "signatures"),
                candidate.published_at.unwrap_or(candidate.created_at),
                &mut reasons,
            );
            if let Some(slug) = candidate
                .community_id
                .and_then(|id| profile.communities.get(&id))
            {
                score += weights.community;
                reasons.push(Reason {
                    kind: ReasonKind::InYourCommunity,
                    detail: Some(slug.clone()),
                });
            }
            score += scoring.closing(candidate.deadline, &mut reasons);
            Scored {
                id: candidate.id,
                score,
                reasons,
            }
        })
        .collect())
}

pub(super) async fn communities_for(
    db: &impl ConnectionTrait,
    weights: &Weights,
    profile: &Profile,
    now: DateTime<Utc>,
) -> Result<Vec<Scored>> {
    let n = weights.candidates;
    let narrow = || {
        community::Entity::find().select_only().columns([
            community::Column::Id,
            community::Column::Territory,
            community::Column::Momentum,
            community::Column::CreatedAt,
        ])
    };
    let active = || {
        narrow()
            .order_by_desc(community::Column::Momentum)
            .order_by_desc(community::Column::Id)
            .limit(n)
    };
    let mut lists = vec![
        active(),
        narrow()
            .order_by_desc(community::Column::MemberCount)
            .order_by_desc(community::Column::Id)
            .limit(n / 2),
        narrow().order_by_desc(community::Column::Id).limit(n / 2),
    ];
    let values = profile.all_values();
    if !values.is_empty() {
        let tagged = sea_orm::sea_query::Query::select()
            .column(community_value_tag::Column::CommunityId)
            .from(community_value_tag::Entity)
            .and_where(community_value_tag::Column::ValueTagId.is_in(values))
            .to_owned();
        lists.push(active().filter(community::Column::Id.in_subquery(tagged)));
    }
    if let Some(territory) = &profile.territory {
        let country = validate::country_of(territory);
        lists.push(active().filter(territory_condition(community::Column::Territory, country)));
    }
    let found = try_join_all(
        lists
            .into_iter()
            .map(|list| list.into_model::<CommunityCandidate>().all(db)),
    )
    .await?;
    let candidates: HashMap<Uuid, CommunityCandidate> = found
        .into_iter()
        .flatten()
        .filter(|candidate| !profile.communities.contains_key(&candidate.id))
        .map(|candidate| (candidate.id, candidate))
        .collect();
    let tags = tags_by_owner(
        db,
        community_value_tag::Entity::find()
            .select_only()
            .column(community_value_tag::Column::CommunityId)
            .column(community_value_tag::Column::ValueTagId)
            .filter(community_value_tag::Column::CommunityId.is_in(candidates.keys().copied()))
            .into_tuple(),
    )
    .await?;
    let scoring = Scoring {
        weights,
        profile,
        now,
    };
    Ok(candidates
        .into_values()
        .map(|candidate| {
            let mut reasons = Vec::new();
            let score = scoring.shared(
                tags.get(&candidate.id),
                candidate.territory.as_deref(),
                (candidate.momentum, "joins and signatures"),
                candidate.created_at,
                &mut reasons,
            );
            Scored {
                id: candidate.id,
                score,
                reasons,
            }
        })
        .collect())
}

/// The rows of `E` with these ids, by id (`id_of` reads a row's id).
pub(super) async fn rows_by_id<E: EntityTrait>(
    db: &impl ConnectionTrait,
    column: E::Column,
    ids: impl IntoIterator<Item = Uuid>,
    id_of: impl Fn(&E::Model) -> Uuid,
) -> Result<HashMap<Uuid, E::Model>> {
    Ok(E::find()
        .filter(column.is_in(ids))
        .all(db)
        .await?
        .into_iter()
        .map(|model| (id_of(&model), model))
        .collect())
}
