//! The User aggregate: registration. Credentials are not part of it; they never enter an event.

use events::{EventPayload, UserCreated};
use thiserror::Error;

use crate::decider::Decider;
use crate::values::{Email, FullName, Username};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserCommand {
    Register {
        username: Username,
        email: Email,
        full_name: FullName,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum UserError {
    #[error("the username is already taken")]
    UsernameTaken,
}

/// A registered user, as the events describe them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserProfile {
    pub username: String,
    pub email: String,
    pub full_name: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum UserState {
    #[default]
    Unregistered,
    Registered(UserProfile),
}

pub struct User;

impl Decider for User {
    type Command = UserCommand;
    type State = UserState;
    type Error = UserError;

    fn decide(command: &UserCommand, state: &UserState) -> Result<Vec<EventPayload>, UserError> {
        match (command, state) {
            (UserCommand::Register { .. }, UserState::Registered(_)) => {
                Err(UserError::UsernameTaken)
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
                email: email.as_str().to_owned(),
                full_name: full_name.as_str().to_owned(),
            })]),
        }
    }

    fn evolve(state: UserState, event: &EventPayload) -> UserState {
        match (state, event) {
            (UserState::Unregistered, EventPayload::UserCreated(created)) => {
                UserState::Registered(UserProfile {
                    username: created.username.clone(),
                    email: created.email.clone(),
                    full_name: created.full_name.clone(),
                })
            }
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
}
