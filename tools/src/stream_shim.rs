//! A compatibility shim for DynamoDB Local 3.x, whose GetRecords drops the type of an empty map or list in
//! stream images (`"data": {}` instead of `"data": {"M": {}}`; amazon-dynamodb-local-samples issue #37),
//! which no SDK can parse. The poller's HTTP client restores the missing `M` before the SDK reads the
//! response. Against AWS it changes nothing: there every attribute value carries its type.

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;
use http_body_util::BodyExt;
use serde_json::Value;

/// Wraps `inner` so stream images with untyped empty collections parse.
pub fn restoring_empty_collections(inner: SharedHttpClient) -> SharedHttpClient {
    SharedHttpClient::new(RestoreEmptyCollections { inner })
}

#[derive(Debug, Clone)]
struct RestoreEmptyCollections {
    inner: SharedHttpClient,
}

impl HttpClient for RestoreEmptyCollections {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(Connector {
            inner: self.inner.http_connector(settings, components),
        })
    }
}

#[derive(Debug)]
struct Connector {
    inner: SharedHttpConnector,
}

impl HttpConnector for Connector {
    fn call(
        &self,
        request: aws_smithy_runtime_api::client::orchestrator::HttpRequest,
    ) -> HttpConnectorFuture {
        let inner = self.inner.clone();
        HttpConnectorFuture::new(async move {
            let mut response = inner.call(request).await?;
            let body = response.take_body();
            let bytes = body.collect().await.map_err(ConnectorError::io)?.to_bytes();
            let patched = match serde_json::from_slice::<Value>(&bytes) {
                Ok(mut json) if json.get("Records").is_some() => {
                    restore_records(&mut json);
                    response.headers_mut().remove("content-length");
                    serde_json::to_vec(&json)
                        .map_err(|e| ConnectorError::io(e.into()))?
                        .into()
                }
                _ => bytes,
            };
            *response.body_mut() = SdkBody::from(patched);
            Ok(response)
        })
    }
}

fn restore_records(json: &mut Value) {
    let Some(records) = json.get_mut("Records").and_then(Value::as_array_mut) else {
        return;
    };
    for record in records {
        let Some(change) = record.get_mut("dynamodb") else {
            continue;
        };
        for image in ["Keys", "NewImage", "OldImage"] {
            if let Some(Value::Object(attributes)) = change.get_mut(image) {
                attributes.values_mut().for_each(restore_value);
            }
        }
    }
}

/// Gives an attribute value its type back where it lost it, looking inside maps and lists.
fn restore_value(value: &mut Value) {
    let Value::Object(typed) = value else { return };
    if typed.is_empty() {
        *value = serde_json::json!({ "M": {} });
        return;
    }
    if let Some(Value::Object(map)) = typed.get_mut("M") {
        map.values_mut().for_each(restore_value);
    }
    if let Some(Value::Array(list)) = typed.get_mut("L") {
        list.iter_mut().for_each(restore_value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn untyped_empty_collections_become_empty_maps_at_any_depth() {
        let mut body = json!({"Records": [{"dynamodb": {
            "Keys": {"PK": {"S": "DEBT#1"}},
            "NewImage": {"data": {}, "nested": {"M": {"inner": {}, "list": {"L": [{}, {"S": "x"}]}}}}
        }}]});
        restore_records(&mut body);
        assert_eq!(
            body["Records"][0]["dynamodb"]["NewImage"],
            json!({"data": {"M": {}}, "nested": {"M": {"inner": {"M": {}}, "list": {"L": [{"M": {}}, {"S": "x"}]}}}})
        );
        assert_eq!(
            body["Records"][0]["dynamodb"]["Keys"],
            json!({"PK": {"S": "DEBT#1"}})
        );
    }
}
