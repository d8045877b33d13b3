//! Signing in batches: signatures that arrive together share one
//! transaction, so a burst on one campaign costs one commit per batch
//! instead of one per signature. The transaction appends: the signature
//! rows and one queued description of what they move (`service::fold`),
//! which the folder applies to the derived figures afterwards. Each signer
//! still gets their own answer: their signature, or `CONFLICT` when they had
//! already signed; a failed batch fails all of its signers, and none of its
//! signatures is written.
//!
//! Batches form by themselves: a worker takes whatever is queued when it
//! becomes free (up to the batch limit), so a quiet server writes each
//! signature at once and a busy one writes many per commit.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use entities::signature::{self, SignatureStatus};
use sea_orm::{DatabaseConnection, EntityTrait, Set, TryInsertResult};
use tokio::sync::{Mutex, mpsc, oneshot};
use uuid::Uuid;

use crate::db::begin_write;
use crate::error::{AppError, Result};
use crate::metrics::Metrics;
use crate::service::fold::{self, Folder};

/// A signature to write.
#[derive(Clone, Debug)]
pub struct NewSignature {
    pub campaign_id: Uuid,
    pub producer_id: Uuid,
    /// The campaign's community, whose activity the signature adds to.
    pub community_id: Option<Uuid>,
    /// The campaign's goal and verified offline signatures, for the
    /// milestones the batch's counter step checks.
    pub goal: Option<i32>,
    pub offline_signatures: i64,
    pub member_id: Uuid,
    pub comment: Option<String>,
    pub anonymous: bool,
    pub territory: Option<String>,
    pub created_at: DateTime<Utc>,
    /// `PENDING` for a signer whose address is not confirmed yet: stored,
    /// but left out of the rollups (and, by the caller, the counters).
    pub status: SignatureStatus,
    /// See `service::source`.
    pub source_key: Option<String>,
    pub email_domain: Option<String>,
    /// The open fraud signal holding it (`PENDING`), if any.
    pub held_by: Option<Uuid>,
}

struct Job {
    id: Uuid,
    signature: NewSignature,
    reply: oneshot::Sender<Result<(signature::Model, Arc<Batch>)>>,
}

/// What a committed batch counted, per campaign, and the once-only step
/// that brings the live counters, milestones and subscribers up to date:
/// whichever of the batch's signers gets there first runs it (one
/// pipelined round trip for the whole batch), the others wait for it, so
/// every signer's answer comes after its signature is in the count.
pub struct Batch {
    pub counted: Vec<CountedIn>,
    pub after_commit: tokio::sync::OnceCell<()>,
}

/// Signatures a batch counted on one campaign.
#[derive(Clone, Debug)]
pub struct CountedIn {
    pub campaign_id: Uuid,
    pub goal: Option<i32>,
    pub offline_signatures: i64,
    pub added: i64,
}

/// The queue signatures wait in, and its workers.
pub struct SignBatcher {
    sender: mpsc::Sender<Job>,
}

struct Worker {
    db: DatabaseConnection,
    metrics: Arc<Metrics>,
    folder: Arc<Folder>,
    sqlite_writer: Option<Arc<Mutex<()>>>,
    max_batch: usize,
    queue: Arc<Mutex<mpsc::Receiver<Job>>>,
}

impl SignBatcher {
    /// Starts `workers` writers taking up to `max_batch` signatures each.
    pub fn start(
        db: DatabaseConnection,
        metrics: Arc<Metrics>,
        folder: Arc<Folder>,
        sqlite_writer: Option<Arc<Mutex<()>>>,
        workers: usize,
        max_batch: usize,
    ) -> Self {
        let max_batch = max_batch.max(1);
        let (sender, receiver) = mpsc::channel(max_batch * workers.max(1) * 2);
        let queue = Arc::new(Mutex::new(receiver));
        for _ in 0..workers.max(1) {
            let worker = Worker {
                db: db.clone(),
                metrics: metrics.clone(),
                folder: folder.clone(),
                sqlite_writer: sqlite_writer.clone(),
                max_batch,
                queue: queue.clone(),
            };
            tokio::spawn(worker.run());
        }
        Self { sender }
    }

    /// Writes one signature with whichever others are waiting; its batch's
    /// after-commit step is the caller's to run (see [`Batch`]).
    pub async fn sign(&self, signature: NewSignature) -> Result<(signature::Model, Arc<Batch>)> {
        let (reply, answer) = oneshot::channel();
        let job = Job {
            id: Uuid::now_v7(),
            signature,
            reply,
        };
        self.sender.send(job).await.map_err(|_| {
            tracing::warn!("no signature batch writer is running");
            AppError::Unavailable
        })?;
        answer.await.map_err(|_| {
            tracing::warn!("a signature batch writer dropped a signature unanswered");
            AppError::Unavailable
        })?
    }
}

impl Worker {
    async fn run(self) {
        loop {
            let jobs = {
                let mut queue = self.queue.lock().await;
                let Some(first) = queue.recv().await else {
                    return;
                };
                let mut jobs = vec![first];
                while jobs.len() < self.max_batch {
                    match queue.try_recv() {
                        Ok(job) => jobs.push(job),
                        Err(_) => break,
                    }
                }
                jobs
            };
            match self.write(&jobs).await {
                Ok(mut written) => {
                    let batch = Arc::new(Batch {
                        counted: counted_in(&jobs, &written),
                        after_commit: tokio::sync::OnceCell::new(),
                    });
                    for job in jobs {
                        let answer = written
                            .remove(&job.id)
                            .map(|model| (model, batch.clone()))
                            .ok_or_else(|| {
                                AppError::Conflict("you have already signed this campaign".into())
                            });
                        let _ = job.reply.send(answer);
                    }
                }
                Err(err) => {
                    tracing::warn!(
                        code = err.code(),
                        size = jobs.len(),
                        "signature batch failed"
                    );
                    for job in jobs {
                        let _ = job.reply.send(Err(err.clone()));
                    }
                }
            }
        }
    }

    /// Inserts the batch (a second signature of the same member on the same
    /// campaign is skipped) and queues what it moves, in one transaction.
    async fn write(&self, jobs: &[Job]) -> Result<HashMap<Uuid, signature::Model>> {
        // Key order, so that concurrent batches lock index entries alike.
        let mut order: Vec<&Job> = jobs.iter().collect();
        order.sort_by_key(|job| (job.signature.campaign_id, job.signature.member_id, job.id));
        let rows = order.iter().map(|job| signature::ActiveModel {
            id: Set(job.id),
            campaign_id: Set(job.signature.campaign_id),
            producer_id: Set(job.signature.producer_id),
            member_id: Set(Some(job.signature.member_id)),
            comment: Set(job.signature.comment.clone()),
            anonymous: Set(job.signature.anonymous),
            territory: Set(job.signature.territory.clone()),
            hidden_at: Set(None),
            hidden_scope: Set(None),
            status: Set(job.signature.status),
            source_key: Set(job.signature.source_key.clone()),
            email_domain: Set(job.signature.email_domain.clone()),
            invalidation_id: Set(None),
            held_by: Set(job.signature.held_by),
            created_at: Set(job.signature.created_at),
        });
        let (writer, txn) = begin_write(&self.db, self.sqlite_writer.as_ref()).await?;
        let inserted = match signature::Entity::insert_many(rows)
            .on_conflict_do_nothing_on([signature::Column::CampaignId, signature::Column::MemberId])
            .exec_with_returning_many(&txn)
            .await?
        {
            TryInsertResult::Inserted(models) => models,
            TryInsertResult::Empty | TryInsertResult::Conflicted => Vec::new(),
        };
        // What the counted signatures move, for the folder; nothing derived
        // is written here.
        let signatures: HashMap<Uuid, &NewSignature> =
            jobs.iter().map(|job| (job.id, &job.signature)).collect();
        let mut changes = fold::Changes::default();
        for model in inserted
            .iter()
            .filter(|model| model.status == SignatureStatus::Counted)
        {
            let Some(new) = signatures.get(&model.id) else {
                continue;
            };
            changes.signature(
                new.producer_id,
                model.member_id,
                model.campaign_id,
                new.community_id,
                model.created_at,
                1,
            );
        }
        fold::record(&txn, &changes).await?;
        txn.commit().await?;
        drop(writer);
        if !changes.is_empty() {
            self.folder.wake();
        }
        Metrics::increment(&self.metrics.signature_batches);
        Ok(inserted
            .into_iter()
            .map(|model| (model.id, model))
            .collect())
    }
}

/// The counted signatures of a written batch, per campaign, in campaign order.
fn counted_in(jobs: &[Job], written: &HashMap<Uuid, signature::Model>) -> Vec<CountedIn> {
    let mut per_campaign: std::collections::BTreeMap<Uuid, CountedIn> = Default::default();
    for job in jobs {
        let Some(model) = written.get(&job.id) else {
            continue;
        };
        if model.status != SignatureStatus::Counted {
            continue;
        }
        per_campaign
            .entry(model.campaign_id)
            .or_insert_with(|| CountedIn {
                campaign_id: model.campaign_id,
                goal: job.signature.goal,
                offline_signatures: job.signature.offline_signatures,
                added: 0,
            })
            .added += 1;
    }
    per_campaign.into_values().collect()
}
