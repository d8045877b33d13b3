//! Mail templates, kept in `api/templates/mail/` and built into the binary:
//! one file per template and language, holding the subject, the plain-text
//! body and the HTML body. `{{name}}` placeholders take the mail's values
//! (HTML-escaped in the HTML body); a placeholder without a value is an
//! error, never an empty hole in a mail.
//!
//! Hand-written rather than a template engine (`minijinja`): the templates
//! hold placeholders and nothing else (no loops, conditions or filters), so
//! substitution with escaping and a strict check of missing values is the
//! whole job; a test renders every template in every language.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::text::escape_html;

/// Which mail.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, sea_orm::EnumIter)]
#[serde(rename_all = "snake_case")]
pub enum Template {
    /// After `register` or `resendConfirmation`: the confirmation link.
    ConfirmEmail,
    /// After `requestPasswordReset`: the reset link.
    PasswordReset,
    /// To an organiser: the campaign gathers sponsors, with their code.
    CampaignSponsoring,
    /// To an organiser: the campaign waits for a moderator.
    CampaignInReview,
    /// To an organiser: the campaign is open.
    CampaignOpened,
    /// To an organiser: a moderator rejected the campaign.
    CampaignRejected,
    /// To moderators: a source or e-mail domain surges on a campaign.
    FraudSignal,
    /// To a webhook's owner: it failed too often and was disabled.
    WebhookDisabled,
    /// To a webhook's owner: they may no longer watch its scope (a role
    /// lost), so it was disabled.
    WebhookScopeLost,
    /// To a member: the day's news of a campaign they follow.
    CampaignDigest,
    /// To a producer's representatives: a campaign asks for an answer.
    ResponseRequested,
    /// To a producer's representatives: the answer is due soon.
    ResponseReminder,
}

impl Template {
    fn source(self, locale: &str) -> &'static str {
        macro_rules! pair {
            ($name:literal) => {
                if locale == "fr" {
                    include_str!(concat!("../../templates/mail/", $name, ".fr.txt"))
                } else {
                    include_str!(concat!("../../templates/mail/", $name, ".en.txt"))
                }
            };
        }
        match self {
            Template::ConfirmEmail => pair!("confirm_email"),
            Template::PasswordReset => pair!("password_reset"),
            Template::CampaignSponsoring => pair!("campaign_sponsoring"),
            Template::CampaignInReview => pair!("campaign_in_review"),
            Template::CampaignOpened => pair!("campaign_opened"),
            Template::CampaignRejected => pair!("campaign_rejected"),
            Template::FraudSignal => pair!("fraud_signal"),
            Template::WebhookDisabled => pair!("webhook_disabled"),
            Template::WebhookScopeLost => pair!("webhook_scope_lost"),
            Template::CampaignDigest => pair!("campaign_digest"),
            Template::ResponseRequested => pair!("response_requested"),
            Template::ResponseReminder => pair!("response_reminder"),
        }
    }
}

/// The languages mail is written in; anything else gets English.
pub const LOCALES: [&str; 2] = ["en", "fr"];

/// A mail ready to send.
#[derive(Debug)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// Fills `template` in `locale` with `vars`.
pub fn render(
    template: Template,
    locale: &str,
    vars: &BTreeMap<String, String>,
) -> Result<Rendered, String> {
    let locale = if LOCALES.contains(&locale) {
        locale
    } else {
        "en"
    };
    let source = template.source(locale);
    let (subject, rest) = source
        .strip_prefix("subject: ")
        .and_then(|rest| rest.split_once('\n'))
        .ok_or("a template starts with `subject: `")?;
    let (text, html) = rest
        .split_once("--- html\n")
        .ok_or("a template has a `--- html` part")?;
    let text = text
        .trim_start()
        .strip_prefix("--- text\n")
        .ok_or("a template has a `--- text` part")?;
    let html_body = fill(html.trim(), vars, escape_html)?;
    Ok(Rendered {
        subject: fill(subject.trim(), vars, |value| value.to_owned())?,
        text: fill(text.trim(), vars, |value| value.to_owned())? + "\n",
        html: format!(
            "<!DOCTYPE html>\n<html lang=\"{locale}\"><head><meta charset=\"utf-8\"></head>\
             <body style=\"font-family: sans-serif; line-height: 1.5\">\n{html_body}\n</body></html>\n"
        ),
    })
}

fn fill(
    source: &str,
    vars: &BTreeMap<String, String>,
    encode: impl Fn(&str) -> String,
) -> Result<String, String> {
    let mut out = String::with_capacity(source.len());
    let mut rest = source;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after.find("}}").ok_or("an unclosed `{{` in a template")?;
        let name = after[..end].trim();
        let value = vars
            .get(name)
            .ok_or_else(|| format!("no value for `{{{{{name}}}}}`"))?;
        out.push_str(&encode(value));
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sea_orm::Iterable;

    fn every_var() -> BTreeMap<String, String> {
        [
            "name",
            "link",
            "title",
            "code",
            "sponsors",
            "reason",
            "hours",
            "kind",
            "key",
            "count",
            "window",
            "url",
            "failures",
            "items",
            "unsubscribe",
            "campaign",
            "producer",
            "due",
        ]
        .into_iter()
        .map(|name| (name.to_owned(), format!("<{name}&value>")))
        .collect()
    }

    #[test]
    fn every_template_renders_in_every_language() {
        for template in Template::iter() {
            for locale in LOCALES {
                let mail = render(template, locale, &every_var())
                    .unwrap_or_else(|err| panic!("{template:?} in {locale}: {err}"));
                assert!(!mail.subject.is_empty());
                assert!(!mail.text.contains("{{") && !mail.html.contains("{{"));
                assert!(!mail.html.contains("<name&value>"), "HTML is escaped");
                assert!(mail.html.contains(&format!("lang=\"{locale}\"")));
            }
        }
    }

    #[test]
    fn french_differs_from_english_and_unknown_locales_fall_back() {
        let vars = every_var();
        let en = render(Template::ConfirmEmail, "en", &vars).unwrap();
        let fr = render(Template::ConfirmEmail, "fr", &vars).unwrap();
        let other = render(Template::ConfirmEmail, "de", &vars).unwrap();
        assert_ne!(en.subject, fr.subject);
        assert_eq!(en.subject, other.subject);
        assert!(
            en.text.contains("<link&value>"),
            "links appear as is in text"
        );
    }

    #[test]
    fn a_missing_value_is_an_error() {
        let err = render(Template::ConfirmEmail, "en", &BTreeMap::new()).unwrap_err();
        assert!(err.contains("no value"), "{err}");
    }
}
