//! The errors of template parsing, validation and evaluation, worded as CloudFormation's
//! `ValidationError` messages are
//! (<https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/troubleshooting.html>).
//!
//! The message is the exact text a client sees on the wire; the place (line and template
//! section) rides along separately, so that the service can log or append it without changing
//! the recorded wording.

use std::fmt;

/// A position in the template body: 1-based line and column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, PartialOrd, Ord, Hash)]
pub struct Pos {
    /// 1-based line.
    pub line: u32,
    /// 1-based column.
    pub column: u32,
}

impl Pos {
    /// Builds a position from a 1-based line and column.
    pub fn new(line: u32, column: u32) -> Self {
        Self { line, column }
    }
}

/// The top-level template section an error was found in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Section {
    /// Outside any section (syntax errors, top-level keys, size limits).
    Template,
    /// `Parameters`, or the parameter values given with the stack.
    Parameters,
    /// `Mappings`.
    Mappings,
    /// `Conditions`.
    Conditions,
    /// `Transform`.
    Transform,
    /// `Resources`.
    Resources,
    /// `Outputs`.
    Outputs,
    /// `Metadata`, `Description` or `AWSTemplateFormatVersion`.
    Metadata,
}

impl Section {
    /// The section's name as it is written in a template.
    pub fn name(self) -> &'static str {
        match self {
            Section::Template => "template",
            Section::Parameters => "Parameters",
            Section::Mappings => "Mappings",
            Section::Conditions => "Conditions",
            Section::Transform => "Transform",
            Section::Resources => "Resources",
            Section::Outputs => "Outputs",
            Section::Metadata => "Metadata",
        }
    }
}

/// What kind of problem a [`TemplateError`] reports; the service maps every kind to
/// `ValidationError` except where noted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The body is not well-formed YAML or JSON.
    Syntax,
    /// The template's structure is wrong ("Template format error: ...").
    Format,
    /// A reference, attribute, mapping or condition does not resolve ("Template error: ...").
    Reference,
    /// A parameter value is missing or fails its constraints.
    Parameter,
    /// The resources' dependencies form a cycle.
    Circular,
    /// A template limit (size, counts) is exceeded.
    Limit,
    /// An intrinsic function failed while resolving values (bad index, missing mapping key).
    Evaluation,
    /// The template declares a transform, which is not supported yet.
    Transform,
}

/// A template error: CloudFormation's message plus where it was found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct TemplateError {
    /// The kind of problem.
    pub kind: ErrorKind,
    /// The message as CloudFormation words it.
    pub message: String,
    /// The section the error is in.
    pub section: Section,
    /// The place in the body, when the error comes from a node of the template.
    pub pos: Option<Pos>,
}

impl fmt::Display for TemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl TemplateError {
    /// Builds an error.
    pub fn new(kind: ErrorKind, section: Section, message: impl Into<String>) -> Self {
        Self { kind, message: message.into(), section, pos: None }
    }

    /// Sets the position, keeping one that is already there.
    pub fn at(mut self, pos: Pos) -> Self {
        if self.pos.is_none() && pos.line > 0 {
            self.pos = Some(pos);
        }
        self
    }

    /// Names the section, unless a more precise one is already set.
    pub fn in_section(mut self, section: Section) -> Self {
        if self.section == Section::Template {
            self.section = section;
        }
        self
    }

    /// A malformed intrinsic function ("Template error: ...").
    pub fn shape(what: impl fmt::Display) -> Self {
        Self::new(ErrorKind::Format, Section::Template, format!("Template error: {what}"))
    }

    /// A "Template format error: ..." in `section`.
    pub fn format(section: Section, what: impl fmt::Display) -> Self {
        Self::new(ErrorKind::Format, section, format!("Template format error: {what}"))
    }

    /// A "Template error: ..." (unresolvable reference) in `section`.
    pub fn reference(section: Section, what: impl fmt::Display) -> Self {
        Self::new(ErrorKind::Reference, section, format!("Template error: {what}"))
    }

    /// A parameter error, worded by the caller.
    pub fn parameter(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Parameter, Section::Parameters, message)
    }

    /// An evaluation error ("Template error: ...").
    pub fn evaluation(section: Section, what: impl fmt::Display) -> Self {
        Self::new(ErrorKind::Evaluation, section, format!("Template error: {what}"))
    }

    /// The message followed by the place, for logs and the CLI:
    /// `"Template error: ... (Resources, line 12, column 7)"`.
    pub fn with_location(&self) -> String {
        match self.pos {
            Some(p) if !self.message.contains("(line ") => format!(
                "{} ({}, line {}, column {})",
                self.message,
                self.section.name(),
                p.line,
                p.column
            ),
            _ => self.message.clone(),
        }
    }
}

/// Shorthand for results of this crate.
pub type Result<T, E = TemplateError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn location_is_appended_once() {
        let err = TemplateError::reference(
            Section::Resources,
            "instance of Fn::GetAtt references undefined resource Foo",
        )
        .at(Pos::new(12, 7))
        .at(Pos::new(1, 1));
        assert_eq!(
            err.to_string(),
            "Template error: instance of Fn::GetAtt references undefined resource Foo"
        );
        assert_eq!(
            err.with_location(),
            "Template error: instance of Fn::GetAtt references undefined resource Foo (Resources, line 12, column 7)"
        );
    }
}
