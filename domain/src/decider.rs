//! The decider pattern: an aggregate is `decide` (command and state to events, or a refusal) and `evolve`
//! (state and event to the next state), both pure. Handlers load, decide, and append; nothing else.

use events::EventPayload;

/// One aggregate's behaviour, free of I/O.
pub trait Decider {
    type Command;
    type State: Default;
    type Error;

    /// What the command means in this state: the events to append (possibly none), or why it is refused.
    fn decide(
        command: &Self::Command,
        state: &Self::State,
    ) -> Result<Vec<EventPayload>, Self::Error>;

    /// The state after one more event. Events are facts: evolve never refuses one, it ignores what does
    /// not apply.
    fn evolve(state: Self::State, event: &EventPayload) -> Self::State;

    /// The state after a whole history, oldest event first.
    fn fold<'a>(events: impl IntoIterator<Item = &'a EventPayload>) -> Self::State {
        events
            .into_iter()
            .fold(Self::State::default(), Self::evolve)
    }
}

/// given/when/then for deciders, in the style of cqrs-es' test framework:
/// `given::<Debt>(history).when(command).then_expect(events)`.
pub mod test_kit {
    use super::Decider;
    use events::EventPayload;
    use std::fmt::Debug;

    pub struct Given<D: Decider> {
        state: D::State,
    }

    pub struct When<D: Decider> {
        outcome: Result<Vec<EventPayload>, D::Error>,
        state: D::State,
    }

    /// Starts a scenario from a history of events.
    pub fn given<D: Decider>(history: impl IntoIterator<Item = EventPayload>) -> Given<D> {
        let history: Vec<EventPayload> = history.into_iter().collect();
        Given {
            state: D::fold(&history),
        }
    }

    impl<D: Decider> Given<D> {
        pub fn when(self, command: D::Command) -> When<D> {
            When {
                outcome: D::decide(&command, &self.state),
                state: self.state,
            }
        }
    }

    impl<D: Decider> When<D>
    where
        D::Error: Debug + PartialEq,
    {
        /// The command is accepted and yields exactly these events.
        pub fn then_expect(self, expected: impl IntoIterator<Item = EventPayload>) -> D::State {
            let expected: Vec<EventPayload> = expected.into_iter().collect();
            match self.outcome {
                Ok(events) => {
                    assert_eq!(events, expected, "the command produced other events");
                    events.iter().fold(self.state, D::evolve)
                }
                Err(error) => {
                    panic!("expected events {expected:?}, the command was refused: {error:?}")
                }
            }
        }

        /// The command is refused with exactly this error.
        pub fn then_error(self, expected: D::Error) {
            match self.outcome {
                Ok(events) => panic!("expected the error {expected:?}, got events {events:?}"),
                Err(error) => assert_eq!(error, expected),
            }
        }
    }
}
