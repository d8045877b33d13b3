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
//!
//! [`run`] is a list of phases, each a method of [`phases::Seeding`]:
//! the people (members, their values, communities), the structure
//! (producers, campaigns, answers, the campaigns' and communities' standing
//! from a dry run), then the activity (signatures, pledges, ratings) and
//! the finish (rollups, indexes, statistics).

mod activity;
mod atoms;
mod bulk;
mod campaigns;
mod catalogue;
mod people;
mod phases;
mod rng;
mod rows;
pub mod shelf;

use std::fmt;

use sea_orm::DatabaseConnection;

pub use bulk::BULK_BATCH;

use crate::config::Config;
use crate::error::Result;

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
    /// Products to create, with one brand per 20 and an ownership forest
    /// over the producers (none by default).
    #[arg(long, default_value_t = 0)]
    pub products: u64,
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
    pub products: u64,
    pub brands: u64,
    pub ownerships: u64,
    pub atoms: u64,
    pub seconds: f64,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "seeded {} members, {} communities, {} producers ({} ownership edges), {} campaigns, {} signatures, {} ratings, {} pledges, {} responses, {} brands, {} products; {} rollup atoms; {:.1} s",
            self.members,
            self.communities,
            self.producers,
            self.ownerships,
            self.campaigns,
            self.signatures,
            self.ratings,
            self.pledges,
            self.responses,
            self.brands,
            self.products,
            self.atoms,
            self.seconds
        )
    }
}

/// Writes the data set and rebuilds the rollups.
pub async fn run(db: &DatabaseConnection, config: &Config, args: &SeedArgs) -> Result<Report> {
    let mut seeding = phases::Seeding::start(db, config, args).await?;
    let set_aside = seeding.set_aside().await?;
    seeding.members().await?;
    seeding.member_values().await?;
    let mut communities = seeding.communities();
    seeding.producers().await?;
    seeding.shelf().await?;
    let mut campaigns = seeding.campaigns();
    seeding.standing_from_a_dry_run(&mut campaigns, &mut communities);
    seeding.write_structure(communities, campaigns).await?;
    seeding.signatures().await?;
    seeding.pledges().await?;
    seeding.ratings().await?;
    seeding.finish(set_aside).await
}
