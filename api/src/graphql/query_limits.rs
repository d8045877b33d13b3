//! Limits async-graphql has no setting for: how many aliases a document may
//! use and how many root fields an operation may select. Both stop "alias
//! bombs" (one cheap field asked for a thousand times under different names)
//! before anything runs; depth and complexity are async-graphql's own limits.

use std::sync::Arc;

use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextParseQuery};
use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};
use async_graphql::{ServerError, ServerResult, Variables};

/// The schema extension enforcing the limits.
pub struct QueryLimits {
    pub max_aliases: usize,
    pub max_root_fields: usize,
}

impl ExtensionFactory for QueryLimits {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(QueryLimits {
            max_aliases: self.max_aliases,
            max_root_fields: self.max_root_fields,
        })
    }
}

/// Fields with an alias anywhere below `set`.
fn aliases(set: &SelectionSet) -> usize {
    set.items
        .iter()
        .map(|item| match &item.node {
            Selection::Field(field) => {
                usize::from(field.node.alias.is_some()) + aliases(&field.node.selection_set.node)
            }
            Selection::InlineFragment(fragment) => aliases(&fragment.node.selection_set.node),
            Selection::FragmentSpread(_) => 0,
        })
        .sum()
}

/// Fields `set` selects at its own level, looking through fragments.
fn fields_at_level(document: &ExecutableDocument, set: &SelectionSet, depth: usize) -> usize {
    if depth > 8 {
        return 0; // fragment cycles are rejected by validation anyway
    }
    set.items
        .iter()
        .map(|item| match &item.node {
            Selection::Field(_) => 1,
            Selection::InlineFragment(fragment) => {
                fields_at_level(document, &fragment.node.selection_set.node, depth + 1)
            }
            Selection::FragmentSpread(spread) => document
                .fragments
                .get(&spread.node.fragment_name.node)
                .map_or(0, |fragment| {
                    fields_at_level(document, &fragment.node.selection_set.node, depth + 1)
                }),
        })
        .sum()
}

#[async_trait::async_trait]
impl Extension for QueryLimits {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let document = next.run(ctx, query, variables).await?;
        let alias_count: usize = document
            .operations
            .iter()
            .map(|(_, operation)| aliases(&operation.node.selection_set.node))
            .chain(
                document
                    .fragments
                    .values()
                    .map(|fragment| aliases(&fragment.node.selection_set.node)),
            )
            .sum();
        if alias_count > self.max_aliases {
            return Err(ServerError::new(
                format!(
                    "the query uses {alias_count} aliases; at most {} are allowed",
                    self.max_aliases
                ),
                None,
            ));
        }
        for (_, operation) in document.operations.iter() {
            let roots = fields_at_level(&document, &operation.node.selection_set.node, 0);
            if roots > self.max_root_fields {
                return Err(ServerError::new(
                    format!(
                        "the operation selects {roots} root fields; at most {} are allowed",
                        self.max_root_fields
                    ),
                    Some(operation.pos),
                ));
            }
        }
        Ok(document)
    }
}
