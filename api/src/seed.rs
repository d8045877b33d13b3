//! A deterministic data set of any size, for benchmarks and demos: members
//! (with their values), communities, producers, campaigns (texts in French
//! and English), signatures, ratings, pledges and responses, written in bulk
//! (`COPY` on PostgreSQL, multi-row inserts on SQLite; not the API), then the
//! rollups: on a database without any, the seed counts their atoms and
//! contributors as it generates the rows and writes them itself (the rest is
//! recomputed from them); otherwise it rebuilds them all. The same `--seed`
//! gives the same data.
//!
//! Activity is skewed like real life: a few producers draw most campaigns,
//! signatures and ratings, and most have little, so the data set exercises
//! suppression as much as the big numbers.

use std::collections::HashMap;
use std::fmt;

use chrono::{DateTime, Datelike, Duration, Months, NaiveDate, TimeZone, Utc};
use entities::campaign::{CampaignKind, CampaignStatus};
use entities::community_member::MembershipRole;
use entities::member::Role;
use entities::pledge::{PledgeKind, PledgeStatus};
use entities::producer::ProducerKind;
use entities::producer_response::CommitmentStatus;
use entities::signature::SignatureStatus;
use entities::trust_rating::Dimension;
use entities::{
    campaign, campaign_value_tag, community, community_member, community_value_tag, member,
    member_value_tag, pledge, producer, producer_response, signature, trust_rating, value_tag,
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    Set, TransactionTrait,
};
use uuid::Uuid;

use crate::config::Config;
use crate::config::Grain;
use crate::error::{AppError, Result};
use crate::service::identity::hashing::Passwords;
use crate::service::observatory::rollup;
use crate::service::signing::kept;
use crate::sql::Sql;

/// How much to generate.
#[derive(clap::Args, Clone, Debug)]
pub struct SeedArgs {
    /// Signatures to create.
    #[arg(long, default_value_t = 100_000)]
    pub signatures: u64,
    /// Trust ratings to create (one per member, producer, dimension and month).
    #[arg(long, default_value_t = 10_000)]
    pub ratings: u64,
    /// Producers to create.
    #[arg(long, default_value_t = 1_000)]
    pub producers: u64,
    /// Members to create; 0 picks one per 20 signatures (at least 2 000).
    #[arg(long, default_value_t = 0)]
    pub members: u64,
    /// Communities to create.
    #[arg(long, default_value_t = 20)]
    pub communities: u64,
    /// Campaigns per producer, on average.
    #[arg(long, default_value_t = 4)]
    pub campaigns_per_producer: u64,
    /// Months of history, ending now.
    #[arg(long, default_value_t = 12)]
    pub months: u32,
    /// Seed of the generator: the same seed gives the same data.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Indexes and keys built at once after the load, on PostgreSQL.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=8))]
    pub index_builds: u32,
}

/// What a seeding run wrote.
#[derive(Debug, Default)]
pub struct Report {
    pub members: u64,
    pub producers: u64,
    pub communities: u64,
    pub campaigns: u64,
    pub signatures: u64,
    pub ratings: u64,
    pub pledges: u64,
    pub responses: u64,
    pub atoms: u64,
    pub seconds: f64,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "seeded {} members, {} communities, {} producers, {} campaigns, {} signatures, {} ratings, {} pledges, {} responses; {} rollup atoms; {:.1} s",
            self.members,
            self.communities,
            self.producers,
            self.campaigns,
            self.signatures,
            self.ratings,
            self.pledges,
            self.responses,
            self.atoms,
            self.seconds
        )
    }
}

/// SplitMix64: small, fast and deterministic, which is all seeding needs.
#[derive(Clone)]
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next() % n }
    }

    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// A skewed index in `0..n`: low indexes are far more likely.
    fn skewed(&mut self, n: u64) -> u64 {
        let u = self.unit();
        ((u * u * u) * n as f64) as u64 % n.max(1)
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    /// A time-ordered id for `at`, from the generator's bits.
    fn id_at(&mut self, at: DateTime<Utc>) -> Uuid {
        let mut random = [0u8; 10];
        random[..8].copy_from_slice(&self.next().to_le_bytes());
        random[8..].copy_from_slice(&self.next().to_le_bytes()[..2]);
        uuid::Builder::from_unix_timestamp_millis(at.timestamp_millis().max(0) as u64, &random)
            .into_uuid()
    }
}

const SECTORS: &[&str] = &[
    "food",
    "beverages",
    "cosmetics",
    "clothing",
    "energy",
    "banking",
    "telecom",
    "retail",
    "household",
    "toys",
    "electronics",
    "travel",
];
/// What seeded communities and campaigns are about, in French and English:
/// (value tag, short name fr, short name en, demand fr, demand en).
const TOPICS: &[(&str, &str, &str, &str, &str)] = &[
    (
        "allergen-labelling",
        "Allergies",
        "Allergies",
        "l'étiquetage des allergènes en gros caractères",
        "clear allergen labelling in large print",
    ),
    (
        "palm-oil-free",
        "Sans huile de palme",
        "Palm-oil free",
        "des recettes sans huile de palme",
        "recipes without palm oil",
    ),
    (
        "local",
        "Consommer local",
        "Buy local",
        "des produits locaux dans chaque rayon",
        "local products on every shelf",
    ),
    (
        "fair-trade",
        "Commerce équitable",
        "Fair trade",
        "un cacao issu du commerce équitable",
        "fair-trade cocoa",
    ),
    (
        "vegan",
        "Végans",
        "Vegans",
        "une gamme végétale complète",
        "a complete plant-based range",
    ),
    (
        "zero-waste",
        "Zéro déchet",
        "Zero waste",
        "la fin des emballages jetables",
        "an end to throwaway packaging",
    ),
    (
        "repairable",
        "Réparer plutôt que jeter",
        "Repair, not replace",
        "des pièces détachées pendant dix ans",
        "spare parts for ten years",
    ),
    (
        "animal-welfare",
        "Bien-être animal",
        "Animal welfare",
        "des œufs de poules élevées en plein air",
        "eggs from free-range hens",
    ),
    (
        "living-wage",
        "Salaire décent",
        "Living wage",
        "un salaire décent pour les producteurs",
        "a living wage for growers",
    ),
    (
        "low-carbon",
        "Bas carbone",
        "Low carbon",
        "des livraisons à faible émission de carbone",
        "low-carbon deliveries",
    ),
    (
        "gluten-free",
        "Sans gluten",
        "Gluten free",
        "des produits sans gluten certifiés",
        "certified gluten-free products",
    ),
    (
        "halal",
        "Halal",
        "Halal",
        "une certification halal vérifiable",
        "verifiable halal certification",
    ),
    (
        "organic",
        "Bio",
        "Organic",
        "des ingrédients issus de l'agriculture biologique",
        "organic ingredients",
    ),
    (
        "seasonal",
        "De saison",
        "In season",
        "des fruits et légumes de saison",
        "seasonal fruit and vegetables",
    ),
    (
        "data-privacy",
        "Vie privée",
        "Privacy",
        "le respect des données personnelles des clients",
        "respect for customers' personal data",
    ),
    (
        "workers-rights",
        "Droits des salariés",
        "Workers' rights",
        "le respect des droits syndicaux",
        "respect for union rights",
    ),
];
const TERRITORIES: &[&str] = &[
    "FR", "FR-IDF", "FR-ARA", "DE", "ES", "IT", "BE", "NL", "GB", "US", "CA", "PT",
];
const KINDS: &[ProducerKind] = &[
    ProducerKind::Cooperative,
    ProducerKind::SoleTrader,
    ProducerKind::Sme,
    ProducerKind::Sme,
    ProducerKind::LargeGroup,
    ProducerKind::LargeGroup,
    ProducerKind::NonProfit,
];
const CAMPAIGN_KINDS: &[CampaignKind] = &[
    CampaignKind::Petition,
    CampaignKind::Petition,
    CampaignKind::Boycott,
    CampaignKind::Buycott,
];
const PLEDGE_KINDS: &[PledgeKind] = &[
    PledgeKind::Buy,
    PledgeKind::Buy,
    PledgeKind::Avoid,
    PledgeKind::Switch,
    PledgeKind::Reduce,
];
const DIMENSIONS: [Dimension; 4] = [
    Dimension::Transparency,
    Dimension::Fairness,
    Dimension::CommitmentKeeping,
    Dimension::Quality,
];
/// Rows per multi-row insert: well under SQLite's and PostgreSQL's limits
/// on bound values.
const CHUNK: usize = 1_000;
/// Rows of a big table held in memory before they are written.
pub const BULK_BATCH: usize = 200_000;

async fn insert_chunked<A>(db: &DatabaseConnection, rows: Vec<A>) -> Result<()>
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
trait Bulk: Sized {
    /// `COPY table (columns) FROM STDIN`, in the order [`Bulk::ENCODING`]
    /// writes.
    const COPY: &'static str;
    type Active: ActiveModelTrait + Send;
    /// How the row goes into `COPY`.
    const ENCODING: Encoding<Self>;
    fn active(self) -> Self::Active;
}

/// Rows a `COPY` sends at a time.
const COPY_CHUNK: usize = 50_000;

async fn write_bulk<B: Bulk>(db: &DatabaseConnection, rows: Vec<B>) -> Result<()> {
    if db.get_database_backend() != sea_orm::DbBackend::Postgres {
        return insert_chunked(db, rows.into_iter().map(Bulk::active).collect()).await;
    }
    copy_rows(db, B::COPY, &rows, B::ENCODING).await
}

/// How a row goes into `COPY`: in its text format (tab-separated, `\N` for
/// null), or in its binary one, which costs the database about a third of
/// the text's work on uuids and timestamps (1.3 s against 4 s per million
/// signatures), for the tables of ten million rows.
enum Encoding<R> {
    Text(fn(&R, &mut String)),
    Binary(fn(&R, &mut Binary)),
}

/// Sends `rows` to PostgreSQL's `copy` (`COPY … FROM STDIN`, to which the
/// binary encoding adds its option).
async fn copy_rows<R>(
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
struct Binary(Vec<u8>);

impl Binary {
    /// The trailer: a field count of -1.
    const END: [u8; 2] = (-1i16).to_be_bytes();

    /// The signature, flags and header extension length.
    fn start() -> Self {
        let mut out = b"PGCOPY\n\xff\r\n\0".to_vec();
        out.extend_from_slice(&0i32.to_be_bytes());
        out.extend_from_slice(&0i32.to_be_bytes());
        Self(out)
    }

    fn row(&mut self, fields: i16) -> &mut Self {
        self.0.extend_from_slice(&fields.to_be_bytes());
        self
    }

    fn field(&mut self, bytes: &[u8]) -> &mut Self {
        self.0
            .extend_from_slice(&(bytes.len() as i32).to_be_bytes());
        self.0.extend_from_slice(bytes);
        self
    }

    fn uuid(&mut self, id: Uuid) -> &mut Self {
        self.field(id.as_bytes())
    }

    /// Text, and anything stored as text (`varchar`).
    fn text(&mut self, text: &str) -> &mut Self {
        self.field(text.as_bytes())
    }

    fn bool(&mut self, value: bool) -> &mut Self {
        self.field(&[u8::from(value)])
    }

    fn int4(&mut self, value: i32) -> &mut Self {
        self.field(&value.to_be_bytes())
    }

    /// A `timestamptz`: microseconds since 2000-01-01 UTC.
    fn time(&mut self, at: DateTime<Utc>) -> &mut Self {
        const EPOCH_2000: i64 = 946_684_800_000_000;
        self.field(&(at.timestamp_micros() - EPOCH_2000).to_be_bytes())
    }
}

/// Writes the batches of a big table one behind the generator: the next
/// batch is generated while the database takes the previous one.
#[derive(Default)]
struct Behind {
    pending: Option<tokio::task::JoinHandle<Result<()>>>,
}

impl Behind {
    /// Starts `write` once the previous write is done.
    async fn send(
        &mut self,
        write: impl std::future::Future<Output = Result<()>> + Send + 'static,
    ) -> Result<()> {
        self.finish().await?;
        self.pending = Some(tokio::spawn(write));
        Ok(())
    }

    async fn write_bulk<B>(&mut self, db: &DatabaseConnection, rows: Vec<B>) -> Result<()>
    where
        B: Bulk + Send + Sync + 'static,
    {
        let db = db.clone();
        self.send(async move { write_bulk(&db, rows).await }).await
    }

    /// Waits for the write in flight.
    async fn finish(&mut self) -> Result<()> {
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
trait KeptRow: Sized {
    const TABLE: &'static str;
    /// The columns [`KeptRow::ENCODING`] and [`KeptRow::values`] give, in
    /// order.
    fn columns() -> Vec<&'static str>;
    /// How the row goes into `COPY`.
    const ENCODING: Encoding<Self>;
    /// The row's values, in the columns' order.
    fn values(&self) -> Vec<sea_orm::Value>;
}

async fn write_kept<K: KeptRow>(db: &DatabaseConnection, rows: Vec<K>) -> Result<()> {
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
async fn set_aside_indexes(db: &DatabaseConnection, tables: &[&str]) -> Result<Vec<String>> {
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
async fn build_again(db: &DatabaseConnection, statements: Vec<String>, builds: u32) -> Result<()> {
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
async fn set_aside_constraints(
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
fn copy_time(at: DateTime<Utc>) -> impl fmt::Display {
    at.format("%Y-%m-%d %H:%M:%S%.6f+00")
}

struct SeedMember {
    id: Uuid,
    handle: String,
    number: u64,
    territory: &'static str,
    password_hash: String,
    at: DateTime<Utc>,
}

impl SeedMember {
    fn email(&self) -> String {
        format!("{}@example.invalid", self.handle)
    }

    fn locale(&self) -> &'static str {
        if self.number.is_multiple_of(2) {
            "fr"
        } else {
            "en"
        }
    }
}

impl Bulk for SeedMember {
    const COPY: &'static str = "COPY member (id, handle, handle_key, email, email_key, \
        email_confirmed_at, locale, password_hash, display_name, role, territory, \
        notify_milestones, notify_responses, notify_commitments, notify_updates, \
        notify_new_campaigns, use_activity_signals, created_at, updated_at) FROM STDIN";
    type Active = member::ActiveModel;
    const ENCODING: Encoding<Self> = Encoding::Text(Self::line);
    fn active(self) -> member::ActiveModel {
        let email = self.email();
        member::ActiveModel {
            id: Set(self.id),
            handle_key: Set(self.handle.clone()),
            email: Set(email.clone()),
            email_key: Set(email),
            email_confirmed_at: Set(Some(self.at)),
            locale: Set(self.locale().to_owned()),
            display_name: Set(format!("Member {}", self.number)),
            handle: Set(self.handle),
            password_hash: Set(self.password_hash),
            role: Set(Role::Member),
            territory: Set(Some(self.territory.to_owned())),
            notify_milestones: Set(true),
            notify_responses: Set(true),
            notify_commitments: Set(true),
            notify_updates: Set(true),
            notify_new_campaigns: Set(true),
            use_activity_signals: Set(true),
            created_at: Set(self.at),
            updated_at: Set(self.at),
        }
    }
}

impl SeedMember {
    fn line(&self, out: &mut String) {
        use sea_orm::ActiveEnum;
        use std::fmt::Write;
        // Generated handles, addresses and hashes hold no tab, newline or
        // backslash: nothing to escape.
        let at = copy_time(self.at);
        let email = self.email();
        let _ = writeln!(
            out,
            "{}\t{handle}\t{handle}\t{email}\t{email}\t{at}\t{}\t{}\tMember {}\t{}\t{}\tt\tt\tt\tt\tt\tt\t{at}\t{at}",
            self.id,
            self.locale(),
            self.password_hash,
            self.number,
            Role::Member.to_value(),
            self.territory,
            handle = self.handle,
        );
    }
}

struct SeedMemberValue {
    member_id: Uuid,
    value_tag_id: Uuid,
}

impl Bulk for SeedMemberValue {
    const COPY: &'static str = "COPY member_value_tag (member_id, value_tag_id) FROM STDIN";
    type Active = member_value_tag::ActiveModel;
    const ENCODING: Encoding<Self> = Encoding::Text(Self::line);
    fn active(self) -> member_value_tag::ActiveModel {
        member_value_tag::ActiveModel {
            member_id: Set(self.member_id),
            value_tag_id: Set(self.value_tag_id),
        }
    }
}

impl SeedMemberValue {
    fn line(&self, out: &mut String) {
        use std::fmt::Write;
        let _ = writeln!(out, "{}\t{}", self.member_id, self.value_tag_id);
    }
}

/// A member joining a community.
struct SeedJoin {
    community_id: Uuid,
    member_id: Uuid,
    joined_at: DateTime<Utc>,
}

impl Bulk for SeedJoin {
    const COPY: &'static str =
        "COPY community_member (community_id, member_id, role, joined_at) FROM STDIN";
    type Active = community_member::ActiveModel;
    const ENCODING: Encoding<Self> = Encoding::Text(Self::line);
    fn active(self) -> community_member::ActiveModel {
        community_member::ActiveModel {
            community_id: Set(self.community_id),
            member_id: Set(self.member_id),
            role: Set(MembershipRole::Member),
            joined_at: Set(self.joined_at),
        }
    }
}

impl SeedJoin {
    fn line(&self, out: &mut String) {
        use sea_orm::ActiveEnum;
        use std::fmt::Write;
        let _ = writeln!(
            out,
            "{}\t{}\t{}\t{}",
            self.community_id,
            self.member_id,
            MembershipRole::Member.to_value(),
            copy_time(self.joined_at),
        );
    }
}

struct SeedSignature {
    id: Uuid,
    campaign_id: Uuid,
    member_id: Uuid,
    anonymous: bool,
    created_at: DateTime<Utc>,
}

impl Bulk for SeedSignature {
    const COPY: &'static str =
        "COPY signature (id, campaign_id, member_id, anonymous, status, created_at) FROM STDIN";
    type Active = signature::ActiveModel;
    const ENCODING: Encoding<Self> = Encoding::Binary(Self::encode);
    fn active(self) -> signature::ActiveModel {
        signature::ActiveModel {
            id: Set(self.id),
            campaign_id: Set(self.campaign_id),
            member_id: Set(Some(self.member_id)),
            comment: Set(None),
            anonymous: Set(self.anonymous),
            territory: Set(None),
            hidden_at: Set(None),
            hidden_scope: Set(None),
            status: Set(SignatureStatus::Counted),
            source_key: Set(None),
            email_domain: Set(None),
            invalidation_id: Set(None),
            held_by: Set(None),
            created_at: Set(self.created_at),
        }
    }
}

impl SeedSignature {
    fn encode(&self, out: &mut Binary) {
        out.row(6)
            .uuid(self.id)
            .uuid(self.campaign_id)
            .uuid(self.member_id)
            .bool(self.anonymous)
            .text("COUNTED")
            .time(self.created_at);
    }
}

struct SeedPledge {
    id: Uuid,
    campaign_id: Uuid,
    member_id: Uuid,
    kind: PledgeKind,
    monthly_amount_cents: Option<i64>,
    at: DateTime<Utc>,
}

impl Bulk for SeedPledge {
    const COPY: &'static str = "COPY pledge (id, campaign_id, member_id, kind, monthly_amount_cents, \
        status, activated_at, created_at, updated_at) FROM STDIN";
    type Active = pledge::ActiveModel;
    const ENCODING: Encoding<Self> = Encoding::Text(Self::line);
    fn active(self) -> pledge::ActiveModel {
        pledge::ActiveModel {
            id: Set(self.id),
            campaign_id: Set(self.campaign_id),
            member_id: Set(Some(self.member_id)),
            kind: Set(self.kind),
            monthly_amount_cents: Set(self.monthly_amount_cents),
            activation_threshold: Set(None),
            status: Set(PledgeStatus::Active),
            activated_at: Set(Some(self.at)),
            closed_at: Set(None),
            created_at: Set(self.at),
            updated_at: Set(self.at),
        }
    }
}

impl SeedPledge {
    fn line(&self, out: &mut String) {
        use sea_orm::ActiveEnum;
        use std::fmt::Write;
        let at = copy_time(self.at);
        let _ = writeln!(
            out,
            "{}\t{}\t{}\t{}\t{}\t{}\t{at}\t{at}\t{at}",
            self.id,
            self.campaign_id,
            self.member_id,
            self.kind.to_value(),
            self.monthly_amount_cents
                .map_or_else(|| "\\N".to_owned(), |cents| cents.to_string()),
            PledgeStatus::Active.to_value(),
        );
    }
}

struct SeedRating {
    id: Uuid,
    member_id: Uuid,
    producer_id: Uuid,
    dimension: Dimension,
    score: i16,
    at: DateTime<Utc>,
}

impl Bulk for SeedRating {
    const COPY: &'static str = "COPY trust_rating (id, member_id, producer_id, dimension, score, \
        period, created_at, updated_at) FROM STDIN";
    type Active = trust_rating::ActiveModel;
    const ENCODING: Encoding<Self> = Encoding::Text(Self::line);
    fn active(self) -> trust_rating::ActiveModel {
        trust_rating::ActiveModel {
            id: Set(self.id),
            member_id: Set(Some(self.member_id)),
            producer_id: Set(self.producer_id),
            dimension: Set(self.dimension),
            score: Set(self.score),
            period: Set(self.at.format("%Y-%m").to_string()),
            created_at: Set(self.at),
            updated_at: Set(self.at),
        }
    }
}

impl SeedRating {
    fn line(&self, out: &mut String) {
        use sea_orm::ActiveEnum;
        use std::fmt::Write;
        let at = copy_time(self.at);
        let _ = writeln!(
            out,
            "{}\t{}\t{}\t{}\t{}\t{}\t{at}\t{at}",
            self.id,
            self.member_id,
            self.producer_id,
            self.dimension.to_value(),
            self.score,
            self.at.format("%Y-%m"),
        );
    }
}

struct SeedContributor {
    producer_id: Uuid,
    period: NaiveDate,
    member_id: Uuid,
    weight: i32,
}

impl KeptRow for SeedContributor {
    const TABLE: &'static str = "obs_contributor";
    fn columns() -> Vec<&'static str> {
        vec!["producer_id", "period_start", "member_id", "weight"]
    }
    const ENCODING: Encoding<Self> = Encoding::Binary(Self::encode);
    fn values(&self) -> Vec<sea_orm::Value> {
        vec![
            self.producer_id.into(),
            self.period.format("%Y-%m-%d").to_string().into(),
            self.member_id.into(),
            self.weight.into(),
        ]
    }
}

impl SeedContributor {
    fn encode(&self, out: &mut Binary) {
        out.row(4)
            .uuid(self.producer_id)
            .text(&self.period.format("%Y-%m-%d").to_string())
            .uuid(self.member_id)
            .int4(self.weight);
    }
}

struct SeedAtom {
    producer_id: Uuid,
    period: NaiveDate,
    members: i64,
    /// [`rollup::COUNT_COLUMNS`], in order.
    counts: [i64; 14],
}

impl KeptRow for SeedAtom {
    const TABLE: &'static str = "obs_atom";
    fn columns() -> Vec<&'static str> {
        ["producer_id", "period_start", "members"]
            .into_iter()
            .chain(rollup::COUNT_COLUMNS)
            .collect()
    }
    const ENCODING: Encoding<Self> = Encoding::Text(Self::line);
    fn values(&self) -> Vec<sea_orm::Value> {
        [
            self.producer_id.into(),
            self.period.format("%Y-%m-%d").to_string().into(),
            self.members.into(),
        ]
        .into_iter()
        .chain(self.counts.iter().map(|&count| count.into()))
        .collect()
    }
}

impl SeedAtom {
    fn line(&self, out: &mut String) {
        use std::fmt::Write;
        let _ = write!(
            out,
            "{}\t{}\t{}",
            self.producer_id,
            self.period.format("%Y-%m-%d"),
            self.members
        );
        for count in self.counts {
            let _ = write!(out, "\t{count}");
        }
        out.push('\n');
    }
}

/// The rollups' atoms and contributors, counted as the rows are generated.
/// Grouping the contributions of millions of rows by (producer, period,
/// member) is the slowest part of a rebuild; here it is one sort in memory,
/// and the rows go in already in their key's order.
struct Tally {
    grain: Grain,
    producers: Ranked,
    members: Ranked,
    /// (producer rank, period, member rank), one per contribution.
    contributions: Vec<(u32, NaiveDate, u32)>,
    /// Each atom's count columns ([`rollup::COUNT_COLUMNS`]).
    atoms: HashMap<(u32, NaiveDate), [i64; 14]>,
}

/// Ids by their rank in the database's order, and each one's rank by its
/// place in the generator's list.
struct Ranked {
    ids: Vec<Uuid>,
    rank: Vec<u32>,
}

impl Ranked {
    fn new(ids: &[Uuid]) -> Self {
        let mut order: Vec<u32> = (0..ids.len() as u32).collect();
        // PostgreSQL orders uuids as bytes, as `Uuid`'s `Ord` does.
        order.sort_unstable_by_key(|&i| ids[i as usize]);
        let mut rank = vec![0; ids.len()];
        for (position, &i) in order.iter().enumerate() {
            rank[i as usize] = position as u32;
        }
        Self {
            ids: order.iter().map(|&i| ids[i as usize]).collect(),
            rank,
        }
    }
}

impl Tally {
    fn new(grain: Grain, producers: &[Uuid], members: &[Uuid]) -> Self {
        Self {
            grain,
            producers: Ranked::new(producers),
            members: Ranked::new(members),
            contributions: Vec::new(),
            atoms: HashMap::new(),
        }
    }

    /// What member `member` (index) did at `at` on producer `producer`
    /// (index): one contribution, and `delta` to the atom.
    fn add(&mut self, producer: usize, at: DateTime<Utc>, member: usize, delta: &rollup::Delta) {
        let producer = self.producers.rank[producer];
        let period = rollup::period_day(self.grain, at);
        self.contributions
            .push((producer, period, self.members.rank[member]));
        let atom = self.atoms.entry((producer, period)).or_insert([0; 14]);
        for (sum, value) in atom.iter_mut().zip(delta.values()) {
            *sum += value;
        }
    }

    /// Writes the contributors (a weight per member and atom) and the atoms
    /// (with their distinct members), in key order; returns the atoms
    /// written.
    async fn write(mut self, db: &DatabaseConnection) -> Result<u64> {
        self.contributions.sort_unstable();
        let mut atoms: Vec<_> = self.atoms.into_iter().collect();
        atoms.sort_unstable_by_key(|(key, _)| *key);
        let mut members = vec![0i64; atoms.len()];
        let (mut batch, mut atom) = (Vec::with_capacity(BULK_BATCH), 0);
        let mut behind = Behind::default();
        for run in self.contributions.chunk_by(|a, b| a == b) {
            let (producer, period, member) = run[0];
            // Both are in key order, and every contribution has its atom.
            while atoms[atom].0 != (producer, period) {
                atom += 1;
            }
            members[atom] += 1;
            batch.push(SeedContributor {
                producer_id: self.producers.ids[producer as usize],
                period,
                member_id: self.members.ids[member as usize],
                weight: run.len() as i32,
            });
            if batch.len() >= BULK_BATCH {
                let (db, rows) = (db.clone(), std::mem::take(&mut batch));
                behind
                    .send(async move { write_kept(&db, rows).await })
                    .await?;
            }
        }
        behind.finish().await?;
        write_kept(db, batch).await?;
        let count = atoms.len() as u64;
        let rows = atoms
            .into_iter()
            .zip(members)
            .map(|(((producer, period), counts), members)| SeedAtom {
                producer_id: self.producers.ids[producer as usize],
                period,
                members,
                counts,
            })
            .collect();
        write_kept(db, rows).await?;
        Ok(count)
    }
}

/// Writes the data set and rebuilds the rollups.
pub async fn run(db: &DatabaseConnection, config: &Config, args: &SeedArgs) -> Result<Report> {
    let started = std::time::Instant::now();
    let mut rng = Rng(args.seed);
    let now = Utc::now();
    let start = now - Duration::days(30 * i64::from(args.months.max(1)));
    let span = (now - start).num_seconds().max(1) as u64;
    let mut report = Report::default();
    let tag = format!("s{}", args.seed);

    // Members share one password hash: seeding is not about logging in.
    let password_hash = Passwords::new(config.argon2_memory_kib.min(1_024), 1)
        .map_err(|err| AppError::Internal(err.to_string()))?
        .hash(format!("{tag}-password"))
        .await?;
    // The same data set twice would only fail when its unique keys come
    // back, after the load, with the tables' indexes still set aside.
    let first_handle = format!("{tag}-member-{:07}", 0);
    let present = member::Entity::find()
        .filter(member::Column::HandleKey.eq(first_handle))
        .one(db)
        .await?;
    if present.is_some() {
        return Err(AppError::Conflict(format!(
            "the data set of --seed {} is already in this database: pick another --seed to add a second one beside it",
            args.seed
        )));
    }
    let member_count = if args.members == 0 {
        (args.signatures / 20).max(2_000)
    } else {
        args.members
    };
    // The big tables fill several times faster without their secondary
    // indexes and keys, built again afterwards in one pass each.
    // The seed counts the rollups' atoms and contributors itself, unless
    // the database holds some already (another data set, or a server's
    // writes): then it rebuilds them all from the rows.
    let counting = rollups_empty(db).await?;
    if counting {
        rollup::set_aside_contributor_keys(db).await?;
    }
    let mut indexes = set_aside_indexes(
        db,
        &[
            "member",
            "member_value_tag",
            "community_member",
            "signature",
            "pledge",
            "trust_rating",
        ],
    )
    .await?;
    let mut members = Vec::with_capacity(member_count as usize);
    let mut rows = Vec::with_capacity(member_count as usize);
    for i in 0..member_count {
        let at = start;
        let id = rng.id_at(at);
        members.push(id);
        let handle = format!("{tag}-member-{i:07}");
        let territory = *rng.pick(TERRITORIES);
        rows.push(SeedMember {
            id,
            handle,
            number: i,
            territory,
            password_hash: password_hash.clone(),
            at,
        });
    }
    write_bulk(db, rows).await?;
    report.members = member_count;

    let tag_rows = value_tag::Entity::find().all(db).await?;
    let tags: Vec<Uuid> = tag_rows.iter().map(|tag| tag.id).collect();
    let tag_of = |slug: &str| {
        tag_rows
            .iter()
            .find(|tag| tag.slug == slug)
            .map(|tag| tag.id)
    };
    // Members hold one to three values.
    let mut values = Vec::new();
    if !tags.is_empty() {
        for &member_id in &members {
            let mut held: Vec<Uuid> = (0..1 + rng.below(3)).map(|_| *rng.pick(&tags)).collect();
            held.sort_unstable();
            held.dedup();
            values.extend(held.into_iter().map(|value_tag_id| SeedMemberValue {
                member_id,
                value_tag_id,
            }));
        }
    }
    write_bulk(db, values).await?;

    // Communities, about a topic and a place, in French or English; half
    // the members join one (the first communities draw most).
    let community_count = args.communities.max(1);
    let mut communities = Vec::with_capacity(community_count as usize);
    let mut rows = Vec::new();
    let mut community_tags = Vec::new();
    for i in 0..community_count {
        let id = rng.id_at(start);
        communities.push(id);
        let (slug, short_fr, short_en, demand_fr, demand_en) = *rng.pick(TOPICS);
        let territory = *rng.pick(TERRITORIES);
        let french = rng.below(2) == 0;
        let (name, description) = if french {
            (
                format!("{short_fr} {territory} n°{i}"),
                format!("Des consommateurs qui veulent {demand_fr}."),
            )
        } else {
            (
                format!("{short_en} {territory} no. {i}"),
                format!("Consumers who want {demand_en}."),
            )
        };
        if let Some(value_tag_id) = tag_of(slug) {
            community_tags.push(community_value_tag::ActiveModel {
                community_id: Set(id),
                value_tag_id: Set(value_tag_id),
            });
        }
        rows.push(community::ActiveModel {
            id: Set(id),
            slug: Set(format!("{tag}-community-{i:05}")),
            name: Set(name),
            description: Set(description),
            territory: Set(Some(territory.to_owned())),
            language: Set(if french { "fr" } else { "en" }.to_owned()),
            member_count: Set(0),
            momentum: Set(kept::NO_MOMENTUM),
            created_by: Set(None),
            created_at: Set(start),
            updated_at: Set(start),
        });
    }
    // Inserted once their kept values are known (below), so that no row is
    // written twice.
    let mut community_rows = rows;
    report.communities = community_count;
    let mut community_kept = vec![(0i64, kept::LogSum::default()); communities.len()];
    let mut joins = Vec::new();
    for &member_id in &members {
        if rng.below(2) == 0 {
            continue;
        }
        let c = rng.skewed(community_count) as usize;
        let at = start + Duration::seconds(rng.below(span) as i64);
        community_kept[c].0 += 1;
        community_kept[c].1.add(kept::log_weight(at));
        joins.push(SeedJoin {
            community_id: communities[c],
            member_id,
            joined_at: at,
        });
    }

    let mut producers = Vec::with_capacity(args.producers as usize);
    let mut quality = Vec::with_capacity(args.producers as usize);
    let mut rows = Vec::new();
    for i in 0..args.producers {
        let id = rng.id_at(start);
        producers.push(id);
        quality.push(1.5 + 3.0 * rng.unit());
        let name = format!("{tag} Producer {i:05}");
        rows.push(producer::ActiveModel {
            id: Set(id),
            name_key: Set(name.to_lowercase()),
            name: Set(name),
            kind: Set(*rng.pick(KINDS)),
            sector: Set((*rng.pick(SECTORS)).to_owned()),
            territory: Set(Some((*rng.pick(TERRITORIES)).to_owned())),
            labels: Set("[]".into()),
            website: Set(None),
            description: Set("A seeded producer.".into()),
            created_by: Set(None),
            created_at: Set(start),
            updated_at: Set(start),
        });
    }
    insert_chunked(db, rows).await?;
    report.producers = args.producers;
    let mut tally =
        counting.then(|| Tally::new(rollup::Keeping::of(config).grain, &producers, &members));

    let campaign_count = (args.producers * args.campaigns_per_producer).max(1);
    // (id, producer index, published at, community index)
    let mut campaigns = Vec::with_capacity(campaign_count as usize);
    let mut rows = Vec::new();
    let mut tag_rows = Vec::new();
    let mut responses = Vec::new();
    for i in 0..campaign_count {
        let producer = rng.skewed(args.producers) as usize;
        let published = start + Duration::seconds(rng.below(span * 3 / 4) as i64);
        let id = rng.id_at(published);
        let community = (rng.below(5) > 0).then(|| rng.below(community_count) as usize);
        campaigns.push((id, producer, published, community));
        let (topic, _, _, demand_fr, demand_en) = *rng.pick(TOPICS);
        let producer_name = format!("{tag} Producer {producer:05}");
        let french = rng.below(2) == 0;
        let (title, summary, body) = if french {
            (
                format!("Pour {demand_fr} chez {producer_name}"),
                format!(
                    "Nous demandons à {producer_name} {demand_fr}, dans tous ses points de vente."
                ),
                format!(
                    "Campagne n°{i}. Signez pour demander {demand_fr} : ensemble, nous pesons plus."
                ),
            )
        } else {
            (
                format!("For {demand_en} at {producer_name}"),
                format!("We ask {producer_name} for {demand_en}, in every shop."),
                format!("Campaign no. {i}. Sign to ask for {demand_en}: together we weigh more."),
            )
        };
        // A quarter close within two months.
        let deadline =
            (rng.below(4) == 0).then(|| now + Duration::hours(1 + rng.below(24 * 60) as i64));
        let territory = (rng.below(5) < 3).then(|| (*rng.pick(TERRITORIES)).to_owned());
        rows.push(campaign::ActiveModel {
            id: Set(id),
            kind: Set(*rng.pick(CAMPAIGN_KINDS)),
            status: Set(CampaignStatus::Open),
            title: Set(title),
            summary: Set(summary),
            body: Set(body),
            producer_id: Set(producers[producer]),
            community_id: Set(community.map(|c| communities[c])),
            organiser_id: Set(Some(*rng.pick(&members))),
            goal: Set(Some(1_000)),
            deadline: Set(deadline),
            selection_threshold: Set(None),
            published_at: Set(Some(published)),
            closed_at: Set(None),
            hidden_at: Set(None),
            hidden_scope: Set(None),
            hidden_reason: Set(None),
            sponsor_code: Set(None),
            sponsor_count: Set(0),
            rejection_reason: Set(None),
            offline_signatures: Set(0),
            reward_description: Set(None),
            territory: Set(territory),
            language: Set(if french { "fr" } else { "en" }.to_owned()),
            signature_total: Set(0),
            momentum: Set(kept::NO_MOMENTUM),
            created_at: Set(published),
            updated_at: Set(published),
        });
        let first = tag_of(topic);
        if let Some(first) = first {
            tag_rows.push(campaign_value_tag::ActiveModel {
                campaign_id: Set(id),
                value_tag_id: Set(first),
            });
        }
        if !tags.is_empty() && rng.below(2) == 0 {
            let second = *rng.pick(&tags);
            if Some(second) != first {
                tag_rows.push(campaign_value_tag::ActiveModel {
                    campaign_id: Set(id),
                    value_tag_id: Set(second),
                });
            }
        }
        if rng.below(10) < 4 {
            let at = published + Duration::hours(1 + rng.below(24 * 20) as i64);
            if at < now {
                let committed = rng.below(2) == 0;
                let status = match rng.below(3) {
                    0 => CommitmentStatus::Kept,
                    1 => CommitmentStatus::Broken,
                    _ => CommitmentStatus::Pending,
                };
                let closed = (committed && status != CommitmentStatus::Pending)
                    .then(|| (at + Duration::days(30)).min(now));
                responses.push(producer_response::ActiveModel {
                    id: Set(rng.id_at(at)),
                    campaign_id: Set(id),
                    producer_id: Set(producers[producer]),
                    author_id: Set(None),
                    body: Set("A seeded response.".into()),
                    commitment: Set(committed.then(|| "We will change this.".to_owned())),
                    due_at: Set(committed.then(|| at + Duration::days(90))),
                    commitment_status: Set(committed.then_some(status)),
                    commitment_closed_at: Set(closed),
                    hidden_at: Set(None),
                    hidden_scope: Set(None),
                    hidden_reason: Set(None),
                    due_notified_at: Set(None),
                    created_at: Set(at),
                });
            }
        }
    }
    let mut campaign_rows = rows;
    report.campaigns = campaign_count;
    report.responses = responses.len() as u64;

    // Kept values first, from a dry run of the signatures below on a copy
    // of the generator, so campaigns and communities are written once with
    // them (updating every row afterwards would leave half of each table
    // dead until a vacuum).
    {
        let mut dry = rng.clone();
        let per_campaign = distribute(&mut dry, args.signatures, campaign_count, member_count);
        for (c, &count) in per_campaign.iter().enumerate() {
            let (_, _, published, community) = campaigns[c];
            let _offset = dry.below(member_count);
            let window = (now - published).num_seconds().max(1) as u64;
            let mut momentum = kept::LogSum::default();
            for _ in 0..count {
                let (at, _, _) = next_signature(&mut dry, published, window);
                momentum.add(kept::log_weight(at));
                if let Some(community) = community {
                    community_kept[community].1.add(kept::log_weight(at));
                }
            }
            campaign_rows[c].signature_total = Set(count as i64);
            campaign_rows[c].momentum = Set(momentum.value());
        }
        for (row, (members, momentum)) in community_rows.iter_mut().zip(&community_kept) {
            row.member_count = Set(*members);
            row.momentum = Set(momentum.value());
        }
    }
    tracing::info!(
        seconds = started.elapsed().as_secs_f64(),
        "seed: members and producers written"
    );
    insert_chunked(db, std::mem::take(&mut community_rows)).await?;
    insert_chunked(db, community_tags).await?;
    write_bulk(db, joins).await?;
    insert_chunked(db, campaign_rows).await?;
    insert_chunked(db, tag_rows).await?;
    insert_chunked(db, responses).await?;

    // Signatures: each campaign takes a skewed share, signed by a run of
    // consecutive members from a random offset, so no member signs twice.
    let per_campaign = distribute(&mut rng, args.signatures, campaign_count, member_count);
    let mut behind = Behind::default();
    let mut batch = Vec::with_capacity(CHUNK * 10);
    for (c, &count) in per_campaign.iter().enumerate() {
        let (campaign_id, producer, published, _) = campaigns[c];
        let offset = rng.below(member_count);
        let window = (now - published).num_seconds().max(1) as u64;
        for j in 0..count {
            let (at, id, anonymous) = next_signature(&mut rng, published, window);
            let member = ((offset + j) % member_count) as usize;
            if let Some(tally) = tally.as_mut() {
                tally.add(producer, at, member, &rollup::Delta::signature(1));
            }
            batch.push(SeedSignature {
                id,
                campaign_id,
                member_id: members[member],
                anonymous,
                created_at: at,
            });
            report.signatures += 1;
            if batch.len() >= BULK_BATCH {
                behind.write_bulk(db, std::mem::take(&mut batch)).await?;
            }
        }
    }
    behind.write_bulk(db, batch).await?;
    behind.finish().await?;
    tracing::info!(
        seconds = started.elapsed().as_secs_f64(),
        "seed: signatures written"
    );

    // Pledges: one for every ten signatures, on the same skew.
    let pledges = distribute(&mut rng, args.signatures / 10, campaign_count, member_count);
    let mut batch = Vec::new();
    for (c, &count) in pledges.iter().enumerate() {
        let (campaign_id, producer, published, _) = campaigns[c];
        let offset = rng.below(member_count);
        let window = (now - published).num_seconds().max(1) as u64;
        for j in 0..count {
            let at = published + Duration::seconds(rng.below(window) as i64);
            let kind = *rng.pick(PLEDGE_KINDS);
            let id = rng.id_at(at);
            let member = ((offset + j) % member_count) as usize;
            let monthly_amount_cents =
                (rng.below(2) == 0).then(|| 500 + 100 * rng.below(50) as i64);
            if let Some(tally) = tally.as_mut() {
                let delta = rollup::Delta::pledge(1, kind, monthly_amount_cents);
                tally.add(producer, at, member, &delta);
            }
            batch.push(SeedPledge {
                id,
                campaign_id,
                member_id: members[member],
                kind,
                monthly_amount_cents,
                at,
            });
            report.pledges += 1;
            if batch.len() >= BULK_BATCH {
                behind.write_bulk(db, std::mem::take(&mut batch)).await?;
            }
        }
    }
    behind.write_bulk(db, batch).await?;
    behind.finish().await?;
    tracing::info!(
        seconds = started.elapsed().as_secs_f64(),
        "seed: pledges written"
    );

    // Ratings: a member rates a producer on all four dimensions in a month;
    // producers and months are skewed, raters are runs of members.
    let events = args.ratings / 4;
    let this_month = Utc
        .with_ymd_and_hms(now.year(), now.month(), 1, 0, 0, 0)
        .single()
        .unwrap_or(now);
    let months = u64::from(args.months.max(1));
    let per_cell = distribute(&mut rng, events, args.producers * months, member_count);
    let mut batch = Vec::new();
    for (cell, &count) in per_cell.iter().enumerate() {
        if count == 0 {
            continue;
        }
        let producer = cell as u64 / months;
        let month = cell as u64 % months;
        // Calendar months, oldest first, the last one being this month: a
        // member rates a producer once per dimension and calendar month.
        let month_start = this_month - Months::new((months - 1 - month) as u32);
        let month_end = (month_start + Months::new(1)).min(now);
        let width = (month_end - month_start).num_seconds().max(1) as u64;
        let offset = rng.below(member_count);
        for j in 0..count {
            let at = month_start + Duration::seconds(rng.below(width) as i64);
            let member = ((offset + j) % member_count) as usize;
            for dimension in DIMENSIONS {
                let noise = rng.unit() * 2.0 - 1.0;
                let score = (quality[producer as usize] + noise).round().clamp(1.0, 5.0) as i16;
                if let Some(tally) = tally.as_mut() {
                    let delta = rollup::Delta::rating(dimension, None, score);
                    tally.add(producer as usize, at, member, &delta);
                }
                batch.push(SeedRating {
                    id: rng.id_at(at),
                    member_id: members[member],
                    producer_id: producers[producer as usize],
                    dimension,
                    score,
                    at,
                });
                report.ratings += 1;
            }
            if batch.len() >= BULK_BATCH {
                behind.write_bulk(db, std::mem::take(&mut batch)).await?;
            }
        }
    }
    behind.write_bulk(db, batch).await?;
    behind.finish().await?;
    tracing::info!(
        seconds = started.elapsed().as_secs_f64(),
        "seed: ratings written"
    );
    if let Some(tally) = tally {
        report.atoms = tally.write(db).await?;
        tracing::info!(
            seconds = started.elapsed().as_secs_f64(),
            "seed: rollup atoms and contributors written"
        );
    }

    if counting && db.get_database_backend() == sea_orm::DbBackend::Postgres {
        // The contributors' key with the other keys, its index with the
        // others.
        let keys = indexes
            .iter()
            .take_while(|definition| definition.contains("PRIMARY KEY"))
            .count();
        let [key, index] = rollup::CONTRIBUTOR_KEYS;
        indexes.insert(keys, key.to_owned());
        indexes.insert(keys + 1, index.to_owned());
    }
    build_again(db, indexes, args.index_builds).await?;
    tracing::info!(
        seconds = started.elapsed().as_secs_f64(),
        "seed: indexes built again"
    );
    let keeping = rollup::Keeping::of(config);
    if counting {
        rollup::rebuild_above_atoms(db, keeping).await?;
    } else {
        report.atoms = rollup::rebuild(db, keeping).await?.atoms;
    }
    // Fresh planner statistics: without them the first queries on a bulk-
    // loaded database plan for empty tables (a 100× slower nested loop).
    // PostgreSQL also vacuums, which merges the search indexes' pending
    // entries (until then the planner prefers scanning whole tables).
    tracing::info!(
        seconds = started.elapsed().as_secs_f64(),
        "seed: rollups rebuilt"
    );
    let analyze = match db.get_database_backend() {
        sea_orm::DbBackend::Postgres => "VACUUM ANALYZE",
        _ => "ANALYZE",
    };
    db.execute_unprepared(analyze).await?;
    tracing::info!(seconds = started.elapsed().as_secs_f64(), "seed: analyzed");
    report.seconds = started.elapsed().as_secs_f64();
    Ok(report)
}

/// Whether the rollups hold no atom and no contributor yet.
async fn rollups_empty(db: &DatabaseConnection) -> Result<bool> {
    let row = db
        .query_one_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            "SELECT NOT EXISTS (SELECT 1 FROM obs_atom) AND NOT EXISTS (SELECT 1 FROM obs_contributor)",
        ))
        .await?;
    Ok(row
        .and_then(|row| row.try_get_by_index(0).ok())
        .unwrap_or(false))
}

/// When the next signature of a campaign published at `published` was
/// made, its id, and whether it is anonymous; the dry run of the kept
/// values and the real one draw alike.
fn next_signature(
    rng: &mut Rng,
    published: DateTime<Utc>,
    window: u64,
) -> (DateTime<Utc>, Uuid, bool) {
    let at = published + Duration::seconds(rng.below(window) as i64);
    let id = rng.id_at(at);
    (at, id, rng.below(3) == 0)
}

/// Splits `total` over `cells` with a skew (early cells get more), no cell
/// above `cap`.
fn distribute(rng: &mut Rng, total: u64, cells: u64, cap: u64) -> Vec<u64> {
    let cells = cells.max(1);
    let mut counts = vec![0u64; cells as usize];
    // Half spread evenly at random, half skewed towards a few cells.
    let mut left = total.min(cells * cap);
    while left > 0 {
        let batch = left.min(1 + rng.below(16));
        let cell = if rng.below(2) == 0 {
            rng.below(cells)
        } else {
            rng.skewed(cells)
        } as usize;
        let room = cap - counts[cell];
        let added = batch.min(room);
        counts[cell] += added;
        left -= added;
        if added == 0 && counts.iter().all(|&c| c >= cap) {
            break;
        }
    }
    counts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_numbers() {
        let mut a = Rng(7);
        let mut b = Rng(7);
        for _ in 0..100 {
            assert_eq!(a.next(), b.next());
        }
    }

    #[test]
    fn distribution_keeps_the_total_and_the_cap() {
        let mut rng = Rng(1);
        let counts = distribute(&mut rng, 10_000, 50, 400);
        assert_eq!(counts.iter().sum::<u64>(), 10_000);
        assert!(counts.iter().all(|&c| c <= 400));
    }
}
