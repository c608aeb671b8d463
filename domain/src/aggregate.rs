//! What every aggregate offers: a state that is folded from its own stream's events.

use crate::event::DomainEvent;

/// An aggregate's state. `evolve` folds one event of its stream into it; it never fails, because
/// an event is a fact that already happened. Each aggregate module also has a
/// `decide(&state, &command) -> Result<Vec<DomainEvent>, DomainError>`.
pub trait Aggregate: Default + Clone + Send + Sync + 'static {
    fn evolve(self, event: &DomainEvent) -> Self;

    /// Folds a whole history.
    fn from_history<'a>(events: impl IntoIterator<Item = &'a DomainEvent>) -> Self {
        events.into_iter().fold(Self::default(), Self::evolve)
    }
}
