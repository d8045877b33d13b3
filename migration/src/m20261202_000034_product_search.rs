//! Products in full-text search: their name, barcode and categories, as a
//! stored `tsvector` with its GIN index on PostgreSQL and an FTS5 table kept
//! by triggers on SQLite, as producers have.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Products have no language: names are matched as words.
const POSTGRES: &[&str] = &[
    "ALTER TABLE product ADD COLUMN search tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('consumact_simple'::regconfig, name), 'A')
        || setweight(to_tsvector('consumact_simple'::regconfig, gtin || ' ' || translate(categories, '[]\":,-', '       ')), 'B')
    ) STORED",
    "CREATE INDEX idx_product_search ON product USING GIN (search)",
];

const SQLITE: &[&str] = &[
    "CREATE VIRTUAL TABLE product_fts USING fts5(id UNINDEXED, name, details, tokenize = 'unicode61 remove_diacritics 2')",
    "INSERT INTO product_fts (id, name, details) SELECT id, name, gtin || ' ' || categories FROM product",
    "CREATE TRIGGER product_fts_insert AFTER INSERT ON product BEGIN
        INSERT INTO product_fts (id, name, details) VALUES (new.id, new.name, new.gtin || ' ' || new.categories);
    END",
    "CREATE TRIGGER product_fts_update AFTER UPDATE OF name, gtin, categories ON product BEGIN
        DELETE FROM product_fts WHERE id = old.id;
        INSERT INTO product_fts (id, name, details) VALUES (new.id, new.name, new.gtin || ' ' || new.categories);
    END",
    "CREATE TRIGGER product_fts_delete AFTER DELETE ON product BEGIN
        DELETE FROM product_fts WHERE id = old.id;
    END",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let statements = match manager.get_database_backend() {
            DbBackend::Postgres => POSTGRES,
            _ => SQLITE,
        };
        for statement in statements {
            manager
                .get_connection()
                .execute_unprepared(statement)
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let statements: &[&str] = match manager.get_database_backend() {
            DbBackend::Postgres => &[
                "DROP INDEX IF EXISTS idx_product_search",
                "ALTER TABLE product DROP COLUMN IF EXISTS search",
            ],
            _ => &[
                "DROP TRIGGER IF EXISTS product_fts_insert",
                "DROP TRIGGER IF EXISTS product_fts_update",
                "DROP TRIGGER IF EXISTS product_fts_delete",
                "DROP TABLE IF EXISTS product_fts",
            ],
        };
        for statement in statements {
            manager
                .get_connection()
                .execute_unprepared(statement)
                .await?;
        }
        Ok(())
    }
}
