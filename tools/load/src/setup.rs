//! What the workloads run on: members, producers and campaigns made through
//! the API before the clock starts.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::{Context, bail};
use serde_json::{Value, json};

use crate::http::Connection;
use crate::{CAMPAIGNS_PER_PRODUCER, data_of};

/// Prepared members and campaigns.
pub(crate) struct Fixture {
    pub(crate) tokens: Vec<String>,
    pub(crate) campaigns: Vec<String>,
    /// (member, campaign) pairs handed out so far: pair `i` is member
    /// `i % members` on campaign `i / members`, so none repeats.
    pub(crate) next_pair: AtomicU64,
    /// Signatures the server accepted (counted) during this run.
    pub(crate) accepted: AtomicU64,
}

impl Fixture {
    pub(crate) fn pair(&self) -> Option<(usize, usize)> {
        let i = self.next_pair.fetch_add(1, Ordering::Relaxed) as usize;
        let members = self.tokens.len();
        let campaign = i / members;
        (campaign < self.campaigns.len()).then_some((i % members, campaign))
    }
}

/// Preparation through the API.
pub(crate) struct Setup {
    pub(crate) addr: SocketAddr,
    pub(crate) tag: String,
    pub(crate) connection: Connection,
    /// Producers made so far, for their unique names.
    pub(crate) producers: usize,
}

impl Setup {
    pub(crate) fn new(addr: SocketAddr, tag: String) -> Self {
        Self {
            addr,
            tag,
            connection: Connection::new(addr),
            producers: 0,
        }
    }

    pub(crate) async fn call(
        &mut self,
        token: Option<&str>,
        query: &str,
        variables: Value,
    ) -> anyhow::Result<Value> {
        let body = json!({ "query": query, "variables": variables }).to_string();
        data_of(self.connection.graphql(token, &body).await?)
    }

    pub(crate) async fn register(&mut self, name: &str) -> anyhow::Result<String> {
        register(&mut self.connection, &format!("load{}{name}", self.tag)).await
    }

    /// `count` open campaigns, four against each new producer (a campaign
    /// adds to its producer's observatory figures in the signing
    /// transaction, so producers, like campaigns, are many in real use).
    pub(crate) async fn campaigns(
        &mut self,
        organiser: &str,
        count: usize,
    ) -> anyhow::Result<Vec<String>> {
        let mut ids = Vec::with_capacity(count);
        let mut producer = String::new();
        for i in 0..count {
            if i % CAMPAIGNS_PER_PRODUCER == 0 {
                self.producers += 1;
                producer = self
                    .call(
                        Some(organiser),
                        "mutation($input: CreateProducerInput!) { createProducer(input: $input) { id } }",
                        json!({ "input": { "name": format!("Load producer {} {}", self.tag, self.producers), "kind": "SME", "sector": "food", "territory": "FR" } }),
                    )
                    .await?["createProducer"]["id"]
                    .as_str()
                    .context("producer id")?
                    .to_owned();
            }
            let created = self
                .call(
                    Some(organiser),
                    "mutation($input: CreateCampaignInput!) { createCampaign(input: $input) { id } }",
                    json!({ "input": {
                        "kind": "PETITION",
                        "title": format!("Load campaign {i}"),
                        "summary": "A campaign the load tool prepared.",
                        "body": "Prepared by the load tool to measure the server.",
                        "producerId": producer,
                        "goal": 1_000_000,
                    }}),
                )
                .await?;
            let id = created["createCampaign"]["id"]
                .as_str()
                .context("campaign id")?
                .to_owned();
            let published = self
                .call(
                    Some(organiser),
                    "mutation($id: ID!) { publishCampaign(id: $id) { status } }",
                    json!({ "id": id }),
                )
                .await?;
            if published["publishCampaign"]["status"] != "OPEN" {
                bail!(
                    "a published campaign is {} instead of OPEN: run the server without sponsors or review (CONSUMACT_CAMPAIGN_SPONSORS=0, CONSUMACT_CAMPAIGN_REVIEW=false)",
                    published["publishCampaign"]["status"]
                );
            }
            ids.push(id);
        }
        Ok(ids)
    }

    /// `count` members, registered 16 at a time.
    pub(crate) async fn members(&mut self, count: usize) -> anyhow::Result<Vec<String>> {
        let addr = self.addr;
        let next = Arc::new(AtomicU64::new(0));
        let mut tasks = Vec::new();
        for _ in 0..16.min(count) {
            let next = next.clone();
            let tag = self.tag.clone();
            tasks.push(tokio::spawn(async move {
                let mut connection = Connection::new(addr);
                let mut tokens = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed) as usize;
                    if i >= count {
                        return Ok::<_, anyhow::Error>(tokens);
                    }
                    tokens.push((
                        i,
                        register(&mut connection, &format!("load{tag}m{i}")).await?,
                    ));
                }
            }));
        }
        let mut tokens = vec![String::new(); count];
        for task in tasks {
            for (i, token) in task.await?? {
                tokens[i] = token;
            }
        }
        Ok(tokens)
    }
}

pub(crate) async fn register(connection: &mut Connection, handle: &str) -> anyhow::Result<String> {
    let body = json!({
        "query": "mutation($input: RegisterInput!) { register(input: $input) { token } }",
        "variables": { "input": { "handle": handle, "email": format!("{handle}@load.invalid"), "password": "load tool password" } },
    })
    .to_string();
    let data = data_of(connection.graphql(None, &body).await?)
        .context("registering members: run the server with cheap hashing and the per-address limits raised (see README, Performance)")?;
    Ok(data["register"]["token"]
        .as_str()
        .context("token")?
        .to_owned())
}
