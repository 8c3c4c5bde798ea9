//! The service framework: what every service crate builds on.
//!
//! - [`Service`]: a service's operations, called with a [`Context`] and the neutral
//!   input value (see `mamori-wire`).
//! - [`Dispatcher`]: the one path every call takes, external or internal: authorization
//!   hook, handler, audit record.
//! - [`Clock`] and [`Scheduler`]: time, real or manual, and the periodic work it drives.
//! - [`Credentials`]: how access keys resolve to principals.
//! - [`ResourceProvider`]: how a service creates its resources for CloudFormation.
#![warn(missing_docs)]

mod audit;
mod clock;
mod context;
mod credentials;
mod dispatcher;
mod mfa;
mod provider;
mod scheduler;
mod service;

pub use audit::{AuditRecord, AuditSink, Kept};
pub use clock::{Clock, ManualClock, RealClock, SharedClock};
pub use context::{Context, Principal, PrincipalKind};
pub use credentials::{
    ACCESS_KEY_PARTITION, ACCESS_KEYS, Credential, Credentials, RootCredentials, StoreCredentials,
    StoredAccessKey, StoredPrincipalKind,
};
pub use dispatcher::{AllowAll, Authorizer, AuthzRequest, Dispatcher, InputValidator};
pub use mfa::{
    MFA_DEVICES, ROOT_DEVICE_NAME, StoredMfaDevice, base32_decode, base32_encode, find_step,
    root_arn, root_serial, time_step, totp,
};
pub use provider::{
    ResourceProvider, ResourceRequest, ResourceState, generated_name, missing_property, prop_bool,
    prop_document, prop_f64, prop_str,
};
pub use scheduler::{Scheduler, Task};
pub use service::{OpSpec, Service, parse_input, to_output};

pub use async_trait::async_trait;
