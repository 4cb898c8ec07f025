//! What the event functions' mains share beyond `aws-clients`: the replay job's continuation, an event on
//! the bus that a rule delivers to the `replay` function as a new, asynchronous invocation.

use async_trait::async_trait;
use projections::replay_job::{
    Continuation, JobRef, CONTINUATION_DETAIL_TYPE, CONTINUATION_SOURCE,
};

/// Continues replay jobs through the bus `bus_name` (`PutEvents`).
pub struct BusContinuation {
    client: aws_sdk_eventbridge::Client,
    bus_name: String,
}

impl BusContinuation {
    pub fn new(client: aws_sdk_eventbridge::Client, bus_name: impl Into<String>) -> Self {
        BusContinuation {
            client,
            bus_name: bus_name.into(),
        }
    }
}

#[async_trait]
impl Continuation for BusContinuation {
    async fn continue_job(&self, job_id: &str) -> Result<(), String> {
        let detail = serde_json::to_string(&JobRef {
            job_id: job_id.to_owned(),
        })
        .expect("a job reference serialises");
        let entry = aws_sdk_eventbridge::types::PutEventsRequestEntry::builder()
            .event_bus_name(&self.bus_name)
            .source(CONTINUATION_SOURCE)
            .detail_type(CONTINUATION_DETAIL_TYPE)
            .detail(detail)
            .build();
        let output = self
            .client
            .put_events()
            .entries(entry)
            .send()
            .await
            .map_err(|e| aws_sdk_eventbridge::error::DisplayErrorContext(e).to_string())?;
        match output.failed_entry_count() {
            0 => Ok(()),
            _ => Err(format!(
                "the bus refused the continuation: {:?}",
                output.entries().first().and_then(|e| e.error_code())
            )),
        }
    }
}
