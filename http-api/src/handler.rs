//! The frame around every HTTP handler: request metadata, a tracing span carrying the request and correlation
//! ids, and the conversion of the outcome into a response.

use std::future::Future;

use lambda_http::{Body, Error, Request, Response};
use tracing::Instrument;

use crate::context::RequestMeta;
use crate::problem::Problem;
use crate::reply::{respond, Reply};

/// One `Accepted` per answered request, or one `Refused` with the problem's type as its `Reason`
/// (`validation-failed`, `conflict`, `not-found`, ...; `internal` is a 5xx).
fn count_outcome(route: &str, outcome: &Result<Reply, Problem>) {
    use lambda_support::metrics::{emit, Unit};
    match outcome {
        Ok(_) => emit(&[("Function", route)], &[("Accepted", 1.0, Unit::Count)]),
        Err(problem) => {
            let reason = problem.kind.rsplit('/').next().unwrap_or(problem.kind);
            emit(
                &[("Function", route), ("Reason", reason)],
                &[("Refused", 1.0, Unit::Count)],
            );
        }
    }
}

/// Runs `work` for `request` inside a span named by `route`, and answers with its reply or problem.
pub async fn serve<F, Fut>(
    route: &'static str,
    request: Request,
    work: F,
) -> Result<Response<Body>, Error>
where
    F: FnOnce(Request, RequestMeta) -> Fut,
    Fut: Future<Output = Result<Reply, Problem>>,
{
    let meta = RequestMeta::of(&request);
    let span = tracing::info_span!(
        "request",
        route,
        request_id = %meta.request_id,
        correlation_id = %meta.correlation(),
        event_correlation_id = %meta.correlation_id
    );
    let outcome = work(request, meta.clone()).instrument(span.clone()).await;
    let _entered = span.enter();
    count_outcome(route, &outcome);
    let response = respond(&meta, outcome);
    tracing::info!(status = response.status().as_u16(), "request done");
    Ok(response)
}
