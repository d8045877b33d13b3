//! Discovery's first facts: the values a member says they hold, whether
//! what they do counts as a signal too, what a co-creation campaign offers
//! its contributors, and the index that finds a member's adopted proposals.

use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261125_000001_create_members::Member;
use crate::m20261125_000002_create_value_tags::ValueTag;
use crate::m20261125_000005_create_campaigns::Campaign;
use crate::{fk, index};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum MemberValueTag {
    Table,
    MemberId,
    ValueTagId,
}

#[derive(DeriveIden)]
enum MemberColumn {
    /// Communities joined and campaigns signed count as signals too.
    UseActivitySignals,
}

#[derive(DeriveIden)]
enum CampaignColumn {
    /// Co-creation: what contributors get (recognition, a share, a name).
    RewardDescription,
}

#[derive(DeriveIden)]
enum Proposal {
    Table,
    AuthorId,
    Status,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(MemberValueTag::Table)
                    .if_not_exists()
                    .col(uuid(MemberValueTag::MemberId))
                    .col(uuid(MemberValueTag::ValueTagId))
                    .primary_key(
                        Index::create()
                            .col(MemberValueTag::MemberId)
                            .col(MemberValueTag::ValueTagId),
                    )
                    .foreign_key(&mut fk(
                        MemberValueTag::Table,
                        MemberValueTag::MemberId,
                        Member::Table,
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        MemberValueTag::Table,
                        MemberValueTag::ValueTagId,
                        ValueTag::Table,
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_member_value_tag_tag",
                MemberValueTag::Table,
                [MemberValueTag::ValueTagId],
                false,
            ))
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Member::Table)
                    .add_column(boolean(MemberColumn::UseActivitySignals).default(true))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Campaign::Table)
                    .add_column(text_null(CampaignColumn::RewardDescription))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_proposal_author_status",
                Proposal::Table,
                [Proposal::AuthorId, Proposal::Status],
                false,
            ))
            .await
    }
}
