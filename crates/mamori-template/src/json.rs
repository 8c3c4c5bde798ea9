//! Reads JSON templates, keeping each value's line and column, following
//! <https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/template-formats.html>.
//!
//! `serde_json` does not report where a value was, and errors must name the line, so this is
//! a small recursive-descent reader for RFC 8259 JSON that builds the same [`Node`] tree as
//! the YAML reader.

use crate::error::{ErrorKind, Pos, Result, Section, TemplateError};
use crate::node::{Key, Node, NodeValue};

/// Deepest nesting we accept (same bound as the YAML reader).
const MAX_DEPTH: usize = 256;

/// Parses a JSON body into a [`Node`] tree.
pub fn parse(body: &str) -> Result<Node> {
    let mut reader = Reader { src: body.as_bytes(), at: 0, line: 1, line_start: 0 };
    reader.skip_ws();
    let node = reader.value(0)?;
    reader.skip_ws();
    if reader.at < reader.src.len() {
        return Err(reader.error());
    }
    Ok(node)
}

struct Reader<'a> {
    src: &'a [u8],
    at: usize,
    line: u32,
    line_start: usize,
}

impl Reader<'_> {
    fn pos(&self) -> Pos {
        let col = self.at.saturating_sub(self.line_start) + 1;
        Pos::new(self.line, u32::try_from(col).unwrap_or(u32::MAX))
    }

    fn error(&self) -> TemplateError {
        let pos = self.pos();
        TemplateError::new(
            ErrorKind::Syntax,
            Section::Template,
            format!(
                "Template format error: JSON not well-formed. (line {}, column {})",
                pos.line, pos.column
            ),
        )
        .at(pos)
    }

    fn peek(&self) -> Option<u8> {
        self.src.get(self.at).copied()
    }

    fn skip_ws(&mut self) {
        while let Some(c) = self.peek() {
            match c {
                b'\n' => {
                    self.at += 1;
                    self.line += 1;
                    self.line_start = self.at;
                }
                b' ' | b'\t' | b'\r' => self.at += 1,
                _ => break,
            }
        }
    }

    fn expect(&mut self, c: u8) -> Result<()> {
        if self.peek() == Some(c) {
            self.at += 1;
            Ok(())
        } else {
            Err(self.error())
        }
    }

    fn value(&mut self, depth: usize) -> Result<Node> {
        if depth > MAX_DEPTH {
            return Err(self.error());
        }
        let pos = self.pos();
        let value = match self.peek() {
            Some(b'{') => self.object(depth)?,
            Some(b'[') => self.array(depth)?,
            Some(b'"') => NodeValue::String(self.string()?),
            Some(b't') => self.word("true", NodeValue::Bool(true))?,
            Some(b'f') => self.word("false", NodeValue::Bool(false))?,
            Some(b'n') => self.word("null", NodeValue::Null)?,
            Some(b'-' | b'0'..=b'9') => self.number()?,
            _ => return Err(self.error()),
        };
        Ok(Node::new(value, pos))
    }

    fn word(&mut self, word: &str, value: NodeValue) -> Result<NodeValue> {
        if self.src[self.at..].starts_with(word.as_bytes()) {
            self.at += word.len();
            Ok(value)
        } else {
            Err(self.error())
        }
    }

    fn object(&mut self, depth: usize) -> Result<NodeValue> {
        self.expect(b'{')?;
        let mut entries: Vec<(Key, Node)> = Vec::new();
        self.skip_ws();
        if self.peek() == Some(b'}') {
            self.at += 1;
            return Ok(NodeValue::Map(entries));
        }
        loop {
            self.skip_ws();
            let key_pos = self.pos();
            if self.peek() != Some(b'"') {
                return Err(self.error());
            }
            let name = self.string()?;
            if entries.iter().any(|(k, _)| k.name == name) {
                return Err(TemplateError::new(
                    ErrorKind::Syntax,
                    Section::Template,
                    format!(
                        "Template format error: JSON not well-formed. Duplicate key {name} (line {}, column {})",
                        key_pos.line, key_pos.column
                    ),
                )
                .at(key_pos));
            }
            self.skip_ws();
            self.expect(b':')?;
            self.skip_ws();
            let value = self.value(depth + 1)?;
            entries.push((Key { name, pos: key_pos }, value));
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.at += 1,
                Some(b'}') => {
                    self.at += 1;
                    return Ok(NodeValue::Map(entries));
                }
                _ => return Err(self.error()),
            }
        }
    }

    fn array(&mut self, depth: usize) -> Result<NodeValue> {
        self.expect(b'[')?;
        let mut items = Vec::new();
        self.skip_ws();
        if self.peek() == Some(b']') {
            self.at += 1;
            return Ok(NodeValue::List(items));
        }
        loop {
            self.skip_ws();
            items.push(self.value(depth + 1)?);
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.at += 1,
                Some(b']') => {
                    self.at += 1;
                    return Ok(NodeValue::List(items));
                }
                _ => return Err(self.error()),
            }
        }
    }

    fn string(&mut self) -> Result<String> {
        self.expect(b'"')?;
        let mut out: Vec<u8> = Vec::new();
        loop {
            let Some(c) = self.peek() else { return Err(self.error()) };
            self.at += 1;
            match c {
                b'"' => break,
                b'\\' => {
                    let Some(e) = self.peek() else { return Err(self.error()) };
                    self.at += 1;
                    match e {
                        b'"' | b'\\' | b'/' => out.push(e),
                        b'b' => out.push(8),
                        b'f' => out.push(12),
                        b'n' => out.push(b'\n'),
                        b'r' => out.push(b'\r'),
                        b't' => out.push(b'\t'),
                        b'u' => {
                            let ch = self.unicode_escape()?;
                            let mut buf = [0u8; 4];
                            out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                        }
                        _ => return Err(self.error()),
                    }
                }
                0..=0x1f => return Err(self.error()),
                _ => out.push(c),
            }
        }
        // The input is a &str and escapes produce whole characters, so this cannot fail;
        // map the impossible case to a syntax error rather than panic.
        String::from_utf8(out).map_err(|_| self.error())
    }

    fn hex4(&mut self) -> Result<u32> {
        let digits = self.src.get(self.at..self.at + 4).ok_or_else(|| self.error())?;
        let text = std::str::from_utf8(digits).map_err(|_| self.error())?;
        let v = u32::from_str_radix(text, 16).map_err(|_| self.error())?;
        self.at += 4;
        Ok(v)
    }

    fn unicode_escape(&mut self) -> Result<char> {
        let hi = self.hex4()?;
        let code = if (0xD800..0xDC00).contains(&hi) {
            if !self.src[self.at..].starts_with(b"\\u") {
                return Err(self.error());
            }
            self.at += 2;
            let lo = self.hex4()?;
            if !(0xDC00..0xE000).contains(&lo) {
                return Err(self.error());
            }
            0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
        } else {
            hi
        };
        char::from_u32(code).ok_or_else(|| self.error())
    }

    fn number(&mut self) -> Result<NodeValue> {
        let start = self.at;
        while let Some(c) = self.peek() {
            if c.is_ascii_digit() || matches!(c, b'-' | b'+' | b'.' | b'e' | b'E') {
                self.at += 1;
            } else {
                break;
            }
        }
        let text = std::str::from_utf8(&self.src[start..self.at]).map_err(|_| self.error())?;
        match crate::node::plain_scalar(text) {
            v @ NodeValue::Number(_) => Ok(v),
            _ => {
                self.at = start;
                Err(self.error())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_json_with_positions() {
        let body =
            "{\n  \"A\": [1, -2.5, \"x\\u00e9\\n\"],\n  \"B\": {\"Ref\": \"C\"}, \"D\": null\n}";
        let node = parse(body).unwrap();
        assert_eq!(
            node.to_json(),
            serde_json::json!({"A": [1, -2.5, "x\u{e9}\n"], "B": {"Ref": "C"}, "D": null})
        );
        assert_eq!(node.get("B").unwrap().pos, Pos::new(3, 8));
    }

    #[test]
    fn malformed_json_names_the_place() {
        let cases = [
            ("{\n  \"A\": 1,\n}", "(line 3, column 1)"),
            ("{\"A\": tru}", "(line 1, column 7)"),
            ("{\"A\": 01}", "(line 1, column 7)"),
            ("{\"A\": 1, \"A\": 2}", "Duplicate key A"),
            ("{\"A\": \"\\ud800\"}", "JSON not well-formed"),
            ("{} x", "(line 1, column 4)"),
        ];
        for (body, want) in cases {
            let err = parse(body).unwrap_err();
            assert!(err.message.contains(want), "body={body:?} got={}", err.message);
        }
    }
}
