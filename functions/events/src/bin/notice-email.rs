//! Lambda entrypoint of the `notice-email` function: the target of the bus rule for the notice events
//! (`PaymentDueSoon`, `PaymentMissed`, `PromoEndingSoon`), one per invocation, whose `detail` is the event
//! envelope. Emails it through Amazon SES from `MAIL_FROM` to its owner when they asked for it
//! (`notices::email::deliver`), with unsubscribe links under `API_URL`. Deployed only when the stack has a
//! `mailFrom`. An error makes Lambda retry it, then send it to the dead-letter queue.

use std::sync::Arc;

use aws_lambda_events::eventbridge::EventBridgeEvent;
use event_functions::SesMailer;
use lambda_runtime::{service_fn, Error, LambdaEvent};
use notices::email::{deliver, EmailDeps, UnsubscribeLinks};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let env = aws_clients::Environment::load().await;
    let stores = env.sealed_table()?.stores;
    let deps = &EmailDeps {
        user_events: Arc::clone(&stores.events),
        read_model: Arc::clone(&stores.read_model),
        records: Arc::clone(&stores.records),
        mailer: Arc::new(SesMailer::new(aws_sdk_sesv2::Client::new(env.config()))),
        from: aws_clients::environment::variable("MAIL_FROM")?,
        links: Arc::new(UnsubscribeLinks {
            records: Arc::clone(&stores.records),
            base_url: aws_clients::environment::variable("API_URL").ok(),
        }),
    };
    lambda_runtime::run(service_fn(
        |event: LambdaEvent<EventBridgeEvent<serde_json::Value>>| async move {
            let envelope = store::codec::decode_envelope(event.payload.detail)?;
            let delivery = deliver(deps, &envelope).await?;
            tracing::info!(event_id = %envelope.event_id, ?delivery, "notice delivered");
            Ok::<_, Error>(())
        },
    ))
    .await
}
