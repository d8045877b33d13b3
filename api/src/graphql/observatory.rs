//! The consumer-trust observatory (`Query.observatory`) and trust ratings
//! (`rateProducer`). Thin: arguments, access and shapes; the rules and the
//! privacy guarantee live in `service::observatory`.

use async_graphql::connection::{Connection, Edge};
use async_graphql::{ComplexObject, Context, Enum, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use uuid::Uuid;

use crate::error::{AppError, Result};
use crate::graphql::connection::{
    ConnectionTotals, Page, complexity, decode_position, encode_position, page_size,
};
use crate::graphql::guards::{state, viewer};
use crate::graphql::observatory_figures::TrustMetrics;
use crate::graphql::producer::{Producer, ProducerKind};
use crate::service::observatory::{
    self as obs, Bucket, FilterInput, GroupBy, Observatory as Service, Part, RankAfter, RankBy,
    RankKey, metrics,
};
use crate::service::validate;

/// How producers are grouped.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum ObservatoryGroupBy {
    Sector,
    /// Producers targeted by a community's campaigns.
    Community,
    /// Producers targeted by campaigns carrying a value.
    ValueTag,
    /// The producer's territory.
    Territory,
}

impl From<ObservatoryGroupBy> for GroupBy {
    fn from(by: ObservatoryGroupBy) -> Self {
        match by {
            ObservatoryGroupBy::Sector => GroupBy::Sector,
            ObservatoryGroupBy::Community => GroupBy::Community,
            ObservatoryGroupBy::ValueTag => GroupBy::ValueTag,
            ObservatoryGroupBy::Territory => GroupBy::Territory,
        }
    }
}

/// The width of a series' points.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum TimeBucket {
    /// Needs the `day` grain.
    Day,
    /// ISO weeks, Monday to Sunday; needs the `day` grain.
    Week,
    Month,
}

impl From<TimeBucket> for Bucket {
    fn from(bucket: TimeBucket) -> Self {
        match bucket {
            TimeBucket::Day => Bucket::Day,
            TimeBucket::Week => Bucket::Week,
            TimeBucket::Month => Bucket::Month,
        }
    }
}

/// How a ranking is ordered (suppressed producers always come last).
#[derive(Enum, Clone, Copy, PartialEq, Eq, Default)]
pub enum RankingOrder {
    #[default]
    TrustIndex,
    Signatures,
    ResponseRate,
}

/// The observatory's finest period.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum ObservatoryGrain {
    Day,
    Month,
}

/// A default window of the observatory, kept up to date as time passes.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(name = "ObservatoryWindow")]
pub enum ObservatoryWindow {
    /// This month and the eleven before it (with closed periods only, this
    /// month is left out, as from any range).
    Last12Months,
    /// The calendar month before this one.
    LastFullMonth,
}

impl From<ObservatoryWindow> for obs::Window {
    fn from(window: ObservatoryWindow) -> Self {
        match window {
            ObservatoryWindow::Last12Months => obs::Window::Last12Months,
            ObservatoryWindow::LastFullMonth => obs::Window::LastFullMonth,
        }
    }
}

/// A default window's days as of now.
#[derive(SimpleObject)]
pub struct WindowSpan {
    pub window: ObservatoryWindow,
    /// Its first instant.
    pub from: DateTime<Utc>,
    /// Its end (exclusive); null while it runs up to now.
    pub to: Option<DateTime<Utc>>,
}

/// Which producers and periods an observatory question covers.
#[derive(InputObject, Default)]
pub struct ObservatoryFilter {
    /// Sector slug.
    pub sector: Option<String>,
    pub kind: Option<ProducerKind>,
    /// ISO 3166 code; a country also matches its subdivisions.
    pub territory: Option<String>,
    /// Slug of a value: producers targeted by a campaign carrying it.
    pub value_tag: Option<String>,
    /// Slug of a community: producers targeted by one of its campaigns.
    pub community: Option<String>,
    /// Start of the period covered, widened to the start of its grain period.
    pub from: Option<DateTime<Utc>>,
    /// End of the period covered (exclusive), widened to the end of the
    /// grain period it falls in: a period starting before it counts whole,
    /// its campaigns and commitments as its signatures.
    pub to: Option<DateTime<Utc>>,
    /// A default window instead of `from` and `to` (not with them). Its
    /// totals are kept as the all-time ones: rankings over it page through
    /// an index however many producers there are. A `from`/`to` range that
    /// equals a window's span is answered the same way.
    pub window: Option<ObservatoryWindow>,
}

impl From<ObservatoryFilter> for FilterInput {
    fn from(filter: ObservatoryFilter) -> Self {
        FilterInput {
            sector: filter.sector,
            kind: filter.kind.map(Into::into),
            territory: filter.territory,
            value_tag: filter.value_tag,
            community: filter.community,
            from: filter.from,
            to: filter.to,
            window: filter.window.map(Into::into),
        }
    }
}

/// What every producer, group and point of the observatory carries.
#[derive(SimpleObject)]
pub struct CellFields {
    /// True when no producer-period in this cell has k members behind it:
    /// then `memberCount` and `metrics` are null.
    suppressed: bool,
    /// Distinct members of each producer-period in the cell, summed over them.
    member_count: Option<i64>,
    metrics: Option<TrustMetrics>,
}

impl From<metrics::Cell> for CellFields {
    fn from(cell: metrics::Cell) -> Self {
        CellFields {
            suppressed: cell.suppressed,
            member_count: cell.member_count,
            metrics: cell.metrics.map(Into::into),
        }
    }
}

/// A producer's trust.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct ProducerTrust {
    #[graphql(skip)]
    producer_id: uuid::Uuid,
    #[graphql(flatten)]
    cell: CellFields,
}

impl From<obs::ProducerTrust> for ProducerTrust {
    fn from(trust: obs::ProducerTrust) -> Self {
        ProducerTrust {
            producer_id: trust.producer.id,
            cell: trust.cell.into(),
        }
    }
}

#[ComplexObject]
impl ProducerTrust {
    async fn producer(&self, ctx: &Context<'_>) -> Result<Producer> {
        Producer::load(ctx, self.producer_id).await
    }
}

/// A group of producers' trust.
#[derive(SimpleObject)]
pub struct TrustCell {
    /// The group: a sector or territory code, a community or value slug.
    key: String,
    label: String,
    /// Producers in the group.
    producer_count: i64,
    #[graphql(flatten)]
    cell: CellFields,
}

impl From<obs::GroupTrust> for TrustCell {
    fn from(group: obs::GroupTrust) -> Self {
        TrustCell {
            key: group.key,
            label: group.label,
            producer_count: group.producer_count,
            cell: group.cell.into(),
        }
    }
}

/// One bucket of a series, `[start, end)`.
#[derive(SimpleObject)]
pub struct TrustPoint {
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    #[graphql(flatten)]
    cell: CellFields,
}

impl From<obs::TrustPoint> for TrustPoint {
    fn from(point: obs::TrustPoint) -> Self {
        TrustPoint {
            start: point.start,
            end: point.end,
            cell: point.cell.into(),
        }
    }
}

/// The trust index's prior.
#[derive(SimpleObject)]
pub struct TrustPrior {
    /// Where a producer without ratings would sit, 0–100.
    pub mean: f64,
    /// How many ratings the prior weighs.
    pub weight: f64,
}

/// Aggregate, privacy-protected trust metrics.
pub struct Observatory;

async fn scope(ctx: &Context<'_>, filter: Option<ObservatoryFilter>) -> Result<obs::Scope> {
    Service::new(state(ctx))
        .scope(filter.unwrap_or_default().into())
        .await
}

async fn authorize(ctx: &Context<'_>, part: Part) -> Result<()> {
    obs::authorize(state(ctx), viewer(ctx).await?, part)
}

#[Object]
impl Observatory {
    /// The smallest number of distinct members a producer-period needs
    /// before anything built from it is published.
    async fn k(&self, ctx: &Context<'_>) -> u32 {
        state(ctx).config.observatory_k
    }
    async fn grain(&self, ctx: &Context<'_>) -> ObservatoryGrain {
        match state(ctx).config.observatory_grain {
            crate::config::Grain::Day => ObservatoryGrain::Day,
            crate::config::Grain::Month => ObservatoryGrain::Month,
        }
    }
    /// How members are protected: suppression or the differentially
    /// private release, with its budget and ledger. Open to everyone.
    async fn privacy(&self) -> crate::graphql::observatory_privacy::ObservatoryPrivacy {
        crate::graphql::observatory_privacy::ObservatoryPrivacy
    }
    /// True when a period is published only once it has ended (always in
    /// the differentially private release).
    async fn closed_periods_only(&self, ctx: &Context<'_>) -> bool {
        let config = &state(ctx).config;
        config.observatory_closed_periods || config.privacy.dp()
    }
    /// The default windows' days as of now, for labelling figures read
    /// with `filter.window`.
    async fn windows(&self) -> Vec<WindowSpan> {
        let today = Utc::now().date_naive();
        let midnight = |day: chrono::NaiveDate| day.and_time(chrono::NaiveTime::MIN).and_utc();
        [
            ObservatoryWindow::Last12Months,
            ObservatoryWindow::LastFullMonth,
        ]
        .into_iter()
        .map(|window| {
            let (first, end) = obs::Window::from(window).bounds(today);
            WindowSpan {
                window,
                from: midnight(first),
                to: end.map(midnight),
            }
        })
        .collect()
    }
    async fn prior(&self, ctx: &Context<'_>) -> TrustPrior {
        let config = &state(ctx).config;
        TrustPrior {
            mean: config.trust_prior_mean,
            weight: config.trust_prior_weight,
        }
    }

    /// One producer's trust over the filter's periods (its producer
    /// conditions are ignored). Null for an unknown producer.
    async fn producer(
        &self,
        ctx: &Context<'_>,
        id: ID,
        filter: Option<ObservatoryFilter>,
    ) -> Result<Option<ProducerTrust>> {
        authorize(ctx, Part::Picture).await?;
        let id = validate::id("id", &id)?;
        let filter = filter.map(|f| ObservatoryFilter {
            from: f.from,
            to: f.to,
            window: f.window,
            ..ObservatoryFilter::default()
        });
        let scope = scope(ctx, filter).await?;
        Ok(Service::new(state(ctx))
            .producer(id, scope)
            .await?
            .map(Into::into))
    }

    /// Producers ranked, best first; suppressed producers last.
    #[graphql(complexity = "complexity(first, child_complexity)")]
    async fn ranking(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        filter: Option<ObservatoryFilter>,
        #[graphql(default)] order_by: RankingOrder,
    ) -> Result<Page<ProducerTrust>> {
        authorize(ctx, Part::Picture).await?;
        let first = page_size(ctx, first)? as usize;
        let scope = scope(ctx, filter).await?;
        let by = match order_by {
            RankingOrder::TrustIndex => RankBy::TrustIndex,
            RankingOrder::Signatures => RankBy::Signatures,
            RankingOrder::ResponseRate => RankBy::ResponseRate,
        };
        let service = Service::new(state(ctx));
        if Service::ranks_by_page(by) {
            let after = after.as_deref().map(decode_rank_cursor).transpose()?;
            let page = service.ranking_page(&scope, by, after, first, true).await?;
            let mut connection = Connection::with_additional_fields(
                after.is_some(),
                page.has_next,
                ConnectionTotals {
                    total_count: page.total_count,
                },
            );
            for (trust, position) in page.rows {
                connection
                    .edges
                    .push(Edge::new(encode_rank_cursor(position), trust.into()));
            }
            return Ok(connection);
        }
        let start = after
            .as_deref()
            .map(decode_position)
            .transpose()?
            .map_or(0, |p| p + 1);
        let ranked = service.ranking(&scope, by).await?;
        let total_count = ranked.len() as u64;
        let mut connection = Connection::with_additional_fields(
            start > 0,
            start + first < ranked.len(),
            ConnectionTotals { total_count },
        );
        for (position, trust) in ranked.into_iter().enumerate().skip(start).take(first) {
            connection
                .edges
                .push(Edge::new(encode_position(position), trust.into()));
        }
        Ok(connection)
    }

    /// The producers in the filter, grouped; largest groups first.
    async fn groups(
        &self,
        ctx: &Context<'_>,
        by: ObservatoryGroupBy,
        filter: Option<ObservatoryFilter>,
    ) -> Result<Vec<TrustCell>> {
        authorize(ctx, Part::Picture).await?;
        let scope = scope(ctx, filter).await?;
        Ok(Service::new(state(ctx))
            .groups(by.into(), &scope)
            .await?
            .into_iter()
            .map(Into::into)
            .collect())
    }

    /// Trust over time, in buckets from `from` (widened to its bucket's
    /// start) to `to`, for one producer or the producers in the filter (whose
    /// own `from` and `to` give way to the series' range). Campaigns and
    /// commitments count in the bucket they were published or made in.
    async fn series(
        &self,
        ctx: &Context<'_>,
        producer_id: Option<ID>,
        filter: Option<ObservatoryFilter>,
        bucket: TimeBucket,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<TrustPoint>> {
        authorize(ctx, Part::Series).await?;
        let mut scope = scope(ctx, filter).await?;
        if let Some(id) = producer_id {
            let id = validate::id("producerId", &id)?;
            // An unknown producer is an error, not a series of empty points.
            Producer::load(ctx, id).await?;
            scope.producer = Some(id);
        }
        Ok(Service::new(state(ctx))
            .series(&scope, bucket.into(), from, to)
            .await?
            .into_iter()
            .map(Into::into)
            .collect())
    }
}

#[derive(Default)]
pub struct ObservatoryQuery;

#[Object]
impl ObservatoryQuery {
    /// Aggregate trust metrics, for analysts and admins (and, when the
    /// server opens it, a public subset).
    async fn observatory(&self) -> Observatory {
        Observatory
    }
}

/// Cursors of rankings read from the stored totals: the key and id of the
/// last producer seen, so the next page starts there through the index.
const RANK_PREFIX: &str = "r1:";

fn encode_rank_cursor(after: RankAfter) -> String {
    let text = match after {
        RankAfter::Keyed(RankKey::Signatures(value), id) => format!("s:{value}:{id}"),
        RankAfter::Keyed(RankKey::TrustIndex(value), id) => format!("t:{value}:{id}"),
        RankAfter::Rest(id) => format!("n::{id}"),
    };
    URL_SAFE_NO_PAD.encode(format!("{RANK_PREFIX}{text}"))
}

fn decode_rank_cursor(cursor: &str) -> Result<RankAfter> {
    let decoded = URL_SAFE_NO_PAD
        .decode(cursor.trim())
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .and_then(|text| {
            let text = text.strip_prefix(RANK_PREFIX)?;
            let mut parts = text.splitn(3, ':');
            let (kind, value, id) = (parts.next()?, parts.next()?, parts.next()?);
            let id: Uuid = id.parse().ok()?;
            Some(match kind {
                "s" => RankAfter::Keyed(RankKey::Signatures(value.parse().ok()?), id),
                "t" => RankAfter::Keyed(
                    RankKey::TrustIndex(value.parse::<f64>().ok().filter(|v| v.is_finite())?),
                    id,
                ),
                "n" => RankAfter::Rest(id),
                _ => return None,
            })
        });
    decoded.ok_or_else(|| AppError::invalid("after", "after is not a cursor this server issued"))
}
