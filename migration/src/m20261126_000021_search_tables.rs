//! On PostgreSQL, campaigns' and communities' search vectors move out of
//! their rows into tables of their own (`campaign_search`,
//! `community_search`), kept by triggers that fire only when the text or
//! the language changes.
//!
//! As stored generated columns, the vectors were recomputed on every update
//! of the row, and every update of a kept total (each signing batch updates
//! its campaigns' signature totals and momentum, each join a community's
//! member count) rewrote the row's entries in the GIN index too: the
//! largest cost of a signing batch. SQLite's FTS5 triggers already fire
//! only on text changes; nothing changes there.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

const POSTGRES: &[&str] = &[
    "CREATE TABLE campaign_search (
        campaign_id uuid PRIMARY KEY REFERENCES campaign (id) ON DELETE CASCADE,
        language text NOT NULL,
        search tsvector NOT NULL
    )",
    "CREATE FUNCTION consumact_campaign_search() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
        config regconfig := CASE WHEN NEW.language = 'fr' THEN 'consumact_fr'::regconfig ELSE 'consumact_en'::regconfig END;
    BEGIN
        INSERT INTO campaign_search (campaign_id, language, search)
        VALUES (NEW.id, NEW.language,
            setweight(to_tsvector(config, NEW.title), 'A')
            || setweight(to_tsvector(config, NEW.summary), 'B')
            || setweight(to_tsvector(config, NEW.body), 'C'))
        ON CONFLICT (campaign_id) DO UPDATE SET language = excluded.language, search = excluded.search;
        RETURN NULL;
    END $$",
    "CREATE TRIGGER campaign_search_kept AFTER INSERT OR UPDATE OF title, summary, body, language
        ON campaign FOR EACH ROW EXECUTE FUNCTION consumact_campaign_search()",
    "INSERT INTO campaign_search (campaign_id, language, search) SELECT id, language, search FROM campaign",
    "ALTER TABLE campaign DROP COLUMN search",
    "CREATE INDEX idx_campaign_search ON campaign_search USING GIN (search)",
    "CREATE TABLE community_search (
        community_id uuid PRIMARY KEY REFERENCES community (id) ON DELETE CASCADE,
        language text NOT NULL,
        search tsvector NOT NULL
    )",
    "CREATE FUNCTION consumact_community_search() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
        config regconfig := CASE WHEN NEW.language = 'fr' THEN 'consumact_fr'::regconfig ELSE 'consumact_en'::regconfig END;
    BEGIN
        INSERT INTO community_search (community_id, language, search)
        VALUES (NEW.id, NEW.language,
            setweight(to_tsvector(config, NEW.name), 'A')
            || setweight(to_tsvector(config, NEW.description), 'B'))
        ON CONFLICT (community_id) DO UPDATE SET language = excluded.language, search = excluded.search;
        RETURN NULL;
    END $$",
    "CREATE TRIGGER community_search_kept AFTER INSERT OR UPDATE OF name, description, language
        ON community FOR EACH ROW EXECUTE FUNCTION consumact_community_search()",
    "INSERT INTO community_search (community_id, language, search) SELECT id, language, search FROM community",
    "ALTER TABLE community DROP COLUMN search",
    "CREATE INDEX idx_community_search ON community_search USING GIN (search)",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        let db = manager.get_connection();
        for statement in POSTGRES {
            db.execute_unprepared(statement).await?;
        }
        Ok(())
    }
}
