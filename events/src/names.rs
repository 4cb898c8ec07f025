//! Closed sets of snake_case names in the contract (aggregate types, payment frequencies, charge kinds),
//! declared through one macro so that each has the same derives, the same name in serde and strum, every
//! member in [`ALL`](crate::PaymentFrequency::ALL), and parsing that names the field it stood in.

/// A name that is none of its set's members; says which field and what it may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{field}: must be one of {}", .allowed.join(", "))]
pub struct UnknownName {
    /// The request or event field the name stood in (`payment_frequency`).
    pub field: &'static str,
    /// The set's names, in declaration order.
    pub allowed: &'static [&'static str],
}

/// Declares a closed set of names: `snake_case_names!(/// docs  pub enum Name in "field" { A, B })`. serde
/// and strum both write a member as its snake_case name, which is the contract's and the API's.
macro_rules! snake_case_names {
    ($(#[$meta:meta])* pub enum $name:ident in $field:literal { $($member:ident),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[derive(serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
        #[serde(rename_all = "snake_case")]
        #[derive(strum::IntoStaticStr, strum::EnumString, strum::VariantArray, strum::VariantNames)]
        #[strum(serialize_all = "snake_case")]
        pub enum $name {
            $($member),+
        }

        impl $name {
            /// Every member, in declaration order.
            pub const ALL: &'static [$name] = <$name as strum::VariantArray>::VARIANTS;

            /// The name serde writes and the API's enums list (`monthly`).
            pub fn as_str(self) -> &'static str {
                self.into()
            }

            /// The member named exactly `raw`, as serde writes it.
            pub fn parse(raw: &str) -> Result<Self, $crate::names::UnknownName> {
                raw.parse().map_err(|_| $crate::names::UnknownName {
                    field: $field,
                    allowed: <$name as strum::VariantNames>::VARIANTS,
                })
            }
        }
    };
}

pub(crate) use snake_case_names;

#[cfg(test)]
mod tests {
    use crate::{AggregateType, ChargeKind, PaymentFrequency};

    #[test]
    fn a_member_is_its_snake_case_name_both_ways() {
        for &frequency in PaymentFrequency::ALL {
            assert_eq!(PaymentFrequency::parse(frequency.as_str()), Ok(frequency));
            let json = serde_json::to_value(frequency).unwrap();
            assert_eq!(json, frequency.as_str());
        }
        assert_eq!(AggregateType::Debt.as_str(), "debt");
        assert_eq!(ChargeKind::ALL.len(), 3);
    }

    #[test]
    fn an_unknown_name_says_the_field_and_every_allowed_name() {
        let unknown = PaymentFrequency::parse("Monthly").unwrap_err();
        assert_eq!(
            unknown.to_string(),
            "payment_frequency: must be one of weekly, biweekly, monthly, quarterly, annually"
        );
        let unknown = ChargeKind::parse("tax").unwrap_err();
        assert_eq!(
            unknown.to_string(),
            "kind: must be one of interest, fee, purchase"
        );
    }
}
