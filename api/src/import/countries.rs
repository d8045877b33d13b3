//! Open Food Facts country tags (`en:france`) to ISO 3166-1 codes (`FR`),
//! for the countries its products are most sold in; other tags (and
//! `en:world`) say nothing of a place and are dropped.

const COUNTRIES: &[(&str, &str)] = &[
    ("algeria", "DZ"),
    ("argentina", "AR"),
    ("australia", "AU"),
    ("austria", "AT"),
    ("belgium", "BE"),
    ("brazil", "BR"),
    ("bulgaria", "BG"),
    ("canada", "CA"),
    ("chile", "CL"),
    ("china", "CN"),
    ("colombia", "CO"),
    ("croatia", "HR"),
    ("cyprus", "CY"),
    ("czech-republic", "CZ"),
    ("denmark", "DK"),
    ("estonia", "EE"),
    ("finland", "FI"),
    ("france", "FR"),
    ("french-polynesia", "PF"),
    ("germany", "DE"),
    ("greece", "GR"),
    ("guadeloupe", "GP"),
    ("hungary", "HU"),
    ("iceland", "IS"),
    ("india", "IN"),
    ("ireland", "IE"),
    ("israel", "IL"),
    ("italy", "IT"),
    ("japan", "JP"),
    ("latvia", "LV"),
    ("lithuania", "LT"),
    ("luxembourg", "LU"),
    ("malta", "MT"),
    ("martinique", "MQ"),
    ("mexico", "MX"),
    ("morocco", "MA"),
    ("netherlands", "NL"),
    ("new-caledonia", "NC"),
    ("new-zealand", "NZ"),
    ("norway", "NO"),
    ("peru", "PE"),
    ("poland", "PL"),
    ("portugal", "PT"),
    ("reunion", "RE"),
    ("romania", "RO"),
    ("russia", "RU"),
    ("saudi-arabia", "SA"),
    ("serbia", "RS"),
    ("singapore", "SG"),
    ("slovakia", "SK"),
    ("slovenia", "SI"),
    ("south-africa", "ZA"),
    ("south-korea", "KR"),
    ("spain", "ES"),
    ("sweden", "SE"),
    ("switzerland", "CH"),
    ("thailand", "TH"),
    ("tunisia", "TN"),
    ("turkey", "TR"),
    ("united-arab-emirates", "AE"),
    ("united-kingdom", "GB"),
    ("united-states", "US"),
];

/// The ISO code of an Open Food Facts country tag, if it is one we know.
pub fn iso_of(tag: &str) -> Option<&'static str> {
    let name = tag.trim().strip_prefix("en:").unwrap_or(tag.trim());
    COUNTRIES
        .binary_search_by(|(known, _)| known.cmp(&name))
        .ok()
        .map(|at| COUNTRIES[at].1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn country_tags_map_to_codes() {
        assert!(COUNTRIES.windows(2).all(|pair| pair[0].0 < pair[1].0));
        assert_eq!(iso_of("en:france"), Some("FR"));
        assert_eq!(iso_of("en:united-kingdom"), Some("GB"));
        assert_eq!(iso_of("en:world"), None);
    }
}
