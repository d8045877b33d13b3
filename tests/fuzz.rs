//! A schema-driven fuzzer that no one here wrote (schemathesis in GraphQL
//! mode, reading `schema.graphql`) sends a bounded number of generated
//! operations to a real server, anonymously and signed in as an admin.
//! Every answer must be a GraphQL response whose errors all carry a known
//! `extensions.code`: no 5xx, no panic, no `INTERNAL`, no malformed body
//! (`tools/graphql-fuzz/checks.py`).
//!
//! Needs `tools/graphql-fuzz/.venv` (`.ci/run` makes it: `python3 -m venv
//! tools/graphql-fuzz/.venv && tools/graphql-fuzz/.venv/bin/pip install -r
//! tools/graphql-fuzz/requirements.txt`); without it the test skips, or
//! fails under `CONSUMACT_REQUIRE_SERVICES`. `CONSUMACT_FUZZ_EXAMPLES`
//! (default 10 per operation) and `CONSUMACT_FUZZ_SEED` (default fixed, so
//! CI is repeatable) steer it.

use std::path::Path;
use std::process::Command;

use crate::common::{ADMIN_ARGS, TestApp, services_required};

#[tokio::test]
async fn a_schema_driven_fuzzer_gets_only_coded_graphql_answers() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let fuzzer = root.join("tools/graphql-fuzz/.venv/bin/schemathesis");
    if !fuzzer.exists() {
        assert!(
            !services_required(),
            "install the fuzzer in tools/graphql-fuzz/.venv (CONSUMACT_REQUIRE_SERVICES is set)"
        );
        eprintln!("schemathesis not installed in tools/graphql-fuzz/.venv: skipping");
        return;
    }
    let app = TestApp::spawn_with(&ADMIN_ARGS).await;
    let admin = app.admin_token().await;
    let examples = std::env::var("CONSUMACT_FUZZ_EXAMPLES").unwrap_or_else(|_| "10".into());
    let seed = std::env::var("CONSUMACT_FUZZ_SEED").unwrap_or_else(|_| "20261202".into());
    for token in [None, Some(admin)] {
        let url = app.url("/graphql");
        let (fuzzer, root) = (fuzzer.clone(), root.to_owned());
        let (examples, seed) = (examples.clone(), seed.clone());
        let output = tokio::task::spawn_blocking(move || {
            let mut command = Command::new(fuzzer);
            command
                .args(["run", "schema.graphql", "--url", &url])
                .args(["--checks", "coded_graphql_answer", "--workers", "2"])
                .args(["--max-examples", &examples, "--seed", &seed, "--no-color"])
                .env("SCHEMATHESIS_HOOKS", "tools/graphql-fuzz/checks.py")
                .current_dir(root);
            if let Some(token) = token {
                command.args(["-H", &format!("Authorization: Bearer {token}")]);
            }
            command.output().expect("schemathesis runs")
        })
        .await
        .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "{stdout}{}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(stdout.contains(" passed"), "{stdout}");
    }
}
