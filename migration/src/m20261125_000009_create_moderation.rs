//! Flags raised on content and the audit log of moderators' and admins' actions.

use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261125_000001_create_members::Member;
use crate::{Common, fk, index};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Flag {
    Table,
    ReporterId,
    TargetType,
    TargetId,
    Reason,
    Status,
    ResolvedBy,
    ResolvedAt,
}

#[derive(DeriveIden)]
enum AuditLog {
    Table,
    ActorId,
    Action,
    TargetType,
    TargetId,
    Reason,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Flag::Table)
                    .if_not_exists()
                    .col(pk_uuid(Common::Id))
                    .col(uuid_null(Flag::ReporterId))
                    .col(string_len(Flag::TargetType, 24))
                    .col(uuid(Flag::TargetId))
                    .col(text(Flag::Reason))
                    .col(string_len(Flag::Status, 16))
                    .col(uuid_null(Flag::ResolvedBy))
                    .col(timestamp_with_time_zone_null(Flag::ResolvedAt))
                    .col(timestamp_with_time_zone(Common::CreatedAt))
                    .foreign_key(&mut fk(
                        Flag::Table,
                        Flag::ReporterId,
                        Member::Table,
                        ForeignKeyAction::SetNull,
                    ))
                    .foreign_key(&mut fk(
                        Flag::Table,
                        Flag::ResolvedBy,
                        Member::Table,
                        ForeignKeyAction::SetNull,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "uq_flag_reporter_target",
                Flag::Table,
                [Flag::ReporterId, Flag::TargetId],
                true,
            ))
            .await?;
        manager
            .create_index(index("idx_flag_status", Flag::Table, [Flag::Status], false))
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(AuditLog::Table)
                    .if_not_exists()
                    .col(pk_uuid(Common::Id))
                    .col(uuid_null(AuditLog::ActorId))
                    .col(string_len(AuditLog::Action, 48))
                    .col(string_len(AuditLog::TargetType, 24))
                    .col(uuid_null(AuditLog::TargetId))
                    .col(text_null(AuditLog::Reason))
                    .col(timestamp_with_time_zone(Common::CreatedAt))
                    .foreign_key(&mut fk(
                        AuditLog::Table,
                        AuditLog::ActorId,
                        Member::Table,
                        ForeignKeyAction::SetNull,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_audit_log_target",
                AuditLog::Table,
                [AuditLog::TargetId],
                false,
            ))
            .await
    }
}
