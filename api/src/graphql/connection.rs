//! The one pagination helper: Relay connections over any entity keyed by a
//! time-ordered UUID (v7), newest first, with opaque cursors.

use async_graphql::connection::{Connection, Edge, EmptyFields};
use async_graphql::{Context, OutputType, SimpleObject};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sea_orm::sea_query::ValueType;
use sea_orm::{
    ColumnTrait, Condition, EntityTrait, ModelTrait, Order, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, Select, Value,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{AppError, Result};
use crate::graphql::guards::state;

const CURSOR_PREFIX: &str = "c1:";
const POSITION_PREFIX: &str = "p1:";
const KEY_PREFIX: &str = "k1:";

/// Fields every connection carries besides edges and page info.
#[derive(SimpleObject)]
pub struct ConnectionTotals {
    /// How many items match, across all pages.
    pub total_count: u64,
}

/// A Relay connection of `N`.
pub type Page<N> = Connection<String, N, ConnectionTotals, EmptyFields>;

/// The opaque cursor of the item with this id.
pub fn encode_cursor(id: Uuid) -> String {
    URL_SAFE_NO_PAD.encode(format!("{CURSOR_PREFIX}{id}"))
}

/// The id inside a cursor this server issued, or `BAD_USER_INPUT`.
pub fn decode_cursor(cursor: &str) -> Result<Uuid> {
    URL_SAFE_NO_PAD
        .decode(cursor.trim())
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .and_then(|text| {
            text.strip_prefix(CURSOR_PREFIX)
                .and_then(|id| Uuid::parse_str(id).ok())
        })
        .ok_or_else(|| AppError::invalid("after", "after is not a cursor this server issued"))
}

/// Complexity of a connection field: its children count once per item asked
/// for. An out-of-range `first` counts as one, so that the resolver answers
/// it with a precise `BAD_USER_INPUT` instead of a vague "too complex".
pub fn complexity(first: Option<i32>, child_complexity: usize) -> usize {
    let items = match first {
        None => 20,
        Some(first @ 1..=1_000) => first as usize,
        Some(_) => 1,
    };
    items.saturating_mul(child_complexity)
}

/// The page size a client asked for (or the default), or `BAD_USER_INPUT`
/// when it is out of range.
pub fn page_size(ctx: &Context<'_>, first: Option<i32>) -> Result<u64> {
    let config = &state(ctx).config;
    let max = config.page_size_max;
    match first {
        None => Ok(config.page_size_default.min(max)),
        Some(first) if first < 0 || first as u64 > max => Err(AppError::invalid(
            "first",
            format!("first must be between 0 and {max}"),
        )),
        Some(first) => Ok(first as u64),
    }
}

/// The opaque cursor of a position in a computed list (a ranking).
pub fn encode_position(position: usize) -> String {
    URL_SAFE_NO_PAD.encode(format!("{POSITION_PREFIX}{position}"))
}

/// Positions a cursor may name (far beyond any list served).
const MAX_POSITION: usize = u32::MAX as usize;

/// The position inside a cursor from [`encode_position`], or `BAD_USER_INPUT`.
pub fn decode_position(cursor: &str) -> Result<usize> {
    URL_SAFE_NO_PAD
        .decode(cursor.trim())
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .and_then(|text| {
            text.strip_prefix(POSITION_PREFIX)
                .and_then(|n| n.parse::<usize>().ok())
        })
        // No list holds this many: a forged position that would overflow
        // the next page's start is refused like any other forged cursor.
        .filter(|position| *position < MAX_POSITION)
        .ok_or_else(|| AppError::invalid("after", "after is not a cursor this server issued"))
}

/// Pages through `select`, newest first, after the `after` cursor, turning
/// each row into a node with `node`. Counts the total only when asked for.
pub async fn paginate<E, N>(
    ctx: &Context<'_>,
    select: Select<E>,
    id: E::Column,
    first: Option<i32>,
    after: Option<String>,
    node: impl Fn(E::Model) -> N,
) -> Result<Page<N>>
where
    E: EntityTrait,
    E::Model: Sync,
    N: OutputType,
{
    let state = state(ctx);
    let first = page_size(ctx, first)?;
    let after = after.as_deref().map(decode_cursor).transpose()?;
    let total_count = if ctx.look_ahead().field("totalCount").exists() {
        select.clone().count(&state.db).await?
    } else {
        0
    };
    let mut query = select;
    if let Some(after) = after {
        query = query.filter(id.lt(after));
    }
    let rows = query
        .order_by_desc(id)
        .limit(first + 1)
        .all(&state.db)
        .await?;
    page_of::<E, N>(
        rows,
        first,
        after.is_some(),
        total_count,
        id,
        node,
        |_, row_id| Ok(encode_cursor(row_id)),
    )
}

/// The connection of `rows` (one more than `first` when a next page exists),
/// each edge's cursor from `cursor(row, id)`.
fn page_of<E, N>(
    mut rows: Vec<E::Model>,
    first: u64,
    has_previous: bool,
    total_count: u64,
    id: E::Column,
    node: impl Fn(E::Model) -> N,
    cursor: impl Fn(&E::Model, Uuid) -> Result<String>,
) -> Result<Page<N>>
where
    E: EntityTrait,
    N: OutputType,
{
    let has_next = rows.len() as u64 > first;
    rows.truncate(first as usize);
    let mut connection = Connection::with_additional_fields(
        has_previous,
        has_next,
        ConnectionTotals { total_count },
    );
    for row in rows {
        let row_id = <Uuid as ValueType>::try_from(row.get(id))
            .map_err(|_| AppError::Internal("connection key is not a UUID".into()))?;
        let cursor = cursor(&row, row_id)?;
        connection.edges.push(Edge::new(cursor, node(row)));
    }
    Ok(connection)
}

/// A list order other than newest first: by a stored value, then by id, in
/// the same direction; pages follow the pair, so a row never shows twice
/// or goes missing while values stay put.
pub struct KeyOrder<C> {
    pub column: C,
    pub descending: bool,
}

/// A sort value inside a cursor.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
enum Key {
    #[serde(rename = "i")]
    Int(i64),
    #[serde(rename = "f")]
    Float(f64),
    #[serde(rename = "t")]
    Time(chrono::DateTime<chrono::Utc>),
}

impl Key {
    fn of(value: Value) -> Result<Self> {
        match value {
            Value::BigInt(Some(v)) => Ok(Key::Int(v)),
            Value::Int(Some(v)) => Ok(Key::Int(v.into())),
            Value::Double(Some(v)) => Ok(Key::Float(v)),
            Value::ChronoDateTimeUtc(Some(v)) => Ok(Key::Time(v)),
            other => Err(AppError::Internal(format!(
                "no cursor for a sort value {other:?}"
            ))),
        }
    }

    fn value(self) -> Value {
        match self {
            Key::Int(v) => v.into(),
            Key::Float(v) => v.into(),
            Key::Time(v) => v.into(),
        }
    }
}

fn encode_key_cursor(key: &Key, id: Uuid) -> Result<String> {
    let json =
        serde_json::to_string(&(key, id)).map_err(|err| AppError::Internal(err.to_string()))?;
    Ok(URL_SAFE_NO_PAD.encode(format!("{KEY_PREFIX}{json}")))
}

fn decode_key_cursor(cursor: &str) -> Result<(Key, Uuid)> {
    URL_SAFE_NO_PAD
        .decode(cursor.trim())
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .and_then(|text| {
            text.strip_prefix(KEY_PREFIX)
                .and_then(|json| serde_json::from_str(json).ok())
        })
        .ok_or_else(|| AppError::invalid("after", "after is not a cursor this server issued"))
}

/// Like [`paginate`], ordered by `order` (then id) instead of newest first.
pub async fn paginate_by<E, N>(
    ctx: &Context<'_>,
    select: Select<E>,
    id: E::Column,
    order: KeyOrder<E::Column>,
    first: Option<i32>,
    after: Option<String>,
    node: impl Fn(E::Model) -> N,
) -> Result<Page<N>>
where
    E: EntityTrait,
    E::Model: Sync,
    N: OutputType,
{
    let state = state(ctx);
    let first = page_size(ctx, first)?;
    let after = after.as_deref().map(decode_key_cursor).transpose()?;
    let total_count = if ctx.look_ahead().field("totalCount").exists() {
        select.clone().count(&state.db).await?
    } else {
        0
    };
    let mut query = select;
    let has_previous = after.is_some();
    if let Some((key, after_id)) = after {
        let value = key.value();
        let (beyond, id_beyond) = if order.descending {
            (order.column.lt(value.clone()), id.lt(after_id))
        } else {
            (order.column.gt(value.clone()), id.gt(after_id))
        };
        query = query.filter(
            Condition::any()
                .add(beyond)
                .add(Condition::all().add(order.column.eq(value)).add(id_beyond)),
        );
    }
    let direction = if order.descending {
        Order::Desc
    } else {
        Order::Asc
    };
    let rows = query
        .order_by(order.column, direction.clone())
        .order_by(id, direction)
        .limit(first + 1)
        .all(&state.db)
        .await?;
    page_of::<E, N>(
        rows,
        first,
        has_previous,
        total_count,
        id,
        node,
        |row, row_id| encode_key_cursor(&Key::of(row.get(order.column))?, row_id),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip() {
        let id = Uuid::now_v7();
        assert_eq!(decode_cursor(&encode_cursor(id)).unwrap(), id);
    }

    #[test]
    fn forged_cursors_are_refused() {
        for forged in ["", "abc", "!!!", &URL_SAFE_NO_PAD.encode("c1:not-a-uuid")] {
            assert!(decode_cursor(forged).is_err(), "{forged} accepted");
        }
        let raw_uuid = Uuid::now_v7().to_string();
        assert!(decode_cursor(&raw_uuid).is_err());
    }

    #[test]
    fn position_cursors_round_trip_and_are_not_id_cursors() {
        assert_eq!(decode_position(&encode_position(41)).unwrap(), 41);
        assert!(decode_position(&encode_cursor(Uuid::now_v7())).is_err());
        assert!(decode_cursor(&encode_position(3)).is_err());
        assert!(decode_position(&URL_SAFE_NO_PAD.encode("p1:-1")).is_err());
        let overflowing = URL_SAFE_NO_PAD.encode(format!("p1:{}", usize::MAX));
        assert!(decode_position(&overflowing).is_err());
    }

    #[test]
    fn key_cursors_round_trip_and_refuse_others() {
        let id = Uuid::now_v7();
        for key in [
            Key::Int(42),
            Key::Float(-1.0e9),
            Key::Float(1_234.567_890_123),
            Key::Time(chrono::Utc::now()),
        ] {
            let cursor = encode_key_cursor(&key, id).unwrap();
            assert_eq!(decode_key_cursor(&cursor).unwrap(), (key, id));
            assert!(decode_cursor(&cursor).is_err());
        }
        assert!(decode_key_cursor(&encode_cursor(id)).is_err());
        assert!(decode_key_cursor(&URL_SAFE_NO_PAD.encode("k1:[1]")).is_err());
    }

    proptest::proptest! {
        #[test]
        fn any_cursor_text_decodes_or_is_refused(text in ".{0,64}") {
            let _ = decode_cursor(&text);
        }
    }
}
