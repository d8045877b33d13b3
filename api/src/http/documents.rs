//! Documents parsed and validated once. A query or mutation whose text the
//! instance has seen is not parsed again: its parsed document comes from a
//! least-recently-used cache bounded in bytes
//! (`CONSUMACT_DOCUMENT_CACHE_BYTES`), keyed by the schema's fingerprint,
//! the text and the operation name. Its full validation is skipped too
//! when it already passed with variables of the same *shape*: the only
//! rule that looks at variables' values (arguments of the correct type)
//! gives the same answer for the same shape, so such a request runs on the
//! schema built with async-graphql's `Fast` validation, which still counts
//! complexity and depth (they depend on the values) and runs the
//! alias and root-field limits.
//!
//! A variable's shape is its value with every built-in scalar
//! (`String`, `ID`, `Int`, `Float`, `Boolean`) replaced by its kind
//! (null, boolean, 32-bit integer, other integer, other number, string);
//! the values of enums, input objects and custom scalars are kept whole,
//! since their validity depends on them.

use std::collections::HashSet;
use std::hash::{BuildHasher, Hash, Hasher, RandomState};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use async_graphql::parser::types::{
    BaseType, DocumentOperations, ExecutableDocument, OperationDefinition, Type,
};
use async_graphql::{Name, Value, Variables};
use lru::LruCache;

/// Shapes of variables remembered per document (past it, the oldest
/// document entry simply validates fully again).
const SHAPES_PER_DOCUMENT: usize = 32;

/// What the cache says of a request.
pub(crate) enum Lookup {
    /// Parsed before and validated with variables of this shape: run it
    /// on the fast-validating schema.
    Validated(ExecutableDocument),
    /// Parsed before, not validated with this shape: run it (without
    /// parsing) on the fully validating schema, then [`Documents::validated`].
    Parsed(ExecutableDocument, String),
    /// Never seen (or not cacheable): parse it.
    Unknown,
}

struct Entry {
    text: String,
    operation: Option<String>,
    document: ExecutableDocument,
    shapes: HashSet<String>,
    cost: usize,
}

struct Inner {
    entries: LruCache<u64, Entry>,
    used: usize,
}

/// The cache of one instance.
pub(crate) struct Documents {
    fingerprint: u64,
    budget: usize,
    hasher: RandomState,
    inner: Mutex<Inner>,
    pub hits: AtomicU64,
    pub misses: AtomicU64,
}

impl Documents {
    /// A cache of `budget` bytes for documents of the schema whose SDL is `sdl`.
    pub fn new(sdl: &str, budget: usize) -> Self {
        let hasher = RandomState::new();
        Self {
            fingerprint: hasher.hash_one(sdl),
            budget,
            hasher,
            inner: Mutex::new(Inner {
                entries: LruCache::unbounded(),
                used: 0,
            }),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    fn key(&self, text: &str, operation: Option<&str>) -> u64 {
        let mut hasher = self.hasher.build_hasher();
        self.fingerprint.hash(&mut hasher);
        text.hash(&mut hasher);
        operation.hash(&mut hasher);
        hasher.finish()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// What is known of `text` run as `operation` with `variables`.
    pub fn lookup(&self, text: &str, operation: Option<&str>, variables: &Variables) -> Lookup {
        if self.budget == 0 {
            return Lookup::Unknown;
        }
        let key = self.key(text, operation);
        let found = {
            let mut inner = self.lock();
            inner
                .entries
                .get(&key)
                .filter(|entry| entry.text == text && entry.operation.as_deref() == operation)
                .map(|entry| (entry.document.clone(), entry.shapes.clone()))
        };
        let Some((document, shapes)) = found else {
            Metrics::miss(self);
            return Lookup::Unknown;
        };
        Metrics::hit(self);
        match shape(&document, operation, variables) {
            Some(shape) if shapes.contains(&shape) => Lookup::Validated(document),
            Some(shape) => Lookup::Parsed(document, shape),
            None => Lookup::Parsed(document, String::new()),
        }
    }

    /// Keeps `document`, parsed from `text`, which passed full validation
    /// as `operation` with variables of `shape`.
    pub fn remember(
        &self,
        text: &str,
        operation: Option<&str>,
        shape: String,
        document: ExecutableDocument,
    ) {
        if self.budget == 0 {
            return;
        }
        // The parsed tree takes several times its text (positions, names,
        // vectors); ten times is a safe estimate.
        let cost = text.len() * 10 + 512;
        if cost > self.budget {
            return;
        }
        let key = self.key(text, operation);
        let mut inner = self.lock();
        let entry = Entry {
            text: text.to_owned(),
            operation: operation.map(str::to_owned),
            document,
            shapes: HashSet::from([shape]),
            cost,
        };
        if let Some(old) = inner.entries.put(key, entry) {
            inner.used -= old.cost;
        }
        inner.used += cost;
        while inner.used > self.budget {
            let Some((_, old)) = inner.entries.pop_lru() else {
                break;
            };
            inner.used -= old.cost;
        }
    }

    /// Records that the document of `text` passed full validation with
    /// variables of `shape` (from [`Lookup::Parsed`]).
    pub fn validated(&self, text: &str, operation: Option<&str>, shape: String) {
        if shape.is_empty() {
            return;
        }
        let key = self.key(text, operation);
        let mut inner = self.lock();
        if let Some(entry) = inner.entries.get_mut(&key)
            && entry.text == text
            && entry.shapes.len() < SHAPES_PER_DOCUMENT
        {
            let added = shape.len();
            if entry.shapes.insert(shape) {
                entry.cost += added;
                inner.used += added;
            }
        }
    }

    /// Documents kept and their estimated bytes.
    pub fn size(&self) -> (usize, usize) {
        let inner = self.lock();
        (inner.entries.len(), inner.used)
    }
}

/// Hit and miss counting (a namespace, so the counters stay fields).
struct Metrics;

impl Metrics {
    fn hit(documents: &Documents) {
        documents.hits.fetch_add(1, Ordering::Relaxed);
    }

    fn miss(documents: &Documents) {
        documents.misses.fetch_add(1, Ordering::Relaxed);
    }
}

/// The operation `name` selects, as execution will choose it.
fn operation<'a>(
    document: &'a ExecutableDocument,
    name: Option<&str>,
) -> Option<&'a OperationDefinition> {
    match (&document.operations, name) {
        (DocumentOperations::Single(operation), _) => Some(&operation.node),
        (DocumentOperations::Multiple(operations), Some(name)) => {
            operations.get(name).map(|operation| &operation.node)
        }
        (DocumentOperations::Multiple(operations), None) if operations.len() == 1 => {
            operations.values().next().map(|operation| &operation.node)
        }
        _ => None,
    }
}

/// The shape of `variables` against the variables `name` declares, as one
/// canonical string (variables in name order); `None` when the operation
/// cannot be chosen (execution will say why).
pub(crate) fn shape(
    document: &ExecutableDocument,
    name: Option<&str>,
    variables: &Variables,
) -> Option<String> {
    let operation = operation(document, name)?;
    let mut names: Vec<&Name> = variables.keys().collect();
    names.sort();
    let mut out = String::new();
    for variable in names {
        let value = &variables[variable];
        let declared = operation
            .variable_definitions
            .iter()
            .find(|definition| definition.node.name.node == *variable)
            .map(|definition| &definition.node.var_type.node);
        out.push_str(variable);
        out.push('=');
        match declared {
            Some(ty) => shape_of(ty, value, &mut out),
            None => exact(value, &mut out),
        }
        out.push(';');
    }
    Some(out)
}

fn exact(value: &Value, out: &mut String) {
    out.push('<');
    out.push_str(&value.to_string());
    out.push('>');
}

fn builtin(name: &str) -> bool {
    matches!(name, "String" | "ID" | "Int" | "Float" | "Boolean")
}

fn shape_of(ty: &Type, value: &Value, out: &mut String) {
    match (&ty.base, value) {
        (_, Value::Null) => out.push('n'),
        (BaseType::List(inner), Value::List(items)) => {
            out.push('[');
            for item in items {
                shape_of(inner, item, out);
                out.push(',');
            }
            out.push(']');
        }
        // A single value where a list is declared is coerced to a list of it.
        (BaseType::List(inner), single) => {
            out.push('1');
            shape_of(inner, single, out);
        }
        (BaseType::Named(named), value) if builtin(named) => match value {
            Value::Boolean(_) => out.push('b'),
            Value::String(_) => out.push('s'),
            Value::Number(number) => match number.as_i64() {
                Some(int) if i32::try_from(int).is_ok() => out.push('i'),
                Some(_) => out.push('I'),
                None if number.is_u64() => out.push('I'),
                None => out.push('f'),
            },
            other => exact(other, out),
        },
        (BaseType::Named(_), value) => exact(value, out),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_graphql::parser::parse_query;
    use serde_json::json;

    fn variables(value: serde_json::Value) -> Variables {
        Variables::from_json(value)
    }

    const QUERY: &str = "query Q($id: ID!, $first: Int, $kind: PledgeKind, $tags: [String!]) { node(id: $id) { id } }";

    #[test]
    fn shapes_keep_kinds_of_built_in_scalars_and_whole_values_of_the_rest() {
        let document = parse_query(QUERY).unwrap();
        let shape = |vars| shape(&document, None, &variables(vars)).unwrap();
        // Two ids, the same shape: validation would say the same.
        assert_eq!(
            shape(json!({ "id": "a", "first": 5 })),
            shape(json!({ "id": "b", "first": 7 }))
        );
        // A string where an Int is declared, or an Int past 32 bits: not.
        assert_ne!(
            shape(json!({ "id": "a", "first": 5 })),
            shape(json!({ "id": "a", "first": "5" }))
        );
        assert_ne!(
            shape(json!({ "id": "a", "first": 5 })),
            shape(json!({ "id": "a", "first": 5_000_000_000i64 }))
        );
        // Enum values are kept whole: an unknown one is another shape.
        assert_ne!(
            shape(json!({ "id": "a", "kind": "BUY" })),
            shape(json!({ "id": "a", "kind": "NOPE" }))
        );
        // Lists by item kinds; a missing variable differs from null.
        assert_eq!(
            shape(json!({ "id": "a", "tags": ["x", "y"] })),
            shape(json!({ "id": "b", "tags": ["z", "w"] }))
        );
        assert_ne!(
            shape(json!({ "id": "a", "tags": ["x"] })),
            shape(json!({ "id": "a", "tags": [1] }))
        );
        assert_ne!(shape(json!({ "id": "a" })), shape(json!({ "id": null })));
        // Undeclared variables are kept whole.
        assert_ne!(
            shape(json!({ "id": "a", "extra": 1 })),
            shape(json!({ "id": "a", "extra": 2 }))
        );
    }

    #[test]
    fn a_document_is_served_for_its_schema_text_and_operation_only() {
        let document = parse_query(QUERY).unwrap();
        let vars = variables(json!({ "id": "a" }));
        let one = Documents::new("type Query { a: Int }", 1 << 20);
        let first = shape(&document, None, &vars).unwrap();
        one.remember(QUERY, None, first, document.clone());
        assert!(matches!(
            one.lookup(QUERY, None, &vars),
            Lookup::Validated(_)
        ));
        // Same text, another operation name: unknown.
        assert!(matches!(
            one.lookup(QUERY, Some("Q"), &vars),
            Lookup::Unknown
        ));
        // Another shape: parsed, to be validated fully.
        let other = variables(json!({ "id": 1, "first": "x" }));
        let Lookup::Parsed(_, shape) = one.lookup(QUERY, None, &other) else {
            panic!("a new shape is validated again");
        };
        one.validated(QUERY, None, shape);
        assert!(matches!(
            one.lookup(QUERY, None, &other),
            Lookup::Validated(_)
        ));
        // Another schema's cache never serves it.
        let two = Documents::new("type Query { b: Int }", 1 << 20);
        assert!(matches!(two.lookup(QUERY, None, &vars), Lookup::Unknown));
    }

    #[test]
    fn the_cache_stays_within_its_bytes() {
        let budget = 20 * (QUERY.len() * 10 + 512);
        let cache = Documents::new("type Query { a: Int }", budget);
        let vars = variables(json!({ "id": "a" }));
        for i in 0..100 {
            let text = format!("{QUERY} # {i:03}");
            let document = parse_query(&text).unwrap();
            let first = shape(&document, None, &vars).unwrap();
            cache.remember(&text, None, first, document);
        }
        let (kept, used) = cache.size();
        assert!(used <= budget, "{used} bytes over {budget}");
        assert!((10..=20).contains(&kept), "{kept} documents kept");
        // The most recent stays; the first went.
        let last = format!("{QUERY} # 099");
        assert!(matches!(
            cache.lookup(&last, None, &vars),
            Lookup::Validated(_)
        ));
        let first = format!("{QUERY} # 000");
        assert!(matches!(cache.lookup(&first, None, &vars), Lookup::Unknown));
    }
}
