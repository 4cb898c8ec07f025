//! Cursors come back from clients: any string is refused or read as a key inside the query's own range.

use proptest::prelude::*;
use store::cursor::{decode_any, decode_for, encode};
use store::{ItemKey, QueryTarget};

fn alice() -> QueryTarget {
    QueryTarget {
        pk: "USER#alice".into(),
        sk_prefix: "DEBT#".into(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn any_string_is_refused_or_stays_in_its_range(raw in ".{0,200}") {
        let _ = decode_any(&raw);
        if let Ok(key) = decode_for(&raw, &alice()) {
            prop_assert_eq!(key.pk.as_str(), "USER#alice");
            prop_assert!(key.sk.starts_with("DEBT#"));
        }
    }

    #[test]
    fn any_key_round_trips_and_only_into_its_own_range(pk in ".{0,40}", sk in ".{0,40}") {
        let key = ItemKey::new(pk.clone(), sk.clone());
        prop_assert_eq!(decode_any(&encode(&key)).unwrap(), key.clone());
        let inside = pk == "USER#alice" && sk.starts_with("DEBT#");
        prop_assert_eq!(decode_for(&encode(&key), &alice()).is_ok(), inside);
    }
}
