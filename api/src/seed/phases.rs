//! The seeding run's state, its first and last phases, and the writing of
//! the structure the activity hangs on.

use std::time::Instant;

use chrono::{DateTime, Duration, Utc};
use entities::{
    campaign, campaign_value_tag, community, community_value_tag, member, producer_response,
    value_tag,
};
use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter};
use uuid::Uuid;

use super::atoms::AtomCount;
use super::bulk::{Behind, build_again, insert_chunked, set_aside_indexes, write_bulk};
use super::rng::Rng;
use super::rows::SeedJoin;
use super::{Report, SeedArgs};
use crate::config::Config;
use crate::error::{AppError, Result};
use crate::service::identity::hashing::Passwords;
use crate::service::observatory::rollup;
use crate::service::signing::standing;

/// What the phases share: the generator, the clock, the ids written so far
/// (by their index in the generator's lists) and the report.
pub(super) struct Seeding<'a> {
    pub(super) db: &'a DatabaseConnection,
    pub(super) config: &'a Config,
    pub(super) args: &'a SeedArgs,
    pub(super) rng: Rng,
    pub(super) now: DateTime<Utc>,
    /// The first day of the history.
    pub(super) start: DateTime<Utc>,
    /// Seconds from `start` to `now`.
    pub(super) span: u64,
    /// `s{seed}`: names, handles and the password carry it.
    pub(super) tag: String,
    pub(super) started: Instant,
    pub(super) report: Report,
    /// One hash for every member: seeding is not about logging in.
    pub(super) password_hash: String,
    pub(super) member_count: u64,
    pub(super) value_tags: Vec<value_tag::Model>,
    pub(super) members: Vec<Uuid>,
    pub(super) communities: Vec<Uuid>,
    pub(super) producers: Vec<Uuid>,
    /// Each producer's mean score.
    pub(super) quality: Vec<f64>,
    /// (id, producer index, published at, community index)
    pub(super) campaigns: Vec<(Uuid, usize, DateTime<Utc>, Option<usize>)>,
    /// The rollups' atoms, counted here when the database holds none yet.
    pub(super) atoms: Option<AtomCount>,
    /// Whether the seed counts the atoms itself (else it rebuilds them).
    pub(super) counting: bool,
    pub(super) behind: Behind,
}

/// Communities generated, written once their standing is known.
pub(super) struct Communities {
    pub(super) rows: Vec<community::ActiveModel>,
    pub(super) tags: Vec<community_value_tag::ActiveModel>,
    /// Each community's member count and momentum.
    pub(super) standing: Vec<(i64, standing::LogSum)>,
    pub(super) joins: Vec<SeedJoin>,
}

/// Campaigns generated, written once their standing is known.
pub(super) struct Campaigns {
    pub(super) rows: Vec<campaign::ActiveModel>,
    pub(super) tags: Vec<campaign_value_tag::ActiveModel>,
    pub(super) responses: Vec<producer_response::ActiveModel>,
}

/// The index, key and constraint definitions set aside for the load.
pub(super) struct SetAside(Vec<String>);

impl<'a> Seeding<'a> {
    /// Refuses a data set already in the database, and hashes the members'
    /// password.
    pub(super) async fn start(
        db: &'a DatabaseConnection,
        config: &'a Config,
        args: &'a SeedArgs,
    ) -> Result<Self> {
        let started = Instant::now();
        let now = Utc::now();
        let start = now - Duration::days(30 * i64::from(args.months.max(1)));
        let tag = format!("s{}", args.seed);
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
        Ok(Self {
            db,
            config,
            args,
            rng: Rng(args.seed),
            now,
            start,
            span: (now - start).num_seconds().max(1) as u64,
            tag,
            started,
            report: Report::default(),
            password_hash,
            member_count,
            value_tags: Vec::new(),
            members: Vec::new(),
            communities: Vec::new(),
            producers: Vec::new(),
            quality: Vec::new(),
            campaigns: Vec::new(),
            atoms: None,
            counting: false,
            behind: Behind::default(),
        })
    }

    /// The big tables fill several times faster without their secondary
    /// indexes and keys, built again afterwards in one pass each. The seed
    /// counts the rollups' atoms and contributors itself, unless the
    /// database holds some already (another data set, or a server's
    /// writes): then it rebuilds them all from the rows.
    pub(super) async fn set_aside(&mut self) -> Result<SetAside> {
        self.counting = rollups_empty(self.db).await?;
        if self.counting {
            rollup::set_aside_contributor_keys(self.db).await?;
        }
        let indexes = set_aside_indexes(
            self.db,
            &[
                "member",
                "member_value_tag",
                "community_member",
                "signature",
                "pledge",
                "trust_rating",
                "product",
                "product_value",
            ],
        )
        .await?;
        Ok(SetAside(indexes))
    }

    /// The id of the value tag `slug`, if the database has it.
    pub(super) fn tag_of(&self, slug: &str) -> Option<Uuid> {
        self.value_tags
            .iter()
            .find(|tag| tag.slug == slug)
            .map(|tag| tag.id)
    }

    /// Logs how long the run has taken so far.
    pub(super) fn log(&self, done: &str) {
        tracing::info!(
            seconds = self.started.elapsed().as_secs_f64(),
            "seed: {done}"
        );
    }

    /// Communities, campaigns, their tags and the answers, each written
    /// once with its standing.
    pub(super) async fn write_structure(
        &mut self,
        communities: Communities,
        campaigns: Campaigns,
    ) -> Result<()> {
        self.log("members and producers written");
        insert_chunked(self.db, communities.rows).await?;
        insert_chunked(self.db, communities.tags).await?;
        write_bulk(self.db, communities.joins).await?;
        insert_chunked(self.db, campaigns.rows).await?;
        insert_chunked(self.db, campaigns.tags).await?;
        insert_chunked(self.db, campaigns.responses).await?;
        Ok(())
    }

    /// Writes the counted atoms, builds the indexes and keys again, rebuilds
    /// the rollups above the atoms (or all of them) and refreshes the
    /// planner's statistics.
    pub(super) async fn finish(mut self, set_aside: SetAside) -> Result<Report> {
        let db = self.db;
        if let Some(atoms) = self.atoms.take() {
            self.report.atoms = atoms.write(db).await?;
            self.log("rollup atoms and contributors written");
        }
        let SetAside(mut indexes) = set_aside;
        if self.counting && db.get_database_backend() == sea_orm::DbBackend::Postgres {
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
        build_again(db, indexes, self.args.index_builds).await?;
        self.log("indexes built again");
        let rule = rollup::AtomRule::of(self.config);
        if self.counting {
            rollup::rebuild_above_atoms(db, rule).await?;
        } else {
            self.report.atoms = rollup::rebuild(db, rule).await?.atoms;
        }
        self.log("rollups rebuilt");
        // Fresh planner statistics: without them the first queries on a
        // bulk-loaded database plan for empty tables (a 100× slower nested
        // loop). PostgreSQL also vacuums, which merges the search indexes'
        // pending entries (until then the planner prefers scanning whole
        // tables).
        let analyze = match db.get_database_backend() {
            sea_orm::DbBackend::Postgres => "VACUUM ANALYZE",
            _ => "ANALYZE",
        };
        db.execute_unprepared(analyze).await?;
        self.log("analyzed");
        self.report.seconds = self.started.elapsed().as_secs_f64();
        Ok(self.report)
    }
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
