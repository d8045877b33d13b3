//! Global object identification: any object with an id, refetched by that
//! id alone (`Query.node`), as Relay, Apollo and urql's normalised caches
//! need. Ids are UUIDs, unique across tables, so they need no type prefix:
//! one query finds which table holds an id, and the object is then read by
//! the same rules as everywhere else: an object the caller may not see is
//! `None`, exactly like an unknown id.

use entities::{
    campaign, campaign_update, community, member, producer, producer_response, proposal, signature,
    value_tag,
};
use std::sync::Arc;

use sea_orm::{ConnectionTrait, EntityTrait, PrimaryKeyTrait};
use uuid::Uuid;

use crate::error::{AppError, Result};
use crate::service::auth::Viewer;
use crate::service::observatory::sql::Sql;
use crate::service::{campaign as campaigns, proposal as proposals};
use crate::state::AppState;
use entities::signature::SignatureStatus;

/// An object found by its id.
pub enum Found {
    Campaign(campaign::Model),
    Community(community::Model),
    Producer(producer::Model),
    Member(member::Model),
    ValueTag(value_tag::Model),
    Signature(signature::Model),
    Proposal(proposal::Model),
    ProducerResponse(producer_response::Model),
    CampaignUpdate(campaign_update::Model),
}

/// The tables `node` looks in, by the name it answers with.
const TABLES: [&str; 9] = [
    "campaign",
    "community",
    "producer",
    "member",
    "value_tag",
    "signature",
    "proposal",
    "producer_response",
    "campaign_update",
];

/// The object `id` names, if `viewer` may see it.
pub async fn find(state: &AppState, viewer: Option<Viewer>, id: Uuid) -> Result<Option<Found>> {
    let db = &state.db;
    let mut sql = Sql::new(db.get_database_backend());
    for (i, table) in TABLES.iter().enumerate() {
        if i > 0 {
            sql.push(" UNION ALL ");
        }
        sql.push("SELECT '")
            .push(table)
            .push("' FROM ")
            .push(table)
            .push(" WHERE id = ")
            .bind(id);
    }
    let Some(row) = db.query_one_raw(sql.build()).await? else {
        return Ok(None);
    };
    let table: String = row.try_get_by_index(0)?;
    let on_visible_campaign = |campaign_id: Uuid| async move {
        Ok::<_, AppError>(
            campaigns::get_cached(state, viewer, campaign_id)
                .await?
                .is_some(),
        )
    };
    Ok(match table.as_str() {
        "campaign" => campaigns::get_cached(state, viewer, id)
            .await?
            .map(|found| Found::Campaign(Arc::unwrap_or_clone(found))),
        // Public wherever they are listed.
        "community" => row_by_id::<community::Entity>(db, id)
            .await?
            .map(Found::Community),
        "producer" => row_by_id::<producer::Entity>(db, id)
            .await?
            .map(Found::Producer),
        "member" => row_by_id::<member::Entity>(db, id)
            .await?
            .map(Found::Member),
        "value_tag" => row_by_id::<value_tag::Entity>(db, id)
            .await?
            .map(Found::ValueTag),
        "signature" => match row_by_id::<signature::Entity>(db, id).await? {
            // Public lists show counted, visible signatures; a signer
            // always sees their own.
            Some(found)
                if (viewer.is_some_and(|v| found.member_id == Some(v.id))
                    || (found.status == SignatureStatus::Counted && found.hidden_at.is_none()))
                    && on_visible_campaign(found.campaign_id).await? =>
            {
                Some(Found::Signature(found))
            }
            _ => None,
        },
        "proposal" => match proposals::get(db, viewer, id).await {
            Ok(found) => Some(Found::Proposal(found)),
            Err(AppError::NotFound(_)) => None,
            Err(err) => return Err(err),
        },
        "producer_response" => match row_by_id::<producer_response::Entity>(db, id).await? {
            Some(found)
                if found.hidden_at.is_none() && on_visible_campaign(found.campaign_id).await? =>
            {
                Some(Found::ProducerResponse(found))
            }
            _ => None,
        },
        "campaign_update" => match row_by_id::<campaign_update::Entity>(db, id).await? {
            Some(found) if on_visible_campaign(found.campaign_id).await? => {
                Some(Found::CampaignUpdate(found))
            }
            _ => None,
        },
        _ => None,
    })
}

/// The row of `E` with this id.
async fn row_by_id<E>(db: &impl ConnectionTrait, id: Uuid) -> Result<Option<E::Model>>
where
    E: EntityTrait,
    <E::PrimaryKey as PrimaryKeyTrait>::ValueType: From<Uuid>,
{
    Ok(E::find_by_id(id).one(db).await?)
}
