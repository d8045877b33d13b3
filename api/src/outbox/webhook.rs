//! Webhook delivery, after the Standard Webhooks specification: each
//! request carries `webhook-id` (the event's id, the same at every
//! attempt), `webhook-timestamp` (seconds) and `webhook-signature`
//! (`v1,` and the base64 HMAC-SHA-256 of `id.timestamp.body` under the
//! secret's key). A 2xx answer acknowledges; anything else is retried with
//! backoff until the retry window closes.
//!
//! No request reaches a loopback, private, link-local or metadata address
//! unless `CONSUMACT_WEBHOOK_ALLOW_PRIVATE` says so: the URL is checked
//! when the webhook is created, and again at every attempt by the client's
//! own resolver (a name may point elsewhere since) and for literal
//! addresses. Redirects are not followed.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use entities::outbox_message;
use hmac::{Hmac, KeyInit, Mac};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use uuid::Uuid;

use super::{Context, DeliveryError};
use crate::config::Config;

/// The outbox kind of one attempt to deliver one event to one webhook.
pub const KIND: &str = "webhook";

/// The prefix of secrets, as Standard Webhooks writes them.
const SECRET_PREFIX: &str = "whsec_";

/// Longest answer body read (and kept, shortened) from an endpoint.
const KEPT_ANSWER: usize = 200;

/// What an attempt message holds: the delivery row it works on.
#[derive(Debug, Serialize, Deserialize)]
pub struct Attempt {
    pub delivery_id: Uuid,
}

/// A fresh secret: `whsec_` and the base64 of 32 random bytes.
pub fn new_secret() -> String {
    let mut key = [0u8; 32];
    rand::rng().fill_bytes(&mut key);
    format!("{SECRET_PREFIX}{}", BASE64.encode(key))
}

/// The `webhook-signature` value of `body` sent as message `id` at
/// `timestamp` (Unix seconds) under `secret`.
pub fn sign(secret: &str, id: &str, timestamp: i64, body: &str) -> Result<String, String> {
    let key = BASE64
        .decode(secret.strip_prefix(SECRET_PREFIX).unwrap_or(secret))
        .map_err(|err| format!("unusable webhook secret: {err}"))?;
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&key)
        .map_err(|err| format!("unusable webhook secret: {err}"))?;
    mac.update(format!("{id}.{timestamp}.{body}").as_bytes());
    Ok(format!("v1,{}", BASE64.encode(mac.finalize().into_bytes())))
}

/// Whether `ip` is an address of the public internet: not loopback,
/// private, carrier-grade NAT, link-local (cloud metadata lives there),
/// unique-local, multicast, documentation or otherwise reserved.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public_v4(v4);
            }
            let segments = v6.segments();
            // NAT64 (64:ff9b::/96) carries an IPv4 address.
            if segments[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
                let [a, b] = segments[6].to_be_bytes();
                let [c, d] = segments[7].to_be_bytes();
                return is_public_v4(Ipv4Addr::new(a, b, c, d));
            }
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (segments[0] & 0xfe00) == 0xfc00 // unique local, fd00:ec2::254 among them
                || (segments[0] & 0xffc0) == 0xfe80 // link-local
                || (segments[0] & 0xffc0) == 0xfec0 // site-local (deprecated)
                || (segments[0] == 0x2001 && segments[1] == 0x0db8) // documentation
                || v6 == Ipv6Addr::from([0u8; 16]))
        }
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        || a >= 240 // reserved
        || (a == 100 && (64..128).contains(&b)) // carrier-grade NAT
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 198 && (18..20).contains(&b))) // benchmarking
}

/// Checks that `url` is one a webhook may call: `http` or `https`, a host,
/// no credentials, and (unless `allow_private`) only public addresses
/// behind its name. Returns why not.
pub async fn check_url(url: &str, allow_private: bool) -> Result<url::Url, String> {
    let parsed = url::Url::parse(url.trim()).map_err(|err| format!("not a URL: {err}"))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err("the URL must start with http:// or https://".into());
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err("the URL must not carry credentials; verify the signature instead".into());
    }
    let host = parsed.host().ok_or("the URL has no host")?;
    if allow_private {
        return Ok(parsed);
    }
    let port = parsed.port_or_known_default().unwrap_or(443);
    let addresses: Vec<IpAddr> = match host {
        url::Host::Ipv4(v4) => vec![IpAddr::V4(v4)],
        url::Host::Ipv6(v6) => vec![IpAddr::V6(v6)],
        url::Host::Domain(name) => tokio::net::lookup_host((name, port))
            .await
            .map_err(|err| format!("the host does not resolve: {err}"))?
            .map(|address| address.ip())
            .collect(),
    };
    if addresses.is_empty() {
        return Err("the host does not resolve".into());
    }
    if let Some(private) = addresses.iter().find(|ip| !is_public(**ip)) {
        return Err(format!(
            "the URL leads to a non-public address ({private}); webhooks only call public endpoints"
        ));
    }
    Ok(parsed)
}

/// A resolver that returns public addresses only, so that a name changed
/// to point inside after its check still cannot be reached.
struct PublicOnly;

impl reqwest::dns::Resolve for PublicOnly {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|address| is_public(address.ip()))
                .collect();
            if found.is_empty() {
                return Err(format!("{host} has no public address").into());
            }
            Ok(Box::new(found.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// Sends webhook requests.
pub(super) struct Sender {
    client: reqwest::Client,
    allow_private: bool,
}

impl Sender {
    pub(super) fn new(config: &Config) -> anyhow::Result<Self> {
        let roots =
            rustls::RootCertStore::from_iter(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
        let mut builder = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_millis(config.webhook_timeout_ms.max(1)))
            .user_agent(concat!("Consumact-Webhooks/", env!("CARGO_PKG_VERSION")));
        if !config.webhook_allow_private {
            builder = builder.dns_resolver(Arc::new(PublicOnly));
        }
        Ok(Self {
            client: builder.build()?,
            allow_private: config.webhook_allow_private,
        })
    }

    /// One attempt of one delivery, and its record.
    pub(super) async fn deliver(
        &self,
        context: &Context,
        message: &outbox_message::Model,
    ) -> Result<(), DeliveryError> {
        let attempt: Attempt = serde_json::from_str(&message.payload)
            .map_err(|err| DeliveryError::Permanent(format!("unreadable attempt: {err}")))?;
        let temporary = |err: crate::error::AppError| DeliveryError::Temporary(err.message());
        let Some((delivery, webhook)) = context
            .handlers
            .webhook_for_attempt(context, attempt.delivery_id)
            .await
            .map_err(temporary)?
        else {
            return Ok(()); // the webhook was deleted, or the delivery settled
        };
        let window = chrono::Duration::hours(i64::from(context.config.webhook_retry_hours));
        let refused = if webhook.disabled_at.is_some() {
            Some("the endpoint is disabled".to_owned())
        } else if delivery.created_at + window < crate::service::validate::now() {
            Some(format!(
                "not acknowledged within {} hours",
                context.config.webhook_retry_hours
            ))
        } else {
            None
        };
        if let Some(why) = refused {
            context
                .handlers
                .webhook_give_up(context, delivery.id, &why)
                .await
                .map_err(temporary)?;
            return Err(DeliveryError::Permanent(why));
        }
        let outcome = self
            .send(
                &webhook.url,
                &webhook.secret,
                delivery.event_id,
                &delivery.body,
            )
            .await;
        let failure = match &outcome {
            Ok(status) if (200..300).contains(status) => None,
            Ok(status) => Some(format!("the endpoint answered HTTP {status}")),
            Err(why) => Some(why.clone()),
        };
        context
            .handlers
            .webhook_attempted(
                context,
                &delivery,
                &webhook,
                outcome.as_ref().ok().copied(),
                failure.as_deref(),
            )
            .await
            .map_err(temporary)?;
        match failure {
            None => Ok(()),
            Some(why) => Err(DeliveryError::Temporary(why)),
        }
    }

    /// Sends `body` to `url` signed with `secret`; the answer's status, or
    /// why there was none.
    async fn send(&self, url: &str, secret: &str, id: Uuid, body: &str) -> Result<u16, String> {
        let url = url::Url::parse(url).map_err(|err| format!("bad URL: {err}"))?;
        if !self.allow_private {
            // A literal address never reaches the resolver.
            let literal = match url.host() {
                Some(url::Host::Ipv4(v4)) => Some(IpAddr::V4(v4)),
                Some(url::Host::Ipv6(v6)) => Some(IpAddr::V6(v6)),
                _ => None,
            };
            if literal.is_some_and(|ip| !is_public(ip)) {
                return Err("the URL leads to a non-public address".into());
            }
        }
        let id = format!("msg_{}", id.simple());
        let timestamp = chrono::Utc::now().timestamp();
        let signature = sign(secret, &id, timestamp, body)?;
        let response = self
            .client
            .post(url)
            .header("content-type", "application/json")
            .header("webhook-id", &id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(body.to_owned())
            .send()
            .await
            .map_err(|err| describe(&err))?;
        Ok(response.status().as_u16())
    }
}

/// A transport error in a few words, without the URL (which may hold a
/// token of the receiver's).
fn describe(err: &reqwest::Error) -> String {
    let what = if err.is_timeout() {
        "timed out"
    } else if err.is_connect() {
        "could not connect"
    } else {
        "request failed"
    };
    let mut source = std::error::Error::source(err);
    let mut detail = String::new();
    while let Some(inner) = source {
        detail = inner.to_string();
        source = inner.source();
    }
    let mut text = if detail.is_empty() {
        what.to_owned()
    } else {
        format!("{what}: {detail}")
    };
    text.truncate(KEPT_ANSWER);
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_match_the_standard_webhooks_example() {
        // The specification's own test vector.
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let body = r#"{"test": 2432232314}"#;
        let signature = sign(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body).unwrap();
        assert_eq!(signature, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn private_and_metadata_addresses_are_not_public() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fe80::1",
            "fd00:ec2::254",
            "::ffff:127.0.0.1",
            "64:ff9b::a9fe:a9fe",
        ] {
            assert!(!is_public(private.parse().unwrap()), "{private}");
        }
        for public in ["93.184.215.14", "2606:4700::1111", "1.1.1.1"] {
            assert!(is_public(public.parse().unwrap()), "{public}");
        }
    }
}
