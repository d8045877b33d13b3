//! `conflicts(code)`: the product in hand against the viewer's campaigns,
//! pledges, communities and values; `alternatives(code)`: what to buy
//! instead. Thin: the rules are in `service::catalogue::{conflicts,
//! alternatives}`.

use async_graphql::{Context, Enum, ID, Object, SimpleObject};

use crate::error::Result;
use crate::graphql::campaign::Campaign;
use crate::graphql::catalogue::{Product, ValueStatus};
use crate::graphql::guards::{state, viewer};
use crate::graphql::pledge::Pledge;
use crate::graphql::value_tag::ValueTag;
use crate::service::catalogue::alternatives;
use crate::service::catalogue::conflicts::{self as service, Step};

/// Why a campaign concerns the viewer.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "crate::service::catalogue::conflicts::Tie")]
pub enum ConflictTie {
    /// The viewer organises it.
    Organised,
    /// The viewer signed it.
    Signed,
    /// The viewer pledged on it.
    Pledged,
    /// An open boycott or buycott of one of the viewer's communities.
    Community,
}

/// What a step of a path is.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum PathStepKind {
    Product,
    Brand,
    Producer,
}

/// One step from the product up to a campaign's target.
#[derive(SimpleObject)]
pub struct PathStep {
    pub kind: PathStepKind,
    pub id: ID,
    pub name: String,
}

impl From<Step> for PathStep {
    fn from(step: Step) -> Self {
        let (kind, id, name) = match step {
            Step::Product(id, name) => (PathStepKind::Product, id, name),
            Step::Brand(id, name) => (PathStepKind::Brand, id, name),
            Step::Producer(id, name) => (PathStepKind::Producer, id, name),
        };
        Self {
            kind,
            id: ID(id.to_string()),
            name,
        }
    }
}

/// A campaign aimed at the product's brand owner, maker or an owner above.
#[derive(SimpleObject)]
pub struct ProductConflict {
    pub tie: ConflictTie,
    pub campaign: Campaign,
    /// The viewer's pledge on it (tie `PLEDGED`).
    pub pledge: Option<Pledge>,
    /// For a pending conditional pledge: pledgers still needed before it
    /// becomes active.
    pub pledgers_needed: Option<i64>,
    /// From the product to the campaign's target: product, brand,
    /// producer, then each owner up to it.
    pub path: Vec<PathStep>,
}

/// What the product says of one of the viewer's values.
#[derive(SimpleObject)]
pub struct ValueVerdict {
    pub value_tag: ValueTag,
    pub status: ValueStatus,
}

/// The product in hand, for the viewer.
#[derive(SimpleObject)]
pub struct ProductConflicts {
    pub product: Product,
    /// Organised first, then signed, pledged, communities'.
    pub conflicts: Vec<ProductConflict>,
    /// The viewer's values (declared, or those passed), each with what the
    /// product says of it; `UNKNOWN` is never a match.
    pub values: Vec<ValueVerdict>,
    /// Whether it is sold in `territory` (null when the product says
    /// nowhere, or no territory was passed).
    pub sold_in_territory: Option<bool>,
}

/// Why an alternative is offered.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "crate::service::catalogue::alternatives::ReasonKind")]
pub enum AlternativeReasonKind {
    /// It confirms every value of the viewer's (listed in `detail`).
    SharedValues,
    /// Its producer's trust index (`detail`, out of 100), when the viewer
    /// may read the observatory.
    Trust,
    /// It is sold where the viewer is (`detail`).
    Territory,
}

#[derive(SimpleObject)]
pub struct AlternativeReason {
    pub kind: AlternativeReasonKind,
    pub detail: String,
}

/// A product to buy instead.
#[derive(SimpleObject)]
pub struct ProductAlternative {
    pub product: Product,
    /// Its producer's trust index, 0–100 (null when the observatory is
    /// closed to the viewer or too few rated it).
    pub trust_index: Option<f64>,
    pub reasons: Vec<AlternativeReason>,
}

#[derive(Default)]
pub struct ConflictsQuery;

#[Object]
impl ConflictsQuery {
    /// The product with this barcode (any form `productByGtin` takes)
    /// against the viewer's campaigns, pledges, communities and values.
    /// Anonymous readers pass `values` (slugs) and a `territory`; a signed-in
    /// member's declared values are used unless `values` is given. Null
    /// when the catalogue does not have the product.
    async fn conflicts(
        &self,
        ctx: &Context<'_>,
        code: String,
        values: Option<Vec<String>>,
        territory: Option<String>,
    ) -> Result<Option<ProductConflicts>> {
        let viewer = viewer(ctx).await?;
        let Some(found) = service::conflicts(
            &state(ctx).db,
            viewer,
            &code,
            values.unwrap_or_default(),
            territory,
        )
        .await?
        else {
            return Ok(None);
        };
        Ok(Some(ProductConflicts {
            product: Product(found.product),
            conflicts: found
                .conflicts
                .into_iter()
                .map(|conflict| ProductConflict {
                    tie: conflict.tie.into(),
                    campaign: Campaign(conflict.campaign),
                    pledge: conflict.pledge.map(Pledge),
                    pledgers_needed: conflict.pledgers_needed,
                    path: conflict.path.into_iter().map(Into::into).collect(),
                })
                .collect(),
            values: found
                .values
                .into_iter()
                .map(|verdict| ValueVerdict {
                    value_tag: ValueTag(verdict.value),
                    status: verdict.status.map_or(ValueStatus::Unknown, Into::into),
                })
                .collect(),
            sold_in_territory: found.sold_here,
        }))
    }

    /// Up to `first` (1–50, default 10) products of the same deepest
    /// category to buy instead: none the viewer has a campaign, pledge or
    /// community boycott against (buycotts are support), each confirming
    /// every value of theirs (`UNKNOWN` is not a match), sold in their
    /// territory (their profile's, or `territory`), by their producers'
    /// trust index. Null when the catalogue does not have the product.
    async fn alternatives(
        &self,
        ctx: &Context<'_>,
        code: String,
        #[graphql(default = 10)] first: i32,
        values: Option<Vec<String>>,
        territory: Option<String>,
    ) -> Result<Option<Vec<ProductAlternative>>> {
        let viewer = viewer(ctx).await?;
        let first = usize::try_from(first).unwrap_or(0);
        let Some(found) = alternatives::alternatives(
            state(ctx),
            viewer,
            &code,
            first,
            values.unwrap_or_default(),
            territory,
        )
        .await?
        else {
            return Ok(None);
        };
        Ok(Some(
            found
                .into_iter()
                .map(|alternative| ProductAlternative {
                    product: Product(alternative.product),
                    trust_index: alternative.trust_index,
                    reasons: alternative
                        .reasons
                        .into_iter()
                        .map(|reason| AlternativeReason {
                            kind: reason.kind.into(),
                            detail: reason.detail,
                        })
                        .collect(),
                })
                .collect(),
        ))
    }
}
