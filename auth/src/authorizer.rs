//! The API Gateway HTTP API Lambda authorizer (payload 2.0, simple responses): allows a request whose bearer
//! token is valid and whose user still has credentials (an erased user has none), and hands the username on
//! in the context, `{"username": ...}`; denies everything else.

use aws_lambda_events::apigw::{
    ApiGatewayV2CustomAuthorizerSimpleResponse, ApiGatewayV2CustomAuthorizerV2Request,
};
use chrono::Utc;
use serde_json::json;

use store::{keys, Records};

use crate::tokens::{AuthError, Tokens};

/// Decides one authorizer request. It never fails: any problem is a denial (logged without the token).
/// `accounts` is read for the user's credentials item, one consistent read per decision (API Gateway caches
/// a decision per token for the stack's authorizer TTL).
pub async fn authorize(
    request: &ApiGatewayV2CustomAuthorizerV2Request,
    tokens: &Tokens,
    accounts: &dyn Records,
) -> ApiGatewayV2CustomAuthorizerSimpleResponse {
    let header = request
        .headers
        .get(http_header_authorization())
        .and_then(|v| v.to_str().ok())
        .or_else(|| {
            request
                .identity_source
                .as_ref()
                .and_then(|s| s.first())
                .map(String::as_str)
        });
    match tokens.verify_header(header, Utc::now()).await {
        Ok(claims) => match accounts.get_item(&keys::credentials_key(&claims.sub)).await {
            Ok(Some(_)) => allow(&claims.sub),
            Ok(None) => {
                tracing::info!(reason = "the account no longer exists", "request denied");
                deny()
            }
            Err(error) => {
                tracing::error!(%error, "cannot read the account");
                deny()
            }
        },
        Err(error) => {
            match &error {
                AuthError::Keys(e) => tracing::error!(error = %e, "cannot read signing keys"),
                other => tracing::info!(reason = %other, "request denied"),
            }
            deny()
        }
    }
}

fn http_header_authorization() -> &'static str {
    "authorization"
}

fn allow(username: &str) -> ApiGatewayV2CustomAuthorizerSimpleResponse {
    let mut response = ApiGatewayV2CustomAuthorizerSimpleResponse::default();
    response.is_authorized = true;
    response.context = json!({ "username": username });
    response
}

fn deny() -> ApiGatewayV2CustomAuthorizerSimpleResponse {
    let mut response = ApiGatewayV2CustomAuthorizerSimpleResponse::default();
    response.is_authorized = false;
    response.context = json!({});
    response
}
