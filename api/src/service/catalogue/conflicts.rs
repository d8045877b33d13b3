//! The shelf meets the campaigns: for a product in hand, every campaign the
//! viewer signed or organises, every pledge they made and every boycott or
//! buycott of their communities that aims at the product's brand owner, its
//! maker or any owner above them, each with the path that leads there
//! (product → brand → producer → parent …); and what the product says of
//! each of the viewer's values (`UNKNOWN` is never a match).

use std::collections::{HashMap, HashSet};

use entities::campaign::{self, CampaignKind, CampaignStatus};
use entities::pledge::{self, PledgeStatus};
use entities::product_value::ValueStatus;
use entities::signature::{self, SignatureStatus};
use entities::{brand, community_member, member_value_tag, producer, product, value_tag};
use sea_orm::{ColumnTrait, Condition, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter};
use uuid::Uuid;

use super::{gtin, ownership, product as catalogue};
use crate::error::{AppError, Result};
use crate::service::validate;
use crate::service::viewer::Viewer;

/// One step of a path from the product up to a campaign's target.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    Product(Uuid, String),
    Brand(Uuid, String),
    Producer(Uuid, String),
}

/// Why a campaign concerns the viewer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Tie {
    Organised,
    Signed,
    Pledged,
    /// An open boycott or buycott of one of the viewer's communities.
    Community,
}

/// A campaign (and the viewer's pledge on it) that aims at the product.
#[derive(Clone, Debug)]
pub struct Conflict {
    pub tie: Tie,
    pub campaign: campaign::Model,
    pub pledge: Option<pledge::Model>,
    /// For a pending conditional pledge: pledgers still needed.
    pub pledgers_needed: Option<i64>,
    pub path: Vec<Step>,
}

/// What the product says of one of the viewer's values.
#[derive(Clone, Debug)]
pub struct Verdict {
    pub value: value_tag::Model,
    /// `None`: unknown.
    pub status: Option<ValueStatus>,
}

/// Everything `conflicts` finds for one product.
#[derive(Clone, Debug)]
pub struct Findings {
    pub product: product::Model,
    pub conflicts: Vec<Conflict>,
    pub values: Vec<Verdict>,
    /// Whether it is sold in the territory asked about (`None` when the
    /// product says nowhere, or none was asked).
    pub sold_here: Option<bool>,
}

/// The producers above the product, each with the path to it.
pub(super) async fn paths(
    db: &impl ConnectionTrait,
    found: &product::Model,
) -> Result<HashMap<Uuid, Vec<Step>>> {
    let mut out: HashMap<Uuid, Vec<Step>> = HashMap::new();
    let start = vec![Step::Product(found.id, found.name.clone())];
    let mut roots: Vec<(Uuid, Vec<Step>)> = Vec::new();
    if let Some(brand_id) = found.brand_id
        && let Some(brand) = brand::Entity::find_by_id(brand_id).one(db).await?
        && let Some(owner) = brand.owner_id
    {
        let mut path = start.clone();
        path.push(Step::Brand(brand.id, brand.name));
        roots.push((owner, path));
    }
    if let Some(maker) = found.producer_id {
        roots.push((maker, start));
    }
    for (root, path) in roots {
        let mut chain = vec![root];
        chain.extend(ownership::ancestors(db, root).await?);
        let names: HashMap<Uuid, String> = producer::Entity::find()
            .filter(producer::Column::Id.is_in(chain.iter().copied()))
            .all(db)
            .await?
            .into_iter()
            .map(|found| (found.id, found.name))
            .collect();
        let mut walked = path;
        for id in chain {
            walked.push(Step::Producer(
                id,
                names.get(&id).cloned().unwrap_or_default(),
            ));
            // The first path found to a producer is kept (the brand's).
            out.entry(id).or_insert_with(|| walked.clone());
        }
    }
    Ok(out)
}

/// Campaigns anyone may see.
fn public() -> Condition {
    Condition::all()
        .add(campaign::Column::HiddenAt.is_null())
        .add(campaign::Column::Status.is_in([
            CampaignStatus::Open,
            CampaignStatus::Victory,
            CampaignStatus::Closed,
        ]))
}

/// What the product with barcode `code` means for `viewer` (or for an
/// anonymous reader holding `values`, in `territory`); `None` when the
/// catalogue does not have it.
pub async fn conflicts(
    db: &impl ConnectionTrait,
    viewer: Option<Viewer>,
    code: &str,
    values: Vec<String>,
    territory: Option<String>,
) -> Result<Option<Findings>> {
    let code = gtin::normalise("code", code)?;
    if values.len() > 50 {
        return Err(AppError::invalid("values", "values: at most 50"));
    }
    let territory = territory
        .map(|territory| validate::territory("territory", &territory))
        .transpose()?;
    let Some(found) = catalogue::by_gtin(db, &code).await? else {
        return Ok(None);
    };
    let paths = paths(db, &found).await?;
    let targets: Vec<Uuid> = paths.keys().copied().collect();
    let mut conflicts = Vec::new();
    if let Some(viewer) = viewer
        && !targets.is_empty()
    {
        let aimed = |ids: Vec<Uuid>| {
            campaign::Entity::find()
                .filter(public())
                .filter(campaign::Column::ProducerId.is_in(targets.clone()))
                .filter(campaign::Column::Id.is_in(ids))
        };
        let mut add = |tie: Tie, found: campaign::Model, pledge: Option<pledge::Model>| {
            let path = paths.get(&found.producer_id).cloned().unwrap_or_default();
            conflicts.push(Conflict {
                tie,
                campaign: found,
                pledge,
                pledgers_needed: None,
                path,
            });
        };
        for found in campaign::Entity::find()
            .filter(public())
            .filter(campaign::Column::ProducerId.is_in(targets.clone()))
            .filter(campaign::Column::OrganiserId.eq(viewer.id))
            .all(db)
            .await?
        {
            add(Tie::Organised, found, None);
        }
        let signed: Vec<Uuid> = signature::Entity::find()
            .filter(signature::Column::MemberId.eq(viewer.id))
            .filter(
                signature::Column::Status
                    .is_in([SignatureStatus::Counted, SignatureStatus::Pending]),
            )
            .all(db)
            .await?
            .into_iter()
            .map(|row| row.campaign_id)
            .collect();
        for found in aimed(signed).all(db).await? {
            add(Tie::Signed, found, None);
        }
        let pledges = pledge::Entity::find()
            .filter(pledge::Column::MemberId.eq(viewer.id))
            .filter(pledge::Column::Status.is_in([PledgeStatus::Pending, PledgeStatus::Active]))
            .all(db)
            .await?;
        let by_campaign: HashMap<Uuid, pledge::Model> = pledges
            .into_iter()
            .map(|row| (row.campaign_id, row))
            .collect();
        for found in aimed(by_campaign.keys().copied().collect()).all(db).await? {
            let pledge = by_campaign.get(&found.id).cloned();
            add(Tie::Pledged, found, pledge);
        }
        let communities: Vec<Uuid> = community_member::Entity::find()
            .filter(community_member::Column::MemberId.eq(viewer.id))
            .all(db)
            .await?
            .into_iter()
            .map(|row| row.community_id)
            .collect();
        if !communities.is_empty() {
            for found in campaign::Entity::find()
                .filter(public())
                .filter(campaign::Column::Status.eq(CampaignStatus::Open))
                .filter(campaign::Column::ProducerId.is_in(targets.clone()))
                .filter(campaign::Column::CommunityId.is_in(communities))
                .filter(
                    campaign::Column::Kind.is_in([CampaignKind::Boycott, CampaignKind::Buycott]),
                )
                .all(db)
                .await?
            {
                add(Tie::Community, found, None);
            }
        }
        // A campaign about one brand concerns that brand's products only,
        // not everything its owner makes.
        conflicts.retain(|conflict| {
            conflict.campaign.brand_id.is_none() || conflict.campaign.brand_id == found.brand_id
        });
        for conflict in &mut conflicts {
            conflict.pledgers_needed = pledgers_needed(db, conflict.pledge.as_ref()).await?;
        }
        conflicts.sort_by(|a, b| a.tie.cmp(&b.tie).then(a.campaign.id.cmp(&b.campaign.id)));
    }
    let values = verdicts(db, viewer, &found, values).await?;
    let sold_in: Vec<String> = serde_json::from_str(&found.territories).unwrap_or_default();
    let sold_here = territory.filter(|_| !sold_in.is_empty()).map(|territory| {
        sold_in.iter().any(|place| {
            *place == territory
                || validate::country_of(place) == territory
                || validate::country_of(&territory) == place.as_str()
        })
    });
    Ok(Some(Findings {
        product: found,
        conflicts,
        values,
        sold_here,
    }))
}

/// For a pending conditional pledge, how many more pledgers its campaign
/// needs before it becomes active.
async fn pledgers_needed(
    db: &impl ConnectionTrait,
    pledge: Option<&pledge::Model>,
) -> Result<Option<i64>> {
    let Some(pledge) = pledge.filter(|pledge| pledge.status == PledgeStatus::Pending) else {
        return Ok(None);
    };
    let Some(threshold) = pledge.activation_threshold else {
        return Ok(None);
    };
    let pledgers = pledge::Entity::find()
        .filter(pledge::Column::CampaignId.eq(pledge.campaign_id))
        .filter(pledge::Column::Status.is_in([
            PledgeStatus::Pending,
            PledgeStatus::Active,
            PledgeStatus::Kept,
        ]))
        .count(db)
        .await? as i64;
    Ok(Some((i64::from(threshold) - pledgers).max(0)))
}

/// What the product says of each of the viewer's values (their declared
/// ones when signed in, else `values`).
pub(super) async fn verdicts(
    db: &impl ConnectionTrait,
    viewer: Option<Viewer>,
    found: &product::Model,
    values: Vec<String>,
) -> Result<Vec<Verdict>> {
    let tags = held(db, viewer, values).await?;
    let said: HashMap<Uuid, ValueStatus> = catalogue::values_of(db, found.id)
        .await?
        .into_iter()
        .map(|(tag, status)| (tag.id, status))
        .collect();
    let mut out: Vec<Verdict> = tags
        .into_iter()
        .map(|value| Verdict {
            status: said.get(&value.id).copied(),
            value,
        })
        .collect();
    out.sort_by(|a, b| a.value.slug.cmp(&b.value.slug));
    Ok(out)
}

/// The values that matter: the viewer's declared ones when signed in and
/// no `values` are passed, else `values` (`BAD_USER_INPUT` for a slug no
/// value tag has).
pub(super) async fn held(
    db: &impl ConnectionTrait,
    viewer: Option<Viewer>,
    values: Vec<String>,
) -> Result<Vec<value_tag::Model>> {
    let mut tags = match viewer {
        Some(viewer) if values.is_empty() => {
            let held: Vec<Uuid> = member_value_tag::Entity::find()
                .filter(member_value_tag::Column::MemberId.eq(viewer.id))
                .all(db)
                .await?
                .into_iter()
                .map(|row| row.value_tag_id)
                .collect();
            value_tag::Entity::find()
                .filter(value_tag::Column::Id.is_in(held))
                .all(db)
                .await?
        }
        _ => {
            let wanted: HashSet<String> = values
                .into_iter()
                .map(|slug| slug.trim().to_owned())
                .collect();
            let found: Vec<value_tag::Model> = value_tag::Entity::find()
                .filter(value_tag::Column::Slug.is_in(wanted.iter().cloned()))
                .all(db)
                .await?;
            if let Some(unknown) = wanted
                .iter()
                .find(|slug| !found.iter().any(|tag| &tag.slug == *slug))
            {
                return Err(AppError::invalid(
                    "values",
                    format!("values: no value tag `{unknown}`"),
                ));
            }
            found
        }
    };
    tags.sort_by(|a, b| a.slug.cmp(&b.slug));
    Ok(tags)
}
