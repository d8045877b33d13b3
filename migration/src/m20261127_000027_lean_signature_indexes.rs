//! Fewer signature indexes to maintain on every signature written and to
//! build after a bulk load:
//! - `idx_signature_member` (member) goes: `idx_signature_member_status`
//!   (member, status) serves every lookup by member.
//! - The indexes on `invalidation_id` and `held_by` only hold the
//!   signatures that have one (an invalidation or a surge hold is rare):
//!   every query on them asks for a given id or for the signatures that
//!   have one.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    /// In one transaction on SQLite too: there, another pooled connection
    /// would still see the index just dropped and refuse to create it.
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for statement in [
            "DROP INDEX IF EXISTS idx_signature_member",
            "DROP INDEX IF EXISTS idx_signature_invalidation",
            "CREATE INDEX idx_signature_invalidation ON signature (invalidation_id) \
             WHERE invalidation_id IS NOT NULL",
            "DROP INDEX IF EXISTS idx_signature_held_by",
            "CREATE INDEX idx_signature_held_by ON signature (held_by) \
             WHERE held_by IS NOT NULL",
        ] {
            db.execute_unprepared(statement).await?;
        }
        Ok(())
    }
}
