//! Service models: the botocore `service-2.json` documents vendored under `models/`.
//!
//! A model is parsed once, lazily, the first time its service is routed to. Only the
//! parts the codecs use are kept; documentation strings are skipped.
//! Shape semantics follow <https://smithy.io/2.0/spec/> as botocore encodes them.

use std::collections::HashMap;
use std::io::Read;

use indexmap::IndexMap;
use serde::Deserialize;

/// One service's model.
#[derive(Debug)]
pub struct ServiceModel {
    /// The models/ folder name (`cloudwatch`, `sts`, ...).
    pub id: &'static str,
    /// The model's metadata block.
    pub metadata: Metadata,
    /// Operations by name.
    pub operations: IndexMap<String, Operation>,
    /// Shapes by name.
    pub shapes: HashMap<String, Shape>,
    /// Query-protocol error codes (`NotFound`) to their shape names (`NotFoundException`).
    pub error_codes: HashMap<String, String>,
}

/// The metadata block of a model.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Metadata {
    /// e.g. `2010-03-31`.
    pub api_version: String,
    /// The primary protocol.
    pub protocol: String,
    /// Every protocol the service accepts, in the model's order.
    #[serde(default)]
    pub protocols: Vec<String>,
    /// `1.0` or `1.1` for JSON protocols.
    pub json_version: Option<String>,
    /// `X-Amz-Target` prefix for JSON protocols.
    pub target_prefix: Option<String>,
    /// SigV4 signing name when it differs from the endpoint prefix.
    pub signing_name: Option<String>,
    /// The endpoint prefix (`monitoring` for CloudWatch).
    pub endpoint_prefix: String,
    /// XML namespace of query and rest-xml responses.
    pub xml_namespace: Option<String>,
    /// Present for JSON/CBOR services that keep query-protocol error codes.
    pub aws_query_compatible: Option<serde_json::Value>,
    /// The global endpoint host, for global services.
    pub global_endpoint: Option<String>,
    /// The service id (`CloudWatch`).
    pub service_id: Option<String>,
    /// `v4` or `s3`.
    pub signature_version: Option<String>,
}

impl Metadata {
    /// The name used in SigV4 credential scopes.
    pub fn signing_name(&self) -> &str {
        self.signing_name.as_deref().unwrap_or(&self.endpoint_prefix)
    }

    /// Whether the service keeps query error codes on its JSON and CBOR protocols.
    pub fn query_compatible(&self) -> bool {
        self.aws_query_compatible.is_some()
    }
}

/// An operation of a model.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Operation {
    /// The operation name (`GetCallerIdentity`).
    pub name: String,
    /// HTTP binding.
    pub http: HttpBinding,
    /// Input shape reference.
    pub input: Option<ShapeRef>,
    /// Output shape reference (with the query result wrapper).
    pub output: Option<ShapeRef>,
    /// Error shapes the operation declares.
    #[serde(default)]
    pub errors: Vec<ShapeRef>,
}

/// The `http` block of an operation.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpBinding {
    /// `GET`, `POST`, ...
    pub method: String,
    /// URI template (`/{Bucket}/{Key+}?uploads`).
    pub request_uri: String,
    /// Success status for REST protocols.
    pub response_code: Option<u16>,
}

/// A reference to a shape from an operation.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ShapeRef {
    /// The shape name.
    pub shape: String,
    /// Query protocol `<OpResult>` element name.
    pub result_wrapper: Option<String>,
}

/// The type of a shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ShapeType {
    /// A structure (or union).
    Structure,
    /// A list.
    List,
    /// A map.
    Map,
    /// A string (possibly with an enum).
    String,
    /// A 32-bit integer.
    Integer,
    /// A 64-bit integer.
    Long,
    /// A float.
    Float,
    /// A double.
    Double,
    /// A boolean.
    Boolean,
    /// A timestamp.
    Timestamp,
    /// Binary data.
    Blob,
}

/// A member of a structure, or the member/key/value of a list or map.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Member {
    /// Target shape name.
    pub shape: String,
    /// REST binding: `uri`, `querystring`, `header`, `headers`, `statusCode`.
    pub location: Option<String>,
    /// Wire name (query, XML, header, querystring names).
    pub location_name: Option<String>,
    /// EC2 query name.
    pub query_name: Option<String>,
    /// Flattened list or map (XML/query).
    #[serde(default)]
    pub flattened: bool,
    /// An XML attribute rather than an element.
    #[serde(default)]
    pub xml_attribute: bool,
    /// XML namespace of this element.
    pub xml_namespace: Option<XmlNamespace>,
    /// Timestamp format override.
    pub timestamp_format: Option<String>,
    /// A streaming blob payload.
    #[serde(default)]
    pub streaming: bool,
    /// Filled with a fresh token when absent.
    #[serde(default)]
    pub idempotency_token: bool,
}

/// An XML namespace with an optional prefix.
#[derive(Debug, Clone, Deserialize)]
pub struct XmlNamespace {
    /// The namespace URI.
    pub uri: String,
    /// Its prefix (`xsi`).
    pub prefix: Option<String>,
}

/// The `error` block of an exception shape.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorInfo {
    /// The query-protocol code (`NotFound`).
    pub code: Option<String>,
    /// HTTP status.
    pub http_status_code: Option<u16>,
    /// Sender fault.
    #[serde(default)]
    pub sender_fault: bool,
}

/// A shape of a model.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Shape {
    /// The shape's type.
    #[serde(rename = "type")]
    pub kind: ShapeType,
    /// Structure members in model order.
    #[serde(default)]
    pub members: IndexMap<String, Member>,
    /// Required member names.
    #[serde(default)]
    pub required: Vec<String>,
    /// List member.
    pub member: Option<Member>,
    /// Map key.
    pub key: Option<Member>,
    /// Map value.
    pub value: Option<Member>,
    /// Flattened list or map.
    #[serde(default)]
    pub flattened: bool,
    /// Timestamp format (`iso8601`, `rfc822`, `unixTimestamp`).
    pub timestamp_format: Option<String>,
    /// Allowed values of an enum string.
    #[serde(rename = "enum")]
    pub enum_values: Option<Vec<String>>,
    /// Minimum length, size or value.
    pub min: Option<f64>,
    /// Maximum length, size or value.
    pub max: Option<f64>,
    /// Pattern of a string (not enforced: the service checks what matters).
    pub pattern: Option<String>,
    /// Error trait of an exception shape.
    pub error: Option<ErrorInfo>,
    /// True for exception shapes.
    #[serde(default)]
    pub exception: bool,
    /// True for server-fault exceptions.
    #[serde(default)]
    pub fault: bool,
    /// The payload member of a REST input or output.
    pub payload: Option<String>,
    /// A union (exactly one member set).
    #[serde(default)]
    pub union: bool,
    /// A sensitive value: never logged.
    #[serde(default)]
    pub sensitive: bool,
    /// XML element name for a top-level shape.
    pub location_name: Option<String>,
    /// XML namespace of a top-level shape.
    pub xml_namespace: Option<XmlNamespace>,
}

#[derive(Deserialize)]
struct RawModel {
    metadata: Metadata,
    operations: IndexMap<String, Operation>,
    shapes: HashMap<String, Shape>,
}

/// Why a model failed to load (a packaging bug, never user input).
#[derive(Debug, thiserror::Error)]
#[error("cannot load the {id} service model: {reason}")]
pub struct ModelError {
    /// The model id.
    pub id: String,
    /// What went wrong.
    pub reason: String,
}

impl ServiceModel {
    /// Parses a gzip-compressed `service-2.json`.
    pub fn from_gzip(id: &'static str, gz: &[u8]) -> Result<Self, ModelError> {
        let mut text = Vec::new();
        flate2::read::GzDecoder::new(gz)
            .read_to_end(&mut text)
            .map_err(|e| ModelError { id: id.into(), reason: e.to_string() })?;
        Self::from_json(id, &text)
    }

    /// Parses an uncompressed `service-2.json`.
    pub fn from_json(id: &'static str, json: &[u8]) -> Result<Self, ModelError> {
        let raw: RawModel = serde_json::from_slice(json)
            .map_err(|e| ModelError { id: id.into(), reason: e.to_string() })?;
        let mut error_codes = HashMap::new();
        for (name, shape) in &raw.shapes {
            if shape.exception {
                let code = shape.error.as_ref().and_then(|e| e.code.clone());
                error_codes.insert(code.unwrap_or_else(|| name.clone()), name.clone());
            }
        }
        Ok(Self {
            id,
            metadata: raw.metadata,
            operations: raw.operations,
            shapes: raw.shapes,
            error_codes,
        })
    }

    /// A shape by name.
    pub fn shape(&self, name: &str) -> Option<&Shape> {
        self.shapes.get(name)
    }

    /// An operation by name.
    pub fn operation(&self, name: &str) -> Option<&Operation> {
        self.operations.get(name)
    }

    /// The wire code and HTTP status of an error given as a shape name or generic code.
    pub fn error_wire(&self, code: &str) -> (String, Option<u16>) {
        match self.shapes.get(code) {
            Some(shape) if shape.exception => {
                let info = shape.error.as_ref();
                let wire = info.and_then(|e| e.code.clone()).unwrap_or_else(|| code.to_owned());
                let status = info.and_then(|e| e.http_status_code);
                (wire, status.or(Some(if shape.fault { 500 } else { 400 })))
            }
            _ => (code.to_owned(), None),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn error_wire_uses_model_codes() {
        let model = crate::models::get("sns").unwrap();
        assert_eq!(model.error_wire("NotFoundException"), ("NotFound".into(), Some(404)));
        assert_eq!(model.error_wire("ValidationError"), ("ValidationError".into(), None));
        assert_eq!(
            model.error_codes.get("NotFound").map(String::as_str),
            Some("NotFoundException")
        );
    }
}
