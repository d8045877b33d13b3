//! Members (people with an account) and their bearer tokens, stored hashed.

use sea_orm_migration::{prelude::*, schema::*};

use crate::{Common, fk, index};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
pub(crate) enum Member {
    Table,
    Handle,
    HandleKey,
    Email,
    PasswordHash,
    DisplayName,
    Role,
    Territory,
}

#[derive(DeriveIden)]
enum AuthToken {
    Table,
    MemberId,
    TokenHash,
    ExpiresAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Member::Table)
                    .if_not_exists()
                    .col(pk_uuid(Common::Id))
                    .col(string_len(Member::Handle, 32))
                    // Handles are unique regardless of case: `Alice` and `alice` are one person.
                    .col(string_len_uniq(Member::HandleKey, 32))
                    .col(string_len_uniq(Member::Email, 254))
                    .col(string_len(Member::PasswordHash, 255))
                    .col(string_len(Member::DisplayName, 80))
                    .col(string_len(Member::Role, 16))
                    .col(string_len_null(Member::Territory, 6))
                    .col(timestamp_with_time_zone(Common::CreatedAt))
                    .col(timestamp_with_time_zone(Common::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(AuthToken::Table)
                    .if_not_exists()
                    .col(pk_uuid(Common::Id))
                    .col(uuid(AuthToken::MemberId))
                    .col(string_len_uniq(AuthToken::TokenHash, 64))
                    .col(timestamp_with_time_zone(Common::CreatedAt))
                    .col(timestamp_with_time_zone(AuthToken::ExpiresAt))
                    .foreign_key(&mut fk(
                        AuthToken::Table,
                        AuthToken::MemberId,
                        Member::Table,
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_auth_token_member",
                AuthToken::Table,
                [AuthToken::MemberId],
                false,
            ))
            .await
    }
}
