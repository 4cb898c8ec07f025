//! `docs/openapi.json` describes the API the gateway serves: API Gateway's own answers on every protected
//! route, and example bodies that validate against their own schemas. (That its operations are the route
//! table's is `api`'s own test.)

use api::ROUTES;
use serde_json::{json, Value};

fn spec() -> Value {
    serde_json::from_str(local::OPENAPI).expect("docs/openapi.json is JSON")
}

/// A validator for `schema` (which may `$ref` the spec's components).
pub fn validator(spec: &Value, schema: &Value) -> jsonschema::Validator {
    let mut root = schema.clone();
    if let Value::Object(map) = &mut root {
        map.insert("components".into(), spec["components"].clone());
    } else {
        root = json!({ "allOf": [schema], "components": spec["components"] });
    }
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .should_validate_formats(true)
        .build(&root)
        .expect("a valid schema")
}

fn operations(spec: &Value) -> Vec<(String, String, Value)> {
    let mut found = Vec::new();
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            found.push((method.to_uppercase(), path.clone(), operation.clone()));
        }
    }
    found
}

#[test]
fn protected_routes_need_the_bearer_token_and_public_ones_do_not() {
    let spec = spec();
    assert_eq!(
        spec["components"]["securitySchemes"]["bearerAuth"]["scheme"],
        json!("bearer")
    );
    for (method, path, operation) in operations(&spec) {
        let route = ROUTES
            .iter()
            .find(|r| r.method == method && r.template == path)
            .unwrap();
        let security = operation.get("security").unwrap_or(&spec["security"]);
        let public = security.as_array().is_some_and(Vec::is_empty);
        assert_eq!(public, !route.protected, "{method} {path}");
        if route.protected {
            for (status, message) in [("401", "Unauthorized"), ("403", "Forbidden")] {
                let answer = &operation["responses"][status]["content"]["application/json"];
                assert_eq!(
                    answer["example"],
                    json!({ "message": message }),
                    "{method} {path} documents API Gateway's {status}"
                );
            }
        }
    }
}

#[test]
fn every_example_validates_against_its_schema() {
    let spec = spec();
    let mut checked = 0;
    for (method, path, operation) in operations(&spec) {
        for (status, response) in operation["responses"].as_object().unwrap() {
            let Some(content) = response.get("content").and_then(Value::as_object) else {
                continue;
            };
            for (media, body) in content {
                let Some(example) = body.get("example") else {
                    continue;
                };
                let validator = validator(&spec, &body["schema"]);
                let errors: Vec<String> = validator
                    .iter_errors(example)
                    .map(|e| e.to_string())
                    .collect();
                assert!(
                    errors.is_empty(),
                    "{method} {path} {status} {media}: {errors:?}"
                );
                checked += 1;
            }
        }
    }
    assert!(checked >= 10, "only {checked} examples");
}

#[test]
fn schemas_are_really_checked_through_their_references() {
    let spec = spec();
    let debt = validator(&spec, &json!({"$ref": "#/components/schemas/Debt"}));
    let example = spec["paths"]["/debts/{debt_id}"]["get"]["responses"]["200"]["content"]
        ["application/json"]["example"]["data"]
        .clone();
    assert!(debt.is_valid(&example));
    let mut float = example.clone();
    float["principal"] = json!(15000.0);
    assert!(!debt.is_valid(&float), "an amount as a float is refused");
    let mut missing = example;
    missing.as_object_mut().unwrap().remove("version");
    assert!(!debt.is_valid(&missing));
}
