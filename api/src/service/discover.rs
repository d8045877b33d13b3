//! Explained recommendations: campaigns and communities a viewer has not
//! signed or joined yet, ranked by what they share with the viewer, each
//! with the reasons it was ranked where it is.
//!
//! Candidates come from a few index-backed lists (sharing a value, in the
//! territory, in the viewer's communities, trending, closing soon, newest;
//! each cut at `CONSUMACT_DISCOVER_CANDIDATES`), fetched concurrently; only
//! they are scored, so the cost of an answer does not grow with the number
//! of campaigns. The score of each candidate is
//!
//! ```text
//! value     × min(3, Σ shared values: 1 if declared, ½ if inferred from activity)
//! territory × (1 same place | ½ same country | 0)
//! community × (1 if in one of the viewer's communities)          campaigns
//! momentum  × min(1, log10(1 + momentum) / 3)                   (1 000/day → 1)
//! closing   × max(0, 1 − days left / closing days)              campaigns
//! freshness × exp(−age in days / fresh days)
//! ```
//!
//! with the weights set by `CONSUMACT_DISCOVER_*`.

use std::collections::{BTreeSet, HashMap, HashSet};

use chrono::{DateTime, Utc};
use entities::campaign::{self, CampaignStatus};
use entities::{
    campaign_value_tag, community, community_member, community_value_tag, member, member_value_tag,
    signature, value_tag,
};
use futures_util::future::try_join_all;
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};
use uuid::Uuid;

use crate::config::Config;
use crate::error::Result;
use crate::service::auth::Viewer;
use crate::service::community::territory_condition;
use crate::service::{kept, validate};

/// What to recommend.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    Campaigns,
    Communities,
}

/// Why something was recommended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ReasonKind {
    /// `detail`: the value's slug.
    SharedValue,
    /// `detail`: the item's territory.
    SameTerritory,
    /// `detail`: the community's slug.
    InYourCommunity,
    /// `detail`: about how many actions in the last day.
    Trending,
    /// `detail`: the deadline.
    ClosingSoon,
    /// `detail`: when it was published or created.
    New,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Reason {
    pub kind: ReasonKind,
    pub detail: Option<String>,
}

/// One ranked item: a campaign or a community.
#[derive(Clone, Debug)]
pub struct Recommendation {
    pub score: f64,
    pub reasons: Vec<Reason>,
    pub campaign: Option<campaign::Model>,
    pub community: Option<community::Model>,
}

/// The weights of the formula, from the configuration.
#[derive(Clone, Copy, Debug)]
pub struct Weights {
    pub value: f64,
    pub territory: f64,
    pub community: f64,
    pub momentum: f64,
    pub closing: f64,
    pub freshness: f64,
    pub closing_days: f64,
    pub fresh_days: f64,
    /// Momentum from which `TRENDING` is given as a reason.
    pub trending_min: f64,
    /// Candidates taken from each list.
    pub candidates: u64,
}

impl Weights {
    pub fn of(config: &Config) -> Self {
        Self {
            value: config.discover_value_weight,
            territory: config.discover_territory_weight,
            community: config.discover_community_weight,
            momentum: config.discover_momentum_weight,
            closing: config.discover_closing_weight,
            freshness: config.discover_freshness_weight,
            closing_days: config.discover_closing_days as f64,
            fresh_days: config.discover_fresh_days as f64,
            trending_min: config.discover_trending_min,
            candidates: config.discover_candidates,
        }
    }
}

/// What is known of the viewer.
#[derive(Default)]
struct Profile {
    member: Option<Uuid>,
    territory: Option<String>,
    /// Declared values (weight 1), then inferred ones (weight ½).
    declared: HashSet<Uuid>,
    inferred: HashSet<Uuid>,
    communities: HashSet<Uuid>,
}

impl Profile {
    fn all_values(&self) -> Vec<Uuid> {
        self.declared.union(&self.inferred).copied().collect()
    }
}

/// Signatures looked at to infer values from what a member signed.
const SIGNALS_FROM_SIGNATURES: u64 = 100;

async fn profile(
    db: &impl ConnectionTrait,
    viewer: Option<Viewer>,
    territory: Option<String>,
) -> Result<Profile> {
    let Some(viewer) = viewer else {
        return Ok(Profile {
            territory,
            ..Profile::default()
        });
    };
    let me = member::Entity::find_by_id(viewer.id).one(db).await?;
    let use_signals = me.as_ref().is_some_and(|me| me.use_activity_signals);
    let declared: HashSet<Uuid> = member_value_tag::Entity::find()
        .select_only()
        .column(member_value_tag::Column::ValueTagId)
        .filter(member_value_tag::Column::MemberId.eq(viewer.id))
        .into_tuple::<Uuid>()
        .all(db)
        .await?
        .into_iter()
        .collect();
    let communities: HashSet<Uuid> = community_member::Entity::find()
        .select_only()
        .column(community_member::Column::CommunityId)
        .filter(community_member::Column::MemberId.eq(viewer.id))
        .into_tuple::<Uuid>()
        .all(db)
        .await?
        .into_iter()
        .collect();
    let mut inferred = HashSet::new();
    if use_signals {
        let from_communities: Vec<Uuid> = community_value_tag::Entity::find()
            .select_only()
            .column(community_value_tag::Column::ValueTagId)
            .filter(community_value_tag::Column::CommunityId.is_in(communities.iter().copied()))
            .into_tuple()
            .all(db)
            .await?;
        let signed: Vec<Uuid> = signature::Entity::find()
            .select_only()
            .column(signature::Column::CampaignId)
            .filter(signature::Column::MemberId.eq(viewer.id))
            .order_by_desc(signature::Column::Id)
            .limit(SIGNALS_FROM_SIGNATURES)
            .into_tuple()
            .all(db)
            .await?;
        let from_signatures: Vec<Uuid> = campaign_value_tag::Entity::find()
            .select_only()
            .column(campaign_value_tag::Column::ValueTagId)
            .filter(campaign_value_tag::Column::CampaignId.is_in(signed))
            .into_tuple()
            .all(db)
            .await?;
        inferred = from_communities
            .into_iter()
            .chain(from_signatures)
            .filter(|tag| !declared.contains(tag))
            .collect();
    }
    Ok(Profile {
        member: Some(viewer.id),
        territory: territory.or_else(|| me.and_then(|me| me.territory)),
        declared,
        inferred,
        communities,
    })
}

/// Recommendations `offset..offset + limit` for `viewer` (or an anonymous
/// visitor near `territory`), best first.
pub async fn discover(
    db: &impl ConnectionTrait,
    weights: Weights,
    viewer: Option<Viewer>,
    target: Target,
    territory: Option<&str>,
    offset: usize,
    limit: usize,
) -> Result<Vec<Recommendation>> {
    let territory = validate::optional_territory("territory", territory)?;
    let profile = profile(db, viewer, territory).await?;
    let now = validate::now();
    let mut ranked = match target {
        Target::Campaigns => campaigns_for(db, &weights, &profile, now).await?,
        Target::Communities => communities_for(db, &weights, &profile, now).await?,
    };
    ranked.sort_by(|a, b| {
        b.score.total_cmp(&a.score).then_with(|| {
            let id = |r: &Recommendation| {
                r.campaign
                    .as_ref()
                    .map(|c| c.id)
                    .or(r.community.as_ref().map(|c| c.id))
            };
            id(b).cmp(&id(a))
        })
    });
    Ok(ranked.into_iter().skip(offset).take(limit).collect())
}

/// Slugs of these value tags.
async fn slugs(db: &impl ConnectionTrait, ids: &HashSet<Uuid>) -> Result<HashMap<Uuid, String>> {
    Ok(value_tag::Entity::find()
        .filter(value_tag::Column::Id.is_in(ids.iter().copied()))
        .all(db)
        .await?
        .into_iter()
        .map(|tag| (tag.id, tag.slug))
        .collect())
}

/// Same place 1, same country ½, else 0.
fn territory_match(viewer: Option<&str>, item: Option<&str>) -> f64 {
    let (Some(viewer), Some(item)) = (viewer, item) else {
        return 0.0;
    };
    let country = |code: &str| code.split('-').next().unwrap_or_default().to_owned();
    if viewer == item {
        1.0
    } else if country(viewer) == country(item) {
        0.5
    } else {
        0.0
    }
}

/// The parts of the score every kind shares, with their reasons.
struct Scoring<'a> {
    weights: &'a Weights,
    profile: &'a Profile,
    slugs: &'a HashMap<Uuid, String>,
    now: DateTime<Utc>,
}

impl Scoring<'_> {
    fn values(&self, tags: &[Uuid], reasons: &mut Vec<Reason>) -> f64 {
        let mut shared = 0.0;
        let mut named = BTreeSet::new();
        for tag in tags {
            let weight = if self.profile.declared.contains(tag) {
                1.0
            } else if self.profile.inferred.contains(tag) {
                0.5
            } else {
                continue;
            };
            shared += weight;
            if let Some(slug) = self.slugs.get(tag) {
                named.insert((weight < 1.0, slug.clone()));
            }
        }
        for (_, slug) in named {
            reasons.push(Reason {
                kind: ReasonKind::SharedValue,
                detail: Some(slug),
            });
        }
        self.weights.value * f64::min(3.0, shared)
    }

    fn territory(&self, item: Option<&str>, reasons: &mut Vec<Reason>) -> f64 {
        let matched = territory_match(self.profile.territory.as_deref(), item);
        if matched > 0.0 {
            reasons.push(Reason {
                kind: ReasonKind::SameTerritory,
                detail: item.map(str::to_owned),
            });
        }
        self.weights.territory * matched
    }

    fn momentum(&self, stored: f64, unit: &str, reasons: &mut Vec<Reason>) -> f64 {
        let momentum = kept::momentum_now(stored, self.now);
        if momentum >= self.weights.trending_min {
            reasons.push(Reason {
                kind: ReasonKind::Trending,
                detail: Some(format!("about {} {unit} in the last day", momentum.round())),
            });
        }
        self.weights.momentum * f64::min(1.0, (1.0 + momentum).log10() / 3.0)
    }

    fn freshness(&self, since: DateTime<Utc>, reasons: &mut Vec<Reason>) -> f64 {
        let days = (self.now - since).num_seconds().max(0) as f64 / 86_400.0;
        if days < self.weights.fresh_days {
            reasons.push(Reason {
                kind: ReasonKind::New,
                detail: Some(since.to_rfc3339()),
            });
        }
        self.weights.freshness * (-days / self.weights.fresh_days.max(0.001)).exp()
    }

    fn closing(&self, deadline: Option<DateTime<Utc>>, reasons: &mut Vec<Reason>) -> f64 {
        let Some(deadline) = deadline else {
            return 0.0;
        };
        let days = (deadline - self.now).num_seconds() as f64 / 86_400.0;
        if days < 0.0 || days >= self.weights.closing_days {
            return 0.0;
        }
        reasons.push(Reason {
            kind: ReasonKind::ClosingSoon,
            detail: Some(deadline.to_rfc3339()),
        });
        self.weights.closing * (1.0 - days / self.weights.closing_days.max(0.001))
    }
}

/// Open campaigns everyone may see, not past their deadline.
fn open_campaigns(now: DateTime<Utc>) -> sea_orm::Select<campaign::Entity> {
    campaign::Entity::find()
        .filter(campaign::Column::HiddenAt.is_null())
        .filter(campaign::Column::Status.eq(CampaignStatus::Open))
        .filter(
            Condition::any()
                .add(campaign::Column::Deadline.is_null())
                .add(campaign::Column::Deadline.gt(now)),
        )
}

async fn campaigns_for(
    db: &impl ConnectionTrait,
    weights: &Weights,
    profile: &Profile,
    now: DateTime<Utc>,
) -> Result<Vec<Recommendation>> {
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
        let country = territory.split('-').next().unwrap_or_default();
        lists.push(trending().filter(territory_condition(campaign::Column::Territory, country)));
    }
    if !profile.communities.is_empty() {
        lists.push(
            trending()
                .filter(campaign::Column::CommunityId.is_in(profile.communities.iter().copied())),
        );
    }
    let found = try_join_all(lists.into_iter().map(|list| list.all(db))).await?;
    let mut candidates: HashMap<Uuid, campaign::Model> = found
        .into_iter()
        .flatten()
        .map(|model| (model.id, model))
        .collect();
    if let Some(member) = profile.member {
        let signed: Vec<Uuid> = signature::Entity::find()
            .select_only()
            .column(signature::Column::CampaignId)
            .filter(signature::Column::MemberId.eq(member))
            .filter(signature::Column::CampaignId.is_in(candidates.keys().copied()))
            .into_tuple()
            .all(db)
            .await?;
        for id in signed {
            candidates.remove(&id);
        }
    }
    let mut tags: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
    for row in campaign_value_tag::Entity::find()
        .filter(campaign_value_tag::Column::CampaignId.is_in(candidates.keys().copied()))
        .all(db)
        .await?
    {
        tags.entry(row.campaign_id)
            .or_default()
            .push(row.value_tag_id);
    }
    let wanted: HashSet<Uuid> = tags
        .values()
        .flatten()
        .filter(|tag| profile.declared.contains(tag) || profile.inferred.contains(tag))
        .copied()
        .collect();
    let community_ids: HashSet<Uuid> = candidates
        .values()
        .filter_map(|c| c.community_id)
        .filter(|id| profile.communities.contains(id))
        .collect();
    let community_slugs: HashMap<Uuid, String> = community::Entity::find()
        .filter(community::Column::Id.is_in(community_ids))
        .all(db)
        .await?
        .into_iter()
        .map(|c| (c.id, c.slug))
        .collect();
    let slugs = slugs(db, &wanted).await?;
    let scoring = Scoring {
        weights,
        profile,
        slugs: &slugs,
        now,
    };
    Ok(candidates
        .into_values()
        .map(|model| {
            let mut reasons = Vec::new();
            let mut score = scoring.values(
                tags.get(&model.id).map(Vec::as_slice).unwrap_or_default(),
                &mut reasons,
            );
            score += scoring.territory(model.territory.as_deref(), &mut reasons);
            if let Some(slug) = model.community_id.and_then(|id| community_slugs.get(&id)) {
                score += weights.community;
                reasons.push(Reason {
                    kind: ReasonKind::InYourCommunity,
                    detail: Some(slug.clone()),
                });
            }
            score += scoring.momentum(model.momentum, "signatures", &mut reasons);
            score += scoring.closing(model.deadline, &mut reasons);
            score +=
                scoring.freshness(model.published_at.unwrap_or(model.created_at), &mut reasons);
            Recommendation {
                score,
                reasons,
                campaign: Some(model),
                community: None,
            }
        })
        .collect())
}

async fn communities_for(
    db: &impl ConnectionTrait,
    weights: &Weights,
    profile: &Profile,
    now: DateTime<Utc>,
) -> Result<Vec<Recommendation>> {
    let n = weights.candidates;
    let active = || {
        community::Entity::find()
            .order_by_desc(community::Column::Momentum)
            .order_by_desc(community::Column::Id)
            .limit(n)
    };
    let mut lists = vec![
        active(),
        community::Entity::find()
            .order_by_desc(community::Column::MemberCount)
            .order_by_desc(community::Column::Id)
            .limit(n / 2),
        community::Entity::find()
            .order_by_desc(community::Column::Id)
            .limit(n / 2),
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
        let country = territory.split('-').next().unwrap_or_default();
        lists.push(active().filter(territory_condition(community::Column::Territory, country)));
    }
    let found = try_join_all(lists.into_iter().map(|list| list.all(db))).await?;
    let candidates: HashMap<Uuid, community::Model> = found
        .into_iter()
        .flatten()
        .filter(|model| !profile.communities.contains(&model.id))
        .map(|model| (model.id, model))
        .collect();
    let mut tags: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
    for row in community_value_tag::Entity::find()
        .filter(community_value_tag::Column::CommunityId.is_in(candidates.keys().copied()))
        .all(db)
        .await?
    {
        tags.entry(row.community_id)
            .or_default()
            .push(row.value_tag_id);
    }
    let wanted: HashSet<Uuid> = tags
        .values()
        .flatten()
        .filter(|tag| profile.declared.contains(tag) || profile.inferred.contains(tag))
        .copied()
        .collect();
    let slugs = slugs(db, &wanted).await?;
    let scoring = Scoring {
        weights,
        profile,
        slugs: &slugs,
        now,
    };
    Ok(candidates
        .into_values()
        .map(|model| {
            let mut reasons = Vec::new();
            let mut score = scoring.values(
                tags.get(&model.id).map(Vec::as_slice).unwrap_or_default(),
                &mut reasons,
            );
            score += scoring.territory(model.territory.as_deref(), &mut reasons);
            score += scoring.momentum(model.momentum, "joins and signatures", &mut reasons);
            score += scoring.freshness(model.created_at, &mut reasons);
            Recommendation {
                score,
                reasons,
                campaign: None,
                community: Some(model),
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn territory_prefers_the_same_place_then_the_same_country() {
        assert_eq!(territory_match(Some("FR-ARA"), Some("FR-ARA")), 1.0);
        assert_eq!(territory_match(Some("FR-ARA"), Some("FR-IDF")), 0.5);
        assert_eq!(territory_match(Some("FR-ARA"), Some("FR")), 0.5);
        assert_eq!(territory_match(Some("FR"), Some("FR")), 1.0);
        assert_eq!(territory_match(Some("FR"), Some("BE")), 0.0);
        assert_eq!(territory_match(None, Some("FR")), 0.0);
        assert_eq!(territory_match(Some("FR"), None), 0.0);
    }
}
