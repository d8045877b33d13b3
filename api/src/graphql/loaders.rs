//! Dataloaders for every relation a list can traverse, so that a page of
//! campaigns costs one query per relation, not one per campaign.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::dataloader::Loader;
use entities::community_member::MembershipRole;
use entities::{campaign, community, member, producer, value_tag, vote};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use uuid::Uuid;

use crate::counters::{CampaignCounts, Counters};
use crate::error::AppError;
use crate::service;

/// Batches lookups against the database (and the counter store); one
/// instance per request.
pub struct DbLoader {
    pub db: DatabaseConnection,
    pub counters: Arc<Counters>,
}

/// A member by id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MemberById(pub Uuid);
/// A producer by id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ProducerById(pub Uuid);
/// A campaign by id (visibility is the caller's to check).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CampaignById(pub Uuid);
/// A campaign's live counters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CampaignCountsOf(pub Uuid);
/// The vote tally of a proposal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ProposalTally(pub Uuid);
/// `member`'s vote on `proposal` (+1 or -1), absent when none.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ViewerVote {
    pub proposal: Uuid,
    pub member: Uuid,
}
/// A community by id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CommunityById(pub Uuid);
/// The value tags of a community.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CommunityTags(pub Uuid);
/// The value tags of a campaign.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CampaignTags(pub Uuid);
/// Whether `member` belongs to `community`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Membership {
    pub community: Uuid,
    pub member: Uuid,
}

/// Loads entities of `E` whose primary key is in `keys`.
macro_rules! by_id_loader {
    ($key:ty, $entity:ident) => {
        impl Loader<$key> for DbLoader {
            type Value = $entity::Model;
            type Error = AppError;

            async fn load(&self, keys: &[$key]) -> Result<HashMap<$key, Self::Value>, Self::Error> {
                let rows = $entity::Entity::find()
                    .filter($entity::Column::Id.is_in(keys.iter().map(|key| key.0)))
                    .all(&self.db)
                    .await?;
                Ok(rows
                    .into_iter()
                    .map(|row| (<$key>::from_id(row.id), row))
                    .collect())
            }
        }

        impl $key {
            fn from_id(id: Uuid) -> Self {
                Self(id)
            }
        }
    };
}

by_id_loader!(MemberById, member);
by_id_loader!(ProducerById, producer);
by_id_loader!(CommunityById, community);
by_id_loader!(CampaignById, campaign);

impl Loader<CommunityTags> for DbLoader {
    type Value = Vec<value_tag::Model>;
    type Error = AppError;

    async fn load(
        &self,
        keys: &[CommunityTags],
    ) -> Result<HashMap<CommunityTags, Self::Value>, AppError> {
        let ids: Vec<Uuid> = keys.iter().map(|key| key.0).collect();
        let mut tags = service::campaigns::community::tags_of(&self.db, &ids).await?;
        Ok(keys
            .iter()
            .map(|key| (*key, tags.remove(&key.0).unwrap_or_default()))
            .collect())
    }
}

impl Loader<CampaignTags> for DbLoader {
    type Value = Vec<value_tag::Model>;
    type Error = AppError;

    async fn load(
        &self,
        keys: &[CampaignTags],
    ) -> Result<HashMap<CampaignTags, Self::Value>, AppError> {
        let ids: Vec<Uuid> = keys.iter().map(|key| key.0).collect();
        let mut tags = service::campaigns::campaign::tags_of(&self.db, &ids).await?;
        Ok(keys
            .iter()
            .map(|key| (*key, tags.remove(&key.0).unwrap_or_default()))
            .collect())
    }
}

impl Loader<Membership> for DbLoader {
    type Value = MembershipRole;
    type Error = AppError;

    /// Present (with the member's role) for the communities the member
    /// belongs to, absent otherwise.
    async fn load(
        &self,
        keys: &[Membership],
    ) -> Result<HashMap<Membership, MembershipRole>, AppError> {
        let mut by_member: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
        for key in keys {
            by_member.entry(key.member).or_default().push(key.community);
        }
        let mut found = HashMap::new();
        for (member, communities) in by_member {
            for row in
                service::campaigns::community::memberships(&self.db, member, &communities).await?
            {
                let key = Membership {
                    community: row.community_id,
                    member,
                };
                found.insert(key, row.role);
            }
        }
        Ok(found)
    }
}

impl Loader<CampaignCountsOf> for DbLoader {
    type Value = CampaignCounts;
    type Error = AppError;

    async fn load(
        &self,
        keys: &[CampaignCountsOf],
    ) -> Result<HashMap<CampaignCountsOf, CampaignCounts>, AppError> {
        let ids: Vec<Uuid> = keys.iter().map(|key| key.0).collect();
        let counts = self.counters.read_many(&self.db, &ids).await?;
        Ok(counts
            .into_iter()
            .map(|(id, counts)| (CampaignCountsOf(id), counts))
            .collect())
    }
}

impl Loader<ProposalTally> for DbLoader {
    type Value = service::campaigns::proposal::Tally;
    type Error = AppError;

    async fn load(
        &self,
        keys: &[ProposalTally],
    ) -> Result<HashMap<ProposalTally, Self::Value>, AppError> {
        let ids: Vec<Uuid> = keys.iter().map(|key| key.0).collect();
        let tallies = service::campaigns::proposal::tallies(&self.db, &ids).await?;
        Ok(tallies
            .into_iter()
            .map(|(id, tally)| (ProposalTally(id), tally))
            .collect())
    }
}

impl Loader<ViewerVote> for DbLoader {
    type Value = i16;
    type Error = AppError;

    async fn load(&self, keys: &[ViewerVote]) -> Result<HashMap<ViewerVote, i16>, AppError> {
        let mut found = HashMap::new();
        let members: std::collections::HashSet<Uuid> = keys.iter().map(|key| key.member).collect();
        for member in members {
            let proposals = keys
                .iter()
                .filter(|key| key.member == member)
                .map(|key| key.proposal);
            let votes = vote::Entity::find()
                .filter(vote::Column::MemberId.eq(member))
                .filter(vote::Column::ProposalId.is_in(proposals))
                .all(&self.db)
                .await?;
            for row in votes {
                let key = ViewerVote {
                    proposal: row.proposal_id,
                    member,
                };
                found.insert(key, row.direction);
            }
        }
        Ok(found)
    }
}
