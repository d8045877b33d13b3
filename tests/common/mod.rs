//! The black-box harness: each test starts the real server on a random port
//! against a database of its own and talks GraphQL over HTTP, as a frontend
//! would.
//!
//! - Default: a fresh SQLite file in a temporary directory.
//! - `TEST_DATABASE_URL=postgres://…/any`: a fresh PostgreSQL database per
//!   test, created from that server and dropped when the test ends.
//! - `CONSUMACT_REQUIRE_SERVICES=1`: a missing `TEST_DATABASE_URL` fails the
//!   test instead of falling back to SQLite (CI sets it on its service run).
#![allow(dead_code)]

use std::net::SocketAddr;

use consumact_api::Application;
use consumact_api::config::Config;
use sea_orm::{ConnectionTrait, Database};
use serde_json::{Value, json};
use tokio::sync::oneshot;

/// A running server and what the test needs to talk to it.
pub struct TestApp {
    pub addr: SocketAddr,
    pub client: reqwest::Client,
    shutdown: Option<oneshot::Sender<()>>,
    _data_dir: tempfile::TempDir,
    postgres: Option<PostgresDatabase>,
}

/// A database created for one test on the PostgreSQL server of `TEST_DATABASE_URL`.
struct PostgresDatabase {
    admin_url: String,
    name: String,
}

impl Drop for PostgresDatabase {
    fn drop(&mut self) {
        let admin_url = self.admin_url.clone();
        let name = self.name.clone();
        // Drop runs outside async context: use a runtime of our own, on a thread
        // of our own, so this works whichever runtime the test used.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async {
                if let Ok(admin) = Database::connect(admin_url).await {
                    let _ = admin
                        .execute_unprepared(&format!(
                            "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
                        ))
                        .await;
                }
            });
        })
        .join();
    }
}

fn services_required() -> bool {
    std::env::var("CONSUMACT_REQUIRE_SERVICES").is_ok_and(|value| value == "1" || value == "true")
}

/// `url` with its database name replaced by `name`.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let authority_end = base.find("://").map_or(0, |i| i + 3);
    let base = match base[authority_end..].find('/') {
        Some(slash) => &base[..authority_end + slash],
        None => base,
    };
    match query {
        Some(query) => format!("{base}/{name}?{query}"),
        None => format!("{base}/{name}"),
    }
}

async fn fresh_postgres(url: &str) -> PostgresDatabase {
    let name = format!("consumact_test_{}", uuid::Uuid::new_v4().simple());
    let admin = Database::connect(url).await.unwrap_or_else(|err| {
        panic!("TEST_DATABASE_URL is set but PostgreSQL is unreachable: {err}")
    });
    admin
        .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
        .await
        .expect("create test database");
    PostgresDatabase {
        admin_url: url.to_owned(),
        name,
    }
}

impl TestApp {
    /// A server with the test defaults (cheap password hashing, small pool).
    pub async fn spawn() -> Self {
        Self::spawn_with(&[]).await
    }

    /// A server with extra `--flag value` arguments on top of the test defaults.
    pub async fn spawn_with(extra_args: &[&str]) -> Self {
        let data_dir = tempfile::tempdir().expect("temporary directory");
        let postgres = match std::env::var("TEST_DATABASE_URL") {
            Ok(url) if !url.is_empty() => Some(fresh_postgres(&url).await),
            _ if services_required() => {
                panic!("CONSUMACT_REQUIRE_SERVICES is set but TEST_DATABASE_URL is not")
            }
            _ => None,
        };
        let database_url = match &postgres {
            Some(database) => with_database(&database.admin_url, &database.name),
            None => format!("sqlite://{}/test.sqlite", data_dir.path().display()),
        };
        let mut args = vec![
            "consumact",
            "--addr",
            "127.0.0.1:0",
            "--database-url",
            &database_url,
            "--argon2-memory-kib",
            "64",
            "--argon2-iterations",
            "1",
            "--db-max-connections",
            "5",
        ];
        args.extend_from_slice(extra_args);
        let config = Config::from_args(args).expect("test configuration");
        let app = Application::build(config).await.expect("server starts");
        let addr = app.local_addr();
        let (shutdown, stopped) = oneshot::channel::<()>();
        tokio::spawn(app.run_until(async {
            let _ = stopped.await;
        }));
        TestApp {
            addr,
            client: reqwest::Client::new(),
            shutdown: Some(shutdown),
            _data_dir: data_dir,
            postgres,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// POSTs a GraphQL operation and returns the JSON response body.
    pub async fn gql(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        let mut request = self
            .client
            .post(self.url("/graphql"))
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("request reaches the server");
        response.json().await.expect("JSON response")
    }

    /// Like [`gql`](Self::gql), failing the test if the answer carries errors.
    pub async fn gql_ok(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        let body = self.gql(token, query, variables).await;
        assert!(
            body.get("errors").is_none(),
            "unexpected errors for {query}: {body}"
        );
        body["data"].clone()
    }

    /// Registers `handle` and returns (token, member id).
    pub async fn register(&self, handle: &str) -> (String, String) {
        let data = self
            .gql_ok(
                None,
                "mutation($input: RegisterInput!) { register(input: $input) { token member { id } } }",
                json!({ "input": {
                    "handle": handle,
                    "email": format!("{handle}@example.org"),
                    "password": "correct horse battery",
                }}),
            )
            .await;
        (
            data["register"]["token"].as_str().unwrap().to_owned(),
            data["register"]["member"]["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        )
    }

    /// Creates a producer named `name` and returns its id.
    pub async fn create_producer(&self, token: &str, name: &str) -> String {
        let data = self
            .gql_ok(
                Some(token),
                "mutation($input: CreateProducerInput!) { createProducer(input: $input) { id } }",
                json!({ "input": { "name": name, "kind": "LARGE_GROUP", "sector": "food", "territory": "FR" } }),
            )
            .await;
        data["createProducer"]["id"].as_str().unwrap().to_owned()
    }

    /// Drafts a petition against `producer_id` and returns its id.
    pub async fn create_campaign(&self, token: &str, producer_id: &str) -> String {
        let data = self
            .gql_ok(
                Some(token),
                "mutation($input: CreateCampaignInput!) { createCampaign(input: $input) { id } }",
                json!({ "input": {
                    "kind": "PETITION",
                    "title": "Label every allergen",
                    "summary": "Print all fourteen allergens on the front of the pack.",
                    "body": "Members with allergies cannot trust the current packaging.",
                    "producerId": producer_id,
                    "goal": 1000,
                }}),
            )
            .await;
        data["createCampaign"]["id"].as_str().unwrap().to_owned()
    }

    /// Publishes a campaign.
    pub async fn publish(&self, token: &str, campaign_id: &str) {
        self.gql_ok(
            Some(token),
            "mutation($id: ID!) { publishCampaign(id: $id) { status } }",
            json!({ "id": campaign_id }),
        )
        .await;
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

/// The `extensions.code` of the first error in a response.
pub fn error_code(body: &Value) -> &str {
    body["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("expected an error with a code, got {body}"))
}

/// The `extensions.field` of the first error in a response.
pub fn error_field(body: &Value) -> &str {
    body["errors"][0]["extensions"]["field"]
        .as_str()
        .unwrap_or_else(|| panic!("expected an error naming a field, got {body}"))
}
