//! Helpers shared by the integration tests: building policy sets and requests in one line.

#![allow(dead_code)]

use mamori_policy::*;

pub const ACCOUNT: &str = "111122223333";
pub const OTHER: &str = "444455556666";

pub fn parse(kind: PolicyKind, doc: &str) -> Policy {
    Policy::parse(doc, kind).unwrap_or_else(|e| panic!("{doc}: {e}"))
}

pub fn attached(label: &str, kind: PolicyKind, doc: &str) -> AttachedPolicy {
    AttachedPolicy { label: label.to_owned(), policy: parse(kind, doc) }
}

/// A 2012-10-17 policy with the given statements (JSON objects, comma-separated).
pub fn doc(statements: &str) -> String {
    format!(r#"{{"Version":"2012-10-17","Statement":[{statements}]}}"#)
}

/// Allows everything if `condition` (a JSON `Condition` block) holds for `context`.
pub fn condition_holds(condition: &str, context: &[(&str, ContextValue)]) -> bool {
    let statement =
        format!(r#"{{"Effect":"Allow","Action":"*","Resource":"*","Condition":{condition}}}"#);
    let set = PolicySet {
        identity: vec![attached("cond", PolicyKind::Identity, &doc(&statement))],
        ..PolicySet::default()
    };
    let mut request = Request::new(Principal::user(ACCOUNT, "alice"), "s3:GetObject", "*");
    for (key, value) in context {
        request.context.insert((*key).to_owned(), value.clone());
    }
    evaluate(&request, &set).effect == DecisionEffect::Allow
}

pub fn s(value: &str) -> ContextValue {
    ContextValue::from(value)
}

pub fn multi(values: &[&str]) -> ContextValue {
    ContextValue::strings(values)
}
