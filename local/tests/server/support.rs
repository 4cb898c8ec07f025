//! What the tests that start `debts-local` as its own process share: a free port, and the command that
//! starts it as `make run` does, on the embedded store unless the caller says otherwise.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `debts-local` on `port` over `data_dir`, with the lowest password work factor and a generated signing
/// secret; the caller adds its own settings and spawns it.
pub fn debts_local(data_dir: &Path, port: u16) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_debts-local"));
    command
        .env("STORE", "sqlite")
        .env("PORT", port.to_string())
        .env("DATA_DIR", data_dir)
        .env("PASSWORD_HASH_ITERATIONS", "100000")
        .env_remove("JWT_SECRET")
        .env_remove("LOG_FORMAT");
    command
}

/// Starts the gateway on `port` over `data_dir` and waits until it accepts connections.
pub fn start(data_dir: &Path, port: u16) -> Child {
    let child = debts_local(data_dir, port)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start debts-local");
    let deadline = Instant::now() + Duration::from_secs(120);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "debts-local did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    child
}

/// A fresh data directory for one test's server, under the system's temporary directory.
pub fn data_dir(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("debts-{test}-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).expect("create the data directory");
    dir
}
