//! `debts-local`: the whole API on one machine (`make run`). Same handlers as on Lambda, an embedded SQLite
//! store in `DATA_DIR` (default `.data`), the projector fed by the store's change feed, on 127.0.0.1:`PORT`
//! (default 3000). `LOG_FORMAT=json` switches the one-line request log to JSON.
//!
//! `--store dynamodb` (or `STORE=dynamodb`) uses the table `TABLE_NAME` (default `debts`) at the endpoint the
//! AWS variables name (DynamoDB Local, or AWS), `--create-table` creates it, and the projector reads the
//! table's stream through the poller: the production path on one machine (`make run-dynamodb`).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use auth::{PasswordHasher, SigningKeys, StaticKeys, Tokens};
use commands::{DebtDeps, LoginDeps, UserDeps};
use local::Gateway;
use projections::replay::{replay, ReplayOptions, Scope};
use queries::QueryDeps;
use store::EventStore;
use store_sqlite::SqliteStore;
use tokio::sync::watch;

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("access=info,warn"));
    if std::env::var("LOG_FORMAT").is_ok_and(|f| f == "json") {
        tracing::subscriber::set_global_default(http_api::logging::json_subscriber(
            std::io::stdout,
        ))
        .expect("logging is initialised once");
    } else {
        tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_target(false)
            .compact()
            .init();
    }
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                .expect("install the SIGTERM handler");
        tokio::select! {
            _ = ctrl_c => {},
            _ = terminate.recv() => {},
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

/// Where committed events come from: the SQLite change feed or the DynamoDB table's stream.
enum ChangeSource {
    Feed(tokio::sync::mpsc::UnboundedReceiver<store::ItemKey>),
    Stream(projections::stream::StreamPoller),
}

async fn open_store(
    kind: &str,
    data_dir: &std::path::Path,
    create: bool,
) -> Result<(Arc<dyn EventStore>, ChangeSource), String> {
    match kind {
        "sqlite" => {
            let (store, feed) = SqliteStore::open_with_feed(data_dir.join("debts.sqlite"))
                .map_err(|e| format!("cannot open the store in {}: {e}", data_dir.display()))?;
            Ok((Arc::new(store), ChangeSource::Feed(feed)))
        }
        "dynamodb" => {
            let table = std::env::var("TABLE_NAME").unwrap_or_else(|_| "debts".into());
            let config = aws_env::load().await;
            let client = aws_sdk_dynamodb::Client::new(&config);
            if create {
                store_dynamodb::create_table(&client, &table)
                    .await
                    .map_err(|e| format!("cannot create the table {table}: {e}"))?;
            }
            // Reading from the oldest record means nothing committed before start-up is missed.
            let poller = projections::stream::StreamPoller::for_table(
                &client,
                &config,
                &table,
                projections::stream::StartAt::TrimHorizon,
            )
            .await
            .map_err(|e| {
                format!("cannot read the stream of {table}: {e} (start with --create-table?)")
            })?;
            Ok((
                Arc::new(store_dynamodb::DynamoStore::new(client, table)),
                ChangeSource::Stream(poller),
            ))
        }
        other => Err(format!("unknown store {other}: use sqlite or dynamodb")),
    }
}

fn signing_keys(data_dir: &std::path::Path) -> Result<StaticKeys, String> {
    match std::env::var("JWT_SECRET") {
        Ok(secret) if secret.len() >= 32 => Ok(StaticKeys::from_secret(&secret)),
        Ok(_) => Err("JWT_SECRET must be at least 32 characters".into()),
        Err(_) => StaticKeys::from_file(&data_dir.join("jwt-secret")).map_err(|e| e.to_string()),
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    init_logging();
    let data_dir = PathBuf::from(std::env::var("DATA_DIR").unwrap_or_else(|_| ".data".into()));
    let port: u16 = match std::env::var("PORT").map(|p| p.parse()) {
        Err(_) => 3000,
        Ok(Ok(port)) => port,
        Ok(Err(_)) => {
            eprintln!("PORT must be a port number");
            return ExitCode::from(2);
        }
    };
    let host = std::env::var("BIND_ADDRESS").unwrap_or_else(|_| "127.0.0.1".into());
    if let Err(e) = std::fs::create_dir_all(&data_dir) {
        eprintln!("cannot create {}: {e}", data_dir.display());
        return ExitCode::FAILURE;
    }
    let args: Vec<String> = std::env::args().skip(1).collect();
    let store_kind = args
        .iter()
        .position(|a| a == "--store")
        .and_then(|i| args.get(i + 1).cloned())
        .or_else(|| std::env::var("STORE").ok())
        .unwrap_or_else(|| "sqlite".into());
    let (store, source) = match open_store(
        &store_kind,
        &data_dir,
        args.iter().any(|a| a == "--create-table"),
    )
    .await
    {
        Ok(opened) => opened,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    let passwords = match PasswordHasher::from_env() {
        Ok(hasher) => hasher,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let keys: Arc<dyn SigningKeys> = match signing_keys(&data_dir) {
        Ok(keys) => Arc::new(keys),
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    let tokens = Tokens::new(keys, auth::tokens::issuer_from_env());

    // Events committed before a crash may not be projected yet: catch every aggregate up first.
    match replay(Arc::clone(&store), &ReplayOptions::new(Scope::All), |_| {}).await {
        Ok(report) if report.rewritten + report.removed > 0 => {
            println!(
                "caught up {} read items, removed {}",
                report.rewritten, report.removed
            )
        }
        Ok(_) => {}
        Err(e) => {
            eprintln!("cannot catch the read model up: {e}");
            return ExitCode::FAILURE;
        }
    }
    let (stop_projector, stopped) = watch::channel(false);
    let projector = match source {
        ChangeSource::Feed(feed) => local::projector::spawn(Arc::clone(&store), feed, stopped),
        ChangeSource::Stream(poller) => {
            local::projector::spawn_stream(Arc::clone(&store), poller, stopped)
        }
    };

    let gateway = Arc::new(Gateway {
        users: UserDeps {
            store: Arc::clone(&store),
            passwords: passwords.clone(),
        },
        login: LoginDeps {
            store: Arc::clone(&store),
            passwords,
            tokens: tokens.clone(),
        },
        debts: DebtDeps {
            store: Arc::clone(&store),
        },
        queries: QueryDeps {
            store: Arc::clone(&store),
        },
        tokens,
    });
    let address: SocketAddr = match format!("{host}:{port}").parse() {
        Ok(address) => address,
        Err(_) => {
            eprintln!("BIND_ADDRESS must be an IP address");
            return ExitCode::from(2);
        }
    };
    let listener = match tokio::net::TcpListener::bind(address).await {
        Ok(listener) => listener,
        Err(e) => {
            eprintln!("cannot listen on {address}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let url = format!(
        "http://{}",
        listener
            .local_addr()
            .map(|a| a.to_string())
            .unwrap_or(address.to_string())
    );
    println!("debts API on {url} (data in {})", data_dir.display());
    println!("try: curl -s {url}/healthz");
    let app = axum::Router::new().fallback(move |request: axum::extract::Request| {
        let gateway = Arc::clone(&gateway);
        async move { gateway.handle(request).await }
    });
    let served = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await;
    let _ = stop_projector.send(true);
    let _ = projector.await;
    match served {
        Ok(()) => {
            println!("stopped; every committed event is projected");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("server error: {e}");
            ExitCode::FAILURE
        }
    }
}
