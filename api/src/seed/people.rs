//! The people: members (with their values) and the communities half of
//! them join.

use chrono::Duration;
use entities::{community, community_value_tag, value_tag};
use sea_orm::{EntityTrait, Set};
use uuid::Uuid;

use super::bulk::write_bulk;
use super::catalogue::{TERRITORIES, TOPICS};
use super::phases::{Communities, Seeding};
use super::rows::{SeedJoin, SeedMember, SeedMemberValue};
use crate::error::Result;
use crate::service::signing::standing;

impl Seeding<'_> {
    /// Members, all created at the start of the history.
    pub(super) async fn members(&mut self) -> Result<()> {
        let count = self.member_count;
        self.members = Vec::with_capacity(count as usize);
        let mut rows = Vec::with_capacity(count as usize);
        for i in 0..count {
            let at = self.start;
            let id = self.rng.id_at(at);
            self.members.push(id);
            let territory = *self.rng.pick(TERRITORIES);
            rows.push(SeedMember {
                id,
                handle: format!("{}-member-{i:07}", self.tag),
                number: i,
                territory,
                password_hash: self.password_hash.clone(),
                at,
            });
        }
        write_bulk(self.db, rows).await?;
        self.report.members = count;
        Ok(())
    }

    /// Members hold one to three values.
    pub(super) async fn member_values(&mut self) -> Result<()> {
        self.value_tags = value_tag::Entity::find().all(self.db).await?;
        let tags: Vec<Uuid> = self.value_tags.iter().map(|tag| tag.id).collect();
        let mut values = Vec::new();
        if !tags.is_empty() {
            for &member_id in &self.members {
                let mut held: Vec<Uuid> = (0..1 + self.rng.below(3))
                    .map(|_| *self.rng.pick(&tags))
                    .collect();
                held.sort_unstable();
                held.dedup();
                values.extend(held.into_iter().map(|value_tag_id| SeedMemberValue {
                    member_id,
                    value_tag_id,
                }));
            }
        }
        write_bulk(self.db, values).await
    }

    /// Communities, about a topic and a place, in French or English; half
    /// the members join one (the first communities draw most).
    pub(super) fn communities(&mut self) -> Communities {
        let count = self.args.communities.max(1);
        let (start, tag) = (self.start, self.tag.clone());
        let mut rows = Vec::new();
        let mut tags = Vec::new();
        for i in 0..count {
            let id = self.rng.id_at(start);
            self.communities.push(id);
            let (slug, short_fr, short_en, demand_fr, demand_en) = *self.rng.pick(TOPICS);
            let territory = *self.rng.pick(TERRITORIES);
            let french = self.rng.below(2) == 0;
            let (name, description) = if french {
                (
                    format!("{short_fr} {territory} n°{i}"),
                    format!("Des consommateurs qui veulent {demand_fr}."),
                )
            } else {
                (
                    format!("{short_en} {territory} no. {i}"),
                    format!("Consumers who want {demand_en}."),
                )
            };
            if let Some(value_tag_id) = self.tag_of(slug) {
                tags.push(community_value_tag::ActiveModel {
                    community_id: Set(id),
                    value_tag_id: Set(value_tag_id),
                });
            }
            rows.push(community::ActiveModel {
                id: Set(id),
                slug: Set(format!("{tag}-community-{i:05}")),
                name: Set(name),
                description: Set(description),
                territory: Set(Some(territory.to_owned())),
                language: Set(if french { "fr" } else { "en" }.to_owned()),
                member_count: Set(0),
                momentum: Set(standing::NO_MOMENTUM),
                created_by: Set(None),
                created_at: Set(start),
                updated_at: Set(start),
            });
        }
        self.report.communities = count;
        let mut standing = vec![(0i64, standing::LogSum::default()); self.communities.len()];
        let mut joins = Vec::new();
        for &member_id in &self.members {
            if self.rng.below(2) == 0 {
                continue;
            }
            let c = self.rng.skewed(count) as usize;
            let at = start + Duration::seconds(self.rng.below(self.span) as i64);
            standing[c].0 += 1;
            standing[c].1.add(standing::log_weight(at));
            joins.push(SeedJoin {
                community_id: self.communities[c],
                member_id,
                joined_at: at,
            });
        }
        Communities {
            rows,
            tags,
            standing,
            joins,
        }
    }
}
