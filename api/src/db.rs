//! Opening the database: an embedded SQLite file by default, PostgreSQL when
//! `DATABASE_URL` says so; and the writers' turn on SQLite (one writer at a
//! time). Everything above this module is engine-agnostic.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use migration::{Migrator, MigratorTrait};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction, DbErr,
    SqlxSqliteConnector, TransactionTrait,
};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use tokio::sync::OwnedMutexGuard;

use crate::config::Config;

/// How a pool is opened.
#[derive(Clone, Copy)]
struct Pool {
    size: u32,
    /// PostgreSQL's `statement_timeout`, in milliseconds (none when 0).
    statement_timeout_ms: u64,
}

/// Connects to the configured database and, unless disabled, migrates it.
/// Its statements have no time limit: migrations, rebuilds and the
/// operator's commands may run long.
pub async fn connect(config: &Config) -> anyhow::Result<DatabaseConnection> {
    let pool = Pool {
        size: config.db_max_connections,
        statement_timeout_ms: 0,
    };
    let db = open(config, config.database_url.as_deref(), pool).await?;
    if config.auto_migrate {
        migrate(&db).await?;
    }
    Ok(db)
}

/// The connections a serving instance needs: `(requests, upkeep)`. Both
/// migrate first (see [`connect`]). On PostgreSQL, requests get a pool whose
/// statements stop after `CONSUMACT_DB_STATEMENT_TIMEOUT_MS` (never longer
/// than the request timeout), so a request that timed out leaves no
/// statement running; upkeep (rollup rebuilds, the monthly roll of windows)
/// gets a small pool without that limit. SQLite runs statements in process,
/// where they stop with their request: one pool serves both.
pub async fn connect_serving(
    config: &Config,
) -> anyhow::Result<(DatabaseConnection, DatabaseConnection)> {
    let url = config.database_url.as_deref();
    let postgres = url.is_some_and(|url| url.starts_with("postgres"));
    if !postgres {
        let db = connect(config).await?;
        return Ok((db.clone(), db));
    }
    let upkeep = open(
        config,
        url,
        Pool {
            size: 2,
            statement_timeout_ms: 0,
        },
    )
    .await?;
    if config.auto_migrate {
        migrate(&upkeep).await?;
    }
    let limit = match config.db_statement_timeout_ms {
        0 => 0,
        set => set.min(config.request_timeout_ms.max(1)),
    };
    let requests = open(
        config,
        url,
        Pool {
            size: config.db_max_connections,
            statement_timeout_ms: limit,
        },
    )
    .await?;
    Ok((requests, upkeep))
}

/// The database observatory and export reads go to: a read replica when
/// `CONSUMACT_OBSERVATORY_DATABASE_URL` names one (never migrated here: it
/// follows its primary), otherwise `primary` itself.
pub async fn connect_observatory(
    config: &Config,
    primary: &DatabaseConnection,
) -> anyhow::Result<DatabaseConnection> {
    match config.observatory_database_url.as_deref() {
        None | Some("") => Ok(primary.clone()),
        Some(url) => open(
            config,
            Some(url),
            Pool {
                size: config.db_max_connections,
                statement_timeout_ms: config.db_statement_timeout_ms,
            },
        )
        .await
        .with_context(|| "cannot open CONSUMACT_OBSERVATORY_DATABASE_URL"),
    }
}

async fn open(
    config: &Config,
    url: Option<&str>,
    pool: Pool,
) -> anyhow::Result<DatabaseConnection> {
    Ok(match url {
        None => {
            std::fs::create_dir_all(&config.data_dir).with_context(|| {
                format!("cannot create data directory {}", config.data_dir.display())
            })?;
            let path = config.data_dir.join("consumact.sqlite");
            let options = SqliteConnectOptions::new().filename(&path);
            connect_sqlite(options, pool.size).await?
        }
        Some(url) if url.starts_with("sqlite:") => {
            let options = SqliteConnectOptions::from_str(url)
                .with_context(|| "DATABASE_URL is not a valid SQLite URL")?;
            // Each connection to `:memory:` is its own empty database: keep one.
            let pool_size = if url.contains(":memory:") {
                1
            } else {
                pool.size
            };
            connect_sqlite(options, pool_size).await?
        }
        Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
            let mut options = ConnectOptions::new(url.to_owned());
            if pool.statement_timeout_ms > 0 {
                let limit = pool.statement_timeout_ms.to_string();
                options.map_sqlx_postgres_opts(move |options| {
                    options.options([("statement_timeout", limit.as_str())])
                });
            }
            let port = url::Url::parse(url)
                .ok()
                .and_then(|parsed| parsed.port())
                .unwrap_or(5432);
            options.map_sqlx_postgres_pool_opts(move |options| {
                options.after_connect(move |_, _| {
                    Box::pin(async move {
                        disable_nagle(port);
                        Ok(())
                    })
                })
            });
            options
                .max_connections(pool.size)
                .min_connections(1)
                .connect_timeout(Duration::from_secs(5))
                .acquire_timeout(Duration::from_millis(config.db_acquire_timeout_ms.max(1)))
                .sqlx_logging(false);
            Database::connect(options)
                .await
                .with_context(|| "cannot connect to PostgreSQL")?
        }
        Some(_) => {
            anyhow::bail!("DATABASE_URL must start with postgres://, postgresql:// or sqlite:")
        }
    })
}

/// Turns Nagle's algorithm off on this process's TCP sockets to the
/// database's `port`. sqlx 0.9.0 no longer does (its issue 4335, fixed
/// after that release), so a statement sent as a large message and a small
/// one waits up to 40 ms for the server's delayed acknowledgement: 10 000
/// imported products took 6.5 s over TCP against 1.9 s over a Unix socket.
/// Called as each connection opens; setting the option again on a socket
/// that has it changes nothing.
#[cfg(target_os = "linux")]
fn disable_nagle(port: u16) {
    use std::os::fd::{BorrowedFd, RawFd};
    let Ok(entries) = std::fs::read_dir("/proc/self/fd") else {
        return;
    };
    for entry in entries.flatten() {
        let is_socket = std::fs::read_link(entry.path())
            .is_ok_and(|target| target.to_string_lossy().starts_with("socket:"));
        let Some(fd) = entry
            .file_name()
            .to_str()
            .and_then(|name| name.parse::<RawFd>().ok())
            .filter(|_| is_socket)
        else {
            continue;
        };
        // SAFETY: the descriptor was open when listed and is only borrowed
        // for the two calls below. Were it closed and reused meanwhile, the
        // calls would fail (not a socket) or set TCP_NODELAY on another TCP
        // socket to the same port, which is what this function wants anyway.
        let borrowed = unsafe { BorrowedFd::borrow_raw(fd) };
        let socket = socket2::SockRef::from(&borrowed);
        let to_database = socket
            .peer_addr()
            .ok()
            .and_then(|peer| peer.as_socket())
            .is_some_and(|peer| peer.port() == port);
        if to_database && socket.tcp_nodelay().is_ok_and(|on| !on) {
            let _ = socket.set_tcp_nodelay(true);
        }
    }
}

#[cfg(not(target_os = "linux"))]
fn disable_nagle(_port: u16) {}

/// SQLite in WAL mode with a busy timeout, so concurrent writers queue
/// instead of failing with "database is locked".
async fn connect_sqlite(
    options: SqliteConnectOptions,
    pool_size: u32,
) -> anyhow::Result<DatabaseConnection> {
    let options = options
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(Duration::from_secs(10))
        .foreign_keys(true);
    let pool = SqlitePoolOptions::new()
        .max_connections(pool_size.max(1))
        .acquire_timeout(Duration::from_secs(10))
        .connect_with(options)
        .await
        .with_context(|| "cannot open the SQLite database")?;
    Ok(SqlxSqliteConnector::from_sqlx_sqlite_pool(pool))
}

/// Applies every pending migration.
pub async fn migrate(db: &DatabaseConnection) -> anyhow::Result<()> {
    Migrator::up(db, None)
        .await
        .with_context(|| "database migration failed")
}

/// Begins a write transaction, on SQLite after this process's place in the
/// writers' queue (see `AppState::begin_write`, which calls it with its own
/// connection and queue).
pub async fn begin_write(
    db: &DatabaseConnection,
    sqlite_writer: Option<&Arc<tokio::sync::Mutex<()>>>,
) -> Result<(Option<OwnedMutexGuard<()>>, DatabaseTransaction), DbErr> {
    let Some(writer) = sqlite_writer else {
        let txn = db.begin().await?;
        // Without this process's queue (a command, a test's own
        // connection), SQLite's write lock is still taken first: a deferred
        // transaction that reads and then writes fails at once ("database
        // is locked") when another connection wrote meanwhile.
        if db.get_database_backend() == sea_orm::DbBackend::Sqlite {
            take_sqlite_write_lock(&txn).await?;
        }
        return Ok((None, txn));
    };
    let guard = writer.clone().lock_owned().await;
    let txn = db.begin().await?;
    take_sqlite_write_lock(&txn).await?;
    Ok((Some(guard), txn))
}

/// Takes SQLite's write lock at once, with a statement that changes
/// nothing: a transaction that reads first (an insert whose trigger keeps a
/// search table does) and writes later fails at once with SQLITE_BUSY (no
/// busy wait) when another connection wrote in between, which writers
/// outside this process's queue (other processes, `consumact seed`) may do.
pub async fn take_sqlite_write_lock(txn: &DatabaseTransaction) -> Result<(), DbErr> {
    txn.execute_unprepared("UPDATE seaql_migrations SET version = version WHERE 0")
        .await?;
    Ok(())
}

/// For a single statement outside a transaction: on SQLite, this process's
/// place in the writers' queue (drop it after the statement); nothing
/// elsewhere.
pub async fn writer_turn(
    sqlite_writer: Option<&Arc<tokio::sync::Mutex<()>>>,
) -> Option<OwnedMutexGuard<()>> {
    match sqlite_writer {
        Some(writer) => Some(writer.clone().lock_owned().await),
        None => None,
    }
}
