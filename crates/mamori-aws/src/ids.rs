//! Account ids, regions, request ids and the timestamp forms AWS writes.

use std::fmt;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

/// A 12-digit AWS account id.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct AccountId(String);

impl AccountId {
    /// Parses a 12-digit account id.
    pub fn parse(s: &str) -> Option<Self> {
        (s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())).then(|| Self(s.to_owned()))
    }

    /// The account id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for AccountId {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Self::parse(&s).ok_or_else(|| format!("invalid account id {s:?}"))
    }
}

impl From<AccountId> for String {
    fn from(a: AccountId) -> String {
        a.0
    }
}

impl fmt::Display for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An AWS region code such as `us-east-1`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Region(String);

impl Region {
    /// Parses a region code: lower-case letters, digits and dashes, 1 to 32 characters.
    pub fn parse(s: &str) -> Option<Self> {
        let ok = !s.is_empty()
            && s.len() <= 32
            && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        ok.then(|| Self(s.to_owned()))
    }

    /// The region as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The region's display name as CloudWatch writes it in alarm notifications.
    pub fn display_name(&self) -> &str {
        match self.0.as_str() {
            "us-east-1" => "US East (N. Virginia)",
            "us-east-2" => "US East (Ohio)",
            "us-west-1" => "US West (N. California)",
            "us-west-2" => "US West (Oregon)",
            "eu-west-1" => "EU (Ireland)",
            "eu-west-2" => "EU (London)",
            "eu-central-1" => "EU (Frankfurt)",
            "ap-northeast-1" => "Asia Pacific (Tokyo)",
            "ap-northeast-3" => "Asia Pacific (Osaka)",
            "ap-southeast-1" => "Asia Pacific (Singapore)",
            "ap-southeast-2" => "Asia Pacific (Sydney)",
            other => other,
        }
    }
}

impl TryFrom<String> for Region {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Self::parse(&s).ok_or_else(|| format!("invalid region {s:?}"))
    }
}

impl From<Region> for String {
    fn from(r: Region) -> String {
        r.0
    }
}

impl fmt::Display for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A new request id in the UUID form AWS uses.
pub fn new_request_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// ISO 8601 with milliseconds and `Z`, as query protocols and CloudTrail write times.
pub fn timestamp_iso8601(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_ids() {
        for (s, ok) in [("000000000000", true), ("12345678901", false), ("12345678901a", false)] {
            assert_eq!(AccountId::parse(s).is_some(), ok, "{s}");
        }
    }

    #[test]
    fn regions() {
        for (s, ok) in [("us-east-1", true), ("US-EAST-1", false), ("", false), ("eu-west-3", true)]
        {
            assert_eq!(Region::parse(s).is_some(), ok, "{s}");
        }
        assert_eq!(Region::parse("us-east-1").unwrap().display_name(), "US East (N. Virginia)");
    }

    #[test]
    fn iso_timestamps() {
        let t = DateTime::from_timestamp(1_600_000_000, 5_000_000).unwrap();
        assert_eq!(timestamp_iso8601(t), "2020-09-13T12:26:40.005Z");
    }
}
