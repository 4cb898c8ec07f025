//! The footprint recorder: what each Lambda function asks of AWS, noted while the suites run, so the stack's
//! permissions can be derived from it (`infrastructure/footprint.json`, written by `make footprint` and held
//! equal to what a run records by `make test`).
//!
//! Every SDK client the suites build (DynamoDB on DynamoDB Local; KMS, Secrets Manager and EventBridge on
//! moto) carries [`Recorder`], an interceptor that reads each serialized request as AWS would authorize it:
//! the IAM action (a transaction's items each by their own action, as IAM checks them), the resource (the
//! table, the data key, the secret, the bus), the partition-key family of every item it touches
//! (what `dynamodb:LeadingKeys` sees) and the KMS encryption context's keys. A call is the function's whose
//! work is running: the suites run each function's entry point inside [`as_function`]. Calls outside any
//! function (a test's own setup and checks) are not recorded.
//!
//! With `FOOTPRINT_DIR` set, each process appends its calls as JSON lines to a file of its own there; without
//! it, nothing is written.

use std::collections::BTreeSet;
use std::future::Future;
use std::io::Write;
use std::sync::Mutex;

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use serde::Serialize;
use serde_json::Value;

tokio::task_local! {
    static FUNCTION: &'static str;
}

/// The functions whose work is running in this process, one entry per running [`as_function`]. A call from
/// a task the function spawned (replay's scan segments) does not see the task-local: it is the function's
/// when exactly one function is running, and unattributed otherwise.
static RUNNING: Mutex<Vec<&'static str>> = Mutex::new(Vec::new());

struct Running(&'static str);

impl Drop for Running {
    fn drop(&mut self) {
        let mut running = RUNNING.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(at) = running.iter().position(|f| *f == self.0) {
            running.remove(at);
        }
    }
}

/// Runs `work` as the Lambda function `function` (its name in the stack, `create-user`, `projector`, ...):
/// the AWS calls it makes are that function's.
pub async fn as_function<F: Future>(function: &'static str, work: F) -> F::Output {
    RUNNING
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(function);
    let _running = Running(function);
    FUNCTION.scope(function, work).await
}

/// Runs `work` as no function at all: a test's own setup (a fixture's reads), whose calls no function's
/// footprint holds.
pub async fn as_fixture<F: Future>(work: F) -> F::Output {
    FUNCTION.scope(FIXTURE, work).await
}

/// The label of a test's own calls, which are not recorded.
const FIXTURE: &str = "";

fn current_function() -> Option<&'static str> {
    if let Ok(function) = FUNCTION.try_with(|f| *f) {
        return Some(function);
    }
    let running = RUNNING.lock().unwrap_or_else(|e| e.into_inner());
    let distinct: BTreeSet<&str> = running.iter().copied().collect();
    match distinct.len() {
        1 => distinct.into_iter().next(),
        _ => None,
    }
}

/// One permission a call needs, as the footprint file lists it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Use {
    pub function: String,
    /// The IAM action (`dynamodb:PutItem`, `kms:Decrypt`, ...).
    pub action: String,
    /// `table`, `data-keys`, `auth-secret` or `bus`: the stack's resource, by its role.
    pub resource: &'static str,
    /// The partition-key family the item's key starts with (`USER#`), for a DynamoDB call on keys; `None`
    /// for a scan, which reads every partition.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub partition: Option<String>,
    /// The KMS encryption context's keys.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub context: Vec<String>,
}

/// The interceptor every test client carries (see the module's documentation).
#[derive(Debug, Default, Clone, Copy)]
pub struct Recorder;

impl Intercept for Recorder {
    fn name(&self) -> &'static str {
        "FootprintRecorder"
    }

    fn read_after_serialization(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Some(function) = current_function().filter(|f| *f != FIXTURE) else {
            return Ok(());
        };
        let request = context.request();
        let Some(target) = request.headers().get("x-amz-target") else {
            // The REST-JSON services, by method and path.
            let uses = rest_uses(request.method(), request.uri())?;
            write(function, uses);
            return Ok(());
        };
        let body: Value = match request.body().bytes() {
            Some(bytes) if !bytes.is_empty() => serde_json::from_slice(bytes)?,
            _ => Value::Null,
        };
        let uses = uses_of(target, &body)?;
        write(function, uses);
        Ok(())
    }
}

/// An action and what it touches, before the function is known.
type Touch = (String, &'static str, Option<String>, Vec<String>);

/// What the request `target` (`Service.Operation`) with `body` asks of IAM.
fn uses_of(target: &str, body: &Value) -> Result<Vec<Touch>, BoxError> {
    let (service, operation) = target
        .split_once('.')
        .ok_or_else(|| format!("unexpected X-Amz-Target {target}"))?;
    let action = |prefix: &str, operation: &str| format!("{prefix}:{operation}");
    Ok(match service {
        s if s.starts_with("DynamoDB_") => dynamodb_uses(operation, body)?,
        "TrentService" => {
            let mut keys: Vec<String> = body["EncryptionContext"]
                .as_object()
                .map(|context| context.keys().cloned().collect())
                .unwrap_or_default();
            keys.sort();
            vec![(action("kms", operation), "data-keys", None, keys)]
        }
        "secretsmanager" => vec![(
            action("secretsmanager", operation),
            "auth-secret",
            None,
            vec![],
        )],
        "AWSEvents" => vec![(action("events", operation), "bus", None, vec![])],
        other => return Err(format!("no footprint rule for the service of {other}").into()),
    })
}

/// What a REST-JSON request asks of IAM: SES API v2's `SendEmail` (`POST /v2/email/outbound-emails`) is
/// `ses:SendEmail` on the sending identity, whatever its content (simple or raw).
fn rest_uses(method: &str, uri: &str) -> Result<Vec<Touch>, BoxError> {
    let path = uri.split('?').next().unwrap_or(uri);
    match (method, path.ends_with("/v2/email/outbound-emails")) {
        ("POST", true) => Ok(vec![(
            "ses:SendEmail".to_owned(),
            "mail-identity",
            None,
            vec![],
        )]),
        _ => Err(format!("no footprint rule for {method} {uri}").into()),
    }
}

/// The partition-key family of `pk`: the longest of `store::keys::PARTITION_FAMILIES` it starts with.
fn family(pk: &str) -> Result<String, BoxError> {
    store::keys::PARTITION_FAMILIES
        .iter()
        .filter(|f| pk.starts_with(**f))
        .max_by_key(|f| f.len())
        .map(|f| (*f).to_owned())
        .ok_or_else(|| {
            format!("partition key {pk:?} is of no family in store::keys::PARTITION_FAMILIES")
                .into()
        })
}

fn pk_of(key: &Value) -> Result<String, BoxError> {
    let pk = key["PK"]["S"]
        .as_str()
        .ok_or_else(|| format!("an item key without a string PK: {key}"))?;
    family(pk)
}

/// The table, the one resource of every DynamoDB call: it has no index, so a request naming one is a bug.
fn resource_of(request: &Value) -> Result<&'static str, BoxError> {
    match request.get("IndexName") {
        Some(index) => Err(format!("a request names index {index}, and the table has none").into()),
        None => Ok("table"),
    }
}

fn dynamodb_uses(operation: &str, body: &Value) -> Result<Vec<Touch>, BoxError> {
    let action = |operation: &str| format!("dynamodb:{operation}");
    let one = |operation: &str, key: &Value| -> Result<Touch, BoxError> {
        Ok((
            action(operation),
            resource_of(body)?,
            Some(pk_of(key)?),
            vec![],
        ))
    };
    Ok(match operation {
        "GetItem" | "DeleteItem" | "UpdateItem" => vec![one(operation, &body["Key"])?],
        "PutItem" => vec![one(operation, &body["Item"])?],
        "Query" => vec![(
            action(operation),
            resource_of(body)?,
            Some(family(&query_partition(body)?)?),
            vec![],
        )],
        "Scan" => vec![(action(operation), resource_of(body)?, None, vec![])],
        // IAM authorizes each item of a transaction by the action it performs.
        "TransactWriteItems" | "TransactGetItems" => transaction_uses(body)?,
        "BatchWriteItem" | "BatchGetItem" => batch_uses(operation, body)?,
        // Anything else (describing or creating a table) touches no item.
        _ => vec![(action(operation), "table", None, vec![])],
    })
}

/// Each item of a transaction, as the action IAM checks it by.
fn transaction_uses(body: &Value) -> Result<Vec<Touch>, BoxError> {
    let mut uses = Vec::new();
    for item in body["TransactItems"].as_array().into_iter().flatten() {
        let (kind, request) = item
            .as_object()
            .and_then(|o| o.iter().next())
            .ok_or("an empty transaction item")?;
        let (operation, key) = match kind.as_str() {
            "Put" => ("PutItem", &request["Item"]),
            "Update" => ("UpdateItem", &request["Key"]),
            "Delete" => ("DeleteItem", &request["Key"]),
            "ConditionCheck" => ("ConditionCheckItem", &request["Key"]),
            "Get" => ("GetItem", &request["Key"]),
            other => return Err(format!("unknown transaction item {other}").into()),
        };
        uses.push((
            format!("dynamodb:{operation}"),
            resource_of(request)?,
            Some(pk_of(key)?),
            vec![],
        ));
    }
    Ok(uses)
}

/// A batch: one action, checked against every item's partition.
fn batch_uses(operation: &str, body: &Value) -> Result<Vec<Touch>, BoxError> {
    let mut uses = Vec::new();
    for requests in body["RequestItems"]
        .as_object()
        .into_iter()
        .flat_map(|o| o.values())
    {
        let keys: Vec<&Value> = match requests {
            Value::Array(writes) => writes
                .iter()
                .map(|w| {
                    if w.get("PutRequest").is_some() {
                        &w["PutRequest"]["Item"]
                    } else {
                        &w["DeleteRequest"]["Key"]
                    }
                })
                .collect(),
            reads => reads["Keys"].as_array().into_iter().flatten().collect(),
        };
        for key in keys {
            uses.push((
                format!("dynamodb:{operation}"),
                "table",
                Some(pk_of(key)?),
                vec![],
            ));
        }
    }
    Ok(uses)
}

/// The partition a Query reads: the value its key condition compares the partition key with.
fn query_partition(body: &Value) -> Result<String, BoxError> {
    let hash_attribute = "PK";
    let condition = body["KeyConditionExpression"]
        .as_str()
        .ok_or("a Query without a key condition")?;
    let names = &body["ExpressionAttributeNames"];
    for term in condition.split(" AND ") {
        let Some((name, value)) = term.split_once('=') else {
            continue;
        };
        let name = name.trim();
        let attribute = names[name].as_str().unwrap_or(name);
        if attribute == hash_attribute {
            let value = &body["ExpressionAttributeValues"][value.trim()]["S"];
            return value.as_str().map(str::to_owned).ok_or_else(|| {
                format!("the key condition's value is not a string: {condition}").into()
            });
        }
    }
    Err(format!("no partition key in the key condition {condition}").into())
}

fn write(function: &'static str, touches: Vec<Touch>) {
    let Some(dir) = std::env::var_os("FOOTPRINT_DIR") else {
        return;
    };
    let mut lines = String::new();
    for (action, resource, partition, context) in touches {
        let record = Use {
            function: function.to_owned(),
            action,
            resource,
            partition,
            context,
        };
        lines.push_str(&serde_json::to_string(&record).expect("a use serializes"));
        lines.push('\n');
    }
    let dir = std::path::PathBuf::from(dir);
    std::fs::create_dir_all(&dir).expect("create FOOTPRINT_DIR");
    let path = dir.join(format!("{}.jsonl", std::process::id()));
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .expect("open the process's footprint file");
    file.write_all(lines.as_bytes())
        .expect("append to the footprint file");
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_transaction_needs_each_items_own_action() {
        let body = json!({"TransactItems": [
            {"Put": {"TableName": "t", "Item": {"PK": {"S": "DEBT#1"}, "SK": {"S": "EVENT#1#0000000001"}}}},
            {"ConditionCheck": {"TableName": "t", "Key": {"PK": {"S": "USER#alice"}, "SK": {"S": "CREDENTIALS"}}}},
            {"Update": {"TableName": "t", "Key": {"PK": {"S": "USER#alice"}, "SK": {"S": "TALLIES"}}}},
            {"Delete": {"TableName": "t", "Key": {"PK": {"S": "IDEMPOTENCY#debts#alice#k"}, "SK": {"S": "IDEMPOTENCY"}}}},
        ]});
        let uses = uses_of("DynamoDB_20120810.TransactWriteItems", &body).unwrap();
        let actions: Vec<(&str, &str)> = uses
            .iter()
            .map(|(a, _, p, _)| (a.as_str(), p.as_deref().unwrap()))
            .collect();
        assert_eq!(
            actions,
            [
                ("dynamodb:PutItem", "DEBT#"),
                ("dynamodb:ConditionCheckItem", "USER#"),
                ("dynamodb:UpdateItem", "USER#"),
                ("dynamodb:DeleteItem", "IDEMPOTENCY#debts#"),
            ]
        );
    }

    #[test]
    fn a_query_reads_the_partition_its_key_condition_names() {
        let body = json!({
            "TableName": "t",
            "KeyConditionExpression": "#h = :h AND begins_with(#r, :prefix)",
            "ExpressionAttributeNames": {"#h": "PK", "#r": "SK"},
            "ExpressionAttributeValues": {":h": {"S": "USER#bob"}, ":prefix": {"S": "DEBT#"}},
        });
        let uses = uses_of("DynamoDB_20120810.Query", &body).unwrap();
        assert_eq!(uses[0].2.as_deref(), Some("USER#"));
        assert_eq!(uses[0].1, "table");
    }

    #[test]
    fn kms_calls_name_their_context_keys_and_unknown_partitions_are_refused() {
        let body = json!({"KeyId": "k", "EncryptionContext": {"owner": "alice"}});
        let uses = uses_of("TrentService.Decrypt", &body).unwrap();
        assert_eq!(uses[0].0, "kms:Decrypt");
        assert_eq!(uses[0].3, ["owner"]);
        let stranger = json!({"TableName": "t", "Key": {"PK": {"S": "NOBODY#x"}}});
        assert!(uses_of("DynamoDB_20120810.GetItem", &stranger).is_err());
    }
}
