//! Counters in Redis, shared by every server instance.

use std::sync::Arc;

use async_trait::async_trait;
use redis::{AsyncCommands, Script};

use super::{Announced, CounterStore, StoreAdd, StoreError, StoreResult};
use crate::redis_link::{RedisDown, RedisLink};

/// INCRBY only when the key exists, so that a lost counter is rebuilt from
/// the database instead of silently restarting from zero; also numbers the
/// change (KEYS[2]), so that subscribers can put concurrent changes in order.
const ADD_IF_PRESENT: &str = r#"
if redis.call('EXISTS', KEYS[1]) == 1 then
  local value = redis.call('INCRBY', KEYS[1], ARGV[1])
  return { value, redis.call('INCR', KEYS[2]) }
end
return false
"#;

/// ADD_IF_PRESENT for a batch's signatures on one campaign, which also
/// announces the new value on the events channel (ARGV[2]) as a
/// `CounterChange` (campaign ARGV[3], time ARGV[4]), unless the addition
/// crossed one of the milestone counts (ARGV[5..]): the caller records and
/// announces those. Returns { value, change, listeners or -1 }.
const ADD_AND_ANNOUNCE: &str = r#"
if redis.call('EXISTS', KEYS[1]) == 0 then
  return false
end
local delta = tonumber(ARGV[1])
local value = redis.call('INCRBY', KEYS[1], delta)
local change = redis.call('INCR', KEYS[2])
local before = value - delta
for i = 5, #ARGV do
  local milestone = tonumber(ARGV[i])
  if before < milestone and milestone <= value then
    return { value, change, -1 }
  end
end
local heard = redis.call('PUBLISH', ARGV[2], '{"campaign_id":"' .. ARGV[3] ..
  '","counter":"signatures","value":' .. string.format('%d', value) ..
  ',"at":"' .. ARGV[4] .. '","milestone":null,"goal_reached":false,"seq":' ..
  string.format('%d', change) .. '}')
return { value, change, heard }
"#;

/// SET only when the current value is the expected one (`''` meaning absent).
const COMPARE_AND_SET: &str = r#"
local current = redis.call('GET', KEYS[1])
if (current == false and ARGV[1] == '') or current == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2])
  return 1
end
return 0
"#;

pub struct RedisCounters {
    link: Arc<RedisLink>,
    add_if_present: Script,
    add_and_announce: Script,
    compare_and_set: Script,
    /// Where counter events travel (`bus::redis`).
    events_channel: String,
}

impl RedisCounters {
    pub fn new(link: Arc<RedisLink>) -> Self {
        Self {
            events_channel: crate::bus::redis::counter_channel(&link),
            link,
            add_if_present: Script::new(ADD_IF_PRESENT),
            add_and_announce: Script::new(ADD_AND_ANNOUNCE),
            compare_and_set: Script::new(COMPARE_AND_SET),
        }
    }
}

impl From<RedisDown> for StoreError {
    fn from(down: RedisDown) -> Self {
        StoreError(down.0)
    }
}

#[async_trait]
impl CounterStore for RedisCounters {
    async fn add_if_present(&self, key: &str, delta: i64) -> StoreResult<Option<(i64, i64)>> {
        let script = &self.add_if_present;
        let sequence = format!("{key}:seq");
        let sequence = &sequence;
        Ok(self
            .link
            .run(|mut connection| async move {
                script
                    .key(key)
                    .key(sequence)
                    .arg(delta)
                    .invoke_async(&mut connection)
                    .await
            })
            .await?)
    }

    async fn get_many(&self, keys: &[String]) -> StoreResult<Vec<Option<i64>>> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        Ok(self
            .link
            .run(|mut connection| async move {
                redis::cmd("MGET")
                    .arg(keys)
                    .query_async(&mut connection)
                    .await
            })
            .await?)
    }

    async fn set_if_absent(&self, key: &str, value: i64) -> StoreResult<bool> {
        Ok(self
            .link
            .run(|mut connection| async move { connection.set_nx(key, value).await })
            .await?)
    }

    async fn compare_and_set(
        &self,
        key: &str,
        expected: Option<i64>,
        value: i64,
    ) -> StoreResult<bool> {
        let script = &self.compare_and_set;
        let expected = expected.map(|value| value.to_string()).unwrap_or_default();
        let swapped: i64 = self
            .link
            .run(|mut connection| async move {
                script
                    .key(key)
                    .arg(expected)
                    .arg(value)
                    .invoke_async(&mut connection)
                    .await
            })
            .await?;
        Ok(swapped == 1)
    }

    async fn add_many_announced(&self, adds: &[StoreAdd]) -> StoreResult<Vec<Option<Announced>>> {
        if adds.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipe = redis::pipe();
        // Loading is idempotent and rides in the same round trip, so a
        // restarted or flushed Redis never answers NOSCRIPT.
        pipe.load_script(&self.add_and_announce).ignore();
        for add in adds {
            let mut invocation = self.add_and_announce.key(&add.key);
            invocation
                .key(format!("{}:seq", add.key))
                .arg(add.change.delta)
                .arg(&self.events_channel)
                .arg(add.change.campaign.to_string())
                .arg(
                    add.change
                        .at
                        .to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
                )
                .arg(&add.change.milestones);
            pipe.invoke_script(&invocation);
        }
        let pipe = &pipe;
        let answers: Vec<Option<(i64, i64, i64)>> = self
            .link
            .run(|mut connection| async move { pipe.query_async(&mut connection).await })
            .await?;
        Ok(answers
            .into_iter()
            .map(|answer| {
                answer.map(|(value, change, heard)| Announced {
                    value,
                    change,
                    heard_by: (heard >= 0).then_some(heard),
                })
            })
            .collect())
    }

    async fn ping(&self) -> StoreResult<()> {
        Ok(self
            .link
            .run(|mut connection| async move {
                redis::cmd("PING")
                    .query_async::<String>(&mut connection)
                    .await
            })
            .await
            .map(|_| ())?)
    }
}
