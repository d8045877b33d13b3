//! The value taxonomy: `valueTags` and `createValueTag`.

use async_graphql::{Context, Enum, ID, InputObject, Object};
use entities::value_tag;

use crate::error::Result;
use crate::graphql::guards::{require_member, state};
use crate::service::campaigns::value_tag as tags;

/// Kinds of values people organise around.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(name = "ValueCategory", remote = "entities::value_tag::Category")]
pub enum ValueCategory {
    /// What one can eat or use: allergens, halal, kosher, vegan…
    Personal,
    /// How things are made and traded: local, fair trade, organic…
    Societal,
    /// How people are treated: living wage, no child labour…
    Humanist,
}

/// A value a community or campaign stands for.
pub struct ValueTag(pub value_tag::Model);

#[Object]
impl ValueTag {
    pub(crate) async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// Stable identifier used in filters and inputs, e.g. `fair-trade`.
    async fn slug(&self) -> &str {
        &self.0.slug
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn category(&self) -> ValueCategory {
        self.0.category.into()
    }
    async fn description(&self) -> &str {
        &self.0.description
    }
}

#[derive(InputObject)]
pub struct CreateValueTagInput {
    pub slug: String,
    pub name: String,
    pub category: ValueCategory,
    pub description: Option<String>,
}

#[derive(Default)]
pub struct ValueTagQuery;

#[Object]
impl ValueTagQuery {
    /// The whole taxonomy, or one category of it.
    async fn value_tags(
        &self,
        ctx: &Context<'_>,
        category: Option<ValueCategory>,
    ) -> Result<Vec<ValueTag>> {
        let rows = tags::list(&state(ctx).db, category.map(Into::into)).await?;
        Ok(rows.into_iter().map(ValueTag).collect())
    }
}

#[derive(Default)]
pub struct ValueTagMutation;

#[Object]
impl ValueTagMutation {
    /// Extends the taxonomy; admins only.
    async fn create_value_tag(
        &self,
        ctx: &Context<'_>,
        input: CreateValueTagInput,
    ) -> Result<ValueTag> {
        let actor = require_member(ctx).await?;
        let new = tags::NewValueTag {
            slug: input.slug,
            name: input.name,
            category: input.category.into(),
            description: input.description,
        };
        tags::create(&state(ctx).db, actor, new).await.map(ValueTag)
    }
}
