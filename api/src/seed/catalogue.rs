//! What seeded rows are about: sectors, topics, places and the kinds the
//! generator picks from (a kind listed twice is picked twice as often).

use entities::campaign::CampaignKind;
use entities::pledge::PledgeKind;
use entities::producer::ProducerKind;
use entities::trust_rating::Dimension;

pub(super) const SECTORS: &[&str] = &[
    "food",
    "beverages",
    "cosmetics",
    "clothing",
    "energy",
    "banking",
    "telecom",
    "retail",
    "household",
    "toys",
    "electronics",
    "travel",
];
/// What seeded communities and campaigns are about, in French and English:
/// (value tag, short name fr, short name en, demand fr, demand en).
pub(super) const TOPICS: &[(&str, &str, &str, &str, &str)] = &[
    (
        "allergen-labelling",
        "Allergies",
        "Allergies",
        "l'étiquetage des allergènes en gros caractères",
        "clear allergen labelling in large print",
    ),
    (
        "palm-oil-free",
        "Sans huile de palme",
        "Palm-oil free",
        "des recettes sans huile de palme",
        "recipes without palm oil",
    ),
    (
        "local",
        "Consommer local",
        "Buy local",
        "des produits locaux dans chaque rayon",
        "local products on every shelf",
    ),
    (
        "fair-trade",
        "Commerce équitable",
        "Fair trade",
        "un cacao issu du commerce équitable",
        "fair-trade cocoa",
    ),
    (
        "vegan",
        "Végans",
        "Vegans",
        "une gamme végétale complète",
        "a complete plant-based range",
    ),
    (
        "zero-waste",
        "Zéro déchet",
        "Zero waste",
        "la fin des emballages jetables",
        "an end to throwaway packaging",
    ),
    (
        "repairable",
        "Réparer plutôt que jeter",
        "Repair, not replace",
        "des pièces détachées pendant dix ans",
        "spare parts for ten years",
    ),
    (
        "animal-welfare",
        "Bien-être animal",
        "Animal welfare",
        "des œufs de poules élevées en plein air",
        "eggs from free-range hens",
    ),
    (
        "living-wage",
        "Salaire décent",
        "Living wage",
        "un salaire décent pour les producteurs",
        "a living wage for growers",
    ),
    (
        "low-carbon",
        "Bas carbone",
        "Low carbon",
        "des livraisons à faible émission de carbone",
        "low-carbon deliveries",
    ),
    (
        "gluten-free",
        "Sans gluten",
        "Gluten free",
        "des produits sans gluten certifiés",
        "certified gluten-free products",
    ),
    (
        "halal",
        "Halal",
        "Halal",
        "une certification halal vérifiable",
        "verifiable halal certification",
    ),
    (
        "organic",
        "Bio",
        "Organic",
        "des ingrédients issus de l'agriculture biologique",
        "organic ingredients",
    ),
    (
        "seasonal",
        "De saison",
        "In season",
        "des fruits et légumes de saison",
        "seasonal fruit and vegetables",
    ),
    (
        "data-privacy",
        "Vie privée",
        "Privacy",
        "le respect des données personnelles des clients",
        "respect for customers' personal data",
    ),
    (
        "workers-rights",
        "Droits des salariés",
        "Workers' rights",
        "le respect des droits syndicaux",
        "respect for union rights",
    ),
];
pub(super) const TERRITORIES: &[&str] = &[
    "FR", "FR-IDF", "FR-ARA", "DE", "ES", "IT", "BE", "NL", "GB", "US", "CA", "PT",
];
pub(super) const KINDS: &[ProducerKind] = &[
    ProducerKind::Cooperative,
    ProducerKind::SoleTrader,
    ProducerKind::Sme,
    ProducerKind::Sme,
    ProducerKind::LargeGroup,
    ProducerKind::LargeGroup,
    ProducerKind::NonProfit,
];
pub(super) const CAMPAIGN_KINDS: &[CampaignKind] = &[
    CampaignKind::Petition,
    CampaignKind::Petition,
    CampaignKind::Boycott,
    CampaignKind::Buycott,
];
pub(super) const PLEDGE_KINDS: &[PledgeKind] = &[
    PledgeKind::Buy,
    PledgeKind::Buy,
    PledgeKind::Avoid,
    PledgeKind::Switch,
    PledgeKind::Reduce,
];
pub(super) const DIMENSIONS: [Dimension; 4] = [
    Dimension::Transparency,
    Dimension::Fairness,
    Dimension::CommitmentKeeping,
    Dimension::Quality,
];
