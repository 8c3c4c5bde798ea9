//! Template quotas and naming rules, following
//! <https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cloudformation-limits.html>.

use crate::error::{ErrorKind, Result, Section, TemplateError};
use crate::template::Template;

/// Largest `TemplateBody` passed inline in a request, in bytes.
pub const MAX_TEMPLATE_BODY: usize = 51_200;
/// Largest template read from S3 (`TemplateURL`), in bytes.
pub const MAX_TEMPLATE_URL: usize = 1_000_000;
/// Most resources in one template.
pub const MAX_RESOURCES: usize = 500;
/// Most parameters in one template.
pub const MAX_PARAMETERS: usize = 200;
/// Most outputs in one template.
pub const MAX_OUTPUTS: usize = 200;
/// Most mappings in one template.
pub const MAX_MAPPINGS: usize = 200;
/// Longest logical id.
pub const MAX_LOGICAL_ID: usize = 255;

/// Where a template body came from, which decides its size limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TemplateOrigin {
    /// The `TemplateBody` request parameter.
    Body,
    /// A `TemplateURL` pointing at S3.
    Url,
}

/// Checks the body size for its origin, with the message the API gives.
///
/// ```
/// use mamori_template::limits::{check_body_size, TemplateOrigin};
/// assert!(check_body_size(&"x".repeat(51_201), TemplateOrigin::Body).is_err());
/// assert!(check_body_size(&"x".repeat(51_201), TemplateOrigin::Url).is_ok());
/// ```
pub fn check_body_size(body: &str, origin: TemplateOrigin) -> Result<()> {
    match origin {
        TemplateOrigin::Body if body.len() > MAX_TEMPLATE_BODY => Err(TemplateError::new(
            ErrorKind::Limit,
            Section::Template,
            // The API's own constraint message, with the value elided as AWS does for
            // long values.
            format!(
                "1 validation error detected: Value at 'templateBody' failed to satisfy constraint: Member must have length less than or equal to {MAX_TEMPLATE_BODY}"
            ),
        )),
        TemplateOrigin::Url if body.len() > MAX_TEMPLATE_URL => Err(TemplateError::new(
            ErrorKind::Limit,
            Section::Template,
            format!("Template may not exceed {MAX_TEMPLATE_URL} bytes in size."),
        )),
        _ => Ok(()),
    }
}

/// Checks the per-section counts of a parsed template.
pub fn check_counts(t: &Template) -> Result<()> {
    let counts = [
        ("resources", t.resources.len(), MAX_RESOURCES, Section::Resources),
        ("parameters", t.parameters.len(), MAX_PARAMETERS, Section::Parameters),
        ("outputs", t.outputs.len(), MAX_OUTPUTS, Section::Outputs),
        ("mappings", t.mappings.len(), MAX_MAPPINGS, Section::Mappings),
    ];
    for (what, n, max, section) in counts {
        if n > max {
            let err = TemplateError::new(
                ErrorKind::Limit,
                section,
                format!(
                    "Template format error: Number of {what}, {n}, is greater than maximum allowed, {max}"
                ),
            );
            return Err(match t.section_pos.get(section.name()) {
                Some(p) => err.at(*p),
                None => err,
            });
        }
    }
    Ok(())
}

/// Checks a logical id: ASCII letters and digits only, at most 255 characters.
/// `kind` names the member in the message ("Resource", "Parameter", "Output", ...).
pub fn check_logical_id(id: &str, kind: &str, section: Section) -> Result<()> {
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(TemplateError::format(
            section,
            format_args!("{kind} name {id} is non alphanumeric."),
        ));
    }
    if id.len() > MAX_LOGICAL_ID {
        return Err(TemplateError::new(
            ErrorKind::Limit,
            section,
            format!(
                "Template format error: {kind} name {id} exceeds the maximum length of {MAX_LOGICAL_ID} characters"
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logical_ids() {
        let cases = [
            ("MyBucket1", None),
            (
                "My-Bucket",
                Some("Template format error: Resource name My-Bucket is non alphanumeric."),
            ),
            ("", Some("Template format error: Resource name  is non alphanumeric.")),
            ("Bücket", Some("non alphanumeric")),
        ];
        for (id, want) in cases {
            let got = check_logical_id(id, "Resource", Section::Resources).err().map(|e| e.message);
            match want {
                None => assert_eq!(got, None, "id={id:?}"),
                Some(w) => {
                    assert!(got.as_deref().unwrap_or("").contains(w), "id={id:?} got={got:?}")
                }
            }
        }
        let long = "A".repeat(256);
        let err = check_logical_id(&long, "Resource", Section::Resources).unwrap_err();
        assert_eq!(err.kind, ErrorKind::Limit);
    }

    #[test]
    fn counts_are_limited() {
        let mut body = String::from("Resources:\n");
        for i in 0..501 {
            body.push_str(&format!("  R{i}:\n    Type: AWS::SNS::Topic\n"));
        }
        let err = Template::parse(&body).unwrap_err();
        assert_eq!(
            err.message,
            "Template format error: Number of resources, 501, is greater than maximum allowed, 500"
        );
        assert_eq!(err.pos.map(|p| p.line), Some(1));
    }
}
