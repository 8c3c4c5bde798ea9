//! The CloudFormation template language: parsing, intrinsic functions and the resource
//! dependency graph, following
//! <https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/template-reference.html>.
//!
//! The crate is pure: it does no I/O, never panics on input, and knows nothing about the
//! services that own the resources. A service drives it in four steps:
//!
//! 1. [`Template::parse`] reads JSON or YAML (short forms included) into typed sections.
//! 2. [`Template::validate`] checks every reference, attribute and condition, and builds the
//!    [`Graph`] of dependencies with a creation order and a deletion order.
//! 3. [`resolve_parameters`] checks the stack's parameter values, and
//!    [`Evaluator::new`] evaluates the conditions.
//! 4. For each resource in creation order, [`Evaluator::resolve_properties`] turns its
//!    properties into plain JSON, asking a [`Resolver`] for the physical ids and attributes
//!    of the resources created so far.
//!
//! ```
//! use std::collections::BTreeMap;
//! use mamori_template::*;
//!
//! let t = Template::parse(r#"
//! Parameters:
//!   Env: {Type: String, Default: dev}
//! Resources:
//!   Logs:
//!     Type: AWS::Logs::LogGroup
//!     Properties: {LogGroupName: !Sub '/app/${Env}'}
//!   Alerts:
//!     Type: AWS::SNS::Topic
//!     Properties: {DisplayName: !GetAtt Logs.Arn}
//! "#).unwrap();
//! let graph = t.validate(&DefaultAttributes).unwrap();
//! assert_eq!(graph.creation_order(), ["Logs", "Alerts"]);
//!
//! let values = resolve_parameters(&t, &BTreeMap::new(), &NoParameterStore).unwrap();
//! let pseudo = PseudoParameters::new("123456789012", "us-east-1", "demo");
//! let mut created = MapResolver::default();
//! created.attributes.insert(("Logs".into(), "Arn".into()), "arn:aws:logs:us-east-1:123456789012:log-group:/app/dev".into());
//! let eval = Evaluator::new(&t, &values, &pseudo, &created).unwrap();
//! let props = eval.resolve_properties("Alerts").unwrap().unwrap();
//! assert_eq!(props["DisplayName"], "arn:aws:logs:us-east-1:123456789012:log-group:/app/dev");
//! ```
#![warn(missing_docs)]

/// Choices made where the CloudFormation documentation is unclear.
#[doc = include_str!("../docs/choices.md")]
pub mod choices {}

pub mod cidr;
pub mod error;
pub mod eval;
pub mod expr;
pub mod graph;
mod json;
pub mod limits;
pub mod node;
pub mod params;
mod sub;
pub mod summary;
pub mod template;
mod validate;
mod yaml;

pub use error::{ErrorKind, Pos, Result, Section, TemplateError};
pub use eval::{Evaluator, MapResolver, PseudoParameters, ResolvedOutput, Resolver};
pub use expr::{Expr, ExprKind, SubPart};
pub use graph::Graph;
pub use params::{
    NoParameterStore, Parameter, ParameterStore, ParameterType, ParameterValue, ParameterValues,
    resolve_parameters,
};
pub use summary::{ParameterSummary, TemplateSummary};
pub use template::{DeletionPolicy, Output, Resource, Template};
pub use validate::{AttributeTable, DEFAULT_ATTRIBUTES, DefaultAttributes};
