//! Discovery: values kept beside campaigns and communities so that every
//! ordering a list offers walks an index (signature totals, member counts,
//! momentum), and full-text search kept by the database itself on every
//! write: on PostgreSQL a stored `tsvector` (generated column, GIN index)
//! through text search configurations that fold accents with `unaccent`;
//! on SQLite FTS5 tables (`unicode61 remove_diacritics 2`) kept by triggers.
//! The search part is engine-specific SQL, behind this one migration.

use sea_orm_migration::sea_orm::DbBackend;
use sea_orm_migration::{prelude::*, schema::*};

use crate::index;
use crate::m20261125_000003_create_communities::Community;
use crate::m20261125_000005_create_campaigns::Campaign;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Momentum of something nobody has acted on yet (a natural logarithm:
/// `exp(-1e9)` is zero).
const NO_MOMENTUM: f64 = -1.0e9;

#[derive(DeriveIden)]
enum CampaignColumn {
    /// Counted online signatures plus verified offline ones.
    SignatureTotal,
    /// Signatures weighted by age, as a logarithm (see `service::kept`).
    Momentum,
    Deadline,
    Id,
}

#[derive(DeriveIden)]
enum CommunityColumn {
    MemberCount,
    Momentum,
    Id,
}

const POSTGRES_SEARCH: &[&str] = &[
    "CREATE EXTENSION IF NOT EXISTS unaccent",
    // Text search configurations that fold accents before stemming, so
    // `etiquetage` finds `étiquetage` and a headline still shows the accents.
    "CREATE TEXT SEARCH CONFIGURATION consumact_fr (COPY = pg_catalog.french)",
    "ALTER TEXT SEARCH CONFIGURATION consumact_fr ALTER MAPPING FOR hword, hword_part, word WITH unaccent, french_stem",
    "CREATE TEXT SEARCH CONFIGURATION consumact_en (COPY = pg_catalog.english)",
    "ALTER TEXT SEARCH CONFIGURATION consumact_en ALTER MAPPING FOR hword, hword_part, word WITH unaccent, english_stem",
    "CREATE TEXT SEARCH CONFIGURATION consumact_simple (COPY = pg_catalog.simple)",
    "ALTER TEXT SEARCH CONFIGURATION consumact_simple ALTER MAPPING FOR hword, hword_part, word WITH unaccent, simple",
    "ALTER TABLE campaign ADD COLUMN search tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector(CASE WHEN language = 'fr' THEN 'consumact_fr'::regconfig ELSE 'consumact_en'::regconfig END, title), 'A')
        || setweight(to_tsvector(CASE WHEN language = 'fr' THEN 'consumact_fr'::regconfig ELSE 'consumact_en'::regconfig END, summary), 'B')
        || setweight(to_tsvector(CASE WHEN language = 'fr' THEN 'consumact_fr'::regconfig ELSE 'consumact_en'::regconfig END, body), 'C')
    ) STORED",
    "CREATE INDEX idx_campaign_search ON campaign USING GIN (search)",
    "ALTER TABLE community ADD COLUMN search tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector(CASE WHEN language = 'fr' THEN 'consumact_fr'::regconfig ELSE 'consumact_en'::regconfig END, name), 'A')
        || setweight(to_tsvector(CASE WHEN language = 'fr' THEN 'consumact_fr'::regconfig ELSE 'consumact_en'::regconfig END, description), 'B')
    ) STORED",
    "CREATE INDEX idx_community_search ON community USING GIN (search)",
    // Producers have no language: names and sectors are matched as words.
    "ALTER TABLE producer ADD COLUMN search tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('consumact_simple'::regconfig, name), 'A')
        || setweight(to_tsvector('consumact_simple'::regconfig, sector || ' ' || labels), 'B')
        || setweight(to_tsvector('consumact_simple'::regconfig, description), 'C')
    ) STORED",
    "CREATE INDEX idx_producer_search ON producer USING GIN (search)",
];

/// FTS5 tables hold the owner's id (unindexed) beside its text; triggers
/// keep them in step with every insert, text change and deletion.
const SQLITE_SEARCH: &[&str] = &[
    "CREATE VIRTUAL TABLE campaign_fts USING fts5(id UNINDEXED, title, summary, body, tokenize = 'unicode61 remove_diacritics 2')",
    "INSERT INTO campaign_fts (id, title, summary, body) SELECT id, title, summary, body FROM campaign",
    "CREATE TRIGGER campaign_fts_insert AFTER INSERT ON campaign BEGIN
        INSERT INTO campaign_fts (id, title, summary, body) VALUES (new.id, new.title, new.summary, new.body);
    END",
    "CREATE TRIGGER campaign_fts_update AFTER UPDATE OF title, summary, body ON campaign BEGIN
        DELETE FROM campaign_fts WHERE id = old.id;
        INSERT INTO campaign_fts (id, title, summary, body) VALUES (new.id, new.title, new.summary, new.body);
    END",
    "CREATE TRIGGER campaign_fts_delete AFTER DELETE ON campaign BEGIN
        DELETE FROM campaign_fts WHERE id = old.id;
    END",
    "CREATE VIRTUAL TABLE community_fts USING fts5(id UNINDEXED, name, description, tokenize = 'unicode61 remove_diacritics 2')",
    "INSERT INTO community_fts (id, name, description) SELECT id, name, description FROM community",
    "CREATE TRIGGER community_fts_insert AFTER INSERT ON community BEGIN
        INSERT INTO community_fts (id, name, description) VALUES (new.id, new.name, new.description);
    END",
    "CREATE TRIGGER community_fts_update AFTER UPDATE OF name, description ON community BEGIN
        DELETE FROM community_fts WHERE id = old.id;
        INSERT INTO community_fts (id, name, description) VALUES (new.id, new.name, new.description);
    END",
    "CREATE TRIGGER community_fts_delete AFTER DELETE ON community BEGIN
        DELETE FROM community_fts WHERE id = old.id;
    END",
    "CREATE VIRTUAL TABLE producer_fts USING fts5(id UNINDEXED, name, sector, description, tokenize = 'unicode61 remove_diacritics 2')",
    "INSERT INTO producer_fts (id, name, sector, description) SELECT id, name, sector || ' ' || labels, description FROM producer",
    "CREATE TRIGGER producer_fts_insert AFTER INSERT ON producer BEGIN
        INSERT INTO producer_fts (id, name, sector, description) VALUES (new.id, new.name, new.sector || ' ' || new.labels, new.description);
    END",
    "CREATE TRIGGER producer_fts_update AFTER UPDATE OF name, sector, labels, description ON producer BEGIN
        DELETE FROM producer_fts WHERE id = old.id;
        INSERT INTO producer_fts (id, name, sector, description) VALUES (new.id, new.name, new.sector || ' ' || new.labels, new.description);
    END",
    "CREATE TRIGGER producer_fts_delete AFTER DELETE ON producer BEGIN
        DELETE FROM producer_fts WHERE id = old.id;
    END",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite adds one column per ALTER TABLE.
        for column in [
            big_integer(CampaignColumn::SignatureTotal)
                .default(0)
                .to_owned(),
            double(CampaignColumn::Momentum)
                .default(NO_MOMENTUM)
                .to_owned(),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Campaign::Table)
                        .add_column(column)
                        .to_owned(),
                )
                .await?;
        }
        for column in [
            big_integer(CommunityColumn::MemberCount)
                .default(0)
                .to_owned(),
            double(CommunityColumn::Momentum)
                .default(NO_MOMENTUM)
                .to_owned(),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Community::Table)
                        .add_column(column)
                        .to_owned(),
                )
                .await?;
        }
        let db = manager.get_connection();
        // Existing rows start from what is there; momentum starts from now.
        db.execute_unprepared(
            "UPDATE campaign SET signature_total = offline_signatures + (
                SELECT COUNT(*) FROM signature
                WHERE signature.campaign_id = campaign.id AND signature.status = 'COUNTED')",
        )
        .await?;
        db.execute_unprepared(
            "UPDATE community SET member_count = (
                SELECT COUNT(*) FROM community_member
                WHERE community_member.community_id = community.id)",
        )
        .await?;
        for (name, table, columns) in [
            (
                "idx_campaign_signature_total",
                Campaign::Table,
                [CampaignColumn::SignatureTotal, CampaignColumn::Id],
            ),
            (
                "idx_campaign_momentum",
                Campaign::Table,
                [CampaignColumn::Momentum, CampaignColumn::Id],
            ),
            (
                "idx_campaign_deadline",
                Campaign::Table,
                [CampaignColumn::Deadline, CampaignColumn::Id],
            ),
        ] {
            manager
                .create_index(index(name, table, columns, false))
                .await?;
        }
        for (name, columns) in [
            (
                "idx_community_member_count",
                [CommunityColumn::MemberCount, CommunityColumn::Id],
            ),
            (
                "idx_community_momentum",
                [CommunityColumn::Momentum, CommunityColumn::Id],
            ),
        ] {
            manager
                .create_index(index(name, Community::Table, columns, false))
                .await?;
        }
        let search = match manager.get_database_backend() {
            DbBackend::Postgres => POSTGRES_SEARCH,
            _ => SQLITE_SEARCH,
        };
        for statement in search {
            db.execute_unprepared(statement).await?;
        }
        Ok(())
    }
}
