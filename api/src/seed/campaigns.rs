//! The structure: producers (with a quality their ratings scatter around),
//! campaigns in French and English with their tags and answers, and the
//! standing (totals and momentum) campaigns and communities are written
//! with.

use chrono::Duration;
use entities::campaign::CampaignStatus;
use entities::producer_response::CommitmentStatus;
use entities::{campaign, campaign_value_tag, producer, producer_response};
use sea_orm::Set;
use uuid::Uuid;

use super::atoms::AtomCount;
use super::bulk::insert_chunked;
use super::catalogue::{CAMPAIGN_KINDS, KINDS, SECTORS, TERRITORIES, TOPICS};
use super::phases::{Campaigns, Communities, Seeding};
use super::rng::{distribute, next_signature};
use crate::error::Result;
use crate::service::observatory::rollup;
use crate::service::signing::standing;

impl Seeding<'_> {
    /// Producers, each with a quality its ratings scatter around.
    pub(super) async fn producers(&mut self) -> Result<()> {
        let count = self.args.producers;
        let start = self.start;
        let mut rows = Vec::new();
        for i in 0..count {
            let id = self.rng.id_at(start);
            self.producers.push(id);
            self.quality.push(1.5 + 3.0 * self.rng.unit());
            let name = format!("{} Producer {i:05}", self.tag);
            rows.push(producer::ActiveModel {
                id: Set(id),
                name_key: Set(name.to_lowercase()),
                name: Set(name),
                kind: Set(*self.rng.pick(KINDS)),
                sector: Set((*self.rng.pick(SECTORS)).to_owned()),
                territory: Set(Some((*self.rng.pick(TERRITORIES)).to_owned())),
                labels: Set("[]".into()),
                website: Set(None),
                lei: Set(None),
                wikidata: Set(None),
                open_corporates: Set(None),
                description: Set("A seeded producer.".into()),
                created_by: Set(None),
                created_at: Set(start),
                updated_at: Set(start),
            });
        }
        insert_chunked(self.db, rows).await?;
        self.report.producers = count;
        if self.counting {
            let grain = rollup::AtomRule::of(self.config).grain;
            self.atoms = Some(AtomCount::new(grain, &self.producers, &self.members));
        }
        Ok(())
    }

    /// Campaigns on skewed producers, most in a community, with one or two
    /// value tags; four in ten answered, half of those with a commitment.
    pub(super) fn campaigns(&mut self) -> Campaigns {
        let count = (self.args.producers * self.args.campaigns_per_producer).max(1);
        let community_count = self.communities.len() as u64;
        let tags: Vec<Uuid> = self.value_tags.iter().map(|tag| tag.id).collect();
        let mut out = Campaigns {
            rows: Vec::new(),
            tags: Vec::new(),
            responses: Vec::new(),
        };
        for i in 0..count {
            let (now, rng) = (self.now, &mut self.rng);
            let producer = rng.skewed(self.args.producers) as usize;
            let published = self.start + Duration::seconds(rng.below(self.span * 3 / 4) as i64);
            let id = rng.id_at(published);
            let community = (rng.below(5) > 0).then(|| rng.below(community_count) as usize);
            self.campaigns.push((id, producer, published, community));
            let (topic, _, _, demand_fr, demand_en) = *rng.pick(TOPICS);
            let producer_name = format!("{} Producer {producer:05}", self.tag);
            let french = rng.below(2) == 0;
            let (title, summary, body) = if french {
                (
                    format!("Pour {demand_fr} chez {producer_name}"),
                    format!(
                        "Nous demandons à {producer_name} {demand_fr}, dans tous ses points de vente."
                    ),
                    format!(
                        "Campagne n°{i}. Signez pour demander {demand_fr} : ensemble, nous pesons plus."
                    ),
                )
            } else {
                (
                    format!("For {demand_en} at {producer_name}"),
                    format!("We ask {producer_name} for {demand_en}, in every shop."),
                    format!(
                        "Campaign no. {i}. Sign to ask for {demand_en}: together we weigh more."
                    ),
                )
            };
            // A quarter close within two months.
            let deadline =
                (rng.below(4) == 0).then(|| now + Duration::hours(1 + rng.below(24 * 60) as i64));
            let territory = (rng.below(5) < 3).then(|| (*rng.pick(TERRITORIES)).to_owned());
            out.rows.push(campaign::ActiveModel {
                id: Set(id),
                kind: Set(*rng.pick(CAMPAIGN_KINDS)),
                status: Set(CampaignStatus::Open),
                title: Set(title),
                summary: Set(summary),
                body: Set(body),
                producer_id: Set(self.producers[producer]),
                brand_id: Set(None),
                community_id: Set(community.map(|c| self.communities[c])),
                organiser_id: Set(Some(*rng.pick(&self.members))),
                goal: Set(Some(1_000)),
                deadline: Set(deadline),
                selection_threshold: Set(None),
                published_at: Set(Some(published)),
                closed_at: Set(None),
                hidden_at: Set(None),
                hidden_scope: Set(None),
                hidden_reason: Set(None),
                sponsor_code: Set(None),
                sponsor_count: Set(0),
                rejection_reason: Set(None),
                offline_signatures: Set(0),
                reward_description: Set(None),
                territory: Set(territory),
                language: Set(if french { "fr" } else { "en" }.to_owned()),
                signature_total: Set(0),
                momentum: Set(standing::NO_MOMENTUM),
                response_threshold: Set(None),
                response_due_at: Set(None),
                answered_at: Set(None),
                created_at: Set(published),
                updated_at: Set(published),
            });
            let first = self.tag_of(topic);
            if let Some(first) = first {
                out.tags.push(campaign_value_tag::ActiveModel {
                    campaign_id: Set(id),
                    value_tag_id: Set(first),
                });
            }
            let rng = &mut self.rng;
            if !tags.is_empty() && rng.below(2) == 0 {
                let second = *rng.pick(&tags);
                if Some(second) != first {
                    out.tags.push(campaign_value_tag::ActiveModel {
                        campaign_id: Set(id),
                        value_tag_id: Set(second),
                    });
                }
            }
            if rng.below(10) < 4 {
                let at = published + Duration::hours(1 + rng.below(24 * 20) as i64);
                if at < now {
                    out.responses.push(self.response(id, producer, at));
                    if let Some(row) = out.rows.last_mut() {
                        row.answered_at = Set(Some(at));
                    }
                }
            }
        }
        self.report.campaigns = count;
        self.report.responses = out.responses.len() as u64;
        out
    }

    /// A producer's answer to campaign `campaign_id` at `at`: half commit,
    /// and a commitment is kept, broken or still pending.
    fn response(
        &mut self,
        campaign_id: Uuid,
        producer: usize,
        at: chrono::DateTime<chrono::Utc>,
    ) -> producer_response::ActiveModel {
        let rng = &mut self.rng;
        let committed = rng.below(2) == 0;
        let status = match rng.below(3) {
            0 => CommitmentStatus::Kept,
            1 => CommitmentStatus::Broken,
            _ => CommitmentStatus::Pending,
        };
        let closed = (committed && status != CommitmentStatus::Pending)
            .then(|| (at + Duration::days(30)).min(self.now));
        producer_response::ActiveModel {
            id: Set(rng.id_at(at)),
            campaign_id: Set(campaign_id),
            producer_id: Set(self.producers[producer]),
            author_id: Set(None),
            body: Set("A seeded response.".into()),
            commitment: Set(committed.then(|| "We will change this.".to_owned())),
            due_at: Set(committed.then(|| at + Duration::days(90))),
            commitment_status: Set(committed.then_some(status)),
            commitment_closed_at: Set(closed),
            hidden_at: Set(None),
            hidden_scope: Set(None),
            hidden_reason: Set(None),
            due_notified_at: Set(None),
            created_at: Set(at),
        }
    }

    /// The campaigns' totals and momentum and the communities' momentum,
    /// from a dry run of the signatures on a copy of the generator, so that
    /// campaigns and communities are written once with them (updating every
    /// row afterwards would leave half of each table dead until a vacuum).
    pub(super) fn standing_from_a_dry_run(
        &self,
        campaigns: &mut Campaigns,
        communities: &mut Communities,
    ) {
        let mut dry = self.rng.clone();
        let count = self.campaigns.len() as u64;
        let per_campaign = distribute(&mut dry, self.args.signatures, count, self.member_count);
        for (c, &signatures) in per_campaign.iter().enumerate() {
            let (_, _, published, community) = self.campaigns[c];
            let _offset = dry.below(self.member_count);
            let window = (self.now - published).num_seconds().max(1) as u64;
            let mut momentum = standing::LogSum::default();
            for _ in 0..signatures {
                let (at, _, _) = next_signature(&mut dry, published, window);
                momentum.add(standing::log_weight(at));
                if let Some(community) = community {
                    communities.standing[community]
                        .1
                        .add(standing::log_weight(at));
                }
            }
            campaigns.rows[c].signature_total = Set(signatures as i64);
            campaigns.rows[c].momentum = Set(momentum.value());
        }
        for (row, (members, momentum)) in communities.rows.iter_mut().zip(&communities.standing) {
            row.member_count = Set(*members);
            row.momentum = Set(momentum.value());
        }
    }
}
