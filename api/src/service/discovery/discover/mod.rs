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
use entities::campaign::{self};
use entities::{
    campaign_value_tag, community, community_member, community_value_tag, member, member_value_tag,
    signature, value_tag,
};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};
use uuid::Uuid;

mod candidates;

use candidates::{campaigns_for, communities_for, rows_by_id};

use crate::config::Config;
use crate::error::Result;
use crate::service::viewer::Viewer;
use crate::service::{signing::standing, validate};

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
    /// Values held (weight 1) and inferred from activity (weight ½).
    declared: HashSet<Uuid>,
    inferred: HashSet<Uuid>,
    /// The viewer's communities, with their slugs.
    communities: HashMap<Uuid, String>,
    /// Every value tag's slug (a small table).
    slugs: HashMap<Uuid, String>,
}

impl Profile {
    fn all_values(&self) -> Vec<Uuid> {
        self.declared.union(&self.inferred).copied().collect()
    }
}

/// Signatures looked at to infer values from what a member signed.
const SIGNALS_FROM_SIGNATURES: u64 = 100;

/// The viewer's profile, in one round of concurrent queries.
async fn profile(
    db: &impl ConnectionTrait,
    viewer: Option<Viewer>,
    territory: Option<String>,
) -> Result<Profile> {
    let slugs = async {
        Ok::<_, sea_orm::DbErr>(
            value_tag::Entity::find()
                .all(db)
                .await?
                .into_iter()
                .map(|tag| (tag.id, tag.slug))
                .collect::<HashMap<_, _>>(),
        )
    };
    let Some(viewer) = viewer else {
        return Ok(Profile {
            territory,
            slugs: slugs.await?,
            ..Profile::default()
        });
    };
    let joined = sea_orm::sea_query::Query::select()
        .column(community_member::Column::CommunityId)
        .from(community_member::Entity)
        .and_where(community_member::Column::MemberId.eq(viewer.id))
        .to_owned();
    let signed = sea_orm::sea_query::Query::select()
        .column(signature::Column::CampaignId)
        .from(signature::Entity)
        .and_where(signature::Column::MemberId.eq(viewer.id))
        .order_by(signature::Column::Id, sea_orm::Order::Desc)
        .limit(SIGNALS_FROM_SIGNATURES)
        .to_owned();
    let (me, declared, communities, from_communities, from_signatures, slugs) = tokio::try_join!(
        member::Entity::find_by_id(viewer.id).one(db),
        member_value_tag::Entity::find()
            .select_only()
            .column(member_value_tag::Column::ValueTagId)
            .filter(member_value_tag::Column::MemberId.eq(viewer.id))
            .into_tuple::<Uuid>()
            .all(db),
        community::Entity::find()
            .select_only()
            .column(community::Column::Id)
            .column(community::Column::Slug)
            .filter(community::Column::Id.in_subquery(joined.clone()))
            .into_tuple::<(Uuid, String)>()
            .all(db),
        community_value_tag::Entity::find()
            .select_only()
            .column(community_value_tag::Column::ValueTagId)
            .filter(community_value_tag::Column::CommunityId.in_subquery(joined))
            .into_tuple::<Uuid>()
            .all(db),
        campaign_value_tag::Entity::find()
            .select_only()
            .column(campaign_value_tag::Column::ValueTagId)
            .filter(campaign_value_tag::Column::CampaignId.in_subquery(signed))
            .into_tuple::<Uuid>()
            .all(db),
        slugs,
    )?;
    let use_signals = me.as_ref().is_some_and(|me| me.use_activity_signals);
    let declared: HashSet<Uuid> = declared.into_iter().collect();
    let inferred = if use_signals {
        from_communities
            .into_iter()
            .chain(from_signatures)
            .filter(|tag| !declared.contains(tag))
            .collect()
    } else {
        HashSet::new()
    };
    Ok(Profile {
        member: Some(viewer.id),
        territory: territory.or_else(|| me.and_then(|me| me.territory)),
        declared,
        inferred,
        communities: communities.into_iter().collect(),
        slugs,
    })
}

/// A scored candidate, before its row is loaded.
struct Scored {
    id: Uuid,
    score: f64,
    reasons: Vec<Reason>,
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
    // Best first; ties to the newest.
    ranked.sort_by(|a, b| b.score.total_cmp(&a.score).then_with(|| b.id.cmp(&a.id)));
    let page: Vec<Scored> = ranked.into_iter().skip(offset).take(limit).collect();
    let ids = page.iter().map(|scored| scored.id);
    Ok(match target {
        Target::Campaigns => {
            let mut rows =
                rows_by_id::<campaign::Entity>(db, campaign::Column::Id, ids, |m| m.id).await?;
            page.into_iter()
                .filter_map(|scored| {
                    Some(Recommendation {
                        campaign: Some(rows.remove(&scored.id)?),
                        community: None,
                        score: scored.score,
                        reasons: scored.reasons,
                    })
                })
                .collect()
        }
        Target::Communities => {
            let mut rows =
                rows_by_id::<community::Entity>(db, community::Column::Id, ids, |m| m.id).await?;
            page.into_iter()
                .filter_map(|scored| {
                    Some(Recommendation {
                        campaign: None,
                        community: Some(rows.remove(&scored.id)?),
                        score: scored.score,
                        reasons: scored.reasons,
                    })
                })
                .collect()
        }
    })
}

/// Same place 1, same country ½, else 0.
fn territory_match(viewer: Option<&str>, item: Option<&str>) -> f64 {
    let (Some(viewer), Some(item)) = (viewer, item) else {
        return 0.0;
    };
    if viewer == item {
        1.0
    } else if validate::country_of(viewer) == validate::country_of(item) {
        0.5
    } else {
        0.0
    }
}

/// The parts of the score every kind shares, with their reasons.
struct Scoring<'a> {
    weights: &'a Weights,
    profile: &'a Profile,
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
            if let Some(slug) = self.profile.slugs.get(tag) {
                // Held values first, then inferred ones, each by slug.
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
        let momentum = standing::momentum_now(stored, self.now);
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

    /// The parts campaigns and communities share: values, territory,
    /// momentum (of `unit`) and freshness (since `since`).
    fn shared(
        &self,
        tags: Option<&Vec<Uuid>>,
        territory: Option<&str>,
        momentum: (f64, &str),
        since: DateTime<Utc>,
        reasons: &mut Vec<Reason>,
    ) -> f64 {
        self.values(tags.map(Vec::as_slice).unwrap_or_default(), reasons)
            + self.territory(territory, reasons)
            + self.momentum(momentum.0, momentum.1, reasons)
            + self.freshness(since, reasons)
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
