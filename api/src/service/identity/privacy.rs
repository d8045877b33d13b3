//! Privacy rights: a member can take away everything held about them, and
//! can erase their personal data.
//!
//! Erasure keeps what the member contributed to collective action: their
//! signatures, pledges, votes and ratings still count, but nothing links them
//! to a person any more. The account row is kept as an anonymous tombstone
//! (so that votes, whose key includes the member, survive), with its handle,
//! email, password, name and territory replaced, its tokens revoked, its
//! signatures made anonymous and their comments removed; its values,
//! webhooks and notification choices go too. Every mailed link it was sent
//! is revoked (a reset link cannot sign anyone in to the tombstone), its
//! pending digests and unsent mail are deleted, and the mail already sent
//! is kept without its address or contents. Nothing of its social life
//! stays linked to the tombstone: it leaves its communities (their counts
//! drop), its sponsorships and its verdicts on commitments are withdrawn,
//! and the flags it filed no longer name their reporter.
//!
//! [`export`] covers every table that refers to a member; `docs/privacy.md`
//! says, for each such column, where it is in the export or why it is not,
//! and a test holds the two together.

use entities::{
    audit_log, auth_token, campaign, campaign_sponsor, campaign_update, commitment_review,
    community, community_member, flag, member, notification_digest, offline_tally, pledge,
    producer, producer_representative, producer_response, proposal, signature, trust_rating, vote,
    webhook,
};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, Set,
    TransactionTrait,
};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::error::{AppError, Result};
use crate::service::identity::hashing::Passwords;
use crate::service::validate;
use crate::service::viewer::Viewer;

/// The domain of an erased account's address (`…@deleted.invalid`: the
/// `.invalid` top-level domain never delivers).
pub const ERASED_DOMAIN: &str = "@deleted.invalid";

/// Everything held about `actor`, as one JSON document.
pub async fn export(db: &DatabaseConnection, actor: Viewer) -> Result<Value> {
    let me = member::Entity::find_by_id(actor.id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound("member"))?;
    let signatures = signature::Entity::find()
        .filter(signature::Column::MemberId.eq(actor.id))
        .all(db)
        .await?;
    let pledges = pledge::Entity::find()
        .filter(pledge::Column::MemberId.eq(actor.id))
        .all(db)
        .await?;
    let votes = vote::Entity::find()
        .filter(vote::Column::MemberId.eq(actor.id))
        .all(db)
        .await?;
    let proposals = proposal::Entity::find()
        .filter(proposal::Column::AuthorId.eq(actor.id))
        .all(db)
        .await?;
    let memberships = community_member::Entity::find()
        .filter(community_member::Column::MemberId.eq(actor.id))
        .all(db)
        .await?;
    let ratings = trust_rating::Entity::find()
        .filter(trust_rating::Column::MemberId.eq(actor.id))
        .all(db)
        .await?;
    let claims = producer_representative::Entity::find()
        .filter(producer_representative::Column::MemberId.eq(actor.id))
        .all(db)
        .await?;
    let values = crate::service::identity::profile::values_of(db, actor.id).await?;
    let mine = Mine { db, id: actor.id };
    let organised = mine.rows(campaign::Column::OrganiserId).await?;
    let updates = mine.rows(campaign_update::Column::AuthorId).await?;
    let answers = mine.rows(producer_response::Column::AuthorId).await?;
    let sponsorships = mine.rows(campaign_sponsor::Column::MemberId).await?;
    let reviews = mine.rows(commitment_review::Column::MemberId).await?;
    let flags = mine.rows(flag::Column::ReporterId).await?;
    let webhooks = mine.rows(webhook::Column::OwnerId).await?;
    let tallies = mine.rows(offline_tally::Column::RecordedBy).await?;
    let sessions = mine.rows(auth_token::Column::MemberId).await?;
    let communities = mine.rows(community::Column::CreatedBy).await?;
    let producers = mine.rows(producer::Column::CreatedBy).await?;
    let catalogue = mine
        .rows(entities::catalogue_proposal::Column::ProposerId)
        .await?;
    let digests = mine.rows(notification_digest::Column::MemberId).await?;
    let decisions = mine.rows(audit_log::Column::ActorId).await?;
    Ok(json!({
        "member": {
            "id": me.id, "handle": me.handle, "email": me.email, "displayName": me.display_name,
            "role": format!("{:?}", me.role).to_uppercase(), "territory": me.territory,
            "locale": me.locale, "createdAt": me.created_at,
            "emailConfirmedAt": me.email_confirmed_at,
            "values": values.iter().map(|tag| tag.slug.clone()).collect::<Vec<_>>(),
            "useActivitySignals": me.use_activity_signals,
            "notifications": {
                "milestones": me.notify_milestones, "responses": me.notify_responses,
                "commitments": me.notify_commitments, "updates": me.notify_updates,
                "newCampaigns": me.notify_new_campaigns,
            },
        },
        "signatures": signatures.iter().map(|s| json!({
            "campaignId": s.campaign_id, "comment": s.comment, "anonymous": s.anonymous,
            "territory": s.territory, "createdAt": s.created_at,
        })).collect::<Vec<_>>(),
        "pledges": pledges.iter().map(|p| json!({
            "campaignId": p.campaign_id, "kind": format!("{:?}", p.kind).to_uppercase(),
            "status": format!("{:?}", p.status).to_uppercase(), "monthlyAmountCents": p.monthly_amount_cents,
            "activationThreshold": p.activation_threshold, "createdAt": p.created_at,
        })).collect::<Vec<_>>(),
        "votes": votes.iter().map(|v| json!({
            "proposalId": v.proposal_id, "direction": if v.direction > 0 { "UP" } else { "DOWN" },
            "updatedAt": v.updated_at,
        })).collect::<Vec<_>>(),
        "proposals": proposals.iter().map(|p| json!({
            "id": p.id, "title": p.title, "body": p.body, "createdAt": p.created_at,
        })).collect::<Vec<_>>(),
        "communities": memberships.iter().map(|m| json!({
            "communityId": m.community_id, "joinedAt": m.joined_at,
        })).collect::<Vec<_>>(),
        "trustRatings": ratings.iter().map(|r| json!({
            "producerId": r.producer_id, "dimension": format!("{:?}", r.dimension),
            "score": r.score, "period": r.period,
        })).collect::<Vec<_>>(),
        "producerClaims": claims.iter().map(|c| json!({
            "producerId": c.producer_id, "status": format!("{:?}", c.status).to_uppercase(),
        })).collect::<Vec<_>>(),
        "campaignsOrganised": organised.iter().map(|c| json!({
            "id": c.id, "title": c.title, "status": format!("{:?}", c.status).to_uppercase(),
            "createdAt": c.created_at,
        })).collect::<Vec<_>>(),
        "campaignUpdates": updates.iter().map(|u| json!({
            "campaignId": u.campaign_id, "title": u.title, "body": u.body, "createdAt": u.created_at,
        })).collect::<Vec<_>>(),
        "producerResponses": answers.iter().map(|r| json!({
            "campaignId": r.campaign_id, "producerId": r.producer_id, "body": r.body,
            "commitment": r.commitment, "createdAt": r.created_at,
        })).collect::<Vec<_>>(),
        "sponsorships": sponsorships.iter().map(|s| json!({
            "campaignId": s.campaign_id, "createdAt": s.created_at,
        })).collect::<Vec<_>>(),
        "commitmentReviews": reviews.iter().map(|r| json!({
            "responseId": r.response_id, "verdict": format!("{:?}", r.verdict).to_uppercase(),
            "createdAt": r.created_at,
        })).collect::<Vec<_>>(),
        "flagsFiled": flags.iter().map(|f| json!({
            "targetKind": f.target_type, "targetId": f.target_id, "reason": f.reason,
            "status": format!("{:?}", f.status).to_uppercase(), "createdAt": f.created_at,
        })).collect::<Vec<_>>(),
        // Never the signing secret.
        "webhooks": webhooks.iter().map(|w| json!({
            "id": w.id, "url": w.url, "events": w.events, "campaignId": w.campaign_id,
            "producerId": w.producer_id, "communityId": w.community_id,
            "disabledAt": w.disabled_at, "createdAt": w.created_at,
        })).collect::<Vec<_>>(),
        "offlineTalliesRecorded": tallies.iter().map(|t| json!({
            "campaignId": t.campaign_id, "count": t.count, "territory": t.territory,
            "evidence": t.evidence, "status": format!("{:?}", t.status).to_uppercase(),
            "createdAt": t.created_at,
        })).collect::<Vec<_>>(),
        // When each session began and ends; never the token.
        "sessions": sessions.iter().map(|t| json!({
            "createdAt": t.created_at, "expiresAt": t.expires_at,
        })).collect::<Vec<_>>(),
        "communitiesCreated": communities.iter().map(|c| json!({
            "id": c.id, "slug": c.slug, "name": c.name, "createdAt": c.created_at,
        })).collect::<Vec<_>>(),
        "producersCreated": producers.iter().map(|p| json!({
            "id": p.id, "name": p.name, "createdAt": p.created_at,
        })).collect::<Vec<_>>(),
        "catalogueProposals": catalogue.iter().map(|p| json!({
            "id": p.id, "kind": format!("{:?}", p.kind).to_uppercase(), "details": p.payload,
            "reason": p.reason, "evidenceUrl": p.evidence_url,
            "status": format!("{:?}", p.status).to_uppercase(), "createdAt": p.created_at,
        })).collect::<Vec<_>>(),
        "pendingDigests": digests.iter().map(|d| json!({
            "campaignId": d.campaign_id, "dueAt": d.due_at, "since": d.since,
        })).collect::<Vec<_>>(),
        "moderationDecisions": decisions.iter().map(|d| json!({
            "action": d.action, "targetKind": d.target_type, "targetId": d.target_id,
            "reason": d.reason, "scope": d.scope, "createdAt": d.created_at,
        })).collect::<Vec<_>>(),
    }))
}

/// The rows of one table whose member column names the exporting member.
struct Mine<'a> {
    db: &'a DatabaseConnection,
    id: Uuid,
}

impl Mine<'_> {
    async fn rows<C>(&self, column: C) -> Result<Vec<<C::EntityName as EntityTrait>::Model>>
    where
        C: ColumnTrait,
        C::EntityName: EntityTrait,
    {
        Ok(<C::EntityName as EntityTrait>::find()
            .filter(column.eq(self.id))
            .all(self.db)
            .await?)
    }
}

/// Erases `actor`'s personal data, after checking their password.
pub async fn erase(
    db: &DatabaseConnection,
    passwords: &Passwords,
    actor: Viewer,
    password: String,
) -> Result<()> {
    let me = member::Entity::find_by_id(actor.id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound("member"))?;
    if !passwords.verify(password, me.password_hash.clone()).await? {
        return Err(AppError::Unauthenticated("wrong password"));
    }
    let address = me.email.clone();
    let handle_key = me.handle_key.clone();
    let tombstone = Uuid::now_v7().simple().to_string();
    let txn = db.begin().await?;
    let mut erased: member::ActiveModel = me.into();
    erased.handle = Set(format!("deleted_{}", &tombstone[..20]));
    erased.handle_key = Set(format!("deleted_{}", &tombstone[..20]));
    erased.email = Set(format!("{tombstone}{ERASED_DOMAIN}"));
    // The address is free for a new account.
    erased.email_key = Set(format!("{tombstone}{ERASED_DOMAIN}"));
    // Not a PHC string: no password ever verifies against it.
    erased.password_hash = Set("!erased".into());
    erased.display_name = Set("Deleted member".into());
    erased.territory = Set(None);
    // Nothing is mailed to a tombstone, and it is nobody's signal.
    erased.notify_milestones = Set(false);
    erased.notify_responses = Set(false);
    erased.notify_commitments = Set(false);
    erased.notify_updates = Set(false);
    erased.notify_new_campaigns = Set(false);
    erased.use_activity_signals = Set(false);
    erased.role = Set(member::Role::Member);
    erased.updated_at = Set(validate::now());
    erased.update(&txn).await?;
    auth_token::Entity::delete_many()
        .filter(auth_token::Column::MemberId.eq(actor.id))
        .exec(&txn)
        .await?;
    signature::Entity::update_many()
        .col_expr(signature::Column::Anonymous, Expr::value(true))
        .col_expr(
            signature::Column::Comment,
            Expr::value(Option::<String>::None),
        )
        .col_expr(
            signature::Column::Territory,
            Expr::value(Option::<String>::None),
        )
        .col_expr(
            signature::Column::SourceKey,
            Expr::value(Option::<String>::None),
        )
        .col_expr(
            signature::Column::EmailDomain,
            Expr::value(Option::<String>::None),
        )
        .filter(signature::Column::MemberId.eq(actor.id))
        .exec(&txn)
        .await?;
    producer_representative::Entity::delete_many()
        .filter(producer_representative::Column::MemberId.eq(actor.id))
        .exec(&txn)
        .await?;
    entities::member_value_tag::Entity::delete_many()
        .filter(entities::member_value_tag::Column::MemberId.eq(actor.id))
        .exec(&txn)
        .await?;
    entities::webhook::Entity::delete_many()
        .filter(entities::webhook::Column::OwnerId.eq(actor.id))
        .exec(&txn)
        .await?;
    entities::email_token::Entity::delete_many()
        .filter(entities::email_token::Column::MemberId.eq(actor.id))
        .exec(&txn)
        .await?;
    entities::notification_digest::Entity::delete_many()
        .filter(entities::notification_digest::Column::MemberId.eq(actor.id))
        .exec(&txn)
        .await?;
    // Its social life: communities left (their counts drop), sponsorships
    // and verdicts withdrawn, flags kept without their reporter.
    let memberships = community_member::Entity::find()
        .filter(community_member::Column::MemberId.eq(actor.id))
        .all(&txn)
        .await?;
    for membership in memberships {
        community_member::Entity::delete_by_id((membership.community_id, actor.id))
            .exec(&txn)
            .await?;
        crate::service::signing::standing::membership(
            &txn,
            membership.community_id,
            validate::now(),
            -1,
        )
        .await?;
    }
    // A sponsorship of a campaign still gathering sponsors is withdrawn
    // (its count drops); one that helped open a campaign is unlinked and
    // still counted as it was at the opening.
    let sponsored: Vec<Uuid> = campaign_sponsor::Entity::find()
        .filter(campaign_sponsor::Column::MemberId.eq(actor.id))
        .all(&txn)
        .await?
        .into_iter()
        .map(|sponsorship| sponsorship.campaign_id)
        .collect();
    campaign::Entity::update_many()
        .col_expr(
            campaign::Column::SponsorCount,
            Expr::col(campaign::Column::SponsorCount).sub(1),
        )
        .filter(campaign::Column::Id.is_in(sponsored))
        .filter(campaign::Column::Status.eq(campaign::CampaignStatus::Sponsoring))
        .exec(&txn)
        .await?;
    campaign_sponsor::Entity::delete_many()
        .filter(campaign_sponsor::Column::MemberId.eq(actor.id))
        .exec(&txn)
        .await?;
    commitment_review::Entity::delete_many()
        .filter(commitment_review::Column::MemberId.eq(actor.id))
        .exec(&txn)
        .await?;
    flag::Entity::update_many()
        .col_expr(flag::Column::ReporterId, Expr::value(None::<Uuid>))
        .filter(flag::Column::ReporterId.eq(actor.id))
        .exec(&txn)
        .await?;
    forget_mail_to(&txn, &address, &format!("{tombstone}{ERASED_DOMAIN}")).await?;
    // The handle is free again, once its quarantine is over (see `auth::register`).
    entities::released_handle::Entity::insert(entities::released_handle::ActiveModel {
        handle_key: Set(handle_key),
        released_at: Set(validate::now()),
    })
    .on_conflict(
        sea_orm::sea_query::OnConflict::column(entities::released_handle::Column::HandleKey)
            .update_column(entities::released_handle::Column::ReleasedAt)
            .to_owned(),
    )
    .exec_without_returning(&txn)
    .await?;
    txn.commit().await?;
    Ok(())
}

/// Deletes the unsent mail to `address` and keeps the sent (or given up)
/// mail without its address or contents. A mail's payload starts with its
/// `to` (see `outbox::mail::Mail`), so it is found by that prefix, compared
/// exactly (no `LIKE`, whose wildcards an address may hold).
async fn forget_mail_to(
    db: &impl sea_orm::ConnectionTrait,
    address: &str,
    tombstone_address: &str,
) -> Result<()> {
    use entities::outbox_message;
    use sea_orm::sea_query::{ExprTrait, Func};
    let to = serde_json::to_string(address).map_err(|err| AppError::Internal(err.to_string()))?;
    let prefix = format!("{{\"to\":{to},");
    // PostgreSQL's substr takes INTEGER positions.
    let length = i32::try_from(prefix.chars().count()).unwrap_or(i32::MAX);
    let mails = outbox_message::Entity::find()
        .filter(outbox_message::Column::Kind.eq(crate::outbox::mail::KIND))
        .filter(ExprTrait::eq(
            Expr::expr(Func::cust("substr").args([
                Expr::col(outbox_message::Column::Payload),
                Expr::val(1i32),
                Expr::val(length),
            ])),
            prefix.as_str(),
        ))
        .all(db)
        .await?;
    for mail in mails {
        if mail.sent_at.is_none() && mail.failed_at.is_none() {
            outbox_message::Entity::delete_by_id(mail.id)
                .exec(db)
                .await?;
            continue;
        }
        // What was sent, to whom it no longer says: no address, no contents.
        let Ok(mut kept) = serde_json::from_str::<crate::outbox::mail::Mail>(&mail.payload) else {
            outbox_message::Entity::delete_by_id(mail.id)
                .exec(db)
                .await?;
            continue;
        };
        kept.to = tombstone_address.to_owned();
        kept.vars.clear();
        kept.unsubscribe = None;
        let kept =
            serde_json::to_string(&kept).map_err(|err| AppError::Internal(err.to_string()))?;
        outbox_message::Entity::update_many()
            .col_expr(outbox_message::Column::Payload, Expr::value(kept))
            .filter(outbox_message::Column::Id.eq(mail.id))
            .exec(db)
            .await?;
    }
    Ok(())
}
