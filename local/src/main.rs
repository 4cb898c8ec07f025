//! `debts-local`: the whole API on one machine (`make run`). Same handlers as on Lambda, an embedded SQLite
//! store in `DATA_DIR` (default `.data`), the projector fed by the store's change feed, on 127.0.0.1:`PORT`
//! (default 3000). `LOG_FORMAT=json` switches the one-line request log to JSON.
//!
//! `--store dynamodb` (or `STORE=dynamodb`) uses the table `TABLE_NAME` (default `debts`) at the endpoint the
//! AWS variables name (DynamoDB Local, or AWS), `--create-table` creates it, and the projector reads the
//! table's stream through the poller: the production path on one machine (`make run-dynamodb`).

use std::net::{IpAddr, SocketAddr};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use auth::{PasswordHasher, SigningKeys, StaticKeys, Tokens};
use local::Gateway;
use privacy::SealedStores;
use projections::replay::{replay, ReplayOptions, Scope};
use store::Stores;
use tokio::sync::watch;
use tools::cli::{parse_args, ChangeSource, Failure, StoreArgs};

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

/// The whole API on one machine, from the Lambda handlers, over an embedded store (or DynamoDB). Every
/// option can also be set by the environment variable named beside it.
#[derive(clap::Parser)]
#[command(name = "debts-local")]
struct Args {
    #[command(flatten)]
    store: StoreArgs,
    /// The port to listen on.
    #[arg(long, env = "PORT", default_value_t = 3000)]
    port: u16,
    /// The address to listen on.
    #[arg(long, env = "BIND_ADDRESS", default_value = "127.0.0.1")]
    bind_address: IpAddr,
    /// The tokens' signing secret, at least 32 characters; without it, one generated in DATA_DIR/jwt-secret.
    #[arg(long, env = "JWT_SECRET", hide_env_values = true, value_parser = long_secret)]
    jwt_secret: Option<String>,
    /// How long a client has to send its headers, in seconds.
    #[arg(long, env = "HEADER_TIMEOUT_SECS", default_value_t = 10)]
    header_timeout_secs: u64,
    /// The most connections served at once.
    #[arg(long, env = "MAX_CONNECTIONS", default_value_t = 512)]
    max_connections: usize,
    /// The most connections one client address holds at once; more are closed as they come.
    #[arg(long, env = "MAX_CONNECTIONS_PER_CLIENT", default_value_t = 128)]
    max_connections_per_client: usize,
    /// How long a shutdown waits for requests in flight, in seconds.
    #[arg(long, env = "SHUTDOWN_GRACE_SECS", default_value_t = 10)]
    shutdown_grace_secs: u64,
    /// How long the authorizer's decision on a token is kept, in seconds (API Gateway's cache; 0 asks it
    /// every time).
    #[arg(long, env = "AUTHORIZER_CACHE_SECS", default_value_t = 30)]
    authorizer_cache_secs: u64,
    /// The sender of notice emails, which are written to DATA_DIR/outbox/ as .eml files (SES sends them on AWS).
    #[arg(long, env = "MAIL_FROM", default_value = "notices@localhost")]
    mail_from: String,
    /// How often the notice sweep runs, in seconds (every 15 minutes on AWS); 0 never runs it.
    #[arg(long, env = "NOTICE_SWEEP_SECS", default_value_t = 60)]
    notice_sweep_secs: u64,
}

fn long_secret(secret: &str) -> Result<String, String> {
    if secret.len() >= 32 {
        Ok(secret.to_owned())
    } else {
        Err("must be at least 32 characters".into())
    }
}

impl Args {
    fn signing_keys(&self) -> Result<StaticKeys, Failure> {
        match &self.jwt_secret {
            Some(secret) => Ok(StaticKeys::from_secret(secret)),
            None => StaticKeys::from_file(&self.store.data_dir.join("jwt-secret")).map_err(failed),
        }
    }

    fn limits(&self) -> local::serve::Limits {
        local::serve::Limits {
            header_timeout: Duration::from_secs(self.header_timeout_secs),
            max_connections: self.max_connections,
            max_connections_per_client: self.max_connections_per_client,
            shutdown_grace: Duration::from_secs(self.shutdown_grace_secs),
        }
    }
}

/// Every handler's dependencies over the store, as the Lambda `main`s build them on AWS, and the
/// authorizer's.
fn gateway(
    sealed: &SealedStores,
    passwords: PasswordHasher,
    tokens: Tokens,
    authorizer_cache: Duration,
) -> Gateway {
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
        authorizer_cache: local::AuthorizerCache::new(authorizer_cache),
        throttles: local::throttle::Throttles::from_openapi(
            local::OPENAPI,
            std::time::Instant::now(),
        ),
        web: local::web::WebClient::from_env(),
    }
}

/// The notice emailer as the bus's second consumer here: messages go to `DATA_DIR/outbox/` as `.eml` files,
/// from `from`, with unsubscribe links under the server's own URL.
fn notice_email(
    stores: &Stores,
    data_dir: &std::path::Path,
    from: &str,
    url: &str,
) -> Arc<notices::email::EmailDeps> {
    Arc::new(notices::email::EmailDeps {
        user_events: Arc::clone(&stores.events),
        read_model: Arc::clone(&stores.read_model),
        records: Arc::clone(&stores.records),
        mailer: Arc::new(notices::email::OutboxMailer {
            dir: data_dir.join("outbox"),
        }),
        from: from.to_owned(),
        links: Arc::new(notices::email::UnsubscribeLinks {
            records: Arc::clone(&stores.records),
            base_url: Some(url.to_owned()),
        }),
    })
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
    let args: Args = parse_args()?;
    let data_dir = args.store.data_dir.clone();
    let address = SocketAddr::new(args.bind_address, args.port);
    let passwords = PasswordHasher::from_env().map_err(|e| Failure::Usage(e.to_string()))?;
    std::fs::create_dir_all(&data_dir)
        .map_err(|e| Failure::Failed(format!("cannot create {}: {e}", data_dir.display())))?;
    // The store, the signing secret and the key-encryption key live here: its owner's only.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&data_dir, std::fs::Permissions::from_mode(0o700))
            .map_err(|e| Failure::Failed(format!("cannot restrict {}: {e}", data_dir.display())))?;
    }
    let keys: Arc<dyn SigningKeys> = Arc::new(args.signing_keys()?);
    let (sealed, source) = args
        .store
        .clone()
        .open_with_changes()
        .await
        .map_err(Failure::Failed)?;
    let tokens = Tokens::new(keys, auth::tokens::issuer_from_env());
    catch_up(&sealed.stores).await?;

    let listener = tokio::net::TcpListener::bind(address)
        .await
        .map_err(|e| Failure::Failed(format!("cannot listen on {address}: {e}")))?;
    let url = format!("http://{}", listener.local_addr().unwrap_or(address));
    let email = notice_email(&sealed.stores, &data_dir, &args.mail_from, &url);
    let (stop_projector, stopped) = watch::channel(false);
    let projector = match source {
        ChangeSource::Feed(feed) => {
            local::projector::spawn(sealed.clone(), Some(email), feed, stopped)
        }
        ChangeSource::Stream(poller) => {
            local::projector::spawn_stream(sealed.clone(), Some(email), poller, stopped)
        }
    };
    let sweeper = (args.notice_sweep_secs > 0).then(|| {
        let engine = sealed
            .stores
            .clone()
            .with_events(Arc::clone(&sealed.engine_events));
        local::notice_timer::NoticeTimer::new(&engine, Arc::new(chrono::Utc::now)).spawn(
            Duration::from_secs(args.notice_sweep_secs),
            stop_projector.subscribe(),
        )
    });
    let authorizer_cache = Duration::from_secs(args.authorizer_cache_secs);
    let gateway = Arc::new(gateway(&sealed, passwords, tokens, authorizer_cache));
    println!("debts API on {url} (data in {})", data_dir.display());
    println!("try: curl -s {url}/healthz");
    local::serve::serve(listener, gateway, args.limits(), shutdown_signal()).await;
    let _ = stop_projector.send(true);
    let _ = projector.await;
    if let Some(sweeper) = sweeper {
        let _ = sweeper.await;
    }
    println!("stopped; every committed event is projected");
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    let _log_writer = init_logging();
    Failure::exit(run().await)
}
