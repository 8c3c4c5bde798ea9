//! Checks the parameter values given with a stack against the declarations, following
//! <https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/parameters-section-structure.html#parameters-section-structure-properties>.

use std::collections::BTreeMap;

use super::{Parameter, ParameterStore, ParameterType, ParameterValue, ParameterValues};
use crate::error::{Result, TemplateError};
use crate::template::Template;

/// Resolves the value of every declared parameter from the given values (by name), the
/// defaults, and the [`ParameterStore`] for SSM types, checking every constraint.
///
/// ```
/// use std::collections::BTreeMap;
/// use mamori_template::{Template, resolve_parameters, NoParameterStore, ParameterValue};
///
/// let t = Template::parse(r#"
/// Parameters:
///   Env: {Type: String, AllowedValues: [dev, prod], Default: dev}
/// Resources:
///   Topic: {Type: AWS::SNS::Topic}
/// "#).unwrap();
/// let given = BTreeMap::from([("Env".to_owned(), "prod".to_owned())]);
/// let values = resolve_parameters(&t, &given, &NoParameterStore).unwrap();
/// assert_eq!(values["Env"], ParameterValue::String("prod".into()));
///
/// let bad = BTreeMap::from([("Env".to_owned(), "test".to_owned())]);
/// let err = resolve_parameters(&t, &bad, &NoParameterStore).unwrap_err();
/// assert_eq!(err.message, "Parameter 'Env' must be one of AllowedValues");
/// ```
pub fn resolve_parameters(
    template: &Template,
    given: &BTreeMap<String, String>,
    store: &dyn ParameterStore,
) -> Result<ParameterValues> {
    let unknown: Vec<&str> = given
        .keys()
        .map(String::as_str)
        .filter(|k| !template.parameters.contains_key(*k))
        .collect();
    if !unknown.is_empty() {
        return Err(TemplateError::parameter(format!(
            "Parameters: [{}] do not exist in the template",
            unknown.join(", ")
        )));
    }
    let missing: Vec<&str> = template
        .parameters
        .values()
        .filter(|p| p.default.is_none() && !given.contains_key(&p.name))
        .map(|p| p.name.as_str())
        .collect();
    if !missing.is_empty() {
        return Err(TemplateError::parameter(format!(
            "Parameters: [{}] must have values",
            missing.join(", ")
        )));
    }
    let mut res = ParameterValues::new();
    for p in template.parameters.values() {
        let raw = given.get(&p.name).or(p.default.as_ref()).cloned().unwrap_or_default();
        let value = check(p, &raw, store).map_err(|e| e.at(p.pos))?;
        res.insert(p.name.clone(), value);
    }
    Ok(res)
}

fn check(p: &Parameter, raw: &str, store: &dyn ParameterStore) -> Result<ParameterValue> {
    let (ty, raw) = match &p.param_type {
        ParameterType::Ssm(inner) => {
            // Constraints apply to the parameter's name, as given; the value is then read.
            check_string(p, raw)?;
            let value = store.ssm_parameter(raw).ok_or_else(|| {
                TemplateError::parameter(format!(
                    "Unable to fetch parameters [{raw}] from parameter store for this account."
                ))
            })?;
            return Ok(shape(inner, &value));
        }
        ty => (ty, raw),
    };
    match ty {
        ParameterType::Number => {
            check_number(p, raw)?;
            check_string(p, raw)?;
        }
        ParameterType::NumberList => {
            for item in split(raw) {
                check_number(p, &item)?;
                check_allowed(p, &item)?;
            }
        }
        t if t.is_list() => {
            for item in split(raw) {
                check_allowed(p, &item)?;
            }
        }
        _ => check_string(p, raw)?,
    }
    Ok(shape(ty, raw))
}

fn shape(ty: &ParameterType, raw: &str) -> ParameterValue {
    if ty.is_list() {
        ParameterValue::List(split(raw))
    } else {
        ParameterValue::String(raw.to_owned())
    }
}

/// Splits a list value at commas; CloudFormation trims the spaces around each member.
fn split(raw: &str) -> Vec<String> {
    if raw.is_empty() {
        return Vec::new();
    }
    raw.split(',').map(|s| s.trim().to_owned()).collect()
}

fn failed(p: &Parameter, default: String) -> TemplateError {
    match &p.constraint_description {
        Some(desc) => TemplateError::parameter(format!(
            "Parameter '{}' failed to satisfy constraint: {desc}",
            p.name
        )),
        None => TemplateError::parameter(default),
    }
}

fn check_allowed(p: &Parameter, value: &str) -> Result<()> {
    if !p.allowed_values.is_empty() && !p.allowed_values.iter().any(|a| a == value) {
        return Err(TemplateError::parameter(format!(
            "Parameter '{}' must be one of AllowedValues",
            p.name
        )));
    }
    Ok(())
}

fn check_string(p: &Parameter, value: &str) -> Result<()> {
    check_allowed(p, value)?;
    if let Some(pattern) = &p.allowed_pattern
        && !pattern.matches(value)
    {
        return Err(failed(
            p,
            format!("Parameter '{}' must match pattern {}", p.name, pattern.source),
        ));
    }
    let len = value.chars().count() as u64;
    if let Some(min) = p.min_length
        && len < min
    {
        return Err(failed(
            p,
            format!("Parameter '{}' must contain at least {min} characters", p.name),
        ));
    }
    if let Some(max) = p.max_length
        && len > max
    {
        return Err(failed(
            p,
            format!("Parameter '{}' must contain at most {max} characters", p.name),
        ));
    }
    Ok(())
}

fn check_number(p: &Parameter, value: &str) -> Result<()> {
    let Ok(n) = value.trim().parse::<f64>() else {
        return Err(failed(p, format!("Parameter '{}' must be a number", p.name)));
    };
    if let Some(min) = p.min_value
        && n < min
    {
        return Err(failed(
            p,
            format!("Parameter '{}' must be a number not less than {}", p.name, num(min)),
        ));
    }
    if let Some(max) = p.max_value
        && n > max
    {
        return Err(failed(
            p,
            format!("Parameter '{}' must be a number not greater than {}", p.name, num(max)),
        ));
    }
    Ok(())
}

/// Prints a bound without a trailing `.0`, as it was most likely written.
fn num(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 { format!("{}", v as i64) } else { v.to_string() }
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
