//! `debts-local`: the whole API on one machine (`make run`). Same handlers as on Lambda, an embedded SQLite
//! store in `DATA_DIR` (default `.data`), the projector fed by the store's change feed, on 127.0.0.1:`PORT`
//! (default 3000). `LOG_FORMAT=json` switches the one-line request log to JSON.
//!
//! `--store dynamodb` (or `STORE=dynamodb`) uses the table `TABLE_NAME` (default `debts`) at the endpoint the
//! AWS variables name (DynamoDB Local, or AWS), `--create-table` creates it, and the projector reads the
//! table's stream through the poller: the production path on one machine (`make run-dynamodb`).

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

use auth::{PasswordHasher, SigningKeys, StaticKeys, Tokens};
use local::Gateway;
use privacy::SealedStores;
use projections::replay::{replay, ReplayOptions, Scope};
use store::Stores;
use tokio::sync::watch;
use tools::cli::{ChangeSource, Failure, StoreArgs};

// A request through the gateway makes a few hundred small allocations (headers, the event, JSON); glibc's
// allocator was an eighth of the server's time in issue 16's profile.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Installs the log subscriber; log lines go to stdout through `local::log_writer` (a request appends its
/// line; a thread of its own writes them out in batches, in order, none dropped). The guard writes what is
/// still queued when `main` returns.
fn init_logging() -> local::log_writer::WriterGuard {
    let (stdout, guard) = local::log_writer::batched_stdout();
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("access=info,warn"));
    if std::env::var("LOG_FORMAT").is_ok_and(|f| f == "json") {
        // As on Lambda: JSON log lines and the functions' metric documents, side by side on stdout.
        tracing::subscriber::set_global_default(lambda_support::logging::json_subscriber(stdout))
            .expect("logging is initialised once");
    } else {
        // The readable format keeps the metric documents out of sight (RUST_LOG=metrics=debug shows them).
        lambda_support::metrics::send_to_when(
            || tracing::enabled!(target: "metrics", tracing::Level::DEBUG),
            |line| tracing::debug!(target: "metrics", "{line}"),
        );
        // Colour codes only where someone reads them: not in a file or a pipe.
        let ansi = std::io::IsTerminal::is_terminal(&std::io::stdout());
        let readable = local::logging::readable_subscriber(
            stdout,
            local::log_writer::Timestamps,
            filter,
            ansi,
        );
        tracing::subscriber::set_global_default(readable).expect("logging is initialised once");
    }
    guard
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

fn failed(error: impl std::fmt::Display) -> Failure {
    Failure::Failed(error.to_string())
}

fn signing_keys(data_dir: &std::path::Path) -> Result<StaticKeys, Failure> {
    match std::env::var("JWT_SECRET") {
        Ok(secret) if secret.len() >= 32 => Ok(StaticKeys::from_secret(&secret)),
        Ok(_) => Err(Failure::Usage(
            "JWT_SECRET must be at least 32 characters".into(),
        )),
        Err(_) => StaticKeys::from_file(&data_dir.join("jwt-secret")).map_err(failed),
    }
}

/// The address to listen on: `BIND_ADDRESS` (default 127.0.0.1) and `PORT` (default 3000).
fn listen_address() -> Result<SocketAddr, Failure> {
    let port: u16 = match std::env::var("PORT") {
        Err(_) => 3000,
        Ok(port) => port
            .parse()
            .map_err(|_| Failure::Usage("PORT must be a port number".into()))?,
    };
    let host = std::env::var("BIND_ADDRESS").unwrap_or_else(|_| "127.0.0.1".into());
    format!("{host}:{port}")
        .parse()
        .map_err(|_| Failure::Usage("BIND_ADDRESS must be an IP address".into()))
}

/// The store options from the environment and the command line (`--store`, `--create-table`, ...).
fn store_args() -> Result<StoreArgs, Failure> {
    let mut store = StoreArgs::from_env();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let value = |name: &str| args.next().ok_or_else(|| format!("{name} needs a value"));
        if !store.accept(&arg, value).map_err(Failure::Usage)? {
            return Err(Failure::Usage(format!("unknown argument {arg}")));
        }
    }
    Ok(store)
}

/// Every handler's dependencies over the store, as the Lambda `main`s build them on AWS, and the
/// authorizer's.
fn gateway(sealed: &SealedStores, passwords: PasswordHasher, tokens: Tokens) -> Gateway {
    let handlers = api::Handlers::new(
        &sealed.stores,
        Arc::clone(&sealed.engine_events),
        passwords,
        tokens.clone(),
    );
    Gateway {
        handlers,
        tokens,
        accounts: Arc::clone(&sealed.stores.records),
        authorizer_cache: local::AuthorizerCache::from_env(),
    }
}

/// Events committed before a crash may not be projected yet: catches every aggregate up.
async fn catch_up(stores: &Stores) -> Result<(), Failure> {
    let report = replay(stores, &ReplayOptions::new(Scope::All), |_| {})
        .await
        .map_err(|e| Failure::Failed(format!("cannot catch the read model up: {e}")))?;
    if report.rewritten + report.removed > 0 {
        println!(
            "caught up {} read items, removed {}",
            report.rewritten, report.removed
        );
    }
    Ok(())
}

async fn run() -> Result<(), Failure> {
    let args = store_args()?;
    let data_dir = args.data_dir.clone();
    let address = listen_address()?;
    let passwords = PasswordHasher::from_env().map_err(|e| Failure::Usage(e.to_string()))?;
    std::fs::create_dir_all(&data_dir)
        .map_err(|e| Failure::Failed(format!("cannot create {}: {e}", data_dir.display())))?;
    let (sealed, source) = args.open_with_changes().await.map_err(Failure::Failed)?;
    let keys: Arc<dyn SigningKeys> = Arc::new(signing_keys(&data_dir)?);
    let tokens = Tokens::new(keys, auth::tokens::issuer_from_env());
    catch_up(&sealed.stores).await?;

    let (stop_projector, stopped) = watch::channel(false);
    let projector = match source {
        ChangeSource::Feed(feed) => local::projector::spawn(sealed.clone(), feed, stopped),
        ChangeSource::Stream(poller) => {
            local::projector::spawn_stream(sealed.clone(), poller, stopped)
        }
    };
    let gateway = Arc::new(gateway(&sealed, passwords, tokens));
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .map_err(|e| Failure::Failed(format!("cannot listen on {address}: {e}")))?;
    let url = format!("http://{}", listener.local_addr().unwrap_or(address));
    println!("debts API on {url} (data in {})", data_dir.display());
    println!("try: curl -s {url}/healthz");
    local::serve::serve(
        listener,
        gateway,
        local::serve::Limits::from_env(),
        shutdown_signal(),
    )
    .await;
    let _ = stop_projector.send(true);
    let _ = projector.await;
    println!("stopped; every committed event is projected");
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    let _log_writer = init_logging();
    Failure::exit(run().await)
}
