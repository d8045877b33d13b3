//! The rows of the big tables as the seed generates them, and how each goes
//! into `COPY` or an insert.

use crate::service::observatory::rollup;

use chrono::NaiveDate;
use chrono::{DateTime, Utc};
use entities::community_member::MembershipRole;
use entities::member::Role;
use entities::pledge::{PledgeKind, PledgeStatus};
use entities::signature::SignatureStatus;
use entities::trust_rating::Dimension;
use entities::{community_member, member, member_value_tag, pledge, signature, trust_rating};
use sea_orm::Set;
use uuid::Uuid;

use super::bulk::{Binary, Bulk, Encoding, RollupRow, copy_time};

pub(super) struct SeedMember {
    pub(super) id: Uuid,
    pub(super) handle: String,
    pub(super) number: u64,
    pub(super) territory: &'static str,
    pub(super) password_hash: String,
    pub(super) at: DateTime<Utc>,
}

impl SeedMember {
    fn email(&self) -> String {
        format!("{}@example.invalid", self.handle)
    }

    fn locale(&self) -> &'static str {
        if self.number.is_multiple_of(2) {
            "fr"
        } else {
            "en"
        }
    }
}

impl Bulk for SeedMember {
    const COPY: &'static str = "COPY member (id, handle, handle_key, email, email_key, \
        email_confirmed_at, locale, password_hash, display_name, role, territory, \
        notify_milestones, notify_responses, notify_commitments, notify_updates, \
        notify_new_campaigns, use_activity_signals, created_at, updated_at) FROM STDIN";
    type Active = member::ActiveModel;
    const ENCODING: Encoding<Self> = Encoding::Text(Self::line);
    fn active(self) -> member::ActiveModel {
        let email = self.email();
        member::ActiveModel {
            id: Set(self.id),
            handle_key: Set(self.handle.clone()),
            email: Set(email.clone()),
            email_key: Set(email),
            email_confirmed_at: Set(Some(self.at)),
            locale: Set(self.locale().to_owned()),
            display_name: Set(format!("Member {}", self.number)),
            handle: Set(self.handle),
            password_hash: Set(self.password_hash),
            role: Set(Role::Member),
            territory: Set(Some(self.territory.to_owned())),
            notify_milestones: Set(true),
            notify_responses: Set(true),
            notify_commitments: Set(true),
            notify_updates: Set(true),
            notify_new_campaigns: Set(true),
            use_activity_signals: Set(true),
            created_at: Set(self.at),
            updated_at: Set(self.at),
        }
    }
}

impl SeedMember {
    fn line(&self, out: &mut String) {
        use sea_orm::ActiveEnum;
        use std::fmt::Write;
        // Generated handles, addresses and hashes hold no tab, newline or
        // backslash: nothing to escape.
        let at = copy_time(self.at);
        let email = self.email();
        let _ = writeln!(
            out,
            "{}\t{handle}\t{handle}\t{email}\t{email}\t{at}\t{}\t{}\tMember {}\t{}\t{}\tt\tt\tt\tt\tt\tt\t{at}\t{at}",
            self.id,
            self.locale(),
            self.password_hash,
            self.number,
            Role::Member.to_value(),
            self.territory,
            handle = self.handle,
        );
    }
}

pub(super) struct SeedMemberValue {
    pub(super) member_id: Uuid,
    pub(super) value_tag_id: Uuid,
}

impl Bulk for SeedMemberValue {
    const COPY: &'static str = "COPY member_value_tag (member_id, value_tag_id) FROM STDIN";
    type Active = member_value_tag::ActiveModel;
    const ENCODING: Encoding<Self> = Encoding::Text(Self::line);
    fn active(self) -> member_value_tag::ActiveModel {
        member_value_tag::ActiveModel {
            member_id: Set(self.member_id),
            value_tag_id: Set(self.value_tag_id),
        }
    }
}

impl SeedMemberValue {
    fn line(&self, out: &mut String) {
        use std::fmt::Write;
        let _ = writeln!(out, "{}\t{}", self.member_id, self.value_tag_id);
    }
}

/// A member joining a community.
pub(super) struct SeedJoin {
    pub(super) community_id: Uuid,
    pub(super) member_id: Uuid,
    pub(super) joined_at: DateTime<Utc>,
}

impl Bulk for SeedJoin {
    const COPY: &'static str =
        "COPY community_member (community_id, member_id, role, joined_at) FROM STDIN";
    type Active = community_member::ActiveModel;
    const ENCODING: Encoding<Self> = Encoding::Text(Self::line);
    fn active(self) -> community_member::ActiveModel {
        community_member::ActiveModel {
            community_id: Set(self.community_id),
            member_id: Set(self.member_id),
            role: Set(MembershipRole::Member),
            joined_at: Set(self.joined_at),
        }
    }
}

impl SeedJoin {
    fn line(&self, out: &mut String) {
        use sea_orm::ActiveEnum;
        use std::fmt::Write;
        let _ = writeln!(
            out,
            "{}\t{}\t{}\t{}",
            self.community_id,
            self.member_id,
            MembershipRole::Member.to_value(),
            copy_time(self.joined_at),
        );
    }
}

pub(super) struct SeedSignature {
    pub(super) id: Uuid,
    pub(super) campaign_id: Uuid,
    pub(super) producer_id: Uuid,
    pub(super) member_id: Uuid,
    pub(super) anonymous: bool,
    pub(super) created_at: DateTime<Utc>,
}

impl Bulk for SeedSignature {
    const COPY: &'static str = "COPY signature (id, campaign_id, producer_id, member_id, anonymous, status, created_at) FROM STDIN";
    type Active = signature::ActiveModel;
    const ENCODING: Encoding<Self> = Encoding::Binary(Self::encode);
    fn active(self) -> signature::ActiveModel {
        signature::ActiveModel {
            id: Set(self.id),
            campaign_id: Set(self.campaign_id),
            producer_id: Set(self.producer_id),
            member_id: Set(Some(self.member_id)),
            comment: Set(None),
            anonymous: Set(self.anonymous),
            territory: Set(None),
            hidden_at: Set(None),
            hidden_scope: Set(None),
            status: Set(SignatureStatus::Counted),
            source_key: Set(None),
            email_domain: Set(None),
            invalidation_id: Set(None),
            held_by: Set(None),
            created_at: Set(self.created_at),
        }
    }
}

impl SeedSignature {
    fn encode(&self, out: &mut Binary) {
        out.row(7)
            .uuid(self.id)
            .uuid(self.campaign_id)
            .uuid(self.producer_id)
            .uuid(self.member_id)
            .bool(self.anonymous)
            .text("COUNTED")
            .time(self.created_at);
    }
}

pub(super) struct SeedPledge {
    pub(super) id: Uuid,
    pub(super) campaign_id: Uuid,
    pub(super) producer_id: Uuid,
    pub(super) member_id: Uuid,
    pub(super) kind: PledgeKind,
    pub(super) monthly_amount_cents: Option<i64>,
    pub(super) at: DateTime<Utc>,
}

impl Bulk for SeedPledge {
    const COPY: &'static str = "COPY pledge (id, campaign_id, producer_id, member_id, kind, monthly_amount_cents, \
        status, activated_at, created_at, updated_at) FROM STDIN";
    type Active = pledge::ActiveModel;
    const ENCODING: Encoding<Self> = Encoding::Text(Self::line);
    fn active(self) -> pledge::ActiveModel {
        pledge::ActiveModel {
            id: Set(self.id),
            campaign_id: Set(self.campaign_id),
            producer_id: Set(self.producer_id),
            member_id: Set(Some(self.member_id)),
            kind: Set(self.kind),
            monthly_amount_cents: Set(self.monthly_amount_cents),
            activation_threshold: Set(None),
            status: Set(PledgeStatus::Active),
            activated_at: Set(Some(self.at)),
            closed_at: Set(None),
            created_at: Set(self.at),
            updated_at: Set(self.at),
        }
    }
}

impl SeedPledge {
    fn line(&self, out: &mut String) {
        use sea_orm::ActiveEnum;
        use std::fmt::Write;
        let at = copy_time(self.at);
        let _ = writeln!(
            out,
            "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{at}\t{at}\t{at}",
            self.id,
            self.campaign_id,
            self.producer_id,
            self.member_id,
            self.kind.to_value(),
            self.monthly_amount_cents
                .map_or_else(|| "\\N".to_owned(), |cents| cents.to_string()),
            PledgeStatus::Active.to_value(),
        );
    }
}

pub(super) struct SeedRating {
    pub(super) id: Uuid,
    pub(super) member_id: Uuid,
    pub(super) producer_id: Uuid,
    pub(super) dimension: Dimension,
    pub(super) score: i16,
    pub(super) at: DateTime<Utc>,
}

impl Bulk for SeedRating {
    const COPY: &'static str = "COPY trust_rating (id, member_id, producer_id, dimension, score, \
        period, created_at, updated_at) FROM STDIN";
    type Active = trust_rating::ActiveModel;
    const ENCODING: Encoding<Self> = Encoding::Text(Self::line);
    fn active(self) -> trust_rating::ActiveModel {
        trust_rating::ActiveModel {
            id: Set(self.id),
            member_id: Set(Some(self.member_id)),
            producer_id: Set(self.producer_id),
            dimension: Set(self.dimension),
            score: Set(self.score),
            period: Set(self.at.format("%Y-%m").to_string()),
            created_at: Set(self.at),
            updated_at: Set(self.at),
        }
    }
}

impl SeedRating {
    fn line(&self, out: &mut String) {
        use sea_orm::ActiveEnum;
        use std::fmt::Write;
        let at = copy_time(self.at);
        let _ = writeln!(
            out,
            "{}\t{}\t{}\t{}\t{}\t{}\t{at}\t{at}",
            self.id,
            self.member_id,
            self.producer_id,
            self.dimension.to_value(),
            self.score,
            self.at.format("%Y-%m"),
        );
    }
}

pub(super) struct SeedContributor {
    pub(super) producer_id: Uuid,
    pub(super) period: NaiveDate,
    pub(super) member_id: Uuid,
    pub(super) weight: i32,
}

impl RollupRow for SeedContributor {
    const TABLE: &'static str = "obs_contributor";
    fn columns() -> Vec<&'static str> {
        vec!["producer_id", "period_start", "member_id", "weight"]
    }
    const ENCODING: Encoding<Self> = Encoding::Binary(Self::encode);
    fn values(&self) -> Vec<sea_orm::Value> {
        vec![
            self.producer_id.into(),
            self.period.format("%Y-%m-%d").to_string().into(),
            self.member_id.into(),
            self.weight.into(),
        ]
    }
}

impl SeedContributor {
    fn encode(&self, out: &mut Binary) {
        out.row(4)
            .uuid(self.producer_id)
            .text(&self.period.format("%Y-%m-%d").to_string())
            .uuid(self.member_id)
            .int4(self.weight);
    }
}

pub(super) struct SeedAtom {
    pub(super) producer_id: Uuid,
    pub(super) period: NaiveDate,
    pub(super) members: i64,
    /// [`rollup::COUNT_COLUMNS`], in order.
    pub(super) counts: [i64; 14],
}

impl RollupRow for SeedAtom {
    const TABLE: &'static str = "obs_atom";
    fn columns() -> Vec<&'static str> {
        ["producer_id", "period_start", "members"]
            .into_iter()
            .chain(rollup::COUNT_COLUMNS)
            .collect()
    }
    const ENCODING: Encoding<Self> = Encoding::Text(Self::line);
    fn values(&self) -> Vec<sea_orm::Value> {
        [
            self.producer_id.into(),
            self.period.format("%Y-%m-%d").to_string().into(),
            self.members.into(),
        ]
        .into_iter()
        .chain(self.counts.iter().map(|&count| count.into()))
        .collect()
    }
}

impl SeedAtom {
    fn line(&self, out: &mut String) {
        use std::fmt::Write;
        let _ = write!(
            out,
            "{}\t{}\t{}",
            self.producer_id,
            self.period.format("%Y-%m-%d"),
            self.members
        );
        for count in self.counts {
            let _ = write!(out, "\t{count}");
        }
        out.push('\n');
    }
}
