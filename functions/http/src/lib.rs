//! The Lambda function of each HTTP API route. Every `main` (`src/bin/`) is one [`main!`]: it loads the
//! function's environment once (`aws_clients::Environment`), builds the handler's dependencies from it, and
//! hands the handler to the runtime, which calls it with a reference to them for every request.

/// The `main` of an HTTP function: `main!(handler, |env| dependencies)` serves each request with
/// `handler(request, &dependencies)`, the dependencies built once from `env`, the function's environment.
#[macro_export]
macro_rules! main {
    ($handler:path, |$env:ident| $deps:expr) => {
        #[tokio::main]
        async fn main() -> Result<(), lambda_http::Error> {
            let $env = aws_clients::Environment::load().await;
            let deps = $deps;
            lambda_http::run(lambda_http::service_fn(|request| $handler(request, &deps))).await
        }
    };
}
