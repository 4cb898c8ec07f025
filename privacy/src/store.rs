//! The event log as every reader and writer of personal data sees it: [`SealingStore`] wraps an engine's
//! event log, seals the personal fields of the events it appends under their owner's data key and opens them
//! again when events are loaded. The engines, the table stream and the event bus only ever hold the sealed
//! form. It wraps the event log only: read items and records never hold a sealed field.
//!
//! A user's data key is made with their `UserCreated` and stored wrapped in the same transaction
//! ([`keys::data_key_key`]); the append of their `UserErased` removes it in that event's transaction. From
//! then on every field sealed under it loads as [`Personal::Erased`], in this process as soon as its cached
//! copy is dropped: at once when this process appended or loaded the erasure, otherwise within
//! [`KeyCache::LONGEST`].

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use events::{EventEnvelope, EventPayload, Personal};
use store::codec::to_attributes;
use store::{
    keys, AggregateRef, AppendRequest, EventLog, Item, Page, Records, Scan, StoreError,
    StoreResult, Stores,
};

use crate::{DataKey, KeyCache, KeyEncryptionKey, PrivacyError, SealContext, WrappedKey};

/// Users' data keys: made and unwrapped by the key-encryption key, kept unwrapped for a short while.
struct Keyring {
    kek: Arc<dyn KeyEncryptionKey>,
    cache: KeyCache,
}

impl Keyring {
    /// A keyring over `kek` that keeps unwrapped keys for `ttl` (at most [`KeyCache::LONGEST`]).
    fn new(kek: Arc<dyn KeyEncryptionKey>, ttl: Duration) -> Self {
        Keyring {
            kek,
            cache: KeyCache::new(ttl),
        }
    }

    /// `owner`'s data key, or `None` when they have none (erased).
    async fn key_of(
        &self,
        records: &dyn Records,
        owner: &str,
    ) -> StoreResult<Option<Arc<DataKey>>> {
        if let Some(key) = self.cache.get(owner) {
            return Ok(Some(key));
        }
        let asked = std::time::Instant::now();
        let Some(item) = records.get_item(&keys::data_key_key(owner)).await? else {
            return Ok(None);
        };
        let wrapped: WrappedKey = serde_json::from_value(serde_json::Value::Object(
            item.attributes.into_iter().collect(),
        ))
        .map_err(|e| StoreError::Corrupt {
            pk: item.key.pk.clone(),
            sk: item.key.sk.clone(),
            reason: e.to_string(),
        })?;
        let key = Arc::new(
            self.kek
                .unwrap(owner, &wrapped)
                .await
                .map_err(personal_data)?,
        );
        self.cache.put(owner, Arc::clone(&key), asked);
        Ok(Some(key))
    }
}

fn personal_data(error: PrivacyError) -> StoreError {
    StoreError::PersonalData(error.to_string())
}

/// An [`EventLog`] whose events carry their personal fields sealed in storage and clear in memory. The data
/// keys are records of the same table (`USER#{name}/DATA_KEY`).
pub struct SealingStore {
    inner: Arc<dyn EventLog>,
    records: Arc<dyn Records>,
    keyring: Keyring,
}

impl SealingStore {
    pub fn new(
        inner: Arc<dyn EventLog>,
        records: Arc<dyn Records>,
        kek: Arc<dyn KeyEncryptionKey>,
        key_ttl: Duration,
    ) -> Self {
        SealingStore {
            inner,
            records,
            keyring: Keyring::new(kek, key_ttl),
        }
    }

    /// The engine's event log underneath, which stores and returns events sealed (what the stream and the
    /// bus carry).
    pub fn sealed(&self) -> &Arc<dyn EventLog> {
        &self.inner
    }
}

/// A table's roles with the event log sealed (what every handler and the projector get), and the engine's
/// own event log beside it (sealed fields: what the erasure tells legacy events apart in).
#[derive(Clone)]
pub struct SealedStores {
    pub stores: Stores,
    pub engine_events: Arc<dyn EventLog>,
}

/// `engine`'s roles with its event log sealed under `kek`, unwrapped keys kept for the longest time allowed.
pub fn seal(engine: &Stores, kek: Arc<dyn KeyEncryptionKey>) -> SealedStores {
    seal_keeping_keys(engine, kek, KeyCache::LONGEST)
}

/// [`seal`], keeping unwrapped keys for `key_ttl`: zero makes every call unwrap afresh, as a cold Lambda
/// instance does (the suites that record what each function asks of KMS run so).
pub fn seal_keeping_keys(
    engine: &Stores,
    kek: Arc<dyn KeyEncryptionKey>,
    key_ttl: Duration,
) -> SealedStores {
    let sealing = SealingStore::new(
        Arc::clone(&engine.events),
        Arc::clone(&engine.records),
        kek,
        key_ttl,
    );
    SealedStores {
        stores: engine.clone().with_events(Arc::new(sealing)),
        engine_events: Arc::clone(&engine.events),
    }
}

/// Whose data key seals an append's personal fields: the new user's for a registration, the owner's for a
/// new debt, otherwise the actor's (the API lets only a debt's owner act on it; see `docs/privacy.md`).
fn owner_of(event: &EventEnvelope) -> &str {
    match &event.payload {
        EventPayload::UserCreated(user) => &user.username,
        EventPayload::DebtCreated(debt) => &debt.owner,
        _ => &event.actor,
    }
}

fn has_clear_fields(event: &mut EventEnvelope) -> bool {
    event
        .payload
        .personal_fields_mut()
        .into_iter()
        .any(|(_, field)| matches!(field, Personal::Clear(_)))
}

/// Seals every clear personal field of `event` under `key`, named `kid`.
fn seal_event(key: &DataKey, kid: &str, event: &mut EventEnvelope) -> StoreResult<()> {
    let event_id = event.event_id.to_string();
    let aggregate = SealContext::aggregate_of(event);
    for (field, value) in event.payload.personal_fields_mut() {
        if let Personal::Clear(text) = value {
            let context = SealContext {
                aggregate: &aggregate,
                event_id: &event_id,
                field,
            };
            *value = Personal::Sealed(key.seal(kid, text, context).map_err(personal_data)?);
        }
    }
    Ok(())
}

/// Names the data key item's guard in a refused append.
const DATA_KEY_GUARD: &str = "data key";

/// Names the requirement that the owner's account (their credentials item) still exists.
const ACCOUNT: &str = "account";

impl SealingStore {
    /// The key an append's personal fields are sealed under, and whether it is new: then its wrapped form
    /// joins the append as a guard (a registration, or a user registered before sealing existed; a
    /// concurrent first write makes the same guard fail, and one of them retries).
    async fn key_for(
        &self,
        owner: &str,
        registration: bool,
        request: &mut AppendRequest,
    ) -> StoreResult<(Arc<DataKey>, bool)> {
        if !registration {
            if let Some(key) = self.keyring.key_of(self.records.as_ref(), owner).await? {
                return Ok((key, false));
            }
            if self.was_erased(owner).await? {
                return Err(StoreError::OwnerErased {
                    owner: owner.to_owned(),
                });
            }
        }
        let (key, wrapped) = self
            .keyring
            .kek
            .new_data_key(owner)
            .await
            .map_err(personal_data)?;
        request.guards.push(store::Guard {
            name: DATA_KEY_GUARD.to_owned(),
            item: Item {
                key: keys::data_key_key(owner),
                attributes: to_attributes(&wrapped),
            },
        });
        Ok((Arc::new(key), true))
    }

    /// Whether `owner`'s user aggregate ends in their erasure (read only when they have no key).
    async fn was_erased(&self, owner: &str) -> StoreResult<bool> {
        let history = self
            .inner
            .load_events(&AggregateRef::user(owner), 0)
            .await?;
        Ok(history
            .iter()
            .any(|e| matches!(e.payload, EventPayload::UserErased(_))))
    }

    /// Opens every sealed field of `events`; a field whose key is gone reads as erased.
    async fn open_all(&self, events: &mut [EventEnvelope]) -> StoreResult<()> {
        let mut keys: HashMap<String, Option<Arc<DataKey>>> = HashMap::new();
        for event in events.iter() {
            if matches!(event.payload, EventPayload::UserErased(_)) {
                // This process learns of the erasure: it keeps no copy of the key from here on.
                self.keyring.cache.forget(&event.aggregate_id);
            }
        }
        for event in events.iter_mut() {
            let event_id = event.event_id.to_string();
            let aggregate = SealContext::aggregate_of(event);
            let (aggregate_type, aggregate_id, version) = (
                event.aggregate_type,
                event.aggregate_id.clone(),
                event.version,
            );
            for (field, value) in event.payload.personal_fields_mut() {
                let Personal::Sealed(sealed) = value else {
                    continue;
                };
                let key = match keys.get(&sealed.kid) {
                    Some(key) => key.clone(),
                    None => {
                        let key = self
                            .keyring
                            .key_of(self.records.as_ref(), &sealed.kid)
                            .await?;
                        keys.insert(sealed.kid.clone(), key.clone());
                        key
                    }
                };
                *value = match key {
                    None => Personal::Erased,
                    Some(key) => {
                        let context = SealContext {
                            aggregate: &aggregate,
                            event_id: &event_id,
                            field,
                        };
                        Personal::Clear(key.open(sealed, context).map_err(|e| {
                            let event_key = keys::event_key(aggregate_type, &aggregate_id, version);
                            StoreError::Corrupt {
                                pk: event_key.pk,
                                sk: event_key.sk,
                                reason: format!("{field}: {e}"),
                            }
                        })?)
                    }
                };
            }
        }
        Ok(())
    }
}

/// A missing account is its owner's erasure.
fn erased(error: StoreError, owner: &str) -> StoreError {
    match error {
        StoreError::RequirementMissing { name } if name == ACCOUNT => StoreError::OwnerErased {
            owner: owner.to_owned(),
        },
        other => other,
    }
}

#[async_trait]
impl EventLog for SealingStore {
    async fn append(&self, mut request: AppendRequest) -> StoreResult<()> {
        let Some(first) = request.events.first() else {
            return self.inner.append(request).await;
        };
        let owner = owner_of(first).to_owned();
        let aggregate_id = first.aggregate_id.clone();
        let registration = matches!(first.payload, EventPayload::UserCreated(_));
        let erasure = request
            .events
            .iter()
            .any(|e| matches!(e.payload, EventPayload::UserErased(_)));
        if erasure {
            // The key goes in the erasure's own transaction: no erased user keeps a key, even after a crash.
            request = request.with_removal(keys::data_key_key(&aggregate_id));
        } else if !registration {
            // Every other append commits only while its owner's credentials exist, which the erasure removes
            // in its own transaction: no write of an erased user lands, whatever a key cache or an
            // authorizer cache still holds, and however the two interleave (a legacy user's first data key
            // included). A registration writes the credentials itself.
            request = request.with_requirement(ACCOUNT, keys::credentials_key(&owner));
        }
        if !request.events.iter_mut().any(has_clear_fields) {
            let appended = self
                .inner
                .append(request)
                .await
                .map_err(|e| erased(e, &owner));
            if erasure && appended.is_ok() {
                self.keyring.cache.forget(&aggregate_id);
            }
            return appended;
        }
        let asked = std::time::Instant::now();
        let (key, made) = self.key_for(&owner, registration, &mut request).await?;
        for event in &mut request.events {
            seal_event(&key, &owner, event)?;
        }
        match self.inner.append(request).await {
            Ok(()) => {}
            // Another first write of this user's key won: this one can be sent again and will find it.
            Err(StoreError::GuardTaken { name }) if name == DATA_KEY_GUARD && !registration => {
                return Err(StoreError::Busy)
            }
            Err(e) => return Err(erased(e, &owner)),
        }
        if made {
            self.keyring.cache.put(&owner, key, asked);
        }
        Ok(())
    }

    async fn load_events_through(
        &self,
        of: &AggregateRef,
        after: u64,
        through: u64,
    ) -> StoreResult<Vec<EventEnvelope>> {
        let mut events = self.inner.load_events_through(of, after, through).await?;
        self.open_all(&mut events).await?;
        Ok(events)
    }

    async fn first_event(&self, of: &AggregateRef) -> StoreResult<Option<EventEnvelope>> {
        let Some(event) = self.inner.first_event(of).await? else {
            return Ok(None);
        };
        let mut events = [event];
        self.open_all(&mut events).await?;
        let [event] = events;
        Ok(Some(event))
    }

    async fn list_aggregates(&self, scan: Scan<'_>) -> StoreResult<Page<AggregateRef>> {
        self.inner.list_aggregates(scan).await
    }

    async fn purge_residue(&self) -> StoreResult<()> {
        self.inner.purge_residue().await
    }

    async fn redact_legacy_event(&self, redaction: &events::RedactedEvent) -> StoreResult<()> {
        self.inner.redact_legacy_event(redaction).await
    }
}
