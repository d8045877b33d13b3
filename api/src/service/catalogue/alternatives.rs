//! Better alternatives to a product in hand: products of its deepest
//! category that the viewer has no campaign, pledge or community boycott
//! against (a buycott is support, not a conflict), that confirm every value
//! the viewer holds (unknown is not a match), sold where the viewer is
//! (a product that says nowhere is not), ordered by their producers' trust
//! index when the viewer may read the observatory, each with its reasons.

use std::cmp::Ordering;
use std::collections::{HashMap, HashSet};

use entities::campaign::{self, CampaignKind, CampaignStatus};
use entities::pledge::{self, PledgeStatus};
use entities::product_value::ValueStatus;
use entities::signature::{self, SignatureStatus};
use entities::{brand, community_member, member, product, product_value};
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use super::conflicts::held;
use super::{gtin, ownership, product as catalogue};
use crate::error::{AppError, Result};
use crate::service::observatory::{FilterInput, Observatory, Part, Scope, authorize};
use crate::service::validate;
use crate::service::viewer::Viewer;
use crate::state::AppState;

/// Products of one category read to choose from.
const CANDIDATES: u64 = 200;

/// Why an alternative is offered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReasonKind {
    /// It confirms the viewer's values (the detail lists them).
    SharedValues,
    /// Its producer's trust index, from the observatory.
    Trust,
    /// It is sold where the viewer is.
    Territory,
}

#[derive(Clone, Debug)]
pub struct Reason {
    pub kind: ReasonKind,
    pub detail: String,
}

#[derive(Clone, Debug)]
pub struct Alternative {
    pub product: product::Model,
    pub trust_index: Option<f64>,
    pub reasons: Vec<Reason>,
}

/// The producers the viewer stands against: those aimed at by the public
/// campaigns (buycotts aside) they organise, signed or pledged on, and by
/// their communities' open boycotts.
async fn opposed(db: &impl ConnectionTrait, viewer: Viewer) -> Result<HashSet<Uuid>> {
    let signed: Vec<Uuid> = signature::Entity::find()
        .select_only()
        .column(signature::Column::CampaignId)
        .filter(signature::Column::MemberId.eq(viewer.id))
        .filter(
            signature::Column::Status.is_in([SignatureStatus::Counted, SignatureStatus::Pending]),
        )
        .into_tuple()
        .all(db)
        .await?;
    let pledged: Vec<Uuid> = pledge::Entity::find()
        .select_only()
        .column(pledge::Column::CampaignId)
        .filter(pledge::Column::MemberId.eq(viewer.id))
        .filter(pledge::Column::Status.is_in([PledgeStatus::Pending, PledgeStatus::Active]))
        .into_tuple()
        .all(db)
        .await?;
    let communities: Vec<Uuid> = community_member::Entity::find()
        .select_only()
        .column(community_member::Column::CommunityId)
        .filter(community_member::Column::MemberId.eq(viewer.id))
        .into_tuple()
        .all(db)
        .await?;
    let mine = sea_orm::Condition::any()
        .add(campaign::Column::OrganiserId.eq(viewer.id))
        .add(campaign::Column::Id.is_in(signed))
        .add(campaign::Column::Id.is_in(pledged))
        .add(
            sea_orm::Condition::all()
                .add(campaign::Column::CommunityId.is_in(communities))
                .add(campaign::Column::Kind.eq(CampaignKind::Boycott))
                .add(campaign::Column::Status.eq(CampaignStatus::Open)),
        );
    let producers: Vec<Uuid> = campaign::Entity::find()
        .select_only()
        .column(campaign::Column::ProducerId)
        .filter(campaign::Column::HiddenAt.is_null())
        .filter(campaign::Column::Status.is_in([
            CampaignStatus::Open,
            CampaignStatus::Victory,
            CampaignStatus::Closed,
        ]))
        .filter(campaign::Column::Kind.ne(CampaignKind::Buycott))
        .filter(mine)
        .into_tuple()
        .all(db)
        .await?;
    Ok(producers.into_iter().collect())
}

fn sold_in(found: &product::Model, territory: &str) -> bool {
    let places: Vec<String> = serde_json::from_str(&found.territories).unwrap_or_default();
    places.iter().any(|place| {
        place == territory
            || validate::country_of(place) == territory
            || validate::country_of(territory) == place.as_str()
    })
}

/// Up to `first` alternatives to the product with barcode `code`, for
/// `viewer` (or an anonymous reader holding `values`, in `territory`);
/// `None` when the catalogue does not have the product.
pub async fn alternatives(
    state: &AppState,
    viewer: Option<Viewer>,
    code: &str,
    first: usize,
    values: Vec<String>,
    territory: Option<String>,
) -> Result<Option<Vec<Alternative>>> {
    let code = gtin::normalise("code", code)?;
    if !(1..=50).contains(&first) {
        return Err(AppError::invalid("first", "first must be between 1 and 50"));
    }
    let db = &state.db;
    let mut territory = territory
        .map(|territory| validate::territory("territory", &territory))
        .transpose()?;
    if territory.is_none()
        && let Some(viewer) = viewer
    {
        territory = member::Entity::find_by_id(viewer.id)
            .one(db)
            .await?
            .and_then(|found| found.territory);
    }
    let Some(found) = catalogue::by_gtin(db, &code).await? else {
        return Ok(None);
    };
    let Some(deepest) = found.category.clone() else {
        return Ok(Some(Vec::new()));
    };
    let held = held(db, viewer, values).await?;
    // Candidates that confirm every value held and may be sold there, read
    // from the category's index in key order.
    let mut query = product::Entity::find()
        .filter(product::Column::Category.eq(deepest))
        .filter(product::Column::Id.ne(found.id));
    // One probe of the values' key per candidate and value, as the
    // category's index is walked (an aggregate over every product
    // confirming a common value would read hundreds of thousands of rows).
    for tag in &held {
        let confirms = Query::select()
            .expr(Expr::val(1))
            .from(product_value::Entity)
            .and_where(
                Expr::col((product_value::Entity, product_value::Column::ProductId))
                    .equals((product::Entity, product::Column::Id)),
            )
            .and_where(product_value::Column::ValueTagId.eq(tag.id))
            .and_where(product_value::Column::Status.eq(ValueStatus::Yes))
            .to_owned();
        query = query.filter(Expr::exists(confirms));
    }
    if let Some(place) = &territory {
        query = query.filter(
            product::Column::Territories.contains(format!("\"{}", validate::country_of(place))),
        );
    }
    let candidates = query
        .order_by_asc(product::Column::Id)
        .limit(CANDIDATES)
        .all(db)
        .await?;
    let against = match viewer {
        Some(viewer) => opposed(db, viewer).await?,
        None => HashSet::new(),
    };
    // The candidates' brand owners in one query; each producer's owners
    // and trust index read once.
    let owners: HashMap<Uuid, Option<Uuid>> = brand::Entity::find()
        .filter(brand::Column::Id.is_in(candidates.iter().filter_map(|c| c.brand_id)))
        .all(db)
        .await?
        .into_iter()
        .map(|found| (found.id, found.owner_id))
        .collect();
    let mut above: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
    let mut trusted: HashMap<Uuid, Option<f64>> = HashMap::new();
    let trust_readable = authorize(state, viewer, Part::Picture).is_ok();
    let observatory = Observatory::new(state);
    // All time as the observatory publishes it (the release's months in
    // `dp` mode), as `observatory { producer }` would answer.
    let trust_scope = match trust_readable {
        true => observatory.scope(FilterInput::default()).await?,
        false => Scope::default(),
    };
    let shared: Vec<&str> = held.iter().map(|tag| tag.slug.as_str()).collect();
    let mut out = Vec::new();
    for candidate in candidates {
        if let Some(place) = &territory
            && !sold_in(&candidate, place)
        {
            continue;
        }
        let brand_owner = candidate
            .brand_id
            .and_then(|brand| owners.get(&brand).copied().flatten());
        let mut opposed_here = false;
        for root in [brand_owner, candidate.producer_id].into_iter().flatten() {
            let chain = match above.entry(root) {
                std::collections::hash_map::Entry::Occupied(known) => known.into_mut(),
                std::collections::hash_map::Entry::Vacant(slot) => {
                    let mut chain = vec![root];
                    chain.extend(ownership::ancestors(db, root).await?);
                    slot.insert(chain)
                }
            };
            if chain.iter().any(|producer| against.contains(producer)) {
                opposed_here = true;
            }
        }
        if opposed_here {
            continue;
        }
        let mut reasons = Vec::new();
        if !shared.is_empty() {
            reasons.push(Reason {
                kind: ReasonKind::SharedValues,
                detail: shared.join(", "),
            });
        }
        // The brand's owner when the maker is not known.
        let maker = candidate.producer_id.or(brand_owner);
        let mut trust_index = None;
        if trust_readable && let Some(maker) = maker {
            trust_index = match trusted.get(&maker) {
                Some(known) => *known,
                None => {
                    let index = observatory
                        .producer(maker, trust_scope.clone())
                        .await?
                        .and_then(|found| found.cell.metrics)
                        .and_then(|metrics| metrics.trust_index);
                    trusted.insert(maker, index);
                    index
                }
            };
            if let Some(index) = trust_index {
                reasons.push(Reason {
                    kind: ReasonKind::Trust,
                    detail: format!("{index:.0}/100"),
                });
            }
        }
        if let Some(place) = &territory {
            reasons.push(Reason {
                kind: ReasonKind::Territory,
                detail: place.clone(),
            });
        }
        out.push(Alternative {
            product: candidate,
            trust_index,
            reasons,
        });
    }
    out.sort_by(|a, b| {
        match (a.trust_index, b.trust_index) {
            (Some(x), Some(y)) => y.partial_cmp(&x).unwrap_or(Ordering::Equal),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => Ordering::Equal,
        }
        .then_with(|| a.product.name.cmp(&b.product.name))
    });
    out.truncate(first);
    Ok(Some(out))
}
