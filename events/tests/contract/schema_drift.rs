//! Keeps `docs/schemas/` in step with the Rust types: fails when a published schema differs from the generated
//! one. Regenerate with `make schemas` (runs this test with `UPDATE_SCHEMAS=1`) and review the diff.

use std::path::PathBuf;

fn schema_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/schemas")
}

#[test]
fn published_schemas_match_the_types() {
    let dir = schema_dir();
    let update = std::env::var_os("UPDATE_SCHEMAS").is_some();
    let mut drifted = Vec::new();
    for (name, schema) in events::schema::all() {
        let generated = events::schema::render(&schema);
        let path = dir.join(name);
        if update {
            std::fs::write(&path, &generated).expect("write schema");
            continue;
        }
        let published = std::fs::read_to_string(&path).unwrap_or_default();
        if published != generated {
            drifted.push(name);
        }
    }
    assert!(
        drifted.is_empty(),
        "docs/schemas/ has drifted from the event types: {drifted:?}. Run `make schemas` and commit the result."
    );
}

#[test]
fn no_stale_schema_files_are_published() {
    let expected: Vec<&str> = events::schema::all().into_iter().map(|(n, _)| n).collect();
    for entry in std::fs::read_dir(schema_dir()).expect("docs/schemas exists") {
        let name = entry.unwrap().file_name().into_string().unwrap();
        assert!(
            expected.contains(&name.as_str()),
            "docs/schemas/{name} is not generated from any type"
        );
    }
}

#[test]
fn envelope_schema_names_every_event_type() {
    let envelope = serde_json::to_string(&events::schema::all()[0].1).unwrap();
    for event_type in events::EventPayload::TYPES {
        assert!(
            envelope.contains(&format!("\"{event_type}\"")),
            "{event_type} missing from the envelope schema"
        );
    }
}
