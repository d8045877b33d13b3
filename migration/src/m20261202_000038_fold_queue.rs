//! The fold's queue: each write that changes what counts appends one row
//! here, in its own transaction, naming the derived rows it moves
//! (observatory atoms and totals, campaigns' and communities' kept values);
//! the folder applies and deletes rows in large batches (see the server's
//! `service::fold`). `created_ms` (milliseconds since the Unix epoch)
//! gives the fold's lag.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let create = match manager.get_database_backend() {
            DbBackend::Postgres => {
                "CREATE TABLE fold_change ( \
                   id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, \
                   created_ms BIGINT NOT NULL, \
                   changes TEXT NOT NULL)"
            }
            _ => {
                "CREATE TABLE fold_change ( \
                   id INTEGER PRIMARY KEY AUTOINCREMENT, \
                   created_ms BIGINT NOT NULL, \
                   changes TEXT NOT NULL)"
            }
        };
        manager.get_connection().execute_unprepared(create).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared("DROP TABLE fold_change")
            .await?;
        Ok(())
    }
}
