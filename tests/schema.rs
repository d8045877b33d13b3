//! `schema.graphql` and `docs/configuration.md` are exported from the code;
//! these fail when they drift. Regenerate them with `cargo run --
//! export-schema --out schema.graphql` and `cargo run -- config-reference
//! --out docs/configuration.md`.

#[test]
fn committed_schema_matches_the_code() {
    let committed = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/schema.graphql"))
        .expect("schema.graphql is missing; run `cargo run -- export-schema --out schema.graphql`");
    let exported = consumact_api::graphql::sdl();
    assert!(
        committed == exported,
        "schema.graphql differs from the code; regenerate it with `cargo run -- export-schema --out schema.graphql`"
    );
}

#[test]
fn committed_configuration_reference_matches_the_code() {
    let committed = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/docs/configuration.md"
    ))
    .expect("docs/configuration.md is missing; run `cargo run -- config-reference --out docs/configuration.md`");
    assert!(
        committed == consumact_api::config::reference(),
        "docs/configuration.md differs from the code; regenerate it with `cargo run -- config-reference --out docs/configuration.md`"
    );
}
