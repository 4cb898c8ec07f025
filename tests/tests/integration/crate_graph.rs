//! The crate edges the design draws, checked against `cargo metadata`: the command and query libraries work
//! over the store's ports and link no engine and no AWS SDK crate; Lambda functions link only what they use
//! (no HTTP function links SQLite or the DynamoDB Streams SDK; the others do not link the HTTP plumbing); and
//! the crate graph in `docs/architecture.md` is the one Cargo resolves.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests crate sits in the workspace")
        .to_owned()
}

/// Every package's normal (non-dev, non-build) dependencies, by name, and the workspace members' names.
struct Graph {
    normal: BTreeMap<String, BTreeSet<String>>,
    members: BTreeSet<String>,
    binaries: BTreeMap<String, Vec<String>>,
}

fn graph() -> Graph {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--locked"])
        .current_dir(workspace_root())
        .output()
        .expect("run cargo metadata");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let metadata: Value = serde_json::from_slice(&output.stdout).expect("metadata is JSON");
    let packages = metadata["packages"].as_array().unwrap();
    let name_of: BTreeMap<&str, String> = packages
        .iter()
        .map(|p| {
            (
                p["id"].as_str().unwrap(),
                p["name"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let members: BTreeSet<String> = metadata["workspace_members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|id| name_of[id.as_str().unwrap()].clone())
        .collect();
    let binaries = packages
        .iter()
        .filter(|p| members.contains(p["name"].as_str().unwrap()))
        .map(|p| {
            let bins = p["targets"].as_array().unwrap().iter();
            let bins = bins
                .filter(|t| t["kind"].as_array().unwrap().iter().any(|k| k == "bin"))
                .map(|t| t["name"].as_str().unwrap().to_owned())
                .collect();
            (p["name"].as_str().unwrap().to_owned(), bins)
        })
        .collect();
    let mut normal = BTreeMap::new();
    for node in metadata["resolve"]["nodes"].as_array().unwrap() {
        let deps = node["deps"].as_array().unwrap().iter();
        let deps = deps
            .filter(|d| {
                d["dep_kinds"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|k| k["kind"].is_null())
            })
            .map(|d| name_of[d["pkg"].as_str().unwrap()].clone())
            .collect();
        normal.insert(name_of[node["id"].as_str().unwrap()].clone(), deps);
    }
    Graph {
        normal,
        members,
        binaries,
    }
}

impl Graph {
    /// Every crate `package` links, itself excluded.
    fn closure(&self, package: &str) -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        let mut todo = vec![package.to_owned()];
        while let Some(next) = todo.pop() {
            for dep in self.normal.get(&next).into_iter().flatten() {
                if seen.insert(dep.clone()) {
                    todo.push(dep.clone());
                }
            }
        }
        seen
    }

    /// The workspace crates `package` depends on directly.
    fn direct_members(&self, package: &str) -> BTreeSet<String> {
        self.normal[package]
            .iter()
            .filter(|d| self.members.contains(*d))
            .cloned()
            .collect()
    }
}

/// Whether `package` is a crate of the AWS SDK (its clients, configuration and runtime).
fn is_aws_sdk(package: &str) -> bool {
    package.starts_with("aws-sdk-")
        || package.starts_with("aws-smithy-")
        || matches!(
            package,
            "aws-config" | "aws-runtime" | "aws-types" | "aws-credential-types"
        )
}

#[test]
fn the_command_and_query_libraries_work_over_the_ports_only() {
    let graph = graph();
    for package in ["commands", "queries", "api"] {
        assert!(
            graph.binaries[package].is_empty(),
            "{package} is a library; its functions' mains are in functions/"
        );
        let linked = graph.closure(package);
        let engines: Vec<&String> = linked
            .iter()
            .filter(|c| is_aws_sdk(c) || c.starts_with("store-") || *c == "rusqlite")
            .collect();
        assert!(
            engines.is_empty(),
            "{package} links an engine or the AWS SDK: {engines:?}"
        );
    }
}

#[test]
fn http_functions_link_neither_sqlite_nor_the_streams_sdk() {
    let graph = graph();
    let bins = &graph.binaries["http-functions"];
    let routes: std::collections::BTreeSet<&str> = api::ROUTES.iter().map(|r| r.function).collect();
    assert_eq!(
        bins.iter()
            .map(String::as_str)
            .collect::<std::collections::BTreeSet<_>>(),
        routes,
        "one function per route's function name, no other"
    );
    let linked = graph.closure("http-functions");
    for forbidden in [
        "rusqlite",
        "libsqlite3-sys",
        "aws-sdk-dynamodbstreams",
        "tools",
        "projections",
    ] {
        assert!(
            !linked.contains(forbidden),
            "the HTTP functions ({bins:?}) link {forbidden}"
        );
    }
}

#[test]
fn functions_that_serve_no_http_route_do_not_link_the_http_plumbing() {
    let graph = graph();
    let bins = &graph.binaries["event-functions"];
    for function in [
        "authorizer",
        "projector",
        "replay",
        "publish-events",
        "analytics",
        "notice-sweep",
    ] {
        assert!(bins.iter().any(|b| b == function), "{function} in {bins:?}");
    }
    let linked = graph.closure("event-functions");
    for forbidden in ["http-api", "lambda_http", "rusqlite", "tools", "commands"] {
        assert!(
            !linked.contains(forbidden),
            "the functions {bins:?} link {forbidden}"
        );
    }
}

/// The graph in `docs/architecture.md`: between the `crate-graph` markers, one line per crate,
/// `crate -> dep, dep` naming its direct workspace dependencies.
fn documented_graph() -> BTreeMap<String, BTreeSet<String>> {
    let text = std::fs::read_to_string(workspace_root().join("docs/architecture.md")).unwrap();
    let (_, rest) = text
        .split_once("<!-- crate-graph -->")
        .expect("docs/architecture.md has a crate graph");
    let (block, _) = rest.split_once("<!-- /crate-graph -->").unwrap();
    block
        .lines()
        .filter_map(|line| line.split_once("->"))
        .map(|(name, deps)| {
            let deps = deps
                .split(',')
                .map(|d| d.trim().to_owned())
                .filter(|d| !d.is_empty() && d != "(none)")
                .collect();
            (name.trim().to_owned(), deps)
        })
        .collect()
}

#[test]
fn the_documented_crate_graph_is_the_one_cargo_resolves() {
    let graph = graph();
    let resolved: BTreeMap<String, BTreeSet<String>> = graph
        .members
        .iter()
        .map(|m| (m.clone(), graph.direct_members(m)))
        .collect();
    let documented = documented_graph();
    for (name, deps) in &resolved {
        let line = deps.iter().cloned().collect::<Vec<_>>().join(", ");
        assert_eq!(
            documented.get(name),
            Some(deps),
            "docs/architecture.md should say: {name} -> {}",
            if line.is_empty() { "(none)" } else { &line }
        );
    }
    assert_eq!(
        documented.keys().collect::<Vec<_>>(),
        resolved.keys().collect::<Vec<_>>()
    );
}
