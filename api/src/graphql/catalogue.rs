//! The shelf over GraphQL: `productByGtin`, `products`, `brand`, and the
//! catalogue's writes for moderators (`createProduct`, `createBrand`).
//! Thin: barcodes, tags and values are the service's
//! (`service::catalogue`).

use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use entities::{brand, product};
use sea_orm::EntityTrait;

use crate::error::Result;
use crate::graphql::connection::{self, Page, complexity};
use crate::graphql::guards::{require_member, state};
use crate::graphql::producer::Producer;
use crate::graphql::value_tag::ValueTag;
use crate::service::catalogue::{gtin, product as service};
use crate::service::validate;

/// What a product says of a value.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum ValueStatus {
    /// A label confirms it (a vegan label for `vegan`).
    Yes,
    /// A label or an allergen rules it out (gluten for `gluten-free`).
    No,
    /// The product says nothing of it: never taken for a match.
    Unknown,
}

impl From<entities::product_value::ValueStatus> for ValueStatus {
    fn from(status: entities::product_value::ValueStatus) -> Self {
        match status {
            entities::product_value::ValueStatus::Yes => Self::Yes,
            entities::product_value::ValueStatus::No => Self::No,
        }
    }
}

/// A value and what the product says of it.
#[derive(SimpleObject)]
pub struct ProductValue {
    pub value_tag: ValueTag,
    pub status: ValueStatus,
}

/// Where a product's data comes from, and under what licence.
#[derive(SimpleObject)]
pub struct DataSource {
    pub name: String,
    /// `ODbL` for Open Food Facts data; null for the instance's own.
    pub licence: Option<String>,
    /// The record at its source.
    pub url: Option<String>,
}

/// A product on the shelf, by its barcode.
pub struct Product(pub product::Model);

fn list(json: &str) -> Vec<String> {
    serde_json::from_str(json).unwrap_or_default()
}

#[Object]
impl Product {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// The barcode as Open Food Facts normalises it (8, 13 or 14 digits).
    async fn gtin(&self) -> &str {
        &self.0.gtin
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn brand(&self, ctx: &Context<'_>) -> Result<Option<Brand>> {
        let Some(id) = self.0.brand_id else {
            return Ok(None);
        };
        Ok(brand::Entity::find_by_id(id)
            .one(&state(ctx).db)
            .await?
            .map(Brand))
    }
    /// The producer that makes it.
    async fn producer(&self, ctx: &Context<'_>) -> Result<Option<Producer>> {
        match self.0.producer_id {
            Some(id) => Producer::load(ctx, id).await.map(Some),
            None => Ok(None),
        }
    }
    /// Open Food Facts category tags, general to specific.
    async fn categories(&self) -> Vec<String> {
        list(&self.0.categories)
    }
    /// Label tags as given (value-tag slugs or Open Food Facts tags).
    async fn labels(&self) -> Vec<String> {
        list(&self.0.labels)
    }
    /// Allergen tags as given.
    async fn allergens(&self) -> Vec<String> {
        list(&self.0.allergens)
    }
    /// Where it is sold (ISO 3166).
    async fn territories(&self) -> Vec<String> {
        list(&self.0.territories)
    }
    /// The values its labels confirm or its labels and allergens rule out;
    /// every other value is `UNKNOWN` (see `valueStatus`).
    async fn values(&self, ctx: &Context<'_>) -> Result<Vec<ProductValue>> {
        Ok(service::values_of(&state(ctx).db, self.0.id)
            .await?
            .into_iter()
            .map(|(tag, status)| ProductValue {
                value_tag: ValueTag(tag),
                status: status.into(),
            })
            .collect())
    }
    /// What it says of the value `slug`: `UNKNOWN` when nothing.
    async fn value_status(&self, ctx: &Context<'_>, slug: String) -> Result<ValueStatus> {
        Ok(service::values_of(&state(ctx).db, self.0.id)
            .await?
            .into_iter()
            .find(|(tag, _)| tag.slug == slug)
            .map_or(ValueStatus::Unknown, |(_, status)| status.into()))
    }
    /// Where its data comes from: Open Food Facts data (ODbL) stays
    /// attributed.
    async fn source(&self) -> DataSource {
        match self.0.source {
            product::ProductSource::Catalogue => DataSource {
                name: "Consumact catalogue".into(),
                licence: None,
                url: None,
            },
            product::ProductSource::OpenFoodFacts => DataSource {
                name: "Open Food Facts".into(),
                licence: Some("ODbL".into()),
                url: Some(format!(
                    "https://world.openfoodfacts.org/product/{}",
                    self.0.gtin
                )),
            },
        }
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// A brand, and the producer that owns it.
pub struct Brand(pub brand::Model);

#[Object]
impl Brand {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn owner(&self, ctx: &Context<'_>) -> Result<Option<Producer>> {
        match self.0.owner_id {
            Some(id) => Producer::load(ctx, id).await.map(Some),
            None => Ok(None),
        }
    }
    /// Its products, newest first.
    #[graphql(complexity = "complexity(first, child_complexity)")]
    async fn products(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Page<Product>> {
        let filter = service::ProductFilter {
            brand_id: Some(self.0.id),
            ..Default::default()
        };
        connection::paginate(
            ctx,
            service::list(&filter)?,
            product::Column::Id,
            first,
            after,
            Product,
        )
        .await
    }
}

/// How `products` may be narrowed.
#[derive(InputObject, Default)]
pub struct ProductFilter {
    pub brand_id: Option<ID>,
    pub producer_id: Option<ID>,
    /// An Open Food Facts category tag (`en:hazelnut-spreads`).
    pub category: Option<String>,
    /// A value-tag slug the product confirms (`YES`; unknown never matches).
    pub value_tag: Option<String>,
}

#[derive(Default)]
pub struct CatalogueQuery;

#[Object]
impl CatalogueQuery {
    /// The product with this barcode: EAN-8, UPC-A, EAN-13, GTIN-14 digits
    /// or a GS1 Digital Link (`https://…/01/{gtin}`), normalised as Open
    /// Food Facts does; `BAD_USER_INPUT` on `code` for a malformed one or a
    /// wrong check digit; null when the catalogue does not have it.
    async fn product_by_gtin(&self, ctx: &Context<'_>, code: String) -> Result<Option<Product>> {
        let code = gtin::normalise("code", &code)?;
        Ok(service::by_gtin(&state(ctx).db, &code).await?.map(Product))
    }

    /// Products, newest first.
    #[graphql(complexity = "complexity(first, child_complexity)")]
    async fn products(
        &self,
        ctx: &Context<'_>,
        filter: Option<ProductFilter>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Page<Product>> {
        let filter = filter.unwrap_or_default();
        let id =
            |field: &str, value: Option<ID>| value.map(|v| validate::id(field, &v)).transpose();
        let filter = service::ProductFilter {
            brand_id: id("filter.brandId", filter.brand_id)?,
            producer_id: id("filter.producerId", filter.producer_id)?,
            category: filter.category,
            value_tag: filter.value_tag,
        };
        connection::paginate(
            ctx,
            service::list(&filter)?,
            product::Column::Id,
            first,
            after,
            Product,
        )
        .await
    }

    async fn brand(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Brand>> {
        let id = validate::id("id", &id)?;
        Ok(brand::Entity::find_by_id(id)
            .one(&state(ctx).db)
            .await?
            .map(Brand))
    }
}

/// A product for the catalogue.
#[derive(InputObject)]
pub struct CreateProductInput {
    /// Any barcode form `productByGtin` accepts.
    pub gtin: String,
    /// Up to 300 characters.
    pub name: String,
    pub brand_id: Option<ID>,
    pub producer_id: Option<ID>,
    /// Open Food Facts category tags, general to specific (at most 20).
    #[graphql(default)]
    pub categories: Vec<String>,
    /// Value-tag slugs or Open Food Facts label tags (at most 30).
    #[graphql(default)]
    pub labels: Vec<String>,
    /// Open Food Facts allergen tags (at most 30).
    #[graphql(default)]
    pub allergens: Vec<String>,
    /// ISO 3166 codes where it is sold (at most 50).
    #[graphql(default)]
    pub territories: Vec<String>,
}

impl CreateProductInput {
    /// The service's input, its ids checked.
    pub(crate) fn into_new(self) -> Result<service::NewProduct> {
        let id =
            |field: &str, value: Option<ID>| value.map(|v| validate::id(field, &v)).transpose();
        Ok(service::NewProduct {
            gtin: self.gtin,
            name: self.name,
            brand_id: id("input.brandId", self.brand_id)?,
            producer_id: id("input.producerId", self.producer_id)?,
            categories: self.categories,
            labels: self.labels,
            allergens: self.allergens,
            territories: self.territories,
        })
    }
}

/// A brand for the catalogue.
#[derive(InputObject)]
pub struct CreateBrandInput {
    /// Up to 200 characters, unique (case aside).
    pub name: String,
    /// The producer that owns it.
    pub owner_id: Option<ID>,
}

#[derive(Default)]
pub struct CatalogueMutation;

#[Object]
impl CatalogueMutation {
    /// Adds a product; moderators and admins. `CONFLICT` when its barcode
    /// is in the catalogue already.
    async fn create_product(
        &self,
        ctx: &Context<'_>,
        input: CreateProductInput,
    ) -> Result<Product> {
        let actor = require_member(ctx).await?;
        service::create(state(ctx), actor, input.into_new()?)
            .await
            .map(Product)
    }

    /// Adds a brand; moderators and admins. `CONFLICT` for a name taken.
    async fn create_brand(&self, ctx: &Context<'_>, input: CreateBrandInput) -> Result<Brand> {
        let actor = require_member(ctx).await?;
        let owner = input
            .owner_id
            .map(|v| validate::id("input.ownerId", &v))
            .transpose()?;
        service::create_brand(state(ctx), actor, &input.name, owner)
            .await
            .map(Brand)
    }
}
