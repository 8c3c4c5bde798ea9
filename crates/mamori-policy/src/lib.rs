//! The IAM policy language and its evaluation, following
//! <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies.html> and
//! <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html>.
//!
//! The crate is pure: it does no I/O and never panics on input. A policy is parsed once
//! ([`Policy::parse`]: JSON, then [`RawPolicy`], then a validated [`Policy`] with compiled
//! matchers) and then evaluated for every request ([`evaluate`]). A [`Decision`] carries the
//! statements that matched and the stage that decided, so a service can log it and a CLI can
//! explain it; [`simulate`] gives the same answer in the shape of IAM's policy simulator.
//!
//! ```
//! use mamori_policy::*;
//!
//! let identity = Policy::parse(r#"{
//!     "Version": "2012-10-17",
//!     "Statement": [
//!         {"Sid": "Home", "Effect": "Allow", "Action": "s3:*",
//!          "Resource": "arn:aws:s3:::home/${aws:username}/*"},
//!         {"Effect": "Deny", "Action": "s3:DeleteObject", "Resource": "*"}
//!     ]}"#, PolicyKind::Identity).unwrap();
//! let set = PolicySet {
//!     identity: vec![AttachedPolicy { label: "home".into(), policy: identity }],
//!     ..PolicySet::default()
//! };
//! let bob = Principal::user("111122223333", "bob");
//! let put = Request::new(bob.clone(), "s3:PutObject", "arn:aws:s3:::home/bob/notes.txt")
//!     .with_context("aws:username", "bob");
//! let decision = evaluate(&put, &set);
//! assert_eq!(decision.effect, DecisionEffect::Allow);
//! assert_eq!(decision.matched[0].sid, Some("Home"));
//!
//! let delete = Request { action: "s3:DeleteObject".into(), ..put };
//! assert_eq!(evaluate(&delete, &set).effect, DecisionEffect::ExplicitDeny);
//! ```

#![doc = include_str!("../docs/choices.md")]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod condition;
mod error;
mod eval;
mod matching;
mod parse;
mod policy;
mod request;
mod simulate;
mod variables;

pub use condition::{Condition, Operator, OperatorKind, SetOperator};
pub use error::PolicyError;
pub use eval::{
    AttachedPolicy, Decision, DecisionEffect, MatchedStatement, PolicySet, PolicySource, Reason,
    evaluate,
};
pub use parse::{OneOrMany, RawPolicy, RawPrincipal, RawStatement, non_whitespace_len};
pub use policy::{
    ActionElement, Effect, Policy, PolicyKind, PrincipalElement, PrincipalId, Principals,
    ResourceElement, Statement, Version,
};
pub use request::{ContextValue, Principal, PrincipalKind, Request, Value};
pub use simulate::{EvalDecision, SimulationResult, simulate};
