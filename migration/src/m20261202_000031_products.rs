//! The shelf: brands (with the producer that owns them) and products by
//! their barcode, as Open Food Facts normalises it, with their categories,
//! labels, allergens and places, and what they say of each value (`YES` or
//! `NO`; a value a product says nothing of is unknown and has no row).
//! Each product says where its data comes from (`CATALOGUE`, written here,
//! or `OPEN_FOOD_FACTS`, imported under the ODbL).

use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261125_000002_create_value_tags::ValueTag;
use crate::m20261125_000004_create_producers::Producer;
use crate::{fk, index};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Brand {
    Table,
    Id,
    Name,
    NameKey,
    OwnerId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Product {
    Table,
    Id,
    Gtin,
    Name,
    BrandId,
    ProducerId,
    Categories,
    Labels,
    Allergens,
    Territories,
    Source,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum ProductValue {
    Table,
    ProductId,
    ValueTagId,
    Status,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Brand::Table)
                    .if_not_exists()
                    .col(uuid(Brand::Id).primary_key())
                    .col(string_len(Brand::Name, 200))
                    .col(string_len_uniq(Brand::NameKey, 200))
                    .col(uuid_null(Brand::OwnerId))
                    .col(timestamp_with_time_zone(Brand::CreatedAt))
                    .foreign_key(&mut fk(
                        Brand::Table,
                        Brand::OwnerId,
                        Producer::Table,
                        ForeignKeyAction::SetNull,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_brand_owner",
                Brand::Table,
                [Brand::OwnerId],
                false,
            ))
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Product::Table)
                    .if_not_exists()
                    .col(uuid(Product::Id).primary_key())
                    .col(string_len_uniq(Product::Gtin, 14))
                    .col(string_len(Product::Name, 300))
                    .col(uuid_null(Product::BrandId))
                    .col(uuid_null(Product::ProducerId))
                    .col(text(Product::Categories))
                    .col(text(Product::Labels))
                    .col(text(Product::Allergens))
                    .col(text(Product::Territories))
                    .col(string_len(Product::Source, 24).default("CATALOGUE"))
                    .col(timestamp_with_time_zone(Product::CreatedAt))
                    .col(timestamp_with_time_zone(Product::UpdatedAt))
                    .foreign_key(&mut fk(
                        Product::Table,
                        Product::BrandId,
                        Brand::Table,
                        ForeignKeyAction::SetNull,
                    ))
                    .foreign_key(&mut fk(
                        Product::Table,
                        Product::ProducerId,
                        Producer::Table,
                        ForeignKeyAction::SetNull,
                    ))
                    .to_owned(),
            )
            .await?;
        for (name, column) in [
            ("idx_product_brand", Product::BrandId),
            ("idx_product_producer", Product::ProducerId),
        ] {
            manager
                .create_index(index(name, Product::Table, [column], false))
                .await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(ProductValue::Table)
                    .if_not_exists()
                    .col(uuid(ProductValue::ProductId))
                    .col(uuid(ProductValue::ValueTagId))
                    .col(string_len(ProductValue::Status, 8))
                    .primary_key(
                        Index::create()
                            .col(ProductValue::ProductId)
                            .col(ProductValue::ValueTagId),
                    )
                    .foreign_key(&mut fk(
                        ProductValue::Table,
                        ProductValue::ProductId,
                        Product::Table,
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        ProductValue::Table,
                        ProductValue::ValueTagId,
                        ValueTag::Table,
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_product_value_tag",
                ProductValue::Table,
                [ProductValue::ValueTagId, ProductValue::Status],
                false,
            ))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            ProductValue::Table.into_iden(),
            Product::Table.into_iden(),
            Brand::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
