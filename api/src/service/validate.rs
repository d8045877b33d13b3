//! Input validation shared by every service: each function checks one kind
//! of value, normalises it, and names the offending field when it refuses.

use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

use crate::error::{AppError, Result};

/// ISO 3166-1 alpha-2 codes officially assigned.
const COUNTRIES: &str = "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW";

/// Largest campaign goal: more signatures than any petition has gathered.
pub const MAX_GOAL: i32 = 100_000_000;

/// Trimmed text of `min..=max` characters, free of control characters other
/// than newlines and tabs.
pub fn text(field: &str, value: &str, min: usize, max: usize) -> Result<String> {
    let value = value.trim();
    let length = value.chars().count();
    if length < min {
        return Err(AppError::invalid(
            field,
            if min == 1 {
                format!("{field} must not be empty")
            } else {
                format!("{field} must be at least {min} characters")
            },
        ));
    }
    if length > max {
        return Err(AppError::invalid(
            field,
            format!("{field} must be at most {max} characters"),
        ));
    }
    if value
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t' && c != '\r')
    {
        return Err(AppError::invalid(
            field,
            format!("{field} must not contain control characters"),
        ));
    }
    Ok(value.to_owned())
}

/// Like [`text`] for an optional value; empty text counts as absent.
pub fn optional_text(field: &str, value: Option<&str>, max: usize) -> Result<Option<String>> {
    match value.map(str::trim) {
        None | Some("") => Ok(None),
        Some(value) => text(field, value, 1, max).map(Some),
    }
}

/// A URL-safe identifier: 3–64 lower-case letters, digits and single hyphens.
pub fn slug(field: &str, value: &str) -> Result<String> {
    let value = value.trim();
    let well_formed = (3..=64).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !value.starts_with('-')
        && !value.ends_with('-')
        && !value.contains("--");
    if well_formed {
        Ok(value.to_owned())
    } else {
        Err(AppError::invalid(
            field,
            format!(
                "{field} must be 3-64 lower-case letters, digits and single hyphens, like `fair-trade-lyon`"
            ),
        ))
    }
}

/// A member's handle: 3–32 ASCII letters, digits or underscores.
pub fn handle(field: &str, value: &str) -> Result<String> {
    let value = value.trim();
    if (3..=32).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_')
    {
        Ok(value.to_owned())
    } else {
        Err(AppError::invalid(
            field,
            format!("{field} must be 3-32 letters, digits or underscores"),
        ))
    }
}

/// An email address, lower-cased. Only its shape is checked; nothing is sent.
pub fn email(field: &str, value: &str) -> Result<String> {
    let value = value.trim().to_lowercase();
    let well_formed = value.len() <= 254
        && match value.split_once('@') {
            Some((local, domain)) => {
                !local.is_empty()
                    && local.len() <= 64
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
                    && !domain.contains('@')
                    && !value.chars().any(|c| c.is_whitespace() || c.is_control())
            }
            None => false,
        };
    if well_formed {
        Ok(value)
    } else {
        Err(AppError::invalid(
            field,
            format!("{field} must be an email address"),
        ))
    }
}

/// Domains whose mailboxes ignore dots in the local part.
const DOTLESS_DOMAINS: [&str; 2] = ["gmail.com", "googlemail.com"];

/// The canonical form of a (validated, lower-case) address, unique per
/// mailbox: a `+tag` removed, and for providers that ignore dots, the dots
/// too (`J.Doe+news@Gmail.com` and `jdoe@gmail.com` are one mailbox).
/// `googlemail.com` is the same service as `gmail.com`.
pub fn email_key(email: &str) -> String {
    let email = email.trim().to_lowercase();
    let Some((local, domain)) = email.rsplit_once('@') else {
        return email;
    };
    let local = local.split('+').next().unwrap_or(local);
    if DOTLESS_DOMAINS.contains(&domain) {
        format!("{}@gmail.com", local.replace('.', ""))
    } else {
        format!("{local}@{domain}")
    }
}

/// A mail language: `en` or `fr`; `None` gives `en`.
pub fn locale(field: &str, value: Option<&str>) -> Result<String> {
    match value.map(str::trim) {
        None => Ok("en".to_owned()),
        Some(value @ ("en" | "fr")) => Ok(value.to_owned()),
        Some(_) => Err(AppError::invalid(
            field,
            format!("{field} must be `en` or `fr`"),
        )),
    }
}

/// A password of 8–128 characters.
pub fn password(field: &str, value: &str) -> Result<()> {
    let length = value.chars().count();
    if length < 8 {
        Err(AppError::invalid(
            field,
            format!("{field} must be at least 8 characters"),
        ))
    } else if length > 128 {
        Err(AppError::invalid(
            field,
            format!("{field} must be at most 128 characters"),
        ))
    } else {
        Ok(())
    }
}

/// An ISO 3166-1 alpha-2 country (`FR`) or ISO 3166-2 subdivision (`FR-IDF`),
/// upper-cased.
pub fn territory(field: &str, value: &str) -> Result<String> {
    let value = value.trim().to_ascii_uppercase();
    let (country, subdivision) = match value.split_once('-') {
        Some((country, subdivision)) => (country, Some(subdivision)),
        None => (value.as_str(), None),
    };
    let country_ok = country.len() == 2 && COUNTRIES.split(' ').any(|code| code == country);
    let subdivision_ok = subdivision.is_none_or(|code| {
        (1..=3).contains(&code.len()) && code.bytes().all(|b| b.is_ascii_alphanumeric())
    });
    if country_ok && subdivision_ok {
        Ok(value)
    } else {
        Err(AppError::invalid(
            field,
            format!(
                "{field} must be an ISO 3166 code: a country like `FR` or a region like `FR-IDF`"
            ),
        ))
    }
}

/// Like [`territory`] for an optional value.
pub fn optional_territory(field: &str, value: Option<&str>) -> Result<Option<String>> {
    value.map(|value| territory(field, value)).transpose()
}

/// A territory in an edit: an empty text removes it (`None`).
pub fn clearable_territory(field: &str, value: &str) -> Result<Option<String>> {
    match value.trim() {
        "" => Ok(None),
        given => territory(field, given).map(Some),
    }
}

/// An http(s) address of at most 300 characters.
pub fn website(field: &str, value: &str) -> Result<String> {
    let value = value.trim();
    let well_formed = value.len() <= 300
        && (value.starts_with("https://") || value.starts_with("http://"))
        && value.len() > "https://".len()
        && !value.chars().any(|c| c.is_whitespace() || c.is_control());
    if well_formed {
        Ok(value.to_owned())
    } else {
        Err(AppError::invalid(
            field,
            format!("{field} must be an http(s) address"),
        ))
    }
}

/// Up to 20 distinct labels of 1–60 characters each, in the order given.
pub fn labels(field: &str, values: &[String]) -> Result<Vec<String>> {
    if values.len() > 20 {
        return Err(AppError::invalid(
            field,
            format!("{field} may hold at most 20 labels"),
        ));
    }
    let mut labels: Vec<String> = Vec::with_capacity(values.len());
    for value in values {
        let label = text(field, value, 1, 60)?;
        if !labels.contains(&label) {
            labels.push(label);
        }
    }
    Ok(labels)
}

/// A campaign goal: a positive number of supporters.
pub fn goal(field: &str, value: Option<i32>) -> Result<Option<i32>> {
    match value {
        Some(goal) if !(1..=MAX_GOAL).contains(&goal) => Err(AppError::invalid(
            field,
            format!("{field} must be between 1 and {MAX_GOAL}"),
        )),
        other => Ok(other),
    }
}

/// A deadline strictly in the future and at most five years away.
pub fn deadline(
    field: &str,
    value: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>> {
    match value {
        Some(deadline) if deadline <= now => Err(AppError::invalid(
            field,
            format!("{field} must be in the future"),
        )),
        Some(deadline) if deadline > now + Duration::days(5 * 366) => Err(AppError::invalid(
            field,
            format!("{field} must be within five years"),
        )),
        other => Ok(other),
    }
}

/// An opaque id given by a client.
pub fn id(field: &str, value: &str) -> Result<Uuid> {
    Uuid::parse_str(value.trim())
        .map_err(|_| AppError::invalid(field, format!("{field} is not a valid id")))
}

/// Current time, truncated to microseconds so that it reads back identically
/// from SQLite and PostgreSQL.
pub fn now() -> DateTime<Utc> {
    let now = Utc::now();
    DateTime::from_timestamp_micros(now.timestamp_micros()).unwrap_or(now)
}

/// The country of an ISO 3166 code: `FR` for `FR-ARA` and for `FR`.
pub fn country_of(code: &str) -> &str {
    code.split('-').next().unwrap_or(code)
}

#[cfg(test)]
mod email_key_tests {
    use super::email_key;

    #[test]
    fn tags_case_and_provider_dots_fold_into_one_key() {
        assert_eq!(email_key("J.Doe+news@Gmail.com"), "jdoe@gmail.com");
        assert_eq!(email_key("jdoe@googlemail.com"), "jdoe@gmail.com");
        assert_eq!(email_key("ann+x+y@example.org"), "ann@example.org");
        // Elsewhere dots matter.
        assert_eq!(email_key("j.doe@example.org"), "j.doe@example.org");
        assert_ne!(
            email_key("j.doe@example.org"),
            email_key("jdoe@example.org")
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn country_list_is_complete() {
        assert_eq!(COUNTRIES.split(' ').count(), 249);
    }

    #[test]
    fn territories_are_normalised_and_checked() {
        assert_eq!(territory("t", " fr-idf ").unwrap(), "FR-IDF");
        assert_eq!(territory("t", "de").unwrap(), "DE");
        assert!(territory("t", "XX").is_err());
        assert!(territory("t", "FR-").is_err());
        assert!(territory("t", "FR-ABCD").is_err());
        assert!(territory("t", "France").is_err());
    }

    #[test]
    fn slugs_reject_uppercase_and_stray_hyphens() {
        assert!(slug("s", "vegan-lyon").is_ok());
        for bad in ["ab", "Vegan", "-vegan", "vegan-", "veg--an", "vég", "a b c"] {
            assert!(slug("s", bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn emails_are_lowercased() {
        assert_eq!(email("e", " Ada@Example.ORG ").unwrap(), "ada@example.org");
        for bad in [
            "ada",
            "ada@",
            "@example.org",
            "ada@example",
            "a b@example.org",
        ] {
            assert!(email("e", bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn text_counts_characters_not_bytes() {
        assert!(text("t", "éééé", 1, 4).is_ok());
        assert!(text("t", "ééééé", 1, 4).is_err());
        assert!(text("t", "   ", 1, 4).is_err());
        assert!(text("t", "a\u{0}b", 1, 4).is_err());
    }

    #[test]
    fn goals_must_be_positive() {
        assert!(goal("g", Some(0)).is_err());
        assert!(goal("g", Some(-5)).is_err());
        assert_eq!(goal("g", Some(1000)).unwrap(), Some(1000));
        assert_eq!(goal("g", None).unwrap(), None);
    }

    #[test]
    fn deadlines_must_be_future_and_near() {
        let now = now();
        assert!(deadline("d", Some(now - Duration::seconds(1)), now).is_err());
        assert!(deadline("d", Some(now + Duration::days(30)), now).is_ok());
        assert!(deadline("d", Some(now + Duration::days(3000)), now).is_err());
    }

    mod properties {
        use proptest::prelude::*;

        use super::super::*;

        proptest! {
            #[test]
            fn accepted_text_is_trimmed_and_within_bounds(value in ".{0,80}", min in 0usize..10, max in 10usize..60) {
                if let Ok(text) = text("t", &value, min, max) {
                    prop_assert_eq!(text.trim(), text.as_str());
                    let length = text.chars().count();
                    prop_assert!(length >= min && length <= max);
                    prop_assert!(!text.contains(char::from(0)));
                }
            }

            #[test]
            fn accepted_slugs_follow_the_rules(value in "[a-z0-9-]{0,70}|.{0,20}") {
                if let Ok(slug) = slug("s", &value) {
                    prop_assert!((3..=64).contains(&slug.len()));
                    prop_assert!(slug.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'));
                    prop_assert!(!slug.starts_with('-') && !slug.ends_with('-') && !slug.contains("--"));
                }
            }

            #[test]
            fn territories_normalise_idempotently(value in "[A-Za-z]{2}(-[A-Za-z0-9]{0,4})?|.{0,8}") {
                if let Ok(code) = territory("t", &value) {
                    prop_assert_eq!(code.to_ascii_uppercase(), code.clone());
                    prop_assert_eq!(territory("t", &code).unwrap(), code);
                }
            }

            #[test]
            fn accepted_emails_are_lowercase_with_one_at(value in "[A-Za-z0-9.@ _-]{0,40}") {
                if let Ok(address) = email("e", &value) {
                    prop_assert_eq!(address.to_lowercase(), address.clone());
                    prop_assert_eq!(address.matches('@').count(), 1);
                }
            }

            #[test]
            fn handles_and_ids_never_panic(value in ".{0,64}") {
                let _ = handle("h", &value);
                let _ = id("i", &value);
                let _ = website("w", &value);
            }
        }
    }
}
