//! Amazon Resource Names, as described in
//! <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference-arns.html>.

use std::fmt;

/// A parsed ARN: `arn:partition:service:region:account:resource`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Arn {
    /// `aws`, `aws-cn`, `aws-us-gov`.
    pub partition: String,
    /// The service namespace (`iam`, `sns`, ...).
    pub service: String,
    /// The region, empty for global resources.
    pub region: String,
    /// The account id, empty for some resources (S3 buckets).
    pub account: String,
    /// Everything after the fifth colon, including any `type/` or `type:` prefix.
    pub resource: String,
}

/// Why a string is not an ARN.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid ARN {0:?}: expected arn:partition:service:region:account:resource")]
pub struct ArnError(pub String);

impl Arn {
    /// Builds an ARN in the `aws` partition.
    pub fn new(service: &str, region: &str, account: &str, resource: &str) -> Self {
        Self {
            partition: "aws".into(),
            service: service.into(),
            region: region.into(),
            account: account.into(),
            resource: resource.into(),
        }
    }

    /// Parses an ARN; the resource part may itself contain colons.
    pub fn parse(s: &str) -> Result<Self, ArnError> {
        let mut parts = s.splitn(6, ':');
        let err = || ArnError(s.to_owned());
        if parts.next() != Some("arn") {
            return Err(err());
        }
        let partition = parts.next().ok_or_else(err)?;
        let service = parts.next().ok_or_else(err)?;
        let region = parts.next().ok_or_else(err)?;
        let account = parts.next().ok_or_else(err)?;
        let resource = parts.next().ok_or_else(err)?;
        if partition.is_empty() || service.is_empty() || resource.is_empty() {
            return Err(err());
        }
        Ok(Self {
            partition: partition.into(),
            service: service.into(),
            region: region.into(),
            account: account.into(),
            resource: resource.into(),
        })
    }
}

impl fmt::Display for Arn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "arn:{}:{}:{}:{}:{}",
            self.partition, self.service, self.region, self.account, self.resource
        )
    }
}

impl std::str::FromStr for Arn {
    type Err = ArnError;
    fn from_str(s: &str) -> Result<Self, ArnError> {
        Self::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_print() {
        let cases = [
            ("arn:aws:iam::000000000000:root", true),
            ("arn:aws:sns:us-east-1:000000000000:alerts", true),
            ("arn:aws:logs:us-east-1:000000000000:log-group:/a/b:*", true),
            ("arn:aws:s3:::my-bucket/key:with:colons", true),
            ("arn:aws:sns", false),
            ("aws:sns:us-east-1:1:x", false),
            ("arn:aws:sns:us-east-1:000000000000:", false),
        ];
        for (s, ok) in cases {
            let got = Arn::parse(s);
            assert_eq!(got.is_ok(), ok, "{s}");
            if let Ok(arn) = got {
                assert_eq!(arn.to_string(), s);
            }
        }
        let arn = Arn::parse("arn:aws:logs:us-east-1:000000000000:log-group:/a/b:*").unwrap();
        assert_eq!(arn.resource, "log-group:/a/b:*");
    }
}
