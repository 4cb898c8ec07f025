//! Data keys under a KMS key (moto, started by `make test`): a key made for a user unwraps for that user and
//! opens what it sealed; as anyone else's it does not unwrap (the owner is the encryption context).

use aws_clients::KmsKek;
use privacy::{KeyEncryptionKey, PrivacyError, SealContext};

async fn kms_key() -> (aws_sdk_kms::Client, String) {
    let client = integration_tests::kms().await;
    let created = client
        .create_key()
        .description("debts data keys (test)")
        .send()
        .await
        .expect("create a key in moto");
    let key_id = created.key_metadata().unwrap().key_id().to_owned();
    (client, key_id)
}

const HERE: SealContext<'static> = SealContext {
    aggregate: "user#alice",
    event_id: "0b9f3c2e-8d4f-4b6e-9a51-7f0c2d1e4a33",
    field: "full_name",
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moto_a_data_key_unwraps_for_its_owner_and_opens_what_it_sealed() {
    let (client, key_id) = kms_key().await;
    let kek = KmsKek::new(client, key_id);
    let (key, wrapped) = kek.new_data_key("alice").await.unwrap();
    let sealed = key.seal("alice/1", "Alice Example", HERE).unwrap();
    assert!(!wrapped.blob.is_empty());

    let unwrapped = kek.unwrap("alice", &wrapped).await.unwrap();
    assert_eq!(unwrapped.open(&sealed, HERE).unwrap(), "Alice Example");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moto_a_data_key_does_not_unwrap_as_another_users() {
    let (client, key_id) = kms_key().await;
    let kek = KmsKek::new(client, key_id);
    let (_, wrapped) = kek.new_data_key("alice").await.unwrap();
    let refused = kek.unwrap("mallory", &wrapped).await;
    assert!(
        matches!(refused, Err(PrivacyError::Unopenable)),
        "{refused:?}"
    );
}

/// The whole path on AWS's key store: registration makes the key with `GenerateDataKey`, a debt's fields are
/// sealed and open again after an unwrap by `Decrypt` in a new instance (empty cache), and after the erasure
/// the same instance reads "[erased]".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moto_the_handlers_seal_under_kms_and_an_erasure_shreds() {
    use std::sync::Arc;

    use integration_tests::api::ApiRequest;
    use integration_tests::handlers::{username, Api};
    use serde_json::json;

    let (client, key_id) = kms_key().await;
    let engine = integration_tests::sqlite_test_store().await;
    let sealing = |engine: &integration_tests::TestStore| {
        engine.sealed_by(Arc::new(KmsKek::new(client.clone(), key_id.clone())))
    };
    let api = Api::new(sealing(&engine));
    let carol = username();
    assert_eq!(api.register(&carol).await.status, 201);
    let created = api
        .call(ApiRequest::new("POST /debts", "/debts").as_user(&carol).json(json!({
            "debt_name": "Kms loan", "principal": 10, "interest_rate": 1, "start_date": "2025-01-01",
            "payment_frequency": "monthly"})))
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let debt_id = created.body["data"]["debt_id"].as_str().unwrap().to_owned();
    let debt = integration_tests::debt_ref(&debt_id);

    let other_instance = sealing(&engine).stores.events;
    let name = |events: &[events::EventEnvelope]| match &events[0].payload {
        events::EventPayload::DebtCreated(created) => created.debt_name.clone(),
        other => panic!("{other:?}"),
    };
    let stored = engine.sealed_history(&debt).await;
    assert!(matches!(name(&stored), events::Personal::Sealed(_)));
    let opened = other_instance.load_events(&debt, 0).await.unwrap();
    assert_eq!(name(&opened), events::Personal::from("Kms loan"));

    let erased = api
        .call(ApiRequest::erasure(&carol, "correct horse battery"))
        .await;
    assert_eq!(erased.status, 200, "{}", erased.body);
    let user = integration_tests::user_ref(&carol);
    other_instance.load_events(&user, 0).await.unwrap();
    let after = other_instance.load_events(&debt, 0).await.unwrap();
    assert_eq!(name(&after), events::Personal::Erased);
}
