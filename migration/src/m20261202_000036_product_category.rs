//! A product's deepest category in a column of its own, indexed with the
//! id: `alternatives` reads a category's products in key order instead of
//! scanning every product's category list.

use sea_orm_migration::sea_orm::DbBackend;
use sea_orm_migration::{prelude::*, schema::*};

use crate::index;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Product {
    Table,
    Id,
    Category,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Product::Table)
                    .add_column(string_len_null(Product::Category, 120))
                    .to_owned(),
            )
            .await?;
        let backfill = match manager.get_database_backend() {
            DbBackend::Postgres => {
                "UPDATE product SET category = categories::json ->> (json_array_length(categories::json) - 1) \
                 WHERE json_array_length(categories::json) > 0"
            }
            _ => "UPDATE product SET category = json_extract(categories, '$[#-1]')",
        };
        manager
            .get_connection()
            .execute_unprepared(backfill)
            .await?;
        manager
            .create_index(index(
                "idx_product_category",
                Product::Table,
                [Product::Category, Product::Id],
                false,
            ))
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Product::Table)
                    .drop_column(Product::Category)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }
}
