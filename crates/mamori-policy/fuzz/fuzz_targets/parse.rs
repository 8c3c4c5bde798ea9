//! Fuzzes the policy parser (<https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_grammar.html>):
//! no input may panic, and whatever parses must print and re-parse to an equal policy and
//! evaluate without panicking.

#![no_main]

use libfuzzer_sys::fuzz_target;
use mamori_policy::*;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    for kind in [PolicyKind::Identity, PolicyKind::Resource, PolicyKind::Trust, PolicyKind::Scp] {
        let Ok(policy) = Policy::parse(text, kind) else { continue };
        let again = Policy::parse(&policy.to_json(), kind).expect("printed policy re-parses");
        assert_eq!(again, policy);
        let request =
            Request::new(Principal::user("111122223333", "u"), "s3:GetObject", "arn:aws:s3:::b/k")
                .with_context("aws:username", "u");
        let set = PolicySet {
            resource_policy: Some(AttachedPolicy { label: "r".into(), policy: policy.clone() }),
            identity: vec![AttachedPolicy { label: "p".into(), policy }],
            ..PolicySet::default()
        };
        let _ = evaluate(&request, &set);
    }
});
