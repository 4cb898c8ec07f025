//! Data keys under a KMS key (moto, started by `make test`): a key made for a user unwraps for that user and
//! opens what it sealed; as anyone else's it does not unwrap (the owner is the encryption context).

use privacy::{KeyEncryptionKey, KmsKek, PrivacyError, SealContext};

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
