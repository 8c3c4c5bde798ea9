//! Unit tests per operation family, through the dispatcher with the policy authorizer.
