//! `schema.graphql` is exported from the code; this fails when they drift.
//! Regenerate with `cargo run -- export-schema --out schema.graphql`.

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
