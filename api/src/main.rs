//! The `consumact` binary: `serve` (the default), `migrate`,
//! `export-schema`, `config-reference`, `create-admin`,
//! `observatory-rebuild` and `seed`.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use consumact_api::config::Config;
use consumact_api::error::AppError;
use consumact_api::{Application, db, graphql, seed, service, shutdown_signal, telemetry};

/// See `api/Cargo.toml`: faster small allocations, memory returned after spikes.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "consumact",
    version,
    about = "GraphQL backend for consumer collective action"
)]
struct Cli {
    #[command(flatten)]
    config: Config,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Print the GraphQL schema (SDL), or write it to a file.
    ExportSchema {
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Print the configuration reference (Markdown), or write it to a file.
    ConfigReference {
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Create an admin account, or promote an existing handle to admin.
    CreateAdmin {
        #[arg(long)]
        handle: String,
        #[arg(long)]
        email: String,
        /// Read from the environment so it stays out of shell history.
        #[arg(long, env = "CONSUMACT_NEW_ADMIN_PASSWORD", hide_env_values = true)]
        password: String,
    },
    /// Recompute the observatory's rollups from signatures, ratings and
    /// pledges (at the configured grain).
    ObservatoryRebuild,
    /// Release one closed month of the observatory with differential
    /// privacy (`CONSUMACT_OBSERVATORY_PRIVACY=dp`), once; refused when the
    /// month is open, already released or beyond the budget.
    ObservatoryRelease {
        /// The month, `YYYY-MM`.
        #[arg(long)]
        period: String,
    },
    /// Fill the database with a deterministic demo and benchmark data set,
    /// in bulk, with its observatory rollups.
    Seed(seed::SeedArgs),
    /// Import open data into the catalogue (idempotent: run again to
    /// resume an interrupted import).
    #[command(subcommand)]
    Import(ImportSource),
    /// Write the ownership graph as open data.
    #[command(subcommand)]
    Export(ExportTarget),
}

/// What `export` writes.
#[derive(clap::Subcommand, Debug)]
enum ExportTarget {
    /// Every ownership edge, past and current, with the producers it joins.
    Ownership {
        /// `bods` (Beneficial Ownership Data Standard 0.4 JSON) or `csv`.
        #[arg(long, default_value = "bods")]
        format: String,
        /// The file to write; standard output when left out.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

/// What `import` reads.
#[derive(clap::Subcommand, Debug)]
enum ImportSource {
    /// The Open Food Facts JSONL export (ODbL), one product per line; `-`
    /// reads standard input.
    Off {
        /// The `.jsonl` file.
        file: std::path::PathBuf,
    },
    /// Wikidata entity JSON (CC0): companies, their identifiers, brands,
    /// parents and subsidiaries; `-` reads standard input.
    Wikidata {
        /// The dump extract (`.json`, one entity per line) or entity documents.
        file: std::path::PathBuf,
    },
    /// GLEIF Level 2 relationship records (CC0): direct and ultimate
    /// parents between producers known by their LEI; `-` reads standard input.
    Gleif {
        /// The RR-CDF JSON file, or one record per line.
        file: std::path::PathBuf,
    },
}

/// `file`, or standard input for `-`.
fn open_input(file: &std::path::Path) -> anyhow::Result<Box<dyn std::io::BufRead>> {
    if file.as_os_str() == "-" {
        return Ok(Box::new(std::io::BufReader::new(std::io::stdin())));
    }
    let opened =
        std::fs::File::open(file).map_err(|err| anyhow::anyhow!("{}: {err}", file.display()))?;
    Ok(Box::new(std::io::BufReader::new(opened)))
}

/// An error as the command line tells it: the detail is for whoever ran it.
fn told(err: AppError) -> anyhow::Error {
    match err {
        AppError::Internal(detail) => anyhow::anyhow!("internal error: {detail}"),
        other => anyhow::anyhow!(other.message()),
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let telemetry = telemetry::init(cli.config.log_format, cli.config.otlp_endpoint.as_deref())?;
    let outcome = run(cli).await;
    telemetry.shutdown();
    outcome
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            let app = Application::build(cli.config).await?;
            tokio::spawn(release_memory(app.state().live.clone()));
            app.run_until(shutdown_signal()).await
        }
        Command::Migrate => {
            let mut config = cli.config;
            config.auto_migrate = false;
            let database = db::connect(&config).await?;
            db::migrate(&database).await?;
            println!("migrations applied");
            Ok(())
        }
        Command::ExportSchema { out } => {
            let sdl = graphql::sdl();
            match out {
                Some(path) => std::fs::write(&path, sdl)
                    .with_context(|| format!("cannot write {}", path.display())),
                None => {
                    print!("{sdl}");
                    Ok(())
                }
            }
        }
        Command::ConfigReference { out } => {
            let page = consumact_api::config::reference();
            match out {
                Some(path) => std::fs::write(&path, page)
                    .with_context(|| format!("cannot write {}", path.display())),
                None => {
                    print!("{page}");
                    Ok(())
                }
            }
        }
        Command::CreateAdmin {
            handle,
            email,
            password,
        } => {
            let database = db::connect(&cli.config).await?;
            let passwords = service::identity::hashing::Passwords::new(
                cli.config.argon2_memory_kib,
                cli.config.argon2_iterations,
            )?;
            let admin = service::identity::auth::ensure_admin(
                &database, &passwords, &handle, &email, &password,
            )
            .await
            .map_err(|err| anyhow::anyhow!(err.message()))?;
            println!("{} is an admin (id {})", admin.handle, admin.id);
            Ok(())
        }
        Command::ObservatoryRebuild => {
            let database = db::connect(&cli.config).await?;
            let started = std::time::Instant::now();
            let rebuilt = service::observatory::rollup::rebuild(
                &database,
                service::observatory::rollup::AtomRule::of(&cli.config),
            )
            .await
            .map_err(|err| anyhow::anyhow!(err.message()))?;
            println!(
                "rebuilt {} atoms from {} contributor rows in {:.1?}",
                rebuilt.atoms,
                rebuilt.contributors,
                started.elapsed()
            );
            Ok(())
        }
        Command::ObservatoryRelease { period } => {
            let month = chrono::NaiveDate::parse_from_str(&format!("{period}-01"), "%Y-%m-%d")
                .map_err(|_| anyhow::anyhow!("--period takes a month as YYYY-MM"))?;
            let database = db::connect(&cli.config).await?;
            let started = std::time::Instant::now();
            let released =
                service::observatory::release::release(&database, None, &cli.config, month)
                    .await
                    .map_err(|err| anyhow::anyhow!(err.message()))?;
            println!(
                "released {}: {} of {} producers' cells published (threshold {}) in {:.1?}",
                released.period,
                released.published,
                released.producers,
                released.threshold,
                started.elapsed()
            );
            Ok(())
        }
        Command::Seed(args) => {
            let database = db::connect(&cli.config).await?;
            let report =
                seed::run(&database, &cli.config, &args)
                    .await
                    .map_err(|err| match err {
                        // On the command line, the detail is for whoever ran it.
                        AppError::Internal(detail) => anyhow::anyhow!("internal error: {detail}"),
                        other => anyhow::anyhow!(other.message()),
                    })?;
            println!("{report}");
            Ok(())
        }
        Command::Import(source) => {
            let database = db::connect(&cli.config).await?;
            let report = match source {
                ImportSource::Off { file } => {
                    consumact_api::import::off::run(&database, open_input(&file)?)
                        .await
                        .map_err(told)?
                        .to_string()
                }
                ImportSource::Wikidata { file } => {
                    consumact_api::import::wikidata::run(&database, open_input(&file)?)
                        .await
                        .map_err(told)?
                        .to_string()
                }
                ImportSource::Gleif { file } => {
                    consumact_api::import::gleif::run(&database, open_input(&file)?)
                        .await
                        .map_err(told)?
                        .to_string()
                }
            };
            println!("{report}");
            Ok(())
        }
        Command::Export(ExportTarget::Ownership { format, out }) => {
            use consumact_api::service::catalogue::ownership_export::{Format, export};
            let format = match format.as_str() {
                "bods" => Format::Bods,
                "csv" => Format::Csv,
                other => anyhow::bail!("--format must be bods or csv, not {other}"),
            };
            let database = db::connect(&cli.config).await?;
            let now = chrono::Utc::now();
            let edges = match out {
                Some(path) => {
                    let file = std::fs::File::create(&path)
                        .with_context(|| format!("cannot write {}", path.display()))?;
                    let mut writer = std::io::BufWriter::new(file);
                    export(&database, format, now, &mut writer).await
                }
                None => {
                    let mut writer = std::io::BufWriter::new(std::io::stdout().lock());
                    export(&database, format, now, &mut writer).await
                }
            }
            .map_err(told)?;
            eprintln!("{edges} ownership edges exported");
            Ok(())
        }
    }
}

/// Hands memory back to the system after a crowd leaves (thousands of
/// subscribers disconnecting): mimalloc keeps pages freed by other threads
/// until their owning thread collects, and an idle worker never does. When
/// the live subscriptions fall to half their peak, every worker thread is
/// asked to collect (a task per worker; the scheduler spreads them).
async fn release_memory(live: std::sync::Arc<consumact_api::bus::hub::CampaignHub>) {
    let workers = std::thread::available_parallelism().map_or(2, usize::from);
    let mut peak = 0;
    loop {
        tokio::time::sleep(std::time::Duration::from_secs(5)).await;
        let now = live.subscribers();
        if now < peak / 2 {
            for _ in 0..workers * 2 {
                tokio::spawn(async {
                    // SAFETY: mi_collect only walks the calling thread's heap
                    // and mimalloc's own structures; it has no preconditions.
                    unsafe { libmimalloc_sys::mi_collect(true) };
                    tokio::task::yield_now().await;
                });
            }
            peak = now;
        }
        peak = peak.max(now);
    }
}
