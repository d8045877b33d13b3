//! The shelf of the data set (`--products`): an ownership forest over the
//! seeded producers (groups own mid-sized companies, which own some of the
//! rest), one brand per 20 products owned across it, and products with
//! valid barcodes, a two-level category, labels, allergens (their values
//! derived as the catalogue derives them) and the countries they are sold
//! in.

use chrono::{DateTime, Utc};
use entities::product_value::ValueStatus;
use sea_orm::ActiveEnum;
use uuid::Uuid;

use super::bulk::{BULK_BATCH, Bulk, Encoding, copy_time, write_bulk};
use super::phases::Seeding;
use crate::error::Result;
use crate::service::catalogue::product as catalogue;

const COUNTRIES: &[&str] = &["FR", "BE", "DE", "ES", "IT", "CH", "NL"];
const FAMILIES: &[&str] = &[
    "spreads",
    "biscuits",
    "cereals",
    "chocolates",
    "yogurts",
    "juices",
    "sodas",
    "pastas",
    "cheeses",
    "coffees",
];
/// (label, chance in 100)
const LABELS: &[(&str, u64)] = &[
    ("en:vegan", 25),
    ("en:organic", 20),
    ("en:halal", 8),
    ("en:kosher", 5),
    ("en:palm-oil-free", 15),
    ("en:fair-trade", 10),
];
const ALLERGENS: &[(&str, u64)] = &[("en:milk", 30), ("en:gluten", 30), ("en:nuts", 10)];

/// The barcode of the `i`-th seeded product: an EAN-13 in the in-store
/// range (prefix 2), with its check digit.
pub fn gtin_of(i: u64) -> String {
    let body = format!("2{:011}", i % 100_000_000_000);
    let sum: u32 = body
        .bytes()
        .rev()
        .enumerate()
        .map(|(n, b)| u32::from(b - b'0') * if n % 2 == 0 { 3 } else { 1 })
        .sum();
    format!("{body}{}", (10 - sum % 10) % 10)
}

struct SeedBrand {
    id: Uuid,
    name: String,
    owner_id: Uuid,
    at: DateTime<Utc>,
}

impl Bulk for SeedBrand {
    const COPY: &'static str = "COPY brand (id, name, name_key, owner_id, created_at) FROM STDIN";
    type Active = entities::brand::ActiveModel;
    const ENCODING: Encoding<Self> = Encoding::Text(Self::line);
    fn active(self) -> Self::Active {
        use sea_orm::Set;
        entities::brand::ActiveModel {
            id: Set(self.id),
            name_key: Set(self.name.to_lowercase()),
            name: Set(self.name),
            owner_id: Set(Some(self.owner_id)),
            created_at: Set(self.at),
        }
    }
}

impl SeedBrand {
    fn line(&self, out: &mut String) {
        use std::fmt::Write;
        let _ = writeln!(
            out,
            "{}\t{}\t{}\t{}\t{}",
            self.id,
            self.name,
            self.name.to_lowercase(),
            self.owner_id,
            copy_time(self.at)
        );
    }
}

struct SeedEdge {
    id: Uuid,
    child: Uuid,
    parent: Uuid,
    at: DateTime<Utc>,
}

impl Bulk for SeedEdge {
    const COPY: &'static str = "COPY ownership (id, child_id, parent_id, source, evidence_url, \
        valid_from, valid_to, created_at) FROM STDIN";
    type Active = entities::ownership::ActiveModel;
    const ENCODING: Encoding<Self> = Encoding::Text(Self::line);
    fn active(self) -> Self::Active {
        use sea_orm::Set;
        entities::ownership::ActiveModel {
            id: Set(self.id),
            child_id: Set(self.child),
            parent_id: Set(self.parent),
            source: Set(entities::ownership::OwnershipSource::Wikidata),
            evidence_url: Set(None),
            valid_from: Set(self.at),
            valid_to: Set(None),
            created_at: Set(self.at),
        }
    }
}

impl SeedEdge {
    fn line(&self, out: &mut String) {
        use std::fmt::Write;
        let at = copy_time(self.at);
        let _ = writeln!(
            out,
            "{}\t{}\t{}\tWIKIDATA\t\\N\t{at}\t\\N\t{at}",
            self.id, self.child, self.parent
        );
    }
}

struct SeedProduct {
    id: Uuid,
    gtin: String,
    name: String,
    brand: Uuid,
    producer: Uuid,
    categories: String,
    category: String,
    labels: String,
    allergens: String,
    territories: String,
    at: DateTime<Utc>,
}

impl Bulk for SeedProduct {
    const COPY: &'static str = "COPY product (id, gtin, name, brand_id, producer_id, categories, \
        category, labels, allergens, territories, source, created_at, updated_at) FROM STDIN";
    type Active = entities::product::ActiveModel;
    const ENCODING: Encoding<Self> = Encoding::Text(Self::line);
    fn active(self) -> Self::Active {
        use sea_orm::Set;
        entities::product::ActiveModel {
            id: Set(self.id),
            gtin: Set(self.gtin),
            name: Set(self.name),
            brand_id: Set(Some(self.brand)),
            producer_id: Set(Some(self.producer)),
            categories: Set(self.categories),
            category: Set(Some(self.category)),
            labels: Set(self.labels),
            allergens: Set(self.allergens),
            territories: Set(self.territories),
            source: Set(entities::product::ProductSource::Catalogue),
            created_at: Set(self.at),
            updated_at: Set(self.at),
        }
    }
}

impl SeedProduct {
    fn line(&self, out: &mut String) {
        use std::fmt::Write;
        let at = copy_time(self.at);
        let _ = writeln!(
            out,
            "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\tCATALOGUE\t{at}\t{at}",
            self.id,
            self.gtin,
            self.name,
            self.brand,
            self.producer,
            self.categories,
            self.category,
            self.labels,
            self.allergens,
            self.territories
        );
    }
}

struct SeedValue {
    product: Uuid,
    tag: Uuid,
    status: ValueStatus,
}

impl Bulk for SeedValue {
    const COPY: &'static str = "COPY product_value (product_id, value_tag_id, status) FROM STDIN";
    type Active = entities::product_value::ActiveModel;
    const ENCODING: Encoding<Self> = Encoding::Text(Self::line);
    fn active(self) -> Self::Active {
        use sea_orm::Set;
        entities::product_value::ActiveModel {
            product_id: Set(self.product),
            value_tag_id: Set(self.tag),
            status: Set(self.status),
        }
    }
}

impl SeedValue {
    fn line(&self, out: &mut String) {
        use std::fmt::Write;
        let _ = writeln!(
            out,
            "{}\t{}\t{}",
            self.product,
            self.tag,
            self.status.to_value()
        );
    }
}

fn json(list: &[&str]) -> String {
    serde_json::to_string(list).unwrap_or_else(|_| "[]".into())
}

impl Seeding<'_> {
    /// The ownership forest, the brands and `--products` products.
    pub(super) async fn shelf(&mut self) -> Result<()> {
        let products = self.args.products;
        let count = self.producers.len() as u64;
        if products == 0 || count == 0 {
            return Ok(());
        }
        let at = self.start;
        // Groups (1 in 50) own the mid-sized (1 in 10), which with the
        // groups own 4 in 10 of the rest.
        let groups = (count / 50).max(1);
        let mids = (count / 10).max(groups + 1).min(count);
        let mut edges = Vec::new();
        for child in groups..count {
            let parent = if child < mids {
                Some(self.rng.below(groups))
            } else if self.rng.below(10) < 4 {
                Some(self.rng.below(mids))
            } else {
                None
            };
            if let Some(parent) = parent {
                edges.push(SeedEdge {
                    id: self.rng.id_at(at),
                    child: self.producers[child as usize],
                    parent: self.producers[parent as usize],
                    at,
                });
            }
        }
        self.report.ownerships = edges.len() as u64;
        write_bulk(self.db, edges).await?;
        let brand_count = (products / 20).max(1);
        let mut brands = Vec::with_capacity(brand_count as usize);
        let mut owners = Vec::with_capacity(brand_count as usize);
        for b in 0..brand_count {
            let owner = self.producers[self.rng.below(count) as usize];
            let id = self.rng.id_at(at);
            owners.push((id, owner));
            brands.push(SeedBrand {
                id,
                name: format!("{} brand {b:06}", self.tag),
                owner_id: owner,
                at,
            });
        }
        self.report.brands = brand_count;
        write_bulk(self.db, brands).await?;
        self.log("ownership forest and brands written");
        let mut rows = Vec::with_capacity(BULK_BATCH.min(products as usize));
        let mut values = Vec::new();
        for i in 0..products {
            let (brand, producer) = owners[self.rng.skewed(brand_count) as usize];
            let family = *self.rng.pick(FAMILIES);
            let kind = self.rng.below(10);
            let categories = [format!("en:{family}"), format!("en:{family}-{kind}")];
            let mut labels = Vec::new();
            for (label, chance) in LABELS {
                if self.rng.below(100) < *chance {
                    labels.push(*label);
                }
            }
            let mut allergens = Vec::new();
            for (allergen, chance) in ALLERGENS {
                if self.rng.below(100) < *chance {
                    allergens.push(*allergen);
                }
            }
            let mut territories = vec![*self.rng.pick(COUNTRIES)];
            let second = *self.rng.pick(COUNTRIES);
            if second != territories[0] {
                territories.push(second);
            }
            let id = self.rng.id_at(at);
            let owned = |list: &[&str]| list.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
            for (slug, status) in catalogue::statuses(&owned(&labels), &owned(&allergens)) {
                if let Some(tag) = self.tag_of(&slug) {
                    values.push(SeedValue {
                        product: id,
                        tag,
                        status,
                    });
                }
            }
            let categories: Vec<&str> = categories.iter().map(String::as_str).collect();
            rows.push(SeedProduct {
                id,
                gtin: gtin_of(i),
                name: format!("{family} {kind} no {i}"),
                brand,
                producer,
                categories: json(&categories),
                category: categories[1].to_owned(),
                labels: json(&labels),
                allergens: json(&allergens),
                territories: json(&territories),
                at,
            });
            if rows.len() >= BULK_BATCH {
                write_bulk(self.db, std::mem::take(&mut rows)).await?;
                write_bulk(self.db, std::mem::take(&mut values)).await?;
            }
        }
        write_bulk(self.db, rows).await?;
        write_bulk(self.db, values).await?;
        self.report.products = products;
        self.log("products written");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::gtin_of;
    use crate::service::catalogue::gtin;

    #[test]
    fn seeded_barcodes_are_valid_and_distinct() {
        let codes: Vec<String> = [0, 1, 42, 999_999].iter().map(|&i| gtin_of(i)).collect();
        for code in &codes {
            assert_eq!(gtin::normalise("code", code).unwrap(), *code);
        }
        let mut unique = codes.clone();
        unique.dedup();
        assert_eq!(unique.len(), codes.len());
    }
}
