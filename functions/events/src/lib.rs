//! What the event functions' mains share beyond `aws-clients`: the replay job's continuation, an event on
//! the bus that a rule delivers to the `replay` function as a new, asynchronous invocation; and the notice
//! emailer's mail service, Amazon SES.

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

/// Sends notice emails through Amazon SES (API v2 `SendEmail` with the raw message, so the same MIME text is
/// sent as the local outbox writes). The sender must be a verified identity (the stack's `mailFrom`).
pub struct SesMailer {
    client: aws_sdk_sesv2::Client,
}

impl SesMailer {
    pub fn new(client: aws_sdk_sesv2::Client) -> Self {
        SesMailer { client }
    }
}

#[async_trait]
impl notices::email::Mailer for SesMailer {
    async fn send(
        &self,
        from: &str,
        to: &str,
        message: &notices::email::OutgoingEmail,
    ) -> Result<(), String> {
        use aws_sdk_sesv2::primitives::Blob;
        use aws_sdk_sesv2::types::{Destination, EmailContent, RawMessage};
        let raw = RawMessage::builder()
            .data(Blob::new(message.raw.as_bytes()))
            .build()
            .map_err(|e| e.to_string())?;
        self.client
            .send_email()
            .from_email_address(from)
            .destination(Destination::builder().to_addresses(to).build())
            .content(EmailContent::builder().raw(raw).build())
            .send()
            .await
            .map(|_| ())
            .map_err(|e| aws_sdk_sesv2::error::DisplayErrorContext(e).to_string())
    }
}
