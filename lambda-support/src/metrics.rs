//! Custom metrics in CloudWatch's Embedded Metric Format (EMF): each document is one JSON object on its own
//! line of stdout, which Lambda sends to the function's log group, where CloudWatch extracts the metrics: no
//! API call and no permission beyond writing logs. Locally the same lines appear in the server's output.
//! The metrics, their units and dimensions are listed in `docs/operations.md`.

use std::sync::OnceLock;

use serde_json::{json, Map, Value};

/// The CloudWatch namespace of every metric this API emits.
pub const NAMESPACE: &str = "Debts";

/// The level every metric line states (the level the stack's functions let through: `rust_lambda.py`).
pub const METRIC_LEVEL: &str = "INFO";

/// A metric's unit, named as CloudWatch names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::IntoStaticStr)]
pub enum Unit {
    Count,
    Milliseconds,
}

/// One EMF document: each of `metrics` (name, value, unit) under the one dimension set `dimensions`
/// (name, value), at `timestamp_ms` (milliseconds since the epoch).
pub fn document(
    dimensions: &[(&str, &str)],
    metrics: &[(&str, f64, Unit)],
    timestamp_ms: i64,
) -> Value {
    let mut root = Map::new();
    root.insert(
        "_aws".into(),
        json!({
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [dimensions.iter().map(|(name, _)| *name).collect::<Vec<_>>()],
                "Metrics": metrics
                    .iter()
                    .map(|(name, _, unit)| json!({"Name": name, "Unit": <&str>::from(*unit)}))
                    .collect::<Vec<_>>(),
            }],
        }),
    );
    // Lambda's log-level filter reads a JSON line's `level` and takes a line without one as INFO
    // (https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs-log-level.html): the level is
    // stated, and the stack keeps every function's application log level at INFO, so no metric is filtered
    // out. Verbosity is RUST_LOG's, which never touches these lines.
    root.insert("level".into(), json!(METRIC_LEVEL));
    for (name, value) in dimensions {
        root.insert((*name).into(), json!(value));
    }
    for (name, value, _) in metrics {
        root.insert((*name).into(), json!(value));
    }
    Value::Object(root)
}

/// Where documents go instead of stdout: `wanted` says whether anyone reads them now, so that a document
/// nobody reads is not even built.
struct Sink {
    wanted: Box<dyn Fn() -> bool + Send + Sync>,
    write: Box<dyn Fn(&str) + Send + Sync>,
}

static SINK: OnceLock<Sink> = OnceLock::new();

/// Sends every document to `sink` instead of stdout, for the rest of the process (a test's capture); the
/// first call wins.
pub fn send_to(sink: impl Fn(&str) + Send + Sync + 'static) {
    send_to_when(|| true, sink);
}

/// Sends the documents to `sink` while `wanted()` holds, and drops them unbuilt otherwise (the local server's
/// readable log, which shows them only at debug level); the first call of this or [`send_to`] wins.
pub fn send_to_when(
    wanted: impl Fn() -> bool + Send + Sync + 'static,
    sink: impl Fn(&str) + Send + Sync + 'static,
) {
    let _ = SINK.set(Sink {
        wanted: Box::new(wanted),
        write: Box::new(sink),
    });
}

/// Where a thread's capture sends each document.
type Capture = Box<dyn Fn(&str)>;

thread_local! {
    /// This thread's capture, which takes precedence over the process's sink while it lasts.
    static CAPTURE: std::cell::RefCell<Option<Capture>> = const { std::cell::RefCell::new(None) };
}

/// Ends a capture when dropped.
pub struct CaptureGuard(());

impl Drop for CaptureGuard {
    fn drop(&mut self) {
        CAPTURE.with(|capture| capture.borrow_mut().take());
    }
}

/// Sends the documents emitted on this thread to `sink` until the guard is dropped, whatever the process's
/// sink: a test's capture that other tests of the same process cannot write into (as `tracing`'s
/// `set_default` scopes a subscriber to a thread). The test runs its work on this one thread.
pub fn capture_on_this_thread(sink: impl Fn(&str) + 'static) -> CaptureGuard {
    CAPTURE.with(|capture| *capture.borrow_mut() = Some(Box::new(sink)));
    CaptureGuard(())
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Emits one EMF document now.
pub fn emit(dimensions: &[(&str, &str)], metrics: &[(&str, f64, Unit)]) {
    let captured = CAPTURE.with(|capture| match capture.borrow().as_ref() {
        Some(sink) => {
            sink(&document(dimensions, metrics, now_ms()).to_string());
            true
        }
        None => false,
    });
    if captured {
        return;
    }
    let sink = SINK.get();
    if sink.is_some_and(|sink| !(sink.wanted)()) {
        return;
    }
    let line = document(dimensions, metrics, now_ms()).to_string();
    match sink {
        Some(sink) => (sink.write)(&line),
        // `println!` holds stdout's lock for the whole line, so concurrent documents never interleave.
        None => println!("{line}"),
    }
}

/// Emits one count for the function: `emit(&[("Function", function)], &[(metric, n, Count)])`.
pub fn count(function: &str, metric: &str, n: u64) {
    emit(
        &[("Function", function)],
        &[(metric, n as f64, Unit::Count)],
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_document_follows_the_emf_specification() {
        let doc = document(
            &[("Function", "create-debt"), ("Reason", "conflict")],
            &[
                ("Refused", 1.0, Unit::Count),
                ("Lag", 12.5, Unit::Milliseconds),
            ],
            1_700_000_000_000,
        );
        let directive = &doc["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(doc["_aws"]["Timestamp"], 1_700_000_000_000_i64);
        assert_eq!(directive["Namespace"], NAMESPACE);
        assert_eq!(directive["Dimensions"], json!([["Function", "Reason"]]));
        assert_eq!(
            directive["Metrics"],
            json!([{"Name": "Refused", "Unit": "Count"}, {"Name": "Lag", "Unit": "Milliseconds"}])
        );
        // Every dimension and metric named in the directive is a member of the root with its value.
        assert_eq!(doc["Function"], "create-debt");
        assert_eq!(doc["Reason"], "conflict");
        assert_eq!(doc["Refused"], 1.0);
        assert_eq!(doc["Lag"], 12.5);
        // A stated level, which Lambda's log-level filter reads (the stack lets INFO through).
        assert_eq!(doc["level"], "INFO");
        assert_eq!(doc.as_object().unwrap().len(), 6);
    }
}
