//! Reading the mail a server sent: `.eml` files of its mail directory, or
//! the Maildir of a test's SMTP server, parsed as a mail client would.

use std::path::Path;
use std::time::Duration;

use mail_parser::MessageParser;

/// One received mail, decoded.
#[derive(Clone, Debug)]
pub struct Mail {
    pub message_id: String,
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
    pub raw: String,
}

impl Mail {
    fn parse(bytes: &[u8]) -> Option<Mail> {
        let message = MessageParser::default().parse(bytes)?;
        let to = message
            .to()
            .and_then(|to| to.first())
            .and_then(|address| address.address())
            .unwrap_or_default()
            .to_owned();
        Some(Mail {
            message_id: message.message_id().unwrap_or_default().to_owned(),
            to,
            subject: message.subject().unwrap_or_default().to_owned(),
            text: message.body_text(0).unwrap_or_default().into_owned(),
            html: message.body_html(0).unwrap_or_default().into_owned(),
            raw: String::from_utf8_lossy(bytes).into_owned(),
        })
    }

    /// The token of the first link to `path` (`/confirm-email`, …) in the
    /// plain-text body, and the whole link.
    pub fn link(&self, path: &str) -> (String, String) {
        let start = self
            .text
            .find(&format!("{path}?token="))
            .unwrap_or_else(|| panic!("no {path} link in {}", self.text));
        let line_start = self.text[..start]
            .rfind(char::is_whitespace)
            .map_or(0, |i| i + 1);
        let link: String = self.text[line_start..]
            .chars()
            .take_while(|c| !c.is_whitespace())
            .collect();
        let token = link
            .split_once("token=")
            .map(|(_, token)| token.to_owned())
            .unwrap_or_default();
        (link, token)
    }
}

/// Every parsable mail file in `dir` whose path `keep` accepts.
pub fn read_dir(dir: &Path, keep: impl Fn(&Path) -> bool) -> Vec<Mail> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut paths: Vec<_> = entries
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.is_file() && keep(path))
        .collect();
    paths.sort();
    paths
        .iter()
        .filter_map(|path| std::fs::read(path).ok())
        .filter_map(|bytes| Mail::parse(&bytes))
        .collect()
}

/// Polls `read` until it holds at least `count` mails to `to` (for at most
/// 20 s), and returns those.
pub async fn wait_for(read: impl Fn() -> Vec<Mail>, to: &str, count: usize) -> Vec<Mail> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let mails: Vec<Mail> = read().into_iter().filter(|mail| mail.to == to).collect();
        if mails.len() >= count || tokio::time::Instant::now() >= deadline {
            assert!(
                mails.len() >= count,
                "expected {count} mails to {to}, found {}",
                mails.len()
            );
            return mails;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
