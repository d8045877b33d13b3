//! The activity: signatures, pledges and ratings, each on a skew, written
//! one batch behind the generator and counted into the rollups' atoms.

use chrono::{Datelike, Duration, Months, TimeZone, Utc};

use super::bulk::BULK_BATCH;
use super::catalogue::{DIMENSIONS, PLEDGE_KINDS};
use super::phases::Seeding;
use super::rng::{distribute, next_signature};
use super::rows::{SeedPledge, SeedRating, SeedSignature};
use crate::error::Result;
use crate::service::observatory::rollup;

impl Seeding<'_> {
    /// Each campaign takes a skewed share, signed by a run of consecutive
    /// members from a random offset, so no member signs twice.
    pub(super) async fn signatures(&mut self) -> Result<()> {
        let members = self.member_count;
        let count = self.campaigns.len() as u64;
        let per_campaign = distribute(&mut self.rng, self.args.signatures, count, members);
        let mut batch = Vec::with_capacity(BULK_BATCH);
        for (c, &signatures) in per_campaign.iter().enumerate() {
            let (campaign_id, producer, published, _) = self.campaigns[c];
            let offset = self.rng.below(members);
            let window = (self.now - published).num_seconds().max(1) as u64;
            for j in 0..signatures {
                let (at, id, anonymous) = next_signature(&mut self.rng, published, window);
                let member = ((offset + j) % members) as usize;
                if let Some(atoms) = self.atoms.as_mut() {
                    atoms.add(producer, at, member, &rollup::Delta::signature(1));
                }
                batch.push(SeedSignature {
                    id,
                    campaign_id,
                    producer_id: self.producers[producer],
                    member_id: self.members[member],
                    anonymous,
                    created_at: at,
                });
                self.report.signatures += 1;
                if batch.len() >= BULK_BATCH {
                    let rows = std::mem::take(&mut batch);
                    self.behind.write_bulk(self.db, rows).await?;
                }
            }
        }
        self.behind.write_bulk(self.db, batch).await?;
        self.behind.finish().await?;
        self.log("signatures written");
        Ok(())
    }

    /// One pledge for every ten signatures, on the same skew.
    pub(super) async fn pledges(&mut self) -> Result<()> {
        let members = self.member_count;
        let count = self.campaigns.len() as u64;
        let per_campaign = distribute(&mut self.rng, self.args.signatures / 10, count, members);
        let mut batch = Vec::new();
        for (c, &pledges) in per_campaign.iter().enumerate() {
            let (campaign_id, producer, published, _) = self.campaigns[c];
            let rng = &mut self.rng;
            let offset = rng.below(members);
            let window = (self.now - published).num_seconds().max(1) as u64;
            for j in 0..pledges {
                let at = published + Duration::seconds(rng.below(window) as i64);
                let kind = *rng.pick(PLEDGE_KINDS);
                let id = rng.id_at(at);
                let member = ((offset + j) % members) as usize;
                let monthly_amount_cents =
                    (rng.below(2) == 0).then(|| 500 + 100 * rng.below(50) as i64);
                if let Some(atoms) = self.atoms.as_mut() {
                    let delta = rollup::Delta::pledge(1, kind, monthly_amount_cents);
                    atoms.add(producer, at, member, &delta);
                }
                batch.push(SeedPledge {
                    id,
                    campaign_id,
                    producer_id: self.producers[producer],
                    member_id: self.members[member],
                    kind,
                    monthly_amount_cents,
                    at,
                });
                self.report.pledges += 1;
                if batch.len() >= BULK_BATCH {
                    let rows = std::mem::take(&mut batch);
                    self.behind.write_bulk(self.db, rows).await?;
                }
            }
        }
        self.behind.write_bulk(self.db, batch).await?;
        self.behind.finish().await?;
        self.log("pledges written");
        Ok(())
    }

    /// A member rates a producer on all four dimensions in a month;
    /// producers and months are skewed, raters are runs of members.
    pub(super) async fn ratings(&mut self) -> Result<()> {
        let (now, members) = (self.now, self.member_count);
        let events = self.args.ratings / 4;
        let this_month = Utc
            .with_ymd_and_hms(now.year(), now.month(), 1, 0, 0, 0)
            .single()
            .unwrap_or(now);
        let months = u64::from(self.args.months.max(1));
        let cells = self.args.producers * months;
        let per_cell = distribute(&mut self.rng, events, cells, members);
        let mut batch = Vec::new();
        for (cell, &count) in per_cell.iter().enumerate() {
            if count == 0 {
                continue;
            }
            let producer = (cell as u64 / months) as usize;
            let month = cell as u64 % months;
            // Calendar months, oldest first, the last one being this month:
            // a member rates a producer once per dimension and calendar
            // month.
            let month_start = this_month - Months::new((months - 1 - month) as u32);
            let month_end = (month_start + Months::new(1)).min(now);
            let width = (month_end - month_start).num_seconds().max(1) as u64;
            let offset = self.rng.below(members);
            for j in 0..count {
                let at = month_start + Duration::seconds(self.rng.below(width) as i64);
                let member = ((offset + j) % members) as usize;
                for dimension in DIMENSIONS {
                    let noise = self.rng.unit() * 2.0 - 1.0;
                    let score = (self.quality[producer] + noise).round().clamp(1.0, 5.0) as i16;
                    if let Some(atoms) = self.atoms.as_mut() {
                        let delta = rollup::Delta::rating(dimension, None, score);
                        atoms.add(producer, at, member, &delta);
                    }
                    batch.push(SeedRating {
                        id: self.rng.id_at(at),
                        member_id: self.members[member],
                        producer_id: self.producers[producer],
                        dimension,
                        score,
                        at,
                    });
                    self.report.ratings += 1;
                }
                if batch.len() >= BULK_BATCH {
                    let rows = std::mem::take(&mut batch);
                    self.behind.write_bulk(self.db, rows).await?;
                }
            }
        }
        self.behind.write_bulk(self.db, batch).await?;
        self.behind.finish().await?;
        self.log("ratings written");
        Ok(())
    }
}
