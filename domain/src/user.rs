//! The User aggregate: registration, settings (a time zone) and erasure. Credentials are not part of it; they never enter an event.

use events::{
    EventPayload, LegacyEventRedacted, NotificationSettings, RedactedEvent, UserChanges,
    UserCreated, UserErased, UserUpdated,
};
use thiserror::Error;

use crate::decider::Decider;
use crate::values::{Email, FullName, TimeZoneName, Username};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserCommand {
    Register {
        username: Username,
        email: Email,
        full_name: FullName,
    },
    /// The user's own erasure (the handler checked their password). `legacy` are the events written in clear
    /// before sealing whose personal fields the erasure redacts in place.
    Erase { legacy: Vec<RedactedEvent> },
    /// The user's own settings; a setting equal to what it is changes nothing. `notifications` are
    /// replaced whole.
    Update {
        time_zone: Option<TimeZoneName>,
        notifications: Option<NotificationSettings>,
    },
    /// A new private calendar feed under `feed_id`, replacing any the user had.
    IssueCalendarFeed { feed_id: uuid::Uuid },
    /// The user's calendar feed stops working; nothing when they have none.
    RevokeCalendarFeed,
    /// A payoff plan and the promise it made, computed by the handler from the user's debts when adopted;
    /// it supersedes any earlier one.
    AdoptPlan(events::PlanAdopted),
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum UserError {
    #[error("the username is already taken")]
    UsernameTaken,
    #[error("no such user")]
    NotFound,
}

/// A registered user, as the events describe them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserProfile {
    pub username: String,
    pub email: String,
    pub full_name: String,
    /// An IANA name; `UTC` until the user sets one.
    pub time_zone: String,
    pub notifications: NotificationSettings,
    /// The id of the user's calendar feed, while they have one.
    pub calendar_feed: Option<uuid::Uuid>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum UserState {
    #[default]
    Unregistered,
    Registered(UserProfile),
    /// Erased: the username stays taken, nothing else of the user is left.
    Erased,
}

pub struct User;

/// The event of the settings that differ from the profile's, if any does.
fn settings_changed(
    profile: &UserProfile,
    time_zone: Option<&TimeZoneName>,
    notifications: Option<&NotificationSettings>,
) -> Vec<EventPayload> {
    let changes = UserChanges {
        time_zone: time_zone
            .map(|zone| zone.as_str().to_owned())
            .filter(|zone| *zone != profile.time_zone),
        notifications: notifications
            .filter(|settings| **settings != profile.notifications)
            .cloned(),
        calendar_feed: None,
    };
    if changes == UserChanges::default() {
        Vec::new()
    } else {
        vec![EventPayload::UserUpdated(UserUpdated { changes })]
    }
}

/// The event of a calendar feed issued (`Some`) or revoked.
fn calendar_feed(feed: Option<uuid::Uuid>) -> EventPayload {
    EventPayload::UserUpdated(UserUpdated {
        changes: UserChanges {
            calendar_feed: Some(feed),
            ..UserChanges::default()
        },
    })
}

impl Decider for User {
    type Command = UserCommand;
    type State = UserState;
    type Error = UserError;

    fn decide(command: &UserCommand, state: &UserState) -> Result<Vec<EventPayload>, UserError> {
        match (command, state) {
            (UserCommand::Register { .. }, UserState::Registered(_) | UserState::Erased) => {
                Err(UserError::UsernameTaken)
            }
            (
                UserCommand::Erase { .. }
                | UserCommand::Update { .. }
                | UserCommand::IssueCalendarFeed { .. }
                | UserCommand::RevokeCalendarFeed
                | UserCommand::AdoptPlan(_),
                UserState::Unregistered | UserState::Erased,
            ) => Err(UserError::NotFound),
            (UserCommand::AdoptPlan(plan), UserState::Registered(_)) => {
                Ok(vec![EventPayload::PlanAdopted(plan.clone())])
            }
            (UserCommand::IssueCalendarFeed { feed_id }, UserState::Registered(_)) => {
                Ok(vec![calendar_feed(Some(*feed_id))])
            }
            (UserCommand::RevokeCalendarFeed, UserState::Registered(profile)) => {
                Ok(match profile.calendar_feed {
                    Some(_) => vec![calendar_feed(None)],
                    None => Vec::new(),
                })
            }
            (
                UserCommand::Update {
                    time_zone,
                    notifications,
                },
                UserState::Registered(profile),
            ) => Ok(settings_changed(
                profile,
                time_zone.as_ref(),
                notifications.as_ref(),
            )),
            (UserCommand::Erase { legacy }, UserState::Registered(_)) => {
                let mut events = vec![EventPayload::UserErased(UserErased::default())];
                if !legacy.is_empty() {
                    events.push(EventPayload::LegacyEventRedacted(LegacyEventRedacted {
                        events: legacy.clone(),
                    }));
                }
                Ok(events)
            }
            (
                UserCommand::Register {
                    username,
                    email,
                    full_name,
                },
                UserState::Unregistered,
            ) => Ok(vec![EventPayload::UserCreated(UserCreated {
                username: username.as_str().to_owned(),
                email: email.as_str().into(),
                full_name: full_name.as_str().into(),
            })]),
        }
    }

    fn evolve(state: UserState, event: &EventPayload) -> UserState {
        match (state, event) {
            (UserState::Unregistered, EventPayload::UserCreated(created)) => {
                UserState::Registered(UserProfile {
                    username: created.username.clone(),
                    email: created.email.to_shown(),
                    full_name: created.full_name.to_shown(),
                    time_zone: TimeZoneName::utc().as_str().to_owned(),
                    notifications: NotificationSettings::default(),
                    calendar_feed: None,
                })
            }
            (UserState::Registered(mut profile), EventPayload::UserUpdated(updated)) => {
                if let Some(zone) = &updated.changes.time_zone {
                    profile.time_zone.clone_from(zone);
                }
                if let Some(settings) = &updated.changes.notifications {
                    profile.notifications.clone_from(settings);
                }
                if let Some(feed) = updated.changes.calendar_feed {
                    profile.calendar_feed = feed;
                }
                UserState::Registered(profile)
            }
            (UserState::Registered(_), EventPayload::UserErased(_)) => UserState::Erased,
            (state, _) => state,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decider::test_kit::given;

    fn register(username: &str) -> UserCommand {
        UserCommand::Register {
            username: Username::parse(username).unwrap(),
            email: Email::parse("Ada@Example.com").unwrap(),
            full_name: FullName::parse("Ada Lovelace").unwrap(),
        }
    }

    fn created(username: &str) -> EventPayload {
        EventPayload::UserCreated(UserCreated {
            username: username.into(),
            email: "Ada@Example.com".into(),
            full_name: "Ada Lovelace".into(),
        })
    }

    #[test]
    fn a_new_username_registers() {
        let state = given::<User>([])
            .when(register("Ada"))
            .then_expect([created("ada")]);
        assert!(matches!(state, UserState::Registered(p) if p.username == "ada"));
    }

    #[test]
    fn a_taken_username_is_refused() {
        given::<User>([created("ada")])
            .when(register("ada"))
            .then_error(UserError::UsernameTaken);
    }

    fn erased() -> EventPayload {
        EventPayload::UserErased(UserErased::default())
    }

    fn a_plan() -> events::PlanAdopted {
        events::PlanAdopted {
            strategy: events::PlanStrategy::Snowball,
            monthly_budget: rust_decimal::Decimal::new(30_000, 2),
            order: vec!["d-1".into()],
            budget_changes: Vec::new(),
            extra: Vec::new(),
            start: "2026-07".into(),
            starting_total: rust_decimal::Decimal::new(50_000, 2),
            planned_totals: vec![
                rust_decimal::Decimal::new(20_000, 2),
                rust_decimal::Decimal::ZERO,
            ],
            total_interest: rust_decimal::Decimal::ZERO,
        }
    }

    #[test]
    fn a_registered_user_adopts_a_plan_and_an_erased_one_cannot() {
        let state = given::<User>([created("ada")])
            .when(UserCommand::AdoptPlan(a_plan()))
            .then_expect([EventPayload::PlanAdopted(a_plan())]);
        assert!(
            matches!(state, UserState::Registered(_)),
            "a plan changes no setting"
        );
        given::<User>([created("ada"), erased()])
            .when(UserCommand::AdoptPlan(a_plan()))
            .then_error(UserError::NotFound);
        given::<User>([])
            .when(UserCommand::AdoptPlan(a_plan()))
            .then_error(UserError::NotFound);
    }

    fn erase(legacy: Vec<RedactedEvent>) -> UserCommand {
        UserCommand::Erase { legacy }
    }

    #[test]
    fn a_calendar_feed_is_issued_replaced_and_revoked() {
        let first = uuid::Uuid::from_u128(1);
        let second = uuid::Uuid::from_u128(2);
        let issued = |feed| calendar_feed(Some(feed));
        let state = given::<User>([created("ada")])
            .when(UserCommand::IssueCalendarFeed { feed_id: first })
            .then_expect([issued(first)]);
        assert!(matches!(state, UserState::Registered(p) if p.calendar_feed == Some(first)));
        let state = given::<User>([created("ada"), issued(first)])
            .when(UserCommand::IssueCalendarFeed { feed_id: second })
            .then_expect([issued(second)]);
        assert!(matches!(state, UserState::Registered(p) if p.calendar_feed == Some(second)));
        let state = given::<User>([created("ada"), issued(first)])
            .when(UserCommand::RevokeCalendarFeed)
            .then_expect([calendar_feed(None)]);
        assert!(matches!(state, UserState::Registered(p) if p.calendar_feed.is_none()));
        given::<User>([created("ada"), issued(first), calendar_feed(None)])
            .when(UserCommand::RevokeCalendarFeed)
            .then_expect([]);
        given::<User>([created("ada"), erased()])
            .when(UserCommand::IssueCalendarFeed { feed_id: first })
            .then_error(UserError::NotFound);
    }

    #[test]
    fn a_registered_user_is_erased_and_keeps_the_username_taken() {
        let state = given::<User>([created("ada")])
            .when(erase(vec![]))
            .then_expect([erased()]);
        assert_eq!(state, UserState::Erased);
        given::<User>([created("ada"), erased()])
            .when(register("ada"))
            .then_error(UserError::UsernameTaken);
    }

    #[test]
    fn legacy_events_are_listed_after_the_erasure() {
        let legacy = RedactedEvent {
            aggregate_type: events::AggregateType::Debt,
            aggregate_id: "d1".into(),
            version: 1,
            event_id: uuid::Uuid::nil(),
            fields: vec!["debt_name".into()],
        };
        given::<User>([created("ada")])
            .when(erase(vec![legacy.clone()]))
            .then_expect([
                erased(),
                EventPayload::LegacyEventRedacted(LegacyEventRedacted {
                    events: vec![legacy],
                }),
            ]);
    }

    #[test]
    fn an_unknown_or_erased_user_cannot_be_erased() {
        given::<User>([])
            .when(erase(vec![]))
            .then_error(UserError::NotFound);
        given::<User>([created("ada"), erased()])
            .when(erase(vec![]))
            .then_error(UserError::NotFound);
    }
}
