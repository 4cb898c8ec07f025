//! Running a tool as an operator would: the binary, its arguments, a SQLite data directory.

use std::path::Path;
use std::process::Command;

/// What a run of `binary` on the SQLite store in `data_dir` ended with: exit code, stdout, stderr.
pub fn run_tool(binary: &str, data_dir: &Path, args: &[&str]) -> (i32, String, String) {
    let output = Command::new(binary)
        .args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .env_remove("STORE")
        .output()
        .unwrap_or_else(|e| panic!("run {binary}: {e}"));
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}
