//! `myNotifications` fan-out: who an event concerns is asked once per event
//! for all of this instance's subscribers (one query, however many listen),
//! not once per subscriber, and each concerned subscriber is handed the
//! event through a channel of its own. A subscriber that does not read
//! loses events rather than holding the others back.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};

use entities::producer_representative::{self, ClaimStatus};
use entities::signature::{self, SignatureStatus};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QuerySelect,
};
use tokio::sync::{broadcast, mpsc};
use uuid::Uuid;

use crate::bus::Notice;
use crate::vocabulary::EventType;

/// Events a subscriber may have waiting before newer ones are dropped.
const BACKLOG: usize = 64;

/// Members asked about in one statement (bind parameters stay few).
const CHUNK: usize = 1_000;

/// This instance's `myNotifications` subscribers.
#[derive(Default)]
pub struct NoticeHub {
    subscribers: Mutex<HashMap<u64, (Uuid, mpsc::Sender<Notice>)>>,
    next: AtomicU64,
}

/// One subscriber's events; it leaves the hub when dropped.
pub struct Listening {
    hub: Weak<NoticeHub>,
    id: u64,
    pub events: mpsc::Receiver<Notice>,
}

impl Drop for Listening {
    fn drop(&mut self) {
        if let Some(hub) = self.hub.upgrade() {
            hub.subscribers
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(&self.id);
        }
    }
}

impl NoticeHub {
    /// A hub fed by `notices` (every instance's events), asking `db`.
    pub fn start(db: DatabaseConnection, mut notices: broadcast::Receiver<Notice>) -> Arc<Self> {
        let hub = Arc::new(Self::default());
        let weak = Arc::downgrade(&hub);
        tokio::spawn(async move {
            loop {
                match notices.recv().await {
                    Ok(notice) => {
                        let Some(hub) = weak.upgrade() else { return };
                        hub.deliver(&db, notice).await;
                    }
                    Err(broadcast::error::RecvError::Lagged(missed)) => {
                        tracing::warn!(missed, "notification fan-out fell behind");
                    }
                    Err(broadcast::error::RecvError::Closed) => return,
                }
            }
        });
        hub
    }

    /// Starts listening for `member`.
    pub fn listen(self: &Arc<Self>, member: Uuid) -> Listening {
        let (sender, events) = mpsc::channel(BACKLOG);
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        self.subscribers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id, (member, sender));
        Listening {
            hub: Arc::downgrade(self),
            id,
            events,
        }
    }

    async fn deliver(&self, db: &DatabaseConnection, notice: Notice) {
        let members: Vec<Uuid> = {
            let subscribers = self.subscribers.lock().unwrap_or_else(|e| e.into_inner());
            let distinct: HashSet<Uuid> = subscribers.values().map(|(member, _)| *member).collect();
            distinct.into_iter().collect()
        };
        if members.is_empty() {
            return;
        }
        let concerned = match concerned(db, &notice, &members).await {
            Ok(concerned) => concerned,
            Err(err) => {
                tracing::warn!(%err, "cannot tell whom a notice concerns");
                return;
            }
        };
        let subscribers = self.subscribers.lock().unwrap_or_else(|e| e.into_inner());
        for (member, sender) in subscribers.values() {
            if concerned.contains(member) {
                let _ = sender.try_send(notice.clone());
            }
        }
    }
}

/// Which of `members` hear of `notice`: its campaign's organiser always;
/// its counted signers for what they would be mailed about; its producer's
/// approved representatives for a new campaign.
pub async fn concerned(
    db: &impl ConnectionTrait,
    notice: &Notice,
    members: &[Uuid],
) -> Result<HashSet<Uuid>, sea_orm::DbErr> {
    let mut found: HashSet<Uuid> = notice
        .organiser_id
        .filter(|organiser| members.contains(organiser))
        .into_iter()
        .collect();
    for chunk in members.chunks(CHUNK) {
        let ids = chunk.iter().copied();
        let rows: Vec<Option<Uuid>> = match notice.kind {
            EventType::CampaignPublished => producer_representative::Entity::find()
                .select_only()
                .column(producer_representative::Column::MemberId)
                .filter(producer_representative::Column::ProducerId.eq(notice.producer_id))
                .filter(producer_representative::Column::MemberId.is_in(ids))
                .filter(producer_representative::Column::Status.eq(ClaimStatus::Approved))
                .into_tuple::<Uuid>()
                .all(db)
                .await?
                .into_iter()
                .map(Some)
                .collect(),
            EventType::CampaignMilestone
            | EventType::CampaignGoalReached
            | EventType::CampaignClosed
            | EventType::CampaignUpdatePosted
            | EventType::CampaignEscalated
            | EventType::ProducerResponded
            | EventType::CampaignResponseRequested
            | EventType::CampaignResponseOverdue
            | EventType::CommitmentDue
            | EventType::CommitmentClosed => {
                signature::Entity::find()
                    .select_only()
                    .column(signature::Column::MemberId)
                    .filter(signature::Column::CampaignId.eq(notice.campaign_id))
                    .filter(signature::Column::MemberId.is_in(ids))
                    .filter(signature::Column::Status.eq(SignatureStatus::Counted))
                    .into_tuple::<Option<Uuid>>()
                    .all(db)
                    .await?
            }
            _ => Vec::new(),
        };
        found.extend(rows.into_iter().flatten());
    }
    Ok(found)
}
