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
use sea_orm::{ConnectionTrait, EntityTrait};
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
    let visible_campaign = |campaign_id: Uuid| campaigns::get_cached(state, viewer, campaign_id);
    Ok(match table.as_str() {
        "campaign" => campaigns::get_cached(state, viewer, id)
            .await?
            .map(Found::Campaign),
        "community" => community::Entity::find_by_id(id)
            .one(db)
            .await?
            .map(Found::Community),
        "producer" => producer::Entity::find_by_id(id)
            .one(db)
            .await?
            .map(Found::Producer),
        "member" => member::Entity::find_by_id(id)
            .one(db)
            .await?
            .map(Found::Member),
        "value_tag" => value_tag::Entity::find_by_id(id)
            .one(db)
            .await?
            .map(Found::ValueTag),
        "signature" => {
            let Some(found) = signature::Entity::find_by_id(id).one(db).await? else {
                return Ok(None);
            };
            // Public lists show counted, visible signatures; a signer
            // always sees their own.
            let own = viewer.is_some_and(|v| found.member_id == Some(v.id));
            let public = found.status == SignatureStatus::Counted && found.hidden_at.is_none();
            if (own || public) && visible_campaign(found.campaign_id).await?.is_some() {
                Some(Found::Signature(found))
            } else {
                None
            }
        }
        "proposal" => match proposals::get(db, viewer, id).await {
            Ok(found) => Some(Found::Proposal(found)),
            Err(AppError::NotFound(_)) => None,
            Err(err) => return Err(err),
        },
        "producer_response" => {
            let Some(found) = producer_response::Entity::find_by_id(id).one(db).await? else {
                return Ok(None);
            };
            if found.hidden_at.is_none() && visible_campaign(found.campaign_id).await?.is_some() {
                Some(Found::ProducerResponse(found))
            } else {
                None
            }
        }
        "campaign_update" => {
            let Some(found) = campaign_update::Entity::find_by_id(id).one(db).await? else {
                return Ok(None);
            };
            if visible_campaign(found.campaign_id).await?.is_some() {
                Some(Found::CampaignUpdate(found))
            } else {
                None
            }
        }
        _ => None,
    })
}
