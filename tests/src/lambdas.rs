//! The event functions' entry points as the suites call them: each runs as its Lambda function
//! ([`crate::footprint::as_function`]), so what it asks of AWS lands in that function's footprint. The HTTP
//! functions run as theirs through [`crate::handlers::call`], the authorizer through `Api::authorized`.

use aws_lambda_events::dynamodb::Event;
use aws_lambda_events::eventbridge::EventBridgeEvent;
use aws_lambda_events::streams::DynamoDbEventResponse;
use events::EventEnvelope;
use projections::projector::LagWatch;
use projections::replay::{Progress, ReplayOptions, ReplayReport};
use store::{StoreError, Stores};

use crate::footprint::as_function;

/// The `projector` function on one stream batch.
pub async fn project_batch(event: &Event, stores: &Stores) -> DynamoDbEventResponse {
    as_function("projector", projections::project_batch(event, stores)).await
}

/// The `projector` function on one stream batch, its lag measured with `watch`.
pub async fn project_batch_watched(
    event: &Event,
    stores: &Stores,
    watch: &LagWatch,
) -> DynamoDbEventResponse {
    as_function(
        "projector",
        projections::projector::project_batch_watched(event, stores, watch),
    )
    .await
}

/// The `publish-events` function on one stream batch.
pub async fn publish_batch(
    event: &Event,
    bus: &dyn analytics::publish::EventBus,
) -> DynamoDbEventResponse {
    as_function(
        "publish-events",
        analytics::publish::publish_batch(event, bus),
    )
    .await
}

/// The `analytics` function on one bus event.
pub async fn handle_bus_event(
    stores: &Stores,
    event: EventBridgeEvent<serde_json::Value>,
) -> Result<(), analytics::AnalyticsError> {
    as_function("analytics", analytics::handle_bus_event(stores, event)).await
}

/// The `analytics` function's work on one delivered envelope.
pub async fn record_event(
    stores: &Stores,
    event: &EventEnvelope,
) -> Result<(), analytics::AnalyticsError> {
    as_function("analytics", analytics::record_event(stores, event)).await
}

/// The `replay` function.
pub async fn replay(
    stores: &Stores,
    options: &ReplayOptions,
    progress: impl FnMut(Progress),
) -> Result<ReplayReport, StoreError> {
    as_function(
        "replay",
        projections::replay::replay(stores, options, progress),
    )
    .await
}

/// The `replay` function on one request (a job runs while `keep_going` says so).
pub async fn replay_request(
    stores: &Stores,
    request: projections::replay_job::ReplayRequest,
    keep_going: projections::replay_job::KeepGoing,
    continuation: &dyn projections::replay_job::Continuation,
) -> Result<projections::replay_job::ReplayAnswer, projections::replay_job::ReplayJobError> {
    as_function(
        "replay",
        projections::replay_job::handle(stores, request, keep_going, continuation),
    )
    .await
}

/// The `notice-sweep` function's run at `now`, over the table as Lambda opens it: not sealed, as the sweep
/// reads no personal field and writes none (it asks KMS for nothing).
pub async fn sweep_notices(
    store: &crate::TestStore,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<notices::SweepReport, StoreError> {
    let deps = notices::SweepDeps::new(&Stores::of(std::sync::Arc::clone(&store.engine)));
    as_function(
        "notice-sweep",
        notices::sweep(&deps, now, uuid::Uuid::new_v4()),
    )
    .await
}

/// The `notice-email` function on one delivered event.
pub async fn email_notice(
    deps: &notices::email::EmailDeps,
    event: &EventEnvelope,
) -> Result<notices::email::Delivery, notices::email::EmailError> {
    as_function("notice-email", notices::email::deliver(deps, event)).await
}
