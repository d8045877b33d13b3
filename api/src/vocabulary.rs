//! Vocabulary: plain data several layers share, with no I/O and no
//! GraphQL (its GraphQL faces are derived in `graphql/` with `remote =`).

use std::fmt;

use entities::campaign::CampaignStatus;
use sea_orm::EnumIter;
use serde::{Deserialize, Serialize};

/// What happened. On the wire (webhook payloads) each has a dotted name:
/// `CAMPAIGN_PUBLISHED` is `campaign.published`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, EnumIter)]
pub enum EventType {
    /// A campaign opened for signatures.
    #[serde(rename = "campaign.published")]
    CampaignPublished,
    /// A campaign crossed 10, 100, 1 000, 10 000 or 100 000 signatures.
    #[serde(rename = "campaign.milestone")]
    CampaignMilestone,
    /// A campaign reached its goal.
    #[serde(rename = "campaign.goal_reached")]
    CampaignGoalReached,
    /// A campaign closed, in victory or not.
    #[serde(rename = "campaign.closed")]
    CampaignClosed,
    /// The organiser posted an update.
    #[serde(rename = "campaign.update_posted")]
    CampaignUpdatePosted,
    /// A campaign's count reached its response threshold: its producer is
    /// asked to answer by a due date.
    #[serde(rename = "campaign.response_requested")]
    CampaignResponseRequested,
    /// The due date of a response request passed without an answer.
    #[serde(rename = "campaign.response_overdue")]
    CampaignResponseOverdue,
    /// The organiser moved a campaign from its target to an owner of it.
    #[serde(rename = "campaign.escalated")]
    CampaignEscalated,
    /// The producer answered a campaign.
    #[serde(rename = "producer.responded")]
    ProducerResponded,
    /// A commitment's due date passed while it was still pending.
    #[serde(rename = "commitment.due")]
    CommitmentDue,
    /// A commitment closed, kept or broken.
    #[serde(rename = "commitment.closed")]
    CommitmentClosed,
    /// Conditional pledges became active: their threshold was met.
    #[serde(rename = "pledges.activated")]
    PledgesActivated,
    /// A moderator struck signatures out.
    #[serde(rename = "signatures.invalidated")]
    SignaturesInvalidated,
    /// Sent by `testWebhook` only.
    #[serde(rename = "webhook.test")]
    WebhookTest,
}

impl EventType {
    /// The dotted name sent in payloads.
    pub fn wire(self) -> &'static str {
        match self {
            EventType::CampaignPublished => "campaign.published",
            EventType::CampaignMilestone => "campaign.milestone",
            EventType::CampaignGoalReached => "campaign.goal_reached",
            EventType::CampaignClosed => "campaign.closed",
            EventType::CampaignUpdatePosted => "campaign.update_posted",
            EventType::CampaignResponseRequested => "campaign.response_requested",
            EventType::CampaignResponseOverdue => "campaign.response_overdue",
            EventType::CampaignEscalated => "campaign.escalated",
            EventType::ProducerResponded => "producer.responded",
            EventType::CommitmentDue => "commitment.due",
            EventType::CommitmentClosed => "commitment.closed",
            EventType::PledgesActivated => "pledges.activated",
            EventType::SignaturesInvalidated => "signatures.invalidated",
            EventType::WebhookTest => "webhook.test",
        }
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.wire())
    }
}

/// A campaign's status as payloads and messages name it (`OPEN`, `IN_REVIEW`).
pub fn campaign_status_name(status: CampaignStatus) -> &'static str {
    match status {
        CampaignStatus::Draft => "DRAFT",
        CampaignStatus::Sponsoring => "SPONSORING",
        CampaignStatus::InReview => "IN_REVIEW",
        CampaignStatus::Rejected => "REJECTED",
        CampaignStatus::Open => "OPEN",
        CampaignStatus::Victory => "VICTORY",
        CampaignStatus::Closed => "CLOSED",
    }
}
