//! The one table of design.md section 3, created by code the tests and the local server share (the Pulumi
//! program describes the same table for AWS).

use std::time::Duration;

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    StreamSpecification, StreamViewType, TableStatus, TimeToLiveSpecification,
};
use aws_sdk_dynamodb::Client;
use store::keys::TTL_ATTRIBUTE;
use store::StoreError;

fn key(name: &str, key_type: KeyType) -> KeySchemaElement {
    KeySchemaElement::builder()
        .attribute_name(name)
        .key_type(key_type)
        .build()
        .expect("name and key type are set")
}

fn string_attribute(name: &str) -> AttributeDefinition {
    AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(ScalarAttributeType::S)
        .build()
        .expect("name and type are set")
}

/// Creates the table (keys `PK`/`SK`, no secondary index, a `NEW_AND_OLD_IMAGES` stream, on-demand billing,
/// TTL on `expires_at`) and waits until it is active. An existing table is left as it is.
pub async fn create_table(client: &Client, table_name: &str) -> Result<(), StoreError> {
    let created = client
        .create_table()
        .table_name(table_name)
        .attribute_definitions(string_attribute("PK"))
        .attribute_definitions(string_attribute("SK"))
        .key_schema(key("PK", KeyType::Hash))
        .key_schema(key("SK", KeyType::Range))
        .billing_mode(BillingMode::PayPerRequest)
        .stream_specification(
            StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(StreamViewType::NewAndOldImages)
                .build()
                .map_err(StoreError::engine)?,
        )
        .send()
        .await;
    match created {
        Ok(_) => {}
        Err(e)
            if e.as_service_error()
                .is_some_and(|e| e.is_resource_in_use_exception()) =>
        {
            return wait_until_active(client, table_name).await;
        }
        Err(e) => return Err(StoreError::engine(e.into_service_error())),
    }
    wait_until_active(client, table_name).await?;
    client
        .update_time_to_live()
        .table_name(table_name)
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .attribute_name(TTL_ATTRIBUTE)
                .enabled(true)
                .build()
                .map_err(StoreError::engine)?,
        )
        .send()
        .await
        .map_err(|e| StoreError::engine(e.into_service_error()))?;
    Ok(())
}

async fn wait_until_active(client: &Client, table_name: &str) -> Result<(), StoreError> {
    for _ in 0..120 {
        let described = client
            .describe_table()
            .table_name(table_name)
            .send()
            .await
            .map_err(|e| StoreError::engine(e.into_service_error()))?;
        if described.table().and_then(|t| t.table_status()) == Some(&TableStatus::Active) {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    Err(StoreError::InvalidRequest(format!(
        "table {table_name} did not become active within 60 s"
    )))
}
