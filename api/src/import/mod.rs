//! Importers of open data into the catalogue, run from the command line
//! (`consumact import …`), never as live calls: files in their sources'
//! own formats, read as streams, written idempotently.

use sea_orm::{ConnectionTrait, DatabaseConnection, DatabaseTransaction, TransactionTrait};

use crate::error::Result;

mod countries;
pub mod edges;
pub mod gleif;
pub mod off;
pub mod wikidata;

/// A transaction for one batch of an import. On SQLite it holds the write
/// lock at once (a running server may be writing too); on PostgreSQL its
/// commit does not wait for the disk, since an import is resumed by running
/// it again.
async fn begin(db: &DatabaseConnection) -> Result<DatabaseTransaction> {
    let txn = db.begin().await?;
    match db.get_database_backend() {
        sea_orm::DbBackend::Sqlite => crate::db::take_sqlite_write_lock(&txn).await?,
        sea_orm::DbBackend::Postgres => {
            txn.execute_unprepared("SET LOCAL synchronous_commit = off")
                .await?;
        }
        _ => {}
    }
    Ok(txn)
}
