//! `conflicts(code)`: the product in hand against the viewer's campaigns,
//! pledges, communities and values. Thin: the rules are in
//! `service::catalogue::conflicts`.

use async_graphql::{Context, Enum, ID, Object, SimpleObject};

use crate::error::Result;
use crate::graphql::campaign::Campaign;
use crate::graphql::catalogue::{Product, ValueStatus};
use crate::graphql::guards::{state, viewer};
use crate::graphql::pledge::Pledge;
use crate::graphql::value_tag::ValueTag;
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
}
