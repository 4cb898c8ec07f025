//! Opaque pagination cursors: base64url of the last returned key, bound to the query that issued it so a
//! cursor cannot be replayed against another partition (another user's data).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Serialize};

use crate::error::StoreError;
use crate::item::ItemKey;
use crate::port::QueryTarget;

#[derive(Serialize, Deserialize)]
struct CursorBody {
    pk: String,
    sk: String,
}

/// Encodes the key a page ended at.
pub fn encode(last: &ItemKey) -> String {
    let body = CursorBody {
        pk: last.pk.clone(),
        sk: last.sk.clone(),
    };
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(&body).expect("a cursor body is serialisable"))
}

/// Decodes a cursor for `target`, refusing one that points outside the range `target` may read.
pub fn decode_for(cursor: &str, target: &QueryTarget) -> Result<ItemKey, StoreError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(cursor)
        .map_err(|_| StoreError::InvalidCursor)?;
    let body: CursorBody = serde_json::from_slice(&bytes).map_err(|_| StoreError::InvalidCursor)?;
    let within = body.pk == target.pk && body.sk.starts_with(target.sk_prefix.as_str());
    if !within {
        return Err(StoreError::InvalidCursor);
    }
    Ok(ItemKey::new(body.pk, body.sk))
}

/// Cursor for scans (replay's aggregate listing): any key in the table is acceptable.
pub fn decode_any(cursor: &str) -> Result<ItemKey, StoreError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(cursor)
        .map_err(|_| StoreError::InvalidCursor)?;
    let body: CursorBody = serde_json::from_slice(&bytes).map_err(|_| StoreError::InvalidCursor)?;
    Ok(ItemKey::new(body.pk, body.sk))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alice_debts() -> QueryTarget {
        QueryTarget {
            pk: "USER#alice".into(),
            sk_prefix: "DEBT#".into(),
        }
    }

    #[test]
    fn a_cursor_round_trips_for_its_own_query() {
        let key = ItemKey::new("USER#alice", "DEBT#42");
        assert_eq!(decode_for(&encode(&key), &alice_debts()).unwrap(), key);
    }

    #[test]
    fn a_cursor_cannot_cross_into_another_partition() {
        let bobs = encode(&ItemKey::new("USER#bob", "DEBT#42"));
        assert!(matches!(
            decode_for(&bobs, &alice_debts()),
            Err(StoreError::InvalidCursor)
        ));
        let credentials = encode(&ItemKey::new("USER#alice", "CREDENTIALS"));
        assert!(matches!(
            decode_for(&credentials, &alice_debts()),
            Err(StoreError::InvalidCursor)
        ));
    }

    #[test]
    fn garbage_is_an_invalid_cursor() {
        for garbage in ["", "!!!", "bm90IGpzb24"] {
            assert!(matches!(
                decode_for(garbage, &alice_debts()),
                Err(StoreError::InvalidCursor)
            ));
        }
    }
}
