//! Communities, the values they share and who belongs to them.

use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261125_000001_create_members::Member;
use crate::m20261125_000002_create_value_tags::ValueTag;
use crate::{Common, fk, index};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
pub(crate) enum Community {
    Table,
    Slug,
    Name,
    Description,
    Territory,
    CreatedBy,
}

#[derive(DeriveIden)]
enum CommunityValueTag {
    Table,
    CommunityId,
    ValueTagId,
}

#[derive(DeriveIden)]
enum CommunityMember {
    Table,
    CommunityId,
    MemberId,
    Role,
    JoinedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Community::Table)
                    .if_not_exists()
                    .col(pk_uuid(Common::Id))
                    .col(string_len_uniq(Community::Slug, 64))
                    .col(string_len(Community::Name, 120))
                    .col(text(Community::Description))
                    .col(string_len_null(Community::Territory, 6))
                    .col(uuid_null(Community::CreatedBy))
                    .col(timestamp_with_time_zone(Common::CreatedAt))
                    .col(timestamp_with_time_zone(Common::UpdatedAt))
                    .foreign_key(&mut fk(
                        Community::Table,
                        Community::CreatedBy,
                        Member::Table,
                        ForeignKeyAction::SetNull,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_community_territory",
                Community::Table,
                [Community::Territory],
                false,
            ))
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(CommunityValueTag::Table)
                    .if_not_exists()
                    .col(uuid(CommunityValueTag::CommunityId))
                    .col(uuid(CommunityValueTag::ValueTagId))
                    .primary_key(
                        Index::create()
                            .col(CommunityValueTag::CommunityId)
                            .col(CommunityValueTag::ValueTagId),
                    )
                    .foreign_key(&mut fk(
                        CommunityValueTag::Table,
                        CommunityValueTag::CommunityId,
                        Community::Table,
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        CommunityValueTag::Table,
                        CommunityValueTag::ValueTagId,
                        ValueTag::Table,
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_community_value_tag_tag",
                CommunityValueTag::Table,
                [CommunityValueTag::ValueTagId],
                false,
            ))
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(CommunityMember::Table)
                    .if_not_exists()
                    .col(uuid(CommunityMember::CommunityId))
                    .col(uuid(CommunityMember::MemberId))
                    .col(string_len(CommunityMember::Role, 16))
                    .col(timestamp_with_time_zone(CommunityMember::JoinedAt))
                    // One membership per (community, member): joining twice is a conflict.
                    .primary_key(
                        Index::create()
                            .col(CommunityMember::CommunityId)
                            .col(CommunityMember::MemberId),
                    )
                    .foreign_key(&mut fk(
                        CommunityMember::Table,
                        CommunityMember::CommunityId,
                        Community::Table,
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        CommunityMember::Table,
                        CommunityMember::MemberId,
                        Member::Table,
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_community_member_member",
                CommunityMember::Table,
                [CommunityMember::MemberId],
                false,
            ))
            .await
    }
}
