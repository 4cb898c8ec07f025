//! Bearer tokens come from anyone: any string is refused without a panic, and none verifies unless it is a
//! token signed with the key.

use auth::jwt::decode_header;
use auth::keys::SigningKey;
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn any_string_is_refused_as_a_token(raw in ".{0,300}") {
        if let Ok(token) = decode_header(&raw) {
            let key = SigningKey::new(token.kid.clone(), b"a secret of enough length for hmac".to_vec());
            prop_assert!(token.verify(&key, "debts-api", 0).is_err());
        }
    }

    #[test]
    fn three_arbitrary_base64url_parts_never_verify(a in "[A-Za-z0-9_-]{0,80}", b in "[A-Za-z0-9_-]{0,80}", c in "[A-Za-z0-9_-]{0,80}") {
        let raw = format!("{a}.{b}.{c}");
        if let Ok(token) = decode_header(&raw) {
            let key = SigningKey::new(token.kid.clone(), b"a secret of enough length for hmac".to_vec());
            prop_assert!(token.verify(&key, "debts-api", 0).is_err());
        }
    }
}
