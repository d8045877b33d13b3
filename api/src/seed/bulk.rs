//! Writing many rows fast: `COPY` (text or binary) on PostgreSQL, multi-row
//! inserts on SQLite, one batch written while the next is generated, and
//! the indexes and keys set aside during the load and built again after.

use std::fmt;

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ConnectionTrait, DatabaseConnection, EntityTrait, TransactionTrait,
};
use uuid::Uuid;

use crate::error::{AppError, Result};
use crate::service::observatory::rollup;
use crate::sql::Sql;

/// Rows per multi-row insert: well under SQLite's and PostgreSQL's limits
/// on bound values.
pub(super) const CHUNK: usize = 1_000;
/// Rows of a big table held in memory before they are written.
pub const BULK_BATCH: usize = 200_000;

pub(super) async fn insert_chunked<A>(db: &DatabaseConnection, rows: Vec<A>) -> Result<()>
where
    A: ActiveModelTrait + Send,
{
    let txn = db.begin().await?;
    if db.get_database_backend() == sea_orm::DbBackend::Sqlite {
        // The server may be writing too (tests seed a running server).
        crate::db::take_sqlite_write_lock(&txn).await?;
    }
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<A> = rows.by_ref().take(CHUNK).collect();
        <A::Entity as EntityTrait>::insert_many(chunk)
            .exec_without_returning(&txn)
            .await?;
    }
    txn.commit().await?;
    Ok(())
}

/// A row of one of the big tables (members, their values and communities,
/// signatures, pledges, ratings), written
/// with `COPY` on PostgreSQL and multi-row inserts on SQLite.
pub(super) trait Bulk: Sized {
    /// `COPY table (columns) FROM STDIN`, in the order [`Bulk::ENCODING`]
    /// writes.
    const COPY: &'static str;
    type Active: ActiveModelTrait + Send;
    /// How the row goes into `COPY`.
    const ENCODING: Encoding<Self>;
    fn active(self) -> Self::Active;
}

/// Rows a `COPY` sends at a time.
pub(super) const COPY_CHUNK: usize = 50_000;

pub(super) async fn write_bulk<B: Bulk>(db: &DatabaseConnection, rows: Vec<B>) -> Result<()> {
    if db.get_database_backend() != sea_orm::DbBackend::Postgres {
        return insert_chunked(db, rows.into_iter().map(Bulk::active).collect()).await;
    }
    copy_rows(db, B::COPY, &rows, B::ENCODING).await
}

/// How a row goes into `COPY`: in its text format (tab-separated, `\N` for
/// null), or in its binary one, which costs the database about a third of
/// the text's work on uuids and timestamps (1.3 s against 4 s per million
/// signatures), for the tables of ten million rows.
pub(super) enum Encoding<R> {
    Text(fn(&R, &mut String)),
    Binary(fn(&R, &mut Binary)),
}

/// Sends `rows` to PostgreSQL's `copy` (`COPY … FROM STDIN`, to which the
/// binary encoding adds its option).
pub(super) async fn copy_rows<R>(
    db: &DatabaseConnection,
    copy: &str,
    rows: &[R],
    encoding: Encoding<R>,
) -> Result<()> {
    use sqlx::postgres::PgPoolCopyExt;
    // (A batch may be empty: the last one, when the rows fill the others
    // exactly.)
    if rows.is_empty() {
        return Ok(());
    }
    let failed = |err: sqlx::Error| AppError::Internal(format!("COPY failed: {err}"));
    let statement = match encoding {
        Encoding::Text(_) => copy.to_owned(),
        Encoding::Binary(_) => format!("{copy} (FORMAT binary)"),
    };
    let mut copy = db
        .get_postgres_connection_pool()
        .copy_in_raw(&statement)
        .await
        .map_err(failed)?;
    match encoding {
        Encoding::Text(line) => {
            let mut text = String::new();
            for chunk in rows.chunks(COPY_CHUNK) {
                text.clear();
                for row in chunk {
                    line(row, &mut text);
                }
                copy.send(text.as_bytes()).await.map_err(failed)?;
            }
        }
        Encoding::Binary(encode) => {
            // The header goes with the first rows, the trailer with the last.
            let mut binary = Binary::start();
            for (i, chunk) in rows.chunks(COPY_CHUNK).enumerate() {
                if i > 0 {
                    copy.send(binary.0.as_slice()).await.map_err(failed)?;
                    binary.0.clear();
                }
                for row in chunk {
                    encode(row, &mut binary);
                }
            }
            binary.0.extend_from_slice(&Binary::END);
            copy.send(binary.0.as_slice()).await.map_err(failed)?;
        }
    }
    copy.finish().await.map_err(failed)?;
    Ok(())
}

/// Rows in `COPY`'s binary format: each field's length (-1 for null), then
/// its bytes as the type's binary input reads them.
pub(super) struct Binary(Vec<u8>);

impl Binary {
    /// The trailer: a field count of -1.
    pub(super) const END: [u8; 2] = (-1i16).to_be_bytes();

    /// The signature, flags and header extension length.
    pub(super) fn start() -> Self {
        let mut out = b"PGCOPY\n\xff\r\n\0".to_vec();
        out.extend_from_slice(&0i32.to_be_bytes());
        out.extend_from_slice(&0i32.to_be_bytes());
        Self(out)
    }

    pub(super) fn row(&mut self, fields: i16) -> &mut Self {
        self.0.extend_from_slice(&fields.to_be_bytes());
        self
    }

    pub(super) fn field(&mut self, bytes: &[u8]) -> &mut Self {
        self.0
            .extend_from_slice(&(bytes.len() as i32).to_be_bytes());
        self.0.extend_from_slice(bytes);
        self
    }

    pub(super) fn uuid(&mut self, id: Uuid) -> &mut Self {
        self.field(id.as_bytes())
    }

    /// Text, and anything stored as text (`varchar`).
    pub(super) fn text(&mut self, text: &str) -> &mut Self {
        self.field(text.as_bytes())
    }

    pub(super) fn bool(&mut self, value: bool) -> &mut Self {
        self.field(&[u8::from(value)])
    }

    pub(super) fn int4(&mut self, value: i32) -> &mut Self {
        self.field(&value.to_be_bytes())
    }

    /// A `timestamptz`: microseconds since 2000-01-01 UTC.
    pub(super) fn time(&mut self, at: DateTime<Utc>) -> &mut Self {
        const EPOCH_2000: i64 = 946_684_800_000_000;
        self.field(&(at.timestamp_micros() - EPOCH_2000).to_be_bytes())
    }
}

/// Writes the batches of a big table one behind the generator: the next
/// batch is generated while the database takes the previous one.
#[derive(Default)]
pub(super) struct Behind {
    pending: Option<tokio::task::JoinHandle<Result<()>>>,
}

impl Behind {
    /// Starts `write` once the previous write is done.
    pub(super) async fn send(
        &mut self,
        write: impl std::future::Future<Output = Result<()>> + Send + 'static,
    ) -> Result<()> {
        self.finish().await?;
        self.pending = Some(tokio::spawn(write));
        Ok(())
    }

    pub(super) async fn write_bulk<B>(
        &mut self,
        db: &DatabaseConnection,
        rows: Vec<B>,
    ) -> Result<()>
    where
        B: Bulk + Send + Sync + 'static,
    {
        let db = db.clone();
        self.send(async move { write_bulk(&db, rows).await }).await
    }

    /// Waits for the write in flight.
    pub(super) async fn finish(&mut self) -> Result<()> {
        match self.pending.take() {
            Some(write) => write
                .await
                .map_err(|err| AppError::Internal(format!("seed write: {err}")))?,
            None => Ok(()),
        }
    }
}

/// A row of a rollup table the seed writes itself (no entity maps them):
/// `COPY` on PostgreSQL, multi-row inserts of its values on SQLite.
pub(super) trait RollupRow: Sized {
    const TABLE: &'static str;
    /// The columns [`RollupRow::ENCODING`] and [`RollupRow::values`] give, in
    /// order.
    fn columns() -> Vec<&'static str>;
    /// How the row goes into `COPY`.
    const ENCODING: Encoding<Self>;
    /// The row's values, in the columns' order.
    fn values(&self) -> Vec<sea_orm::Value>;
}

pub(super) async fn write_rollup_rows<K: RollupRow>(
    db: &DatabaseConnection,
    rows: Vec<K>,
) -> Result<()> {
    let backend = db.get_database_backend();
    let into = format!("{} ({})", K::TABLE, K::columns().join(", "));
    if backend == sea_orm::DbBackend::Postgres {
        let copy = format!("COPY {into} FROM STDIN");
        return copy_rows(db, &copy, &rows, K::ENCODING).await;
    }
    let txn = db.begin().await?;
    crate::db::take_sqlite_write_lock(&txn).await?;
    for chunk in rows.chunks(CHUNK) {
        let mut sql = Sql::new(backend);
        sql.push(&format!("INSERT INTO {into} VALUES "));
        for (i, row) in chunk.iter().enumerate() {
            sql.push_row(i == 0, row.values());
        }
        txn.execute_raw(sql.build()).await?;
    }
    txn.commit().await?;
    Ok(())
}

/// On PostgreSQL, drops the secondary indexes of `tables` (those that back
/// no constraint), their foreign keys and the primary keys nothing refers
/// to, and returns their definitions (primary keys first), to run again
/// once the
/// rows are in (a seed that fails halfway leaves them out: seed a fresh
/// database again). Nothing on SQLite.
pub(super) async fn set_aside_indexes(
    db: &DatabaseConnection,
    tables: &[&str],
) -> Result<Vec<String>> {
    if db.get_database_backend() != sea_orm::DbBackend::Postgres {
        return Ok(Vec::new());
    }
    let list = tables
        .iter()
        .map(|table| format!("'{table}'"))
        .collect::<Vec<_>>()
        .join(", ");
    let rows = db
        .query_all_raw(sea_orm::Statement::from_string(
            sea_orm::DbBackend::Postgres,
            format!(
                "SELECT i.indexname, i.indexdef FROM pg_indexes i \
                 WHERE i.schemaname = current_schema() AND i.tablename IN ({list}) \
                 AND NOT EXISTS (SELECT 1 FROM pg_constraint c \
                   WHERE c.conname = i.indexname \
                   AND c.connamespace = (SELECT oid FROM pg_namespace WHERE nspname = current_schema()))"
            ),
        ))
        .await?;
    let mut definitions = Vec::with_capacity(rows.len());
    for row in rows {
        let name: String = row.try_get_by_index(0)?;
        definitions.push(row.try_get_by_index::<String>(1)?);
        db.execute_unprepared(&format!("DROP INDEX \"{name}\""))
            .await?;
    }
    // Foreign keys too: checked row by row they halve the load's speed;
    // added again, each is checked in one join.
    definitions.extend(set_aside_constraints(db, &list, "contype = 'f'").await?);
    // Primary keys nothing refers to as well, built first when they return.
    let mut keys_first = set_aside_constraints(
        db,
        &list,
        "contype = 'p' AND NOT EXISTS (SELECT 1 FROM pg_constraint f WHERE f.confrelid = k.conrelid)",
    )
    .await?;
    keys_first.extend(definitions);
    Ok(keys_first)
}

/// Runs the statements [`set_aside_indexes`] returned (and the
/// contributors' keys), in order, `builds` at a time on as many
/// connections, each with the bulk sort memory. PostgreSQL sorts each index
/// with its parallel workers but writes it alone; a second build meanwhile
/// keeps the cores busy. Builds on one table share its lock; a key or a
/// foreign key waits for the builds on its table, and they for it.
pub(super) async fn build_again(
    db: &DatabaseConnection,
    statements: Vec<String>,
    builds: u32,
) -> Result<()> {
    use std::sync::Arc;
    let queue = Arc::new(tokio::sync::Mutex::new(std::collections::VecDeque::from(
        statements,
    )));
    let mut builders = tokio::task::JoinSet::new();
    for _ in 0..builds.max(1) {
        let db = db.clone();
        let queue = Arc::clone(&queue);
        builders.spawn(async move {
            loop {
                let next = queue.lock().await.pop_front();
                let Some(statement) = next else {
                    return Ok::<(), AppError>(());
                };
                let txn = db.begin().await?;
                txn.execute_unprepared(rollup::BULK_SORT_MEMORY).await?;
                txn.execute_unprepared(&statement).await?;
                txn.commit().await?;
            }
        });
    }
    while let Some(built) = builders.join_next().await {
        built.map_err(|err| AppError::Internal(format!("index build: {err}")))??;
    }
    Ok(())
}

/// Drops the constraints `condition` picks (on `pg_constraint k`) of the
/// tables in `list` (quoted names) and returns the statements adding them
/// back.
pub(super) async fn set_aside_constraints(
    db: &DatabaseConnection,
    list: &str,
    condition: &str,
) -> Result<Vec<String>> {
    let rows = db
        .query_all_raw(sea_orm::Statement::from_string(
            sea_orm::DbBackend::Postgres,
            format!(
                "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint k \
                 WHERE {condition} AND conrelid IN (SELECT c.oid FROM pg_class c \
                   JOIN pg_namespace n ON n.oid = c.relnamespace \
                   WHERE n.nspname = current_schema() AND c.relname IN ({list}))"
            ),
        ))
        .await?;
    let mut definitions = Vec::with_capacity(rows.len());
    for row in rows {
        let table: String = row.try_get_by_index(0)?;
        let name: String = row.try_get_by_index(1)?;
        let definition: String = row.try_get_by_index(2)?;
        db.execute_unprepared(&format!("ALTER TABLE {table} DROP CONSTRAINT \"{name}\""))
            .await?;
        definitions.push(format!(
            "ALTER TABLE {table} ADD CONSTRAINT \"{name}\" {definition}"
        ));
    }
    Ok(definitions)
}

/// A timestamp as `COPY` reads it.
pub(super) fn copy_time(at: DateTime<Utc>) -> impl fmt::Display {
    at.format("%Y-%m-%d %H:%M:%S%.6f+00")
}
