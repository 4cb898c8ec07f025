//! The HTTP API's composition root. [`ROUTES`] is the one route table: each line names a route's method and
//! path template, the Lambda function that serves it on AWS, whether the authorizer guards it, and the
//! handler it calls. [`Handlers`] wires every handler's dependencies once, over the store roles, the password
//! hasher and the token signer. The local gateway, the test kit and the port-call counter dispatch through
//! both; `docs/openapi.json` names each operation's function (`x-function`), and the Pulumi program reads
//! its routes from there (a test here holds the two equal).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use auth::{PasswordHasher, Tokens};
use commands::{DebtDeps, ErasureDeps, LoginDeps, UserDeps};
use lambda_http::{Body, Request, Response};
use queries::QueryDeps;
use store::{EventLog, Stores};

/// What a handler answers: the response, or an error the runtime turns into a 500.
pub type Answer = Result<Response<Body>, lambda_http::Error>;

/// A handler called with its dependencies, as a boxed future (one type for every route).
pub type Call =
    for<'a> fn(Request, &'a Handlers) -> Pin<Box<dyn Future<Output = Answer> + Send + 'a>>;

/// Every handler's dependencies, built once per process.
pub struct Handlers {
    pub users: UserDeps,
    pub login: LoginDeps,
    pub debts: DebtDeps,
    pub erasure: ErasureDeps,
    pub queries: QueryDeps,
}

impl Handlers {
    /// The handlers over `stores` (its event log sealed), with `engine_events` the engine's own event log
    /// (sealed fields: what the erasure reads legacy events from).
    pub fn new(
        stores: &Stores,
        engine_events: Arc<dyn EventLog>,
        passwords: PasswordHasher,
        tokens: Tokens,
    ) -> Self {
        Handlers {
            users: UserDeps::new(stores, passwords.clone()),
            login: LoginDeps::new(stores, passwords.clone(), tokens),
            debts: DebtDeps::new(stores),
            erasure: ErasureDeps::new(stores, Arc::clone(&engine_events), passwords),
            queries: QueryDeps::new(stores, engine_events),
        }
    }

    /// Answers `request` with the handler of the route whose key (`"POST /debts"`) it names.
    pub async fn call(&self, route: &Route, request: Request) -> Answer {
        (route.call)(request, self).await
    }
}

/// One route of the HTTP API.
#[derive(Clone, Copy)]
pub struct Route {
    pub method: &'static str,
    /// The path template, as API Gateway and `docs/openapi.json` write it (`/debts/{debt_id}`).
    pub template: &'static str,
    /// API Gateway's route key, `METHOD template`, as the integration event's `routeKey` carries it.
    pub key: &'static str,
    /// The Lambda function (and binary) that serves it on AWS.
    pub function: &'static str,
    /// Whether the authorizer guards it.
    pub protected: bool,
    pub call: Call,
}

impl std::fmt::Debug for Route {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(self.key)
    }
}

/// A [`Route`] on one line: its key joined at compile time, its handler called with the dependencies named.
macro_rules! route {
    ($method:literal $template:literal => $function:literal, $protection:ident, $handler:path, $deps:ident) => {
        Route {
            method: $method,
            template: $template,
            key: concat!($method, " ", $template),
            function: $function,
            protected: route!(@$protection),
            call: |request, handlers| Box::pin($handler(request, &handlers.$deps)),
        }
    };
    (@public) => { false };
    (@protected) => { true };
}

/// The HTTP API, route by route.
#[rustfmt::skip]
pub const ROUTES: [Route; 28] = [
    route!("GET" "/healthz" => "healthz", public, queries::healthz, queries),
    route!("POST" "/users" => "create-user", public, commands::create_user, users),
    route!("POST" "/login" => "login", public, commands::login, login),
    route!("GET" "/users/{username}" => "get-user", protected, queries::get_user, queries),
    route!("PATCH" "/users/{username}" => "update-user", protected, commands::update_user, users),
    route!("PUT" "/users/{username}/notifications" => "set-notifications", protected, commands::set_notifications, users),
    route!("POST" "/users/{username}/calendar" => "issue-calendar-feed", protected, commands::issue_calendar_feed, users),
    route!("DELETE" "/users/{username}/calendar" => "revoke-calendar-feed", protected, commands::revoke_calendar_feed, users),
    route!("GET" "/calendar/{feed}" => "get-calendar-feed", public, queries::calendar_feed, queries),
    route!("GET" "/unsubscribe/{token}" => "unsubscribe", public, commands::unsubscribe, users),
    route!("POST" "/unsubscribe/{token}" => "unsubscribe", public, commands::unsubscribe, users),
    route!("DELETE" "/users/{username}" => "erase-user", protected, commands::erase_user, erasure),
    route!("GET" "/users/{username}/summary" => "get-summary", protected, queries::get_summary, queries),
    route!("GET" "/users/{username}/payoff-plan" => "get-payoff-plan", protected, queries::get_payoff_plan, queries),
    route!("PUT" "/users/{username}/plan" => "adopt-plan", protected, commands::adopt_plan, users),
    route!("GET" "/users/{username}/plan" => "get-plan", protected, queries::get_plan, queries),
    route!("GET" "/users/{username}/progress" => "get-progress", protected, queries::get_progress, queries),
    route!("GET" "/debts" => "list-debts", protected, queries::list_debts, queries),
    route!("POST" "/debts" => "create-debt", protected, commands::create_debt, debts),
    route!("GET" "/debts/{debt_id}" => "get-debt", protected, queries::get_debt, queries),
    route!("PUT" "/debts/{debt_id}" => "update-debt", protected, commands::update_debt, debts),
    route!("DELETE" "/debts/{debt_id}" => "delete-debt", protected, commands::delete_debt, debts),
    route!("GET" "/debts/{debt_id}/history" => "get-debt-history", protected, queries::get_debt_history, queries),
    route!("GET" "/debts/{debt_id}/schedule" => "get-debt-schedule", protected, queries::get_debt_schedule, queries),
    route!("POST" "/debts/{debt_id}/payments" => "record-payment", protected, commands::record_payment, debts),
    route!("POST" "/debts/{debt_id}/charges" => "add-charge", protected, commands::add_charge, debts),
    route!("POST" "/debts/{debt_id}/rates" => "change-rate", protected, commands::change_rate, debts),
    route!("POST" "/debts/{debt_id}/statements" => "record-statement", protected, commands::record_statement, debts),
];

/// The route whose key is `key` (`"POST /debts"`).
pub fn route(key: &str) -> Option<&'static Route> {
    ROUTES.iter().find(|route| route.key == key)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use serde_json::{json, Value};

    use super::*;

    /// Every operation of `docs/openapi.json`: method, path, whether it is public, and the function it names.
    fn documented() -> BTreeSet<(String, String, bool, String)> {
        let spec: Value =
            serde_json::from_str(include_str!("../../docs/openapi.json")).expect("JSON");
        let mut found = BTreeSet::new();
        for (path, item) in spec["paths"].as_object().unwrap() {
            for (method, operation) in item.as_object().unwrap() {
                let security = operation.get("security").unwrap_or(&spec["security"]);
                let public = security.as_array().is_some_and(Vec::is_empty);
                let function = operation["x-function"]
                    .as_str()
                    .unwrap_or_else(|| panic!("{method} {path} names no function (x-function)"));
                found.insert((
                    method.to_uppercase(),
                    path.clone(),
                    public,
                    function.to_owned(),
                ));
            }
        }
        found
    }

    #[test]
    fn the_route_table_is_the_openapi_document_route_for_route() {
        let served: BTreeSet<(String, String, bool, String)> = ROUTES
            .iter()
            .map(|r| {
                let (method, template) = (r.method.to_owned(), r.template.to_owned());
                (method, template, !r.protected, r.function.to_owned())
            })
            .collect();
        assert_eq!(served, documented());
    }

    #[test]
    fn every_route_has_its_own_key_and_is_found_by_it() {
        for each in &ROUTES {
            assert_eq!(each.key, format!("{} {}", each.method, each.template));
            assert_eq!(route(each.key).map(|r| r.function), Some(each.function));
        }
        assert!(route("GET /nowhere").is_none());
        let public: Vec<&str> = ROUTES
            .iter()
            .filter(|r| !r.protected)
            .map(|r| r.key)
            .collect();
        assert_eq!(
            json!(public),
            json!([
                "GET /healthz",
                "POST /users",
                "POST /login",
                "GET /calendar/{feed}",
                "GET /unsubscribe/{token}",
                "POST /unsubscribe/{token}"
            ])
        );
    }
}
