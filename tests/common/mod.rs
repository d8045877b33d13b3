//! The black-box harness: each test starts the real server on a random port
//! against a database of its own and talks GraphQL over HTTP, as a frontend
//! would.
//!
//! - Default: a fresh SQLite file in a temporary directory.
//! - `TEST_DATABASE_URL=postgres://…/any`: a fresh PostgreSQL database per
//!   test, created from that server and dropped when the test ends.
//! - `TEST_REDIS_URL=redis://…`: live counters and events in Redis, under a
//!   key prefix of the test's own.
//! - `CONSUMACT_REQUIRE_SERVICES=1`: a missing `TEST_DATABASE_URL` (or, for
//!   tests that need it, `TEST_REDIS_URL`) fails the test instead of falling
//!   back or skipping (CI sets it on its service run).
#![allow(dead_code)]

use std::net::SocketAddr;

use consumact_api::Application;
use consumact_api::config::Config;
use sea_orm::{ConnectionTrait, Database};
use serde_json::{Value, json};
use tokio::sync::oneshot;

/// Start-up flags that create the first admin: handle `root`, password
/// `admin password` (see [`TestApp::admin_token`]).
pub const ADMIN_ARGS: [&str; 6] = [
    "--admin-handle",
    "root",
    "--admin-email",
    "root@example.org",
    "--admin-password",
    "admin password",
];

/// A running server and what the test needs to talk to it.
pub struct TestApp {
    pub addr: SocketAddr,
    /// Where `/metrics` is served apart (`--metrics-addr`), if it is.
    pub metrics_addr: Option<SocketAddr>,
    pub client: reqwest::Client,
    /// The database this server uses (shared by its siblings).
    pub database_url: String,
    /// The Redis key prefix this server uses (shared by its siblings).
    pub redis_prefix: String,
    /// The extra arguments it was started with (reused by its siblings).
    extra_args: Vec<String>,
    /// Its data directory (mail files land in `mail/` there), shared with siblings.
    pub data_dir: std::path::PathBuf,
    shutdown: Option<oneshot::Sender<()>>,
    _data_dir: Option<tempfile::TempDir>,
    _postgres: Option<PostgresDatabase>,
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

/// An HTTP client for tests: the process's TLS provider installed first
/// (the server's webhook client enables reqwest's TLS without one).
pub fn http_client() -> reqwest::Client {
    consumact_api::install_tls_provider();
    reqwest::Client::new()
}

pub fn services_required() -> bool {
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

/// The shared Redis of `TEST_REDIS_URL`, if set.
pub fn test_redis_url() -> Option<String> {
    std::env::var("TEST_REDIS_URL")
        .ok()
        .filter(|url| !url.is_empty())
}

/// Keeps the last value of each `--flag value` pair, in first-seen order.
fn dedupe_flags(args: Vec<String>) -> Vec<String> {
    let mut program = args.into_iter();
    let mut kept: Vec<(String, String)> = Vec::new();
    let first = program.next().unwrap_or_default();
    while let Some(flag) = program.next() {
        let value = program.next().unwrap_or_default();
        match kept.iter_mut().find(|(name, _)| *name == flag) {
            Some(entry) => entry.1 = value,
            None => kept.push((flag, value)),
        }
    }
    std::iter::once(first)
        .chain(kept.into_iter().flat_map(|(flag, value)| [flag, value]))
        .collect()
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
        let redis_prefix = format!("test-{}", uuid::Uuid::new_v4().simple());
        let extra_args: Vec<String> = extra_args.iter().map(|arg| (*arg).to_owned()).collect();
        let mut app = Self::start(
            &database_url,
            &redis_prefix,
            data_dir.path().to_path_buf(),
            extra_args,
        )
        .await;
        app._data_dir = Some(data_dir);
        app._postgres = postgres;
        app
    }

    /// A second server on the same database and Redis prefix, as a second
    /// instance behind a load balancer would be.
    pub async fn spawn_sibling(&self) -> Self {
        Self::start(
            &self.database_url,
            &self.redis_prefix,
            self.data_dir.clone(),
            self.extra_args.clone(),
        )
        .await
    }

    /// A sibling (same database, Redis prefix and data directory) started
    /// with `overrides` on top of this server's arguments.
    pub async fn spawn_sibling_with(&self, overrides: &[&str]) -> Self {
        let mut args = self.extra_args.clone();
        args.extend(overrides.iter().map(|arg| (*arg).to_owned()));
        Self::start(
            &self.database_url,
            &self.redis_prefix,
            self.data_dir.clone(),
            args,
        )
        .await
    }

    /// The configuration a server of this harness starts with: the test
    /// defaults below, then `extra_args` (later flags win).
    pub fn config(
        database_url: &str,
        redis_prefix: &str,
        data_dir: &std::path::Path,
        extra_args: &[String],
    ) -> Config {
        let data_dir = data_dir.display().to_string();
        let mut args: Vec<String> = [
            "consumact",
            "--addr",
            "127.0.0.1:0",
            "--data-dir",
            &data_dir,
            "--database-url",
            database_url,
            // Most tests are about what members do once they count; the
            // confirmation tests (`verification.rs`) ask for `required`,
            // the product's default, and follow the mails.
            "--email-confirmation",
            "off",
            // Messages go out as soon as they are written.
            "--outbox-poll-ms",
            "100",
            "--redis-prefix",
            redis_prefix,
            "--argon2-memory-kib",
            "64",
            "--argon2-iterations",
            "1",
            "--db-max-connections",
            "5",
            "--reconcile-secs",
            "1",
            // Every test client shares 127.0.0.1: per-address limits would
            // only measure the suite. Rate-limit tests set their own.
            "--auth-ip-per-minute",
            "1000000",
            "--auth-ip-burst",
            "100000",
            "--sign-ip-per-minute",
            "1000000",
            "--sign-ip-burst",
            "100000",
            // Tests build their worlds with few members; the creation limit
            // has a test of its own.
            "--create-per-hour",
            "1000000",
            "--create-burst",
            "100000",
        ]
        .iter()
        .map(|arg| (*arg).to_owned())
        .collect();
        let own_redis = extra_args.iter().any(|arg| arg == "--redis-url");
        if let (false, Some(url)) = (own_redis, test_redis_url()) {
            args.extend(["--redis-url".to_owned(), url]);
        }
        args.extend(extra_args.iter().cloned());
        // Later flags win, so a test's own limits override the defaults above.
        Config::from_args(dedupe_flags(args)).expect("test configuration")
    }

    async fn start(
        database_url: &str,
        redis_prefix: &str,
        data_dir: std::path::PathBuf,
        extra_args: Vec<String>,
    ) -> Self {
        let config = Self::config(database_url, redis_prefix, &data_dir, &extra_args);
        let app = Application::build(config).await.expect("server starts");
        let addr = app.local_addr();
        let metrics_addr = app.metrics_addr();
        let (shutdown, stopped) = oneshot::channel::<()>();
        tokio::spawn(app.run_until(async {
            let _ = stopped.await;
        }));
        TestApp {
            addr,
            metrics_addr,
            client: http_client(),
            database_url: database_url.to_owned(),
            redis_prefix: redis_prefix.to_owned(),
            extra_args,
            data_dir,
            shutdown: Some(shutdown),
            _data_dir: None,
            _postgres: None,
        }
    }

    /// The trigger of this server's graceful shutdown (the same path SIGTERM
    /// takes), for tests that stop it mid-flight.
    pub fn take_shutdown(&mut self) -> oneshot::Sender<()> {
        self.shutdown.take().expect("the server is running")
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

    /// Signs in as the admin that [`ADMIN_ARGS`] creates; returns the token.
    pub async fn admin_token(&self) -> String {
        self.gql_ok(
            None,
            "mutation { login(input: { handleOrEmail: \"root\", password: \"admin password\" }) { token } }",
            json!({}),
        )
        .await["login"]["token"]
            .as_str()
            .expect("admin token")
            .to_owned()
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

    /// Registers `handle`, has it claim `producer` and the admin approve
    /// the claim; the representative's token.
    pub async fn representative(&self, admin: &str, producer: &str, handle: &str) -> String {
        let (token, _) = self.register(handle).await;
        let claim = self
            .gql_ok(
                Some(&token),
                "mutation($id: ID!) { claimProducer(producerId: $id) { id } }",
                json!({ "id": producer }),
            )
            .await["claimProducer"]["id"]
            .clone();
        self.gql_ok(
            Some(admin),
            "mutation($id: ID!) { decideProducerClaim(claimId: $id, approve: true) { status } }",
            json!({ "id": claim }),
        )
        .await;
        token
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

pub mod browser;
pub mod graphql_ws;
pub mod mail;
pub mod postgres_server;
pub mod redis_server;
pub mod smtp_server;
pub mod webhook_receiver;
pub mod ws;

impl TestApp {
    /// POSTs a GraphQL operation as a client at `address` behind a proxy
    /// (the server must take `--client-ip-header x-forwarded-for`).
    pub async fn gql_from(
        &self,
        token: Option<&str>,
        address: &str,
        query: &str,
        variables: Value,
    ) -> Value {
        let mut request = self
            .client
            .post(self.url("/graphql"))
            .header("x-forwarded-for", address)
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request
            .send()
            .await
            .expect("request reaches the server")
            .json()
            .await
            .expect("JSON response")
    }

    /// Signs `campaign_id` as a client at `address`; the whole response body.
    pub async fn sign_from(&self, token: &str, campaign_id: &str, address: &str) -> Value {
        self.gql_from(
            Some(token),
            address,
            "mutation($id: ID!) { signCampaign(campaignId: $id) { id } }",
            json!({ "id": campaign_id }),
        )
        .await
    }

    /// The value of a counter on this server's `/metrics` (0 when absent).
    pub async fn metric(&self, name: &str) -> u64 {
        metric_at(self.addr, name).await
    }

    /// The mail this server wrote as `.eml` files (no SMTP server set).
    pub fn mail_files(&self) -> Vec<mail::Mail> {
        mail::read_dir(&self.data_dir.join("mail"), |path| {
            path.extension().is_some_and(|ext| ext == "eml")
        })
    }

    /// Waits for `count` mail files to `to` and returns them.
    pub async fn mails_to(&self, to: &str, count: usize) -> Vec<mail::Mail> {
        mail::wait_for(|| self.mail_files(), to, count).await
    }
}

impl TestApp {
    /// Signs `campaign_id` and returns the whole response body, once the
    /// kept figures (orderings, the observatory) include the signature: a
    /// signer's answer comes at commit, the fold follows (see [`Self::folded`]).
    pub async fn sign(&self, token: &str, campaign_id: &str) -> Value {
        let body = self.sign_only(token, campaign_id).await;
        self.folded().await;
        body
    }

    /// Signs `campaign_id` without waiting for the fold.
    pub async fn sign_only(&self, token: &str, campaign_id: &str) -> Value {
        self.gql(
            Some(token),
            "mutation($id: ID!) { signCampaign(campaignId: $id) { id signer } }",
            json!({ "id": campaign_id }),
        )
        .await
    }

    /// Waits (up to 20 s) until no write waits to be folded into the kept
    /// figures, as `/metrics` says (`consumact_fold_queued`); returns the
    /// writes still queued (0 when the fold caught up).
    pub async fn folded(&self) -> i64 {
        eventually(20, 0, || fold_queued(self.addr)).await
    }

    /// The live signature counter of a campaign.
    pub async fn signature_count(&self, campaign_id: &str) -> i64 {
        let data = self
            .gql_ok(
                None,
                "query($id: ID!) { campaign(id: $id) { counters { signatures } } }",
                json!({ "id": campaign_id }),
            )
            .await;
        data["campaign"]["counters"]["signatures"].as_i64().unwrap()
    }

    /// The number of signature rows of a campaign, as listed by the API.
    pub async fn signature_rows(&self, campaign_id: &str) -> i64 {
        let data = self
            .gql_ok(
                None,
                "query($id: ID!) { campaign(id: $id) { signatures { totalCount } } }",
                json!({ "id": campaign_id }),
            )
            .await;
        data["campaign"]["signatures"]["totalCount"]
            .as_i64()
            .unwrap()
    }

    /// `/readyz`'s `counters` field: `ok` or `degraded`.
    pub async fn counters_readiness(&self) -> String {
        let body: Value = self
            .client
            .get(self.url("/readyz"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        body["counters"].as_str().unwrap_or_default().to_owned()
    }

    /// Registers `count` members concurrently; returns their tokens.
    pub async fn register_many(&self, prefix: &str, count: usize) -> Vec<String> {
        let handles: Vec<String> = (0..count).map(|i| format!("{prefix}_{i}")).collect();
        futures::future::join_all(handles.iter().map(|handle| self.register(handle)))
            .await
            .into_iter()
            .map(|(token, _)| token)
            .collect()
    }

    /// A published petition with this goal, organised by a new member.
    pub async fn open_campaign(&self, organiser: &str, goal: i64) -> (String, String) {
        let (token, _) = self.register(organiser).await;
        let producer = self
            .create_producer(&token, &format!("Producer of {organiser}"))
            .await;
        let id = self.create_campaign(&token, &producer).await;
        self.gql_ok(
            Some(&token),
            "mutation($id: ID!, $goal: Int) { updateCampaign(id: $id, input: { goal: $goal }) { id } }",
            json!({ "id": id, "goal": goal }),
        )
        .await;
        self.publish(&token, &id).await;
        (token, id)
    }
}

/// The value of a counter on the `/metrics` of the server at `addr` (0
/// when absent).
pub async fn metric_at(addr: SocketAddr, name: &str) -> u64 {
    metric_value(addr, name)
        .await
        .map_or(0, |value| value.max(0.0) as u64)
}

/// A value on the `/metrics` of the server at `addr`, if it is there.
pub async fn metric_value(addr: SocketAddr, name: &str) -> Option<f64> {
    let metrics = http_client()
        .get(format!("http://{addr}/metrics"))
        .send()
        .await
        .expect("metrics answer")
        .text()
        .await
        .expect("metrics text");
    let prefix = format!("{name} ");
    metrics
        .lines()
        .find_map(|line| line.strip_prefix(prefix.as_str()))
        .and_then(|value| value.trim().parse().ok())
}

/// Writes waiting to be folded on the database of the server at `addr`
/// (-1 when `/metrics` does not say).
pub async fn fold_queued(addr: SocketAddr) -> i64 {
    metric_value(addr, "consumact_fold_queued")
        .await
        .map_or(-1, |value| value as i64)
}

/// Polls `probe` every 100 ms until it returns `expected`, for at most
/// `seconds`; returns the last value seen. For eventual consistency only,
/// never for timing.
pub async fn eventually<T, F, Fut>(seconds: u64, expected: T, mut probe: F) -> T
where
    T: PartialEq,
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = T>,
{
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(seconds);
    loop {
        let value = probe().await;
        if value == expected || tokio::time::Instant::now() >= deadline {
            return value;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}
