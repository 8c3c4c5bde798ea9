//! The registry of vendored models, embedded in the binary and parsed on first use so
//! that start-up stays fast: only the models of services that see traffic are parsed.

use std::sync::OnceLock;

use crate::model::ServiceModel;

macro_rules! models {
    ($($id:literal),* $(,)?) => {
        /// Every vendored model id, in models/ order.
        pub const IDS: &[&str] = &[$($id),*];

        fn bytes(id: &str) -> Option<&'static [u8]> {
            match id {
                $($id => Some(include_bytes!(concat!(
                    env!("CARGO_MANIFEST_DIR"), "/../../models/", $id, "/service-2.json.gz"
                )).as_slice()),)*
                _ => None,
            }
        }
    };
}

models!(
    "cloudformation",
    "cloudhsmv2",
    "cloudtrail",
    "cloudwatch",
    "config",
    "ec2",
    "fms",
    "iam",
    "inspector",
    "inspector2",
    "kms",
    "logs",
    "organizations",
    "s3",
    "s3control",
    "shield",
    "sns",
    "ssm",
    "sts",
    "wafv2",
);

static CELLS: [OnceLock<ServiceModel>; IDS.len()] = [const { OnceLock::new() }; IDS.len()];

/// The model with this id, parsed on first use; `None` for an unknown id.
///
/// # Panics
/// If an embedded model does not parse: the binary was built from broken data, which
/// the model tests catch before release.
pub fn get(id: &str) -> Option<&'static ServiceModel> {
    let idx = IDS.iter().position(|m| *m == id)?;
    let id: &'static str = IDS[idx];
    Some(CELLS[idx].get_or_init(|| {
        #[allow(clippy::expect_used)]
        ServiceModel::from_gzip(id, bytes(id).expect("embedded")).expect("embedded model parses")
    }))
}

/// Static routing facts per model, so routing does not parse models it will not use.
#[derive(Debug, Clone, Copy)]
pub struct RouteInfo {
    /// Model id.
    pub id: &'static str,
    /// SigV4 signing name.
    pub signing_name: &'static str,
    /// `X-Amz-Target` prefix, for JSON and CBOR services.
    pub target_prefix: Option<&'static str>,
}

/// Routing facts of every model (checked against the models by a test).
pub const ROUTES: &[RouteInfo] = &[
    RouteInfo { id: "cloudformation", signing_name: "cloudformation", target_prefix: None },
    RouteInfo {
        id: "cloudhsmv2",
        signing_name: "cloudhsm",
        target_prefix: Some("BaldrApiService"),
    },
    RouteInfo {
        id: "cloudtrail",
        signing_name: "cloudtrail",
        target_prefix: Some("com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101"),
    },
    RouteInfo {
        id: "cloudwatch",
        signing_name: "monitoring",
        target_prefix: Some("GraniteServiceVersion20100801"),
    },
    RouteInfo { id: "config", signing_name: "config", target_prefix: Some("StarlingDoveService") },
    RouteInfo { id: "ec2", signing_name: "ec2", target_prefix: None },
    RouteInfo { id: "fms", signing_name: "fms", target_prefix: Some("AWSFMS_20180101") },
    RouteInfo { id: "iam", signing_name: "iam", target_prefix: None },
    RouteInfo {
        id: "inspector",
        signing_name: "inspector",
        target_prefix: Some("InspectorService"),
    },
    RouteInfo { id: "inspector2", signing_name: "inspector2", target_prefix: None },
    RouteInfo { id: "kms", signing_name: "kms", target_prefix: Some("TrentService") },
    RouteInfo { id: "logs", signing_name: "logs", target_prefix: Some("Logs_20140328") },
    RouteInfo {
        id: "organizations",
        signing_name: "organizations",
        target_prefix: Some("AWSOrganizationsV20161128"),
    },
    RouteInfo { id: "s3", signing_name: "s3", target_prefix: None },
    // S3 Control signs as `s3` too; `route` tells its requests apart by their path.
    RouteInfo { id: "s3control", signing_name: "s3", target_prefix: None },
    RouteInfo { id: "shield", signing_name: "shield", target_prefix: Some("AWSShield_20160616") },
    RouteInfo { id: "sns", signing_name: "sns", target_prefix: None },
    RouteInfo { id: "ssm", signing_name: "ssm", target_prefix: Some("AmazonSSM") },
    RouteInfo { id: "sts", signing_name: "sts", target_prefix: None },
    RouteInfo { id: "wafv2", signing_name: "wafv2", target_prefix: Some("AWSWAF_20190729") },
];

/// Routing facts by signing name.
pub fn by_signing_name(name: &str) -> Option<&'static RouteInfo> {
    ROUTES.iter().find(|r| r.signing_name == name)
}

/// Routing facts by `X-Amz-Target` prefix.
pub fn by_target_prefix(prefix: &str) -> Option<&'static RouteInfo> {
    ROUTES.iter().find(|r| r.target_prefix == Some(prefix))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_model_loads_and_matches_its_route_facts() {
        assert_eq!(IDS.len(), ROUTES.len());
        for route in ROUTES {
            let model = get(route.id).unwrap();
            assert_eq!(model.metadata.signing_name(), route.signing_name, "{}", route.id);
            assert_eq!(
                model.metadata.target_prefix.as_deref(),
                route.target_prefix,
                "{}",
                route.id
            );
            assert!(!model.operations.is_empty());
            for op in model.operations.values() {
                for r in op.input.iter().chain(&op.output).chain(&op.errors) {
                    assert!(model.shape(&r.shape).is_some(), "{}: {}", route.id, r.shape);
                }
            }
        }
    }
}
