//! Signing, the hot path: rate limit → campaign open? → insert (the unique
//! index is the last guard against double counting) and the queued
//! description of what it moves (`service::fold`), in one transaction
//! shared with the signatures that arrive at the same time (`sign_batch`)
//! → after commit, bump
//! the live counter → record milestones → publish.
//!
//! Signing twice answers `CONFLICT` and counts once. Once the signature is
//! committed, nothing after it (counter, milestones, events) can fail the
//! request: those are derived data that reconciliation repairs.

use std::net::IpAddr;

use entities::campaign::{self, CampaignStatus};
use entities::member;
use entities::signature::{self, SignatureStatus};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, Select,
};
use uuid::Uuid;

use crate::error::{AppError, Result};
use crate::ratelimit::Action;
use crate::service::fold;
use crate::service::signing::sign_batch::NewSignature;
use crate::service::viewer::Viewer;
use crate::service::{campaigns::campaign as campaigns, fraud::surge, validate};
use crate::state::AppState;

pub(crate) use counted::{after_batch, after_change, announce_milestones, rollup_moved};

pub mod counted;
use entities::fraud_signal::SignalKind;

/// Longest public comment on a signature.
pub const MAX_COMMENT: usize = 500;

/// What a signer may add.
#[derive(Default)]
pub struct SignInput {
    pub comment: Option<String>,
    /// Show "anonymous" instead of the signer's name.
    pub anonymous: bool,
    /// Where the signer lives, as their account says.
    pub territory: Option<String>,
    /// The signer's e-mail domain, as their account says.
    pub email_domain: Option<String>,
}

async fn open_campaign(
    state: &AppState,
    actor: Viewer,
    id: Uuid,
) -> Result<std::sync::Arc<campaign::Model>> {
    let found = campaigns::get_cached(state, Some(actor), id)
        .await?
        .ok_or(AppError::NotFound("campaign"))?;
    if found.status != CampaignStatus::Open {
        return Err(AppError::Conflict(
            "this campaign is not open for signatures".into(),
        ));
    }
    if found
        .deadline
        .is_some_and(|deadline| deadline <= validate::now())
    {
        return Err(AppError::Conflict(
            "this campaign's deadline has passed".into(),
        ));
    }
    Ok(found)
}

/// Signs `campaign_id` as `actor`, from `client` (for rate limiting).
pub async fn sign(
    state: &AppState,
    actor: Viewer,
    client: Option<IpAddr>,
    campaign_id: Uuid,
    input: SignInput,
) -> Result<signature::Model> {
    state.blocks.check(client, input.email_domain.as_deref())?;
    state.limits.check_member(Action::Sign, actor.id)?;
    if let Some(ip) = client {
        state.limits.check_address(Action::Sign, ip)?;
    }
    let comment = validate::optional_text("input.comment", input.comment.as_deref(), MAX_COMMENT)?;
    let found = open_campaign(state, actor, campaign_id).await?;
    let source_key = client.map(|ip| state.sources.key_of(ip));
    let mut watched = Vec::with_capacity(2);
    if let Some(key) = &source_key {
        watched.push((SignalKind::Source, key.clone()));
    }
    if let Some(domain) = &input.email_domain {
        watched.push((SignalKind::EmailDomain, domain.clone()));
    }
    // A signature waits, counted nowhere, while its signer has not
    // confirmed their address (`service::identity::confirmation`) or while a fraud
    // signal holds its source or domain (`service::fraud::surge`).
    let held_by = state.surge.holding(found.id, &watched);
    let status = if actor.confirmed && held_by.is_none() {
        SignatureStatus::Counted
    } else {
        SignatureStatus::Pending
    };
    let (created, batch) = state
        .signer
        .sign(NewSignature {
            campaign_id: found.id,
            producer_id: found.producer_id,
            community_id: found.community_id,
            goal: found.goal,
            offline_signatures: found.offline_signatures,
            member_id: actor.id,
            comment,
            anonymous: input.anonymous,
            territory: input.territory,
            created_at: validate::now(),
            status,
            source_key,
            email_domain: input.email_domain,
            held_by,
        })
        .await?;
    crate::metrics::Metrics::increment(&state.metrics.signatures);
    surge::watch(state, found.id, watched);
    batch
        .after_commit
        .get_or_init(|| after_batch(state, &batch.counted))
        .await;
    Ok(created)
}

/// Withdraws `actor`'s signature from an open campaign.
pub async fn withdraw(state: &AppState, actor: Viewer, campaign_id: Uuid) -> Result<bool> {
    let found = open_campaign(state, actor, campaign_id).await?;
    let (writer, txn) = state.begin_write().await?;
    let Some(signed) = signature::Entity::find()
        .filter(signature::Column::CampaignId.eq(found.id))
        .filter(signature::Column::MemberId.eq(actor.id))
        .one(&txn)
        .await?
    else {
        return Err(AppError::Conflict(
            "you have not signed this campaign".into(),
        ));
    };
    if signed.status == SignatureStatus::Invalidated {
        // Struck out by a moderator: kept for the record.
        return Err(AppError::Conflict(
            "this signature was struck out by a moderator and cannot be withdrawn".into(),
        ));
    }
    // Guarded by the status read, so a confirmation or an invalidation
    // committing meanwhile cannot make this withdrawal count twice.
    let deleted = signature::Entity::delete_many()
        .filter(signature::Column::Id.eq(signed.id))
        .filter(signature::Column::Status.eq(signed.status))
        .exec(&txn)
        .await?;
    if deleted.rows_affected == 0 {
        return Err(AppError::Conflict(
            "your signature changed meanwhile; try again".into(),
        ));
    }
    if signed.status == SignatureStatus::Pending {
        // It counted nowhere: it simply goes.
        txn.commit().await?;
        return Ok(true);
    }
    let mut changes = fold::Changes::default();
    changes.signature(
        signed.producer_id,
        Some(actor.id),
        found.id,
        found.community_id,
        signed.created_at,
        -1,
    );
    fold::record(&txn, &changes).await?;
    txn.commit().await?;
    drop(writer);
    after_change(state, &found, -1).await;
    state.folder.settle().await;
    Ok(true)
}

/// One line of the organiser's delivery pack.
pub struct PackLine {
    pub id: Uuid,
    /// Display name, or "Anonymous".
    pub signer: String,
    pub territory: Option<String>,
    pub signed_at: chrono::DateTime<chrono::Utc>,
    pub comment: Option<String>,
}

/// Shown instead of a name for anonymous signatures and deleted accounts.
pub const ANONYMOUS: &str = "Anonymous";

/// Up to `limit` counted signatures of `campaign` after `after`, in
/// signing order, with their signers' names.
pub async fn pack_chunk(
    db: &impl ConnectionTrait,
    campaign: Uuid,
    after: Option<Uuid>,
    limit: u64,
) -> Result<Vec<PackLine>> {
    let mut query = signature::Entity::find()
        .filter(signature::Column::CampaignId.eq(campaign))
        .filter(signature::Column::Status.eq(SignatureStatus::Counted))
        .order_by_asc(signature::Column::Id)
        .limit(limit);
    if let Some(after) = after {
        query = query.filter(signature::Column::Id.gt(after));
    }
    let rows = query.all(db).await?;
    let named: Vec<Uuid> = rows
        .iter()
        .filter(|row| !row.anonymous)
        .filter_map(|row| row.member_id)
        .collect();
    let names: std::collections::HashMap<Uuid, String> = if named.is_empty() {
        Default::default()
    } else {
        member::Entity::find()
            .filter(member::Column::Id.is_in(named))
            .all(db)
            .await?
            .into_iter()
            .map(|found| (found.id, found.display_name))
            .collect()
    };
    Ok(rows
        .into_iter()
        .map(|row| PackLine {
            id: row.id,
            signer: row
                .member_id
                .filter(|_| !row.anonymous)
                .and_then(|id| names.get(&id).cloned())
                .unwrap_or_else(|| ANONYMOUS.to_owned()),
            territory: row.territory,
            signed_at: row.created_at,
            comment: row.comment,
        })
        .collect())
}

/// The line that gathers places with fewer than k signers.
pub const OTHER_TERRITORY: &str = "OTHER";

/// A campaign's counted signatures per country and per subdivision
/// (ISO 3166-1 and 3166-2 codes); places with fewer than `k` signers, and
/// signers who gave no place, are merged into one `OTHER` line so that no
/// small place exposes who signed. Largest first.
pub async fn by_territory(
    db: &impl ConnectionTrait,
    campaign: Uuid,
    k: u32,
) -> Result<Vec<(String, i64)>> {
    let rows: Vec<(Option<String>, i64)> = signature::Entity::find()
        .select_only()
        .column(signature::Column::Territory)
        .column_as(signature::Column::Id.count(), "count")
        .filter(signature::Column::CampaignId.eq(campaign))
        .filter(signature::Column::Status.eq(SignatureStatus::Counted))
        .group_by(signature::Column::Territory)
        .into_tuple()
        .all(db)
        .await?;
    Ok(merge_small_places(rows, i64::from(k.max(1))))
}

/// The breakdown of [`by_territory`] from raw counts per territory.
///
/// A place shows when it has at least `k` signers; a small country goes to
/// `OTHER` whole. Inside a shown country, its line less its shown
/// subdivisions is what it keeps back (small subdivisions and signers who
/// named the country only); when that remainder is between 1 and `k - 1`
/// the subtraction would give back a small group, so the smallest shown
/// subdivisions are withheld too until the remainder reaches `k` or none
/// is left (complementary suppression, the observatory's
/// `metrics::shown_parts`). `OTHER` names no place: it is the online count
/// less the shown countries.
fn merge_small_places(rows: Vec<(Option<String>, i64)>, k: i64) -> Vec<(String, i64)> {
    use std::collections::BTreeMap;
    let mut countries: BTreeMap<String, i64> = BTreeMap::new();
    let mut subdivisions: BTreeMap<String, BTreeMap<String, i64>> = BTreeMap::new();
    let mut other = 0;
    for (territory, count) in rows {
        match territory.filter(|code| !code.is_empty()) {
            None => other += count,
            Some(code) => {
                let country = validate::country_of(&code).to_owned();
                if country != code {
                    *subdivisions
                        .entry(country.clone())
                        .or_default()
                        .entry(code)
                        .or_default() += count;
                }
                *countries.entry(country).or_default() += count;
            }
        }
    }
    let mut lines: Vec<(String, i64)> = Vec::with_capacity(countries.len() + 1);
    for (country, total) in countries {
        if total < k {
            // A small country: its signers (subdivisions included) go to OTHER once.
            other += total;
            continue;
        }
        let parts: Vec<(String, i64)> = subdivisions
            .remove(&country)
            .unwrap_or_default()
            .into_iter()
            .collect();
        let counts: Vec<i64> = parts.iter().map(|(_, count)| *count).collect();
        let shown = crate::service::observatory::metrics::shown_parts(total, &counts, k);
        lines.push((country, total));
        lines.extend(
            parts
                .into_iter()
                .zip(shown)
                .filter_map(|(part, shown)| shown.then_some(part)),
        );
    }
    lines.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    if other > 0 {
        lines.push((OTHER_TERRITORY.to_owned(), other));
    }
    lines
}

/// Public signatures of a campaign, for the caller to page through: counted
/// ones only.
pub fn of_campaign(campaign_id: Uuid) -> Select<signature::Entity> {
    signature::Entity::find()
        .filter(signature::Column::CampaignId.eq(campaign_id))
        .filter(signature::Column::Status.eq(SignatureStatus::Counted))
        .filter(signature::Column::HiddenAt.is_null())
}

/// How many signatures of a campaign wait for their signers to confirm.
pub async fn pending_count(db: &impl ConnectionTrait, campaign_id: Uuid) -> Result<i64> {
    Ok(signature::Entity::find()
        .filter(signature::Column::CampaignId.eq(campaign_id))
        .filter(signature::Column::Status.eq(SignatureStatus::Pending))
        .count(db)
        .await? as i64)
}

/// A member's own signatures, pending ones included.
pub fn of_member(member_id: Uuid) -> Select<signature::Entity> {
    signature::Entity::find().filter(signature::Column::MemberId.eq(member_id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn places_under_k_merge_into_other() {
        let rows = vec![
            (Some("FR-ARA".to_owned()), 6),
            (Some("FR-IDF".to_owned()), 5),
            (Some("FR-OCC".to_owned()), 2),
            (Some("FR".to_owned()), 3),
            (Some("BE-BRU".to_owned()), 3),
            (None, 1),
        ];
        let lines = merge_small_places(rows, 5);
        // FR 16 less ARA 6 and IDF 5 keeps back 5 (OCC 2 and FR alone 3):
        // at least k, so both subdivisions show.
        assert_eq!(
            lines,
            vec![
                ("FR".to_owned(), 16),
                ("FR-ARA".to_owned(), 6),
                ("FR-IDF".to_owned(), 5),
                (OTHER_TERRITORY.to_owned(), 4),
            ]
        );
    }

    #[test]
    fn no_country_less_its_subdivisions_gives_back_a_small_place() {
        let k = 5;
        for rows in [
            // FR 9 less ARA 6 would give IDF 2 back.
            vec![("FR-ARA", 6), ("FR-IDF", 2), ("FR", 1)],
            // AtomRule back IDF is not enough (FR 14 less ARA 6, OCC 5 = 3):
            // the smallest shown, OCC, is withheld too.
            vec![("FR-ARA", 6), ("FR-OCC", 5), ("FR-IDF", 3)],
            // FR 11 less ARA 5 and OCC 5 would give IDF 1 back: OCC goes too.
            vec![("FR-ARA", 5), ("FR-OCC", 5), ("FR-IDF", 1)],
        ] {
            let raw: Vec<_> = rows
                .iter()
                .map(|(code, count)| (Some((*code).to_owned()), *count))
                .collect();
            let lines = merge_small_places(raw, k);
            let country = lines.iter().find(|(code, _)| code == "FR").unwrap().1;
            let shown: i64 = lines
                .iter()
                .filter(|(code, _)| code.starts_with("FR-"))
                .map(|(_, count)| count)
                .sum();
            let remainder = country - shown;
            assert!(
                remainder == 0 || remainder >= k,
                "{rows:?} → {lines:?}: the remainder {remainder} is a small group"
            );
            assert!(lines.iter().all(|(_, count)| *count >= k), "{lines:?}");
        }
        let lines = merge_small_places(
            vec![
                (Some("FR-ARA".to_owned()), 6),
                (Some("FR-OCC".to_owned()), 5),
                (Some("FR-IDF".to_owned()), 3),
            ],
            k,
        );
        assert_eq!(lines, vec![("FR".to_owned(), 14), ("FR-ARA".to_owned(), 6)]);
    }
}
