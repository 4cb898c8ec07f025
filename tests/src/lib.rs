//! The test kit of the workspace-level integration tests (and of the benchmarks that measure the same code):
//! one constructor per storage engine, each on a fresh, isolated table or file, the macro that runs a suite
//! on every engine, builders for events and items the suites append, and a store decorator that sees every
//! port call ([`intercept`]).

pub mod api;
pub mod counting;
pub mod footprint;
pub mod handlers;
pub mod intercept;
pub mod lambdas;
pub mod projection;

/// Runs each async `case(store)` once per engine, as `sqlite::case` (a fresh SQLite file: no services needed)
/// and `dynamodb::case` (a fresh table in DynamoDB Local, started by `make test`). `sqlite` and `dynamodb`
/// name the constructors of the store each case takes.
#[macro_export]
macro_rules! on_every_engine {
    (sqlite: $sqlite:path, dynamodb: $dynamodb:path; $($case:ident),* $(,)?) => {
        $crate::on_every_engine!(@engine sqlite, $sqlite; $($case),*);
        $crate::on_every_engine!(@engine dynamodb, $dynamodb; $($case),*);
    };
    (@engine $engine:ident, $make_store:path; $($case:ident),*) => {
        mod $engine {
            #[allow(unused_imports)]
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    super::$case($make_store().await).await;
                }
            )*
        }
    };
}

use std::path::PathBuf;
use std::sync::Arc;

use chrono::{TimeZone, Utc};
use events::{
    DebtChanges, DebtCreated, DebtUpdated, EventEnvelope, EventPayload, PaymentFrequency,
    UserCreated,
};
use privacy::SealedStores;
use rust_decimal::Decimal;
use store::{Attributes, Engine, Stores};
use store_dynamodb::DynamoStore;
use store_sqlite::SqliteStore;
use uuid::Uuid;

pub use ::api::Handlers;

/// The DynamoDB endpoint of the test services, or a panic that says how to start them.
pub fn dynamodb_endpoint() -> String {
    std::env::var("AWS_ENDPOINT_URL_DYNAMODB")
        .or_else(|_| std::env::var("AWS_ENDPOINT_URL"))
        .unwrap_or_else(|_| {
            panic!(
                "AWS_ENDPOINT_URL_DYNAMODB is not set: these tests need DynamoDB Local. \
                 Run them with `make test`, which installs and starts it on 127.0.0.1."
            )
        })
}

/// A store on a new table of its own in DynamoDB Local, so tests run in parallel without sharing state.
pub async fn dynamodb_store() -> Arc<dyn Engine> {
    Arc::new(dynamodb_table().await)
}

/// Like [`dynamodb_store`], keeping the engine's type (for tests that also look at the table directly).
pub async fn dynamodb_table() -> DynamoStore {
    let endpoint = dynamodb_endpoint();
    assert!(
        endpoint.contains("127.0.0.1") || endpoint.contains("localhost"),
        "refusing to create test tables at {endpoint}: tests only run against DynamoDB Local on loopback"
    );
    let config = aws_clients::sdk_config().await;
    let client = aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::config::Builder::from(&config)
            .interceptor(footprint::Recorder)
            .build(),
    );
    let table = format!("test-{}", Uuid::new_v4().simple());
    store_dynamodb::create_table(&client, &table)
        .await
        .expect("create a test table in DynamoDB Local");
    DynamoStore::new(client, table)
}

/// Every item of a test table, sorted by key: to show a refused request left nothing behind.
pub async fn table_snapshot(store: &DynamoStore) -> Vec<String> {
    let mut items = Vec::new();
    let mut start = None;
    loop {
        let page = store
            .client()
            .scan()
            .table_name(store.table_name())
            .consistent_read(true)
            .set_exclusive_start_key(start)
            .send()
            .await
            .expect("scan the test table");
        for item in page.items() {
            let item = store_dynamodb::attributes::from_item(item.clone()).expect("readable item");
            let mut attributes = item.attributes.clone();
            attributes.insert("PK".into(), item.key.pk.clone().into());
            attributes.insert("SK".into(), item.key.sk.clone().into());
            items.push(canonical(&serde_json::Value::Object(attributes)));
        }
        match page.last_evaluated_key() {
            Some(key) if !key.is_empty() => start = Some(key.clone()),
            _ => break,
        }
    }
    items.sort();
    items
}

/// JSON text with every object's keys sorted, so equal items compare equal as strings.
pub fn canonical(value: &serde_json::Value) -> String {
    use serde_json::Value;
    fn sorted(value: &Value) -> Value {
        match value {
            Value::Object(map) => {
                let mut entries: Vec<(&String, &Value)> = map.iter().collect();
                entries.sort_by(|a, b| a.0.cmp(b.0));
                Value::Object(
                    entries
                        .into_iter()
                        .map(|(k, v)| (k.clone(), sorted(v)))
                        .collect(),
                )
            }
            Value::Array(values) => Value::Array(values.iter().map(sorted).collect()),
            other => other.clone(),
        }
    }
    sorted(value).to_string()
}

/// Checks that the SDK's endpoint variable for a moto-served `service` points at the local moto, or panics
/// saying how to start it.
fn expect_moto(variable: &str, service: &str) {
    let endpoint = std::env::var(variable).unwrap_or_else(|_| {
        panic!(
            "{variable} is not set: these tests need moto. \
             Run them with `make test`, which installs and starts it on 127.0.0.1."
        )
    });
    assert!(
        endpoint.contains("127.0.0.1"),
        "tests only use the local {service}, not {endpoint}"
    );
}

/// A Secrets Manager client on the test services' moto.
pub async fn secrets_manager() -> aws_sdk_secretsmanager::Client {
    expect_moto("AWS_ENDPOINT_URL_SECRETS_MANAGER", "Secrets Manager");
    aws_sdk_secretsmanager::Client::from_conf(
        aws_sdk_secretsmanager::config::Builder::from(&aws_clients::sdk_config().await)
            .interceptor(footprint::Recorder)
            .build(),
    )
}

/// A KMS client on the test services' moto.
pub async fn kms() -> aws_sdk_kms::Client {
    expect_moto("AWS_ENDPOINT_URL_KMS", "KMS");
    aws_sdk_kms::Client::from_conf(
        aws_sdk_kms::config::Builder::from(&aws_clients::sdk_config().await)
            .interceptor(footprint::Recorder)
            .build(),
    )
}

/// An EventBridge client on the test services' moto.
pub async fn eventbridge() -> aws_sdk_eventbridge::Client {
    expect_moto("AWS_ENDPOINT_URL_EVENTBRIDGE", "EventBridge");
    aws_sdk_eventbridge::Client::from_conf(
        aws_sdk_eventbridge::config::Builder::from(&aws_clients::sdk_config().await)
            .interceptor(footprint::Recorder)
            .build(),
    )
}

/// A store in a new SQLite file (WAL mode, like the local server's) under the system's temp directory.
pub async fn sqlite_store() -> Arc<dyn Engine> {
    sqlite_test_store().await.engine
}

fn new_sqlite_path() -> PathBuf {
    let dir: PathBuf = std::env::temp_dir().join("debts-tests");
    std::fs::create_dir_all(&dir).expect("create temp dir");
    dir.join(format!("{}.sqlite", Uuid::new_v4().simple()))
}

/// A store under test together with a way to read every item it holds, engine by engine: what a test needs
/// to show that a refused request left nothing behind.
#[derive(Clone)]
pub struct TestStore {
    /// The store's roles as every handler gets them: personal fields sealed on the way into the event log,
    /// opened on the way out.
    pub stores: Stores,
    /// The engine underneath, holding what the table and its stream hold (sealed fields).
    pub engine: Arc<dyn Engine>,
    kind: EngineKind,
}

#[derive(Clone)]
enum EngineKind {
    Sqlite(PathBuf),
    Dynamodb(DynamoStore),
}

/// A [`TestStore`] in a new SQLite file.
pub async fn sqlite_test_store() -> TestStore {
    let path = new_sqlite_path();
    let engine: Arc<dyn Engine> = Arc::new(SqliteStore::open(&path).expect("open a SQLite store"));
    TestStore {
        stores: sealing(&engine, &path.with_extension("kek")).stores,
        engine,
        kind: EngineKind::Sqlite(path),
    }
}

/// A [`TestStore`] on a new table in DynamoDB Local, its personal fields sealed under a new KMS key on moto:
/// the AWS path as the functions take it, so the footprint records their KMS calls too.
pub async fn dynamodb_test_store() -> TestStore {
    let table = dynamodb_table().await;
    let engine: Arc<dyn Engine> = Arc::new(table.clone());
    let kms = kms().await;
    let key = kms
        .create_key()
        .description("a test's data keys")
        .send()
        .await
        .expect("create a KMS key in moto");
    let key_id = key
        .key_metadata()
        .map(|m| m.key_id().to_owned())
        .expect("a new key has an id");
    let kek = Arc::new(aws_clients::KmsKek::new(kms, key_id));
    TestStore {
        // No key kept between calls: each call is a cold instance's, so every KMS call a function can make is
        // made (and recorded).
        stores: privacy::seal_keeping_keys(
            &Stores::of(Arc::clone(&engine)),
            kek,
            std::time::Duration::ZERO,
        )
        .stores,
        engine,
        kind: EngineKind::Dynamodb(table),
    }
}

/// `engine`'s roles with its event log behind the sealing store, with a new local key-encryption key file at
/// `kek`.
pub fn sealing(engine: &Arc<dyn Engine>, kek: &std::path::Path) -> SealedStores {
    let kek = privacy::LocalKek::open_or_create(kek).expect("create a key-encryption key");
    privacy::seal(&Stores::of(Arc::clone(engine)), Arc::new(kek))
}

impl TestStore {
    /// The same engine behind a sealing store of its own over `kek` (another function instance: nothing
    /// cached).
    pub fn sealed_by(&self, kek: Arc<dyn privacy::KeyEncryptionKey>) -> TestStore {
        TestStore {
            stores: privacy::seal(&Stores::of(Arc::clone(&self.engine)), kek).stores,
            ..self.clone()
        }
    }

    /// [`TestStore::sealed_by`], keeping no unwrapped key between calls: every open unwraps, as a cold
    /// instance's would.
    pub fn sealed_cold_by(&self, kek: Arc<dyn privacy::KeyEncryptionKey>) -> TestStore {
        let engine = Stores::of(Arc::clone(&self.engine));
        TestStore {
            stores: privacy::seal_keeping_keys(&engine, kek, std::time::Duration::ZERO).stores,
            ..self.clone()
        }
    }

    /// The same table through `engine` (the store's own engine wrapped, e.g. by a hook), sealed under `kek`.
    pub fn through(
        &self,
        engine: Arc<dyn Engine>,
        kek: Arc<dyn privacy::KeyEncryptionKey>,
    ) -> TestStore {
        TestStore {
            stores: privacy::seal(&Stores::of(Arc::clone(&engine)), kek).stores,
            engine,
            kind: self.kind.clone(),
        }
    }

    /// The key-encryption key the store seals under, for a SQLite store (its key file beside the database).
    pub fn sqlite_kek(&self) -> Option<privacy::LocalKek> {
        match &self.kind {
            EngineKind::Sqlite(path) => Some(
                privacy::LocalKek::open_or_create(&path.with_extension("kek"))
                    .expect("open the key-encryption key"),
            ),
            EngineKind::Dynamodb(_) => None,
        }
    }

    /// The engine's own roles (sealed fields), as the stream's readers and analytics see the table.
    pub fn engine_stores(&self) -> Stores {
        Stores::of(Arc::clone(&self.engine))
    }

    /// The aggregate's events as the handlers read them (personal fields opened).
    pub async fn history(&self, of: &store::AggregateRef) -> Vec<events::EventEnvelope> {
        self.stores
            .events
            .load_events(of, 0)
            .await
            .expect("the history loads")
    }

    /// The aggregate's events as the engine holds them (personal fields sealed).
    pub async fn sealed_history(&self, of: &store::AggregateRef) -> Vec<events::EventEnvelope> {
        self.engine
            .load_events(of, 0)
            .await
            .expect("the history loads")
    }

    /// The canonical request a payment's `Idempotency-Key` record is taken over (`commands::idempotency`):
    /// the debt's last event's data, with `note` in place of its note when given.
    pub async fn last_payment_request(&self, debt_id: &str, note: Option<&str>) -> String {
        let last = self
            .history(&debt_ref(debt_id))
            .await
            .pop()
            .expect("a debt");
        let mut body = serde_json::to_value(last).unwrap()["data"].clone();
        if let Some(note) = note {
            body["note"] = serde_json::json!(note);
        }
        serde_json::json!({"route": "record-payment", "debt_id": debt_id, "body": body}).to_string()
    }

    /// Fails, saying `why`, unless the store holds exactly what `before` (a [`TestStore::snapshot`]) held.
    pub async fn assert_unchanged(&self, before: &[String], why: &str) {
        assert_eq!(self.snapshot().await, before, "{why}");
    }

    /// Every item, as canonical JSON (attributes with `PK` and `SK`), sorted.
    pub async fn snapshot(&self) -> Vec<String> {
        match &self.kind {
            EngineKind::Dynamodb(table) => table_snapshot(table).await,
            EngineKind::Sqlite(path) => sqlite_snapshot(path),
        }
    }
}

/// Every row of a SQLite store's file, read through a second connection (WAL lets it read while the store
/// writes), in the same form as [`table_snapshot`].
fn sqlite_snapshot(path: &std::path::Path) -> Vec<String> {
    let connection = rusqlite::Connection::open(path).expect("open the test store's file");
    let mut statement = connection
        .prepare("SELECT pk, sk, attrs FROM items")
        .expect("read the items table");
    let mut items: Vec<String> = statement
        .query_map([], |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, String>(2)?,
            ))
        })
        .expect("list the items")
        .map(|row| {
            let (pk, sk, attrs) = row.expect("a readable row");
            let mut item: serde_json::Value =
                serde_json::from_str(&attrs).expect("JSON attributes");
            item["PK"] = pk.into();
            item["SK"] = sk.into();
            canonical(&item)
        })
        .collect();
    items.sort();
    items
}

/// An envelope around `payload` for `aggregate_id` at `version`.
pub fn envelope(aggregate_id: &str, version: u64, payload: EventPayload) -> EventEnvelope {
    let occurred_at = Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap()
        + chrono::Duration::seconds(version as i64);
    EventEnvelope::new(
        aggregate_id,
        version,
        payload,
        occurred_at,
        "alice",
        Uuid::new_v4(),
    )
}

pub fn user_created(username: &str, email: &str) -> EventEnvelope {
    envelope(
        username,
        1,
        EventPayload::UserCreated(UserCreated {
            username: username.to_owned(),
            email: email.into(),
            full_name: "Test User".into(),
        }),
    )
}

pub fn debt_created(debt_id: &str, owner: &str) -> EventEnvelope {
    envelope(
        debt_id,
        1,
        EventPayload::DebtCreated(DebtCreated {
            owner: owner.to_owned(),
            debt_name: "Car loan".into(),
            principal: Decimal::new(1_500_000, 2),
            interest_rate: Decimal::new(45, 1),
            start_date: chrono::NaiveDate::from_ymd_opt(2025, 6, 1).unwrap(),
            payment_frequency: PaymentFrequency::Monthly,
            current_balance: Decimal::new(1_200_050, 2),
            creditor: Some("First Bank".into()),
            minimum_payment: Some(Decimal::new(25_000, 2)),
            terms: Default::default(),
        }),
    )
}

/// An update of a debt whose serialised form is about `padding` bytes larger than a bare update.
pub fn debt_updated(debt_id: &str, version: u64, padding: usize) -> EventEnvelope {
    envelope(
        debt_id,
        version,
        EventPayload::DebtUpdated(DebtUpdated {
            changes: DebtChanges {
                current_balance: Some(Decimal::new(version as i64, 2)),
                creditor: Some(Some("x".repeat(padding).into())),
                ..DebtChanges::default()
            },
        }),
    )
}

/// Attributes from a JSON object literal.
pub fn attrs(value: serde_json::Value) -> Attributes {
    match value {
        serde_json::Value::Object(map) => map,
        other => panic!("attributes must be an object, got {other}"),
    }
}

pub fn debt_ref(debt_id: &str) -> store::AggregateRef {
    store::AggregateRef::debt(debt_id)
}

pub fn user_ref(username: &str) -> store::AggregateRef {
    store::AggregateRef::user(username)
}

/// A small deterministic generator, so a failing script can be run again exactly.
pub struct Lcg(pub u64);

impl Lcg {
    pub fn next_value(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next_value() % n
    }

    /// An amount in cents between `low` and `high` cents.
    pub fn cents(&mut self, low: i64, high: i64) -> Decimal {
        Decimal::new(low + self.below((high - low) as u64) as i64, 2)
    }
}

/// Log output captured in memory: a `MakeWriter` for a test's own subscriber.
#[derive(Clone, Default)]
pub struct Captured(Arc<std::sync::Mutex<Vec<u8>>>);

impl Captured {
    /// Everything written so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl std::io::Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'w> tracing_subscriber::fmt::MakeWriter<'w> for Captured {
    type Writer = Captured;

    fn make_writer(&'w self) -> Self::Writer {
        self.clone()
    }
}

thread_local! {
    /// Where this thread's log lines go while a [`LogCapture`] lasts.
    static THREAD_CAPTURE: std::cell::RefCell<Option<Captured>> = const { std::cell::RefCell::new(None) };
}

/// What the Lambda functions' JSON subscriber writes on this thread, while [`capture_logs`]'s guard lasts.
#[derive(Clone, Copy, Default)]
struct ThreadCapture;

impl std::io::Write for ThreadCapture {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        THREAD_CAPTURE.with(|capture| match capture.borrow_mut().as_mut() {
            Some(captured) => captured.write(bytes),
            None => Ok(bytes.len()),
        })
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'w> tracing_subscriber::fmt::MakeWriter<'w> for ThreadCapture {
    type Writer = ThreadCapture;

    fn make_writer(&'w self) -> Self::Writer {
        *self
    }
}

/// This thread's log lines, captured until dropped.
pub struct LogCapture(Captured);

impl LogCapture {
    /// Everything this thread logged so far, one JSON object a line.
    pub fn text(&self) -> String {
        self.0.text()
    }
}

impl Drop for LogCapture {
    fn drop(&mut self) {
        THREAD_CAPTURE.with(|capture| capture.borrow_mut().take());
    }
}

/// Captures what this thread logs through the Lambda functions' JSON subscriber. That subscriber is the test
/// binary's one global subscriber, installed on first use, writing each line to the capture of the thread
/// that logs it (other threads' lines go nowhere). A subscriber per thread (`set_default`) would share
/// `tracing`'s per-callsite interest cache with every other thread of the binary, where a callsite first hit
/// without a subscriber can stay silent for the capturing thread: the suites run as one binary, so they
/// capture this way. A test that captures runs its work on its own thread (`current_thread`).
pub fn capture_logs() -> LogCapture {
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    INSTALLED.call_once(|| {
        let subscriber = lambda_support::logging::json_subscriber(ThreadCapture);
        tracing::subscriber::set_global_default(subscriber)
            .expect("nothing else in the test binary installs a global subscriber");
    });
    let captured = Captured::default();
    THREAD_CAPTURE.with(|capture| *capture.borrow_mut() = Some(captured.clone()));
    LogCapture(captured)
}

/// The SHA-256 of `text`, hex: what an idempotency record held of its request before digests were keyed
/// (issue 30, finding 9).
pub fn unkeyed_digest(text: &str) -> String {
    ring::digest::digest(&ring::digest::SHA256, text.as_bytes())
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
