//! Mail: what a mail message in the outbox holds, and its delivery over
//! SMTP (plain, STARTTLS or implicit TLS, through lettre with rustls) or,
//! when no SMTP server is configured, as one RFC 5322 `.eml` file per
//! message in the mail directory.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use entities::outbox_message;
use lettre::message::header::{
    ContentTransferEncoding, ContentType, Header, HeaderName, HeaderValue,
};
use lettre::message::{Body, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use sea_orm::ConnectionTrait;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::templates::{self, Template};
use super::{DeliveryError, enqueue};
use crate::config::Config;
use crate::error::Result;

/// The outbox kind of a mail.
pub const KIND: &str = "mail";

/// A mail to send: its template, in the recipient's language, with the
/// values its placeholders take.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Mail {
    pub to: String,
    pub locale: String,
    pub template: Template,
    pub vars: BTreeMap<String, String>,
    /// The one-click unsubscribe URL (RFC 8058), for mail a member may
    /// stop: sent as `List-Unsubscribe` with `List-Unsubscribe-Post`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unsubscribe: Option<String>,
}

impl Mail {
    pub fn new(to: &str, locale: &str, template: Template) -> Self {
        Self {
            to: to.to_owned(),
            locale: locale.to_owned(),
            template,
            vars: BTreeMap::new(),
            unsubscribe: None,
        }
    }

    /// Makes the mail stoppable in one click at `url` (also `{{unsubscribe}}`).
    pub fn unsubscribe(mut self, url: String) -> Self {
        self.vars.insert("unsubscribe".to_owned(), url.clone());
        self.unsubscribe = Some(url);
        self
    }

    /// Sets the value of `{{name}}`.
    pub fn var(mut self, name: &str, value: impl Into<String>) -> Self {
        self.vars.insert(name.to_owned(), value.into());
        self
    }

    /// Writes this mail into the outbox within the caller's transaction.
    pub async fn enqueue(&self, db: &impl ConnectionTrait) -> Result<Uuid> {
        enqueue(db, KIND, self).await
    }
}

/// Placeholders whose values are secrets (links carrying a token): once a
/// mail is sent, the outbox keeps it without them, so the table never holds
/// a usable token longer than needed (tokens are otherwise stored hashed).
const SECRET_VARS: [&str; 2] = ["link", "unsubscribe"];

/// `payload` with its secrets removed, for a sent mail's record.
pub(super) fn scrubbed(payload: &str) -> Option<String> {
    let mut mail: Mail = serde_json::from_str(payload).ok()?;
    for name in SECRET_VARS {
        if let Some(value) = mail.vars.get_mut(name) {
            *value = "[sent]".to_owned();
        }
    }
    if mail.unsubscribe.is_some() {
        mail.unsubscribe = Some("[sent]".to_owned());
    }
    serde_json::to_string(&mail).ok()
}

/// Where mail goes.
pub(super) struct Mailer {
    from: Mailbox,
    /// The domain of `Message-ID`s (the sender's).
    domain: String,
    transport: Transport,
}

enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Files(PathBuf),
}

impl Mailer {
    pub(super) fn new(config: &Config) -> anyhow::Result<Self> {
        let from: Mailbox = config
            .mail_from
            .parse()
            .map_err(|err| anyhow::anyhow!("CONSUMACT_MAIL_FROM is not an address: {err}"))?;
        let domain = from.email.domain().to_owned();
        let transport = match config.smtp_url.as_deref().filter(|url| !url.is_empty()) {
            Some(url) => Transport::Smtp(smtp_transport(url, config)?),
            None => Transport::Files(config.mail_dir()),
        };
        Ok(Self {
            from,
            domain,
            transport,
        })
    }

    /// Renders and sends one outbox message.
    pub(super) async fn deliver(
        &self,
        message: &outbox_message::Model,
    ) -> std::result::Result<(), DeliveryError> {
        let mail: Mail = serde_json::from_str(&message.payload)
            .map_err(|err| DeliveryError::Permanent(format!("unreadable mail: {err}")))?;
        let rendered = templates::render(mail.template, &mail.locale, &mail.vars)
            .map_err(DeliveryError::Permanent)?;
        let to: Mailbox = mail
            .to
            .parse()
            .map_err(|err| DeliveryError::Permanent(format!("bad recipient: {err}")))?;
        let for_file = matches!(self.transport, Transport::Files(_));
        let mut builder = Message::builder()
            .message_id(Some(format!("<{}@{}>", message.id, self.domain)))
            .date(message.created_at.into())
            .from(self.from.clone())
            .to(to);
        if let Some(url) = &mail.unsubscribe {
            builder = builder
                .header(ListUnsubscribe(format!("<{url}>")))
                .header(ListUnsubscribePost);
        }
        let email = builder
            .subject(rendered.subject)
            .multipart(
                MultiPart::alternative()
                    .singlepart(part(ContentType::TEXT_PLAIN, rendered.text, for_file))
                    .singlepart(part(ContentType::TEXT_HTML, rendered.html, for_file)),
            )
            .map_err(|err| DeliveryError::Permanent(format!("cannot build the mail: {err}")))?;
        match &self.transport {
            Transport::Smtp(smtp) => smtp
                .send(email)
                .await
                .map(|_| ())
                .map_err(|err| DeliveryError::Temporary(format!("SMTP: {err}"))),
            Transport::Files(dir) => write_file(dir, message, &email.formatted())
                .await
                .map_err(|err| DeliveryError::Temporary(format!("mail file: {err}"))),
        }
    }
}

/// `List-Unsubscribe: <url>` (RFC 2369).
#[derive(Clone)]
struct ListUnsubscribe(String);

impl Header for ListUnsubscribe {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("List-Unsubscribe")
    }

    fn parse(value: &str) -> std::result::Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(Self(value.to_owned()))
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), self.0.clone())
    }
}

/// `List-Unsubscribe-Post: List-Unsubscribe=One-Click` (RFC 8058): the
/// link unsubscribes with one POST, no sign-in, no further page.
#[derive(Clone)]
struct ListUnsubscribePost;

impl Header for ListUnsubscribePost {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("List-Unsubscribe-Post")
    }

    fn parse(_: &str) -> std::result::Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(Self)
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), "List-Unsubscribe=One-Click".to_owned())
    }
}

/// A body part. Written to a file, it is 8-bit text when it can be (lines
/// under 998 octets, no NUL), so that the `.eml` reads as written: lettre's
/// own choice, quoted-printable for lines over 76 characters, would break a
/// long link and turn its `=` into `=3D`. Over SMTP, lettre chooses (a
/// server may lack 8BITMIME).
fn part(content_type: ContentType, text: String, for_file: bool) -> SinglePart {
    let crlf = text.replace("\r\n", "\n").replace('\n', "\r\n");
    let eight_bit = for_file
        && !crlf.contains('\0')
        && !crlf.replace("\r\n", "\n").contains('\r')
        && crlf.split("\r\n").all(|line| line.len() <= 998);
    let body = if eight_bit {
        Body::dangerous_pre_encoded(crlf.into_bytes(), ContentTransferEncoding::EightBit)
    } else {
        Body::new(text)
    };
    SinglePart::builder().header(content_type).body(body)
}

/// The SMTP transport `url` describes (see `CONSUMACT_SMTP_URL`), trusting
/// the certificates of `CONSUMACT_SMTP_CA_FILE` too when it is set.
fn smtp_transport(
    url: &str,
    config: &Config,
) -> anyhow::Result<AsyncSmtpTransport<Tokio1Executor>> {
    let unusable =
        |err: &dyn std::fmt::Display| anyhow::anyhow!("CONSUMACT_SMTP_URL is not usable: {err}");
    let mut builder =
        AsyncSmtpTransport::<Tokio1Executor>::from_url(url).map_err(|err| unusable(&err))?;
    if let Some(ca_file) = &config.smtp_ca_file {
        let pem = std::fs::read(ca_file).map_err(|err| {
            anyhow::anyhow!(
                "cannot read CONSUMACT_SMTP_CA_FILE {}: {err}",
                ca_file.display()
            )
        })?;
        let certificate = Certificate::from_pem(&pem)
            .map_err(|err| anyhow::anyhow!("CONSUMACT_SMTP_CA_FILE holds no certificate: {err}"))?;
        let parsed = url::Url::parse(url).map_err(|err| unusable(&err))?;
        let host = parsed.host_str().ok_or_else(|| unusable(&"no host"))?;
        let parameters = TlsParameters::builder(host.to_owned())
            .add_root_certificate(certificate)
            .build_rustls()
            .map_err(|err| unusable(&err))?;
        let mode = parsed
            .query_pairs()
            .find(|(key, _)| key == "tls")
            .map(|(_, value)| value.into_owned());
        builder = match (parsed.scheme(), mode.as_deref()) {
            ("smtps", _) => builder.tls(Tls::Wrapper(parameters)),
            ("smtp", Some("required")) => builder.tls(Tls::Required(parameters)),
            ("smtp", Some("opportunistic")) => builder.tls(Tls::Opportunistic(parameters)),
            // Plain SMTP: no certificate to check.
            _ => builder,
        };
    }
    Ok(builder
        .timeout(Some(Duration::from_secs(config.smtp_timeout_secs.max(1))))
        .build())
}

/// Writes `bytes` as `<dir>/<created>-<id>.eml`, atomically (a temporary
/// file renamed into place), so a retry rewrites the same file and a
/// reader never sees half a message.
async fn write_file(
    dir: &std::path::Path,
    message: &outbox_message::Model,
    bytes: &[u8],
) -> std::io::Result<()> {
    tokio::fs::create_dir_all(dir).await?;
    let name = format!(
        "{}-{}.eml",
        message.created_at.format("%Y%m%dT%H%M%S"),
        message.id
    );
    let partial = dir.join(format!(".{name}.partial"));
    tokio::fs::write(&partial, bytes).await?;
    tokio::fs::rename(&partial, dir.join(name)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINK: &str =
        "http://127.0.0.1:8080/confirm-email?token=abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";

    fn formatted(part: SinglePart) -> String {
        String::from_utf8(part.formatted()).unwrap()
    }

    #[test]
    fn a_mail_file_carries_its_links_verbatim() {
        let text = format!("Hello,\n\n{LINK}\n\nÀ bientôt\n");
        let written = formatted(part(ContentType::TEXT_PLAIN, text.clone(), true));
        assert!(
            written.contains("Content-Transfer-Encoding: 8bit"),
            "{written}"
        );
        assert!(
            written.contains(LINK) && written.contains("À bientôt"),
            "{written}"
        );
        // Over SMTP lettre chooses, and a long line is not sent raw.
        let sent = formatted(part(ContentType::TEXT_PLAIN, text, false));
        assert!(!sent.contains("8bit"), "{sent}");
    }

    #[test]
    fn a_line_too_long_for_8_bit_falls_back() {
        let text = "x".repeat(1_200);
        let written = formatted(part(ContentType::TEXT_PLAIN, text, true));
        assert!(!written.contains("8bit"), "{written}");
    }
}
