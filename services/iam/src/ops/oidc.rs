//! OpenID Connect identity providers, following the IAM API pages
//! `CreateOpenIDConnectProvider`, `GetOpenIDConnectProvider`, `ListOpenIDConnectProviders`,
//! `DeleteOpenIDConnectProvider`, `AddClientIDToOpenIDConnectProvider`,
//! `RemoveClientIDFromOpenIDConnectProvider`, `UpdateOpenIDConnectProviderThumbprint` and the
//! tag operations, and
//! <https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_providers_create_oidc.html>.
//!
//! The provider's ARN is `arn:aws:iam::<account>:oidc-provider/<url without https://>`, which
//! is what trust policies name as `{"Federated": ...}`.
// GAP: STS AssumeRoleWithWebIdentity does not exist yet, so a provider is stored and listed
// but no web identity token is accepted; the provider's keys are never fetched.

use mamori_aws::AwsError;
use mamori_service::Context;
use mamori_store::{Collection, Tx};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::state::*;

/// An OIDC provider, under its ARN.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OidcProvider {
    /// ARN.
    pub arn: String,
    /// The issuer URL as given (`https://token.actions.githubusercontent.com`).
    pub url: String,
    /// Audiences (client ids).
    pub client_ids: Vec<String>,
    /// Server certificate thumbprints (hex SHA-1).
    pub thumbprints: Vec<String>,
    /// Created.
    pub created: chrono::DateTime<chrono::Utc>,
    /// Tags.
    pub tags: Vec<Tag>,
}

/// OIDC providers by ARN.
pub const OIDC_PROVIDERS: Collection<OidcProvider> = Collection::new("iam.oidc-providers");

/// How many client ids and thumbprints a provider may have (IAM quotas).
const MAX_CLIENT_IDS: usize = 100;
const MAX_THUMBPRINTS: usize = 5;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct In {
    url: Option<String>,
    #[serde(rename = "ClientIDList", default)]
    client_id_list: Vec<String>,
    #[serde(default)]
    thumbprint_list: Vec<String>,
    #[serde(rename = "ClientID")]
    client_id: Option<String>,
    #[serde(rename = "OpenIDConnectProviderArn")]
    open_id_connect_provider_arn: Option<String>,
    #[serde(default)]
    tags: Vec<Tag>,
    #[serde(default)]
    tag_keys: Vec<String>,
    marker: Option<String>,
    max_items: Option<i64>,
}

fn no_provider(arn: &str) -> AwsError {
    AwsError::new(
        "NoSuchEntityException",
        format!("OpenIDConnect Provider not found for arn {arn}"),
    )
}

fn get(tx: &Tx<'_>, acct: &str, arn: &str) -> Result<OidcProvider, AwsError> {
    OIDC_PROVIDERS.get(tx, acct, arn).map_err(db)?.ok_or_else(|| no_provider(arn))
}

fn check_thumbprints(list: &[String]) -> Result<(), AwsError> {
    if list.len() > MAX_THUMBPRINTS {
        return Err(AwsError::new(
            "LimitExceededException",
            format!(
                "Cannot exceed quota for ThumbprintsPerOpenIdConnectProvider: {MAX_THUMBPRINTS}"
            ),
        ));
    }
    match list.iter().find(|t| t.len() != 40 || !t.bytes().all(|b| b.is_ascii_hexdigit())) {
        Some(t) => {
            Err(AwsError::new("InvalidInputException", format!("Thumbprint {t} is invalid.")))
        }
        None => Ok(()),
    }
}

/// The provider's ARN for issuer `url` (`https://host/path` -> `host/path`).
fn provider_arn(acct: &str, url: &str) -> Result<String, AwsError> {
    let rest = url
        .strip_prefix("https://")
        .filter(|r| !r.is_empty() && !r.contains('?') && !r.contains('#'))
        .ok_or_else(|| AwsError::new("InvalidInputException", "Invalid OpenIdConnect URL."))?;
    Ok(format!("arn:aws:iam::{acct}:oidc-provider/{}", rest.trim_end_matches('/')))
}

pub fn call(ctx: &Context, op: &str, input: Value) -> Result<Value, AwsError> {
    let i: In = mamori_service::parse_input(input)?;
    let acct = ctx.account.as_str();
    let store = ctx.dispatcher.store();
    let arn = || {
        i.open_id_connect_provider_arn
            .as_deref()
            .ok_or_else(|| AwsError::validation("OpenIDConnectProviderArn is required"))
    };
    match op {
        "CreateOpenIDConnectProvider" => {
            let url = i.url.as_deref().ok_or_else(|| AwsError::validation("Url is required"))?;
            let arn = provider_arn(acct, url)?;
            check_thumbprints(&i.thumbprint_list)?;
            if i.client_id_list.len() > MAX_CLIENT_IDS {
                return Err(AwsError::new(
                    "LimitExceededException",
                    format!(
                        "Cannot exceed quota for ClientIdsPerOpenIdConnectProvider: {MAX_CLIENT_IDS}"
                    ),
                ));
            }
            let mut tags = Vec::new();
            merge_tags(&mut tags, i.tags.clone())?;
            let mut client_ids = i.client_id_list.clone();
            client_ids.dedup();
            let p = OidcProvider {
                arn: arn.clone(),
                url: url.to_owned(),
                client_ids,
                thumbprints: i.thumbprint_list.clone(),
                created: ctx.time,
                tags,
            };
            wr(store, |tx| {
                if OIDC_PROVIDERS.contains(tx, acct, &arn).map_err(db)? {
                    return Err(AwsError::new(
                        "EntityAlreadyExistsException",
                        format!("Provider with url {url} already exists."),
                    ));
                }
                OIDC_PROVIDERS.put(tx, acct, &arn, &p).map_err(db)
            })?;
            tracing::info!(target: "iam", provider = %arn, "OIDC provider created");
            let mut out = json!({"OpenIDConnectProviderArn": arn});
            if !p.tags.is_empty() {
                out["Tags"] = tags_json(&p.tags);
            }
            Ok(out)
        }
        "GetOpenIDConnectProvider" => rd(store, |tx| {
            let p = get(tx, acct, arn()?)?;
            let mut out = json!({"Url": p.url.trim_start_matches("https://"), "ClientIDList": p.client_ids,
                "ThumbprintList": p.thumbprints, "CreateDate": ts(p.created)});
            if !p.tags.is_empty() {
                out["Tags"] = tags_json(&p.tags);
            }
            Ok(out)
        }),
        "ListOpenIDConnectProviders" => rd(store, |tx| {
            let all = OIDC_PROVIDERS.all(tx, acct).map_err(db)?;
            let list: Vec<Value> = all.iter().map(|(_, p)| json!({"Arn": p.arn})).collect();
            Ok(json!({"OpenIDConnectProviderList": list}))
        }),
        "DeleteOpenIDConnectProvider" => wr(store, |tx| {
            let arn = arn()?;
            get(tx, acct, arn)?;
            OIDC_PROVIDERS.delete(tx, acct, arn).map_err(db)?;
            Ok(json!({}))
        }),
        _ => wr(store, |tx| {
            let arn = arn()?;
            let mut p = get(tx, acct, arn)?;
            match op {
                "AddClientIDToOpenIDConnectProvider"
                | "RemoveClientIDFromOpenIDConnectProvider" => {
                    let id = i
                        .client_id
                        .clone()
                        .ok_or_else(|| AwsError::validation("ClientID is required"))?;
                    p.client_ids.retain(|c| *c != id);
                    if op.starts_with("Add") {
                        if p.client_ids.len() >= MAX_CLIENT_IDS {
                            return Err(AwsError::new(
                                "LimitExceededException",
                                format!(
                                    "Cannot exceed quota for ClientIdsPerOpenIdConnectProvider: {MAX_CLIENT_IDS}"
                                ),
                            ));
                        }
                        p.client_ids.push(id);
                    }
                }
                "UpdateOpenIDConnectProviderThumbprint" => {
                    check_thumbprints(&i.thumbprint_list)?;
                    p.thumbprints = i.thumbprint_list.clone();
                }
                "TagOpenIDConnectProvider" => merge_tags(&mut p.tags, i.tags.clone())?,
                "UntagOpenIDConnectProvider" => p.tags.retain(|t| !i.tag_keys.contains(&t.key)),
                "ListOpenIDConnectProviderTags" => {
                    let items: Vec<_> = p.tags.iter().map(|t| (t.key.clone(), t.clone())).collect();
                    let (page, marker) = paginate(items, i.marker.as_deref(), i.max_items);
                    return Ok(with_page(json!({"Tags": page}), marker));
                }
                other => return Err(AwsError::not_implemented("iam", other)),
            }
            OIDC_PROVIDERS.put(tx, acct, arn, &p).map_err(db)?;
            Ok(json!({}))
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provider_arns() {
        let cases = [
            (
                "https://token.actions.githubusercontent.com",
                Some("token.actions.githubusercontent.com"),
            ),
            ("https://example.com/tenant/", Some("example.com/tenant")),
            ("http://example.com", None),
            ("https://", None),
            ("https://example.com?x=1", None),
        ];
        for (url, want) in cases {
            let got = provider_arn("111122223333", url).ok();
            let want = want.map(|w| format!("arn:aws:iam::111122223333:oidc-provider/{w}"));
            assert_eq!(got, want, "{url}");
        }
    }
}
