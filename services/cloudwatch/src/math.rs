//! Metric math, the subset of
//! <https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/using-metric-math.html>
//! mamori supports: numbers, query ids, `+ - * / ^`, unary minus, parentheses, and the
//! functions `SUM`, `AVG`, `MIN`, `MAX` and `METRICS()` / `METRICS("filter")`.
//!
//! Pure: parsing and evaluation take the referenced series from a resolver. As in AWS, an
//! aggregate function over one time series gives a scalar (`AVG(m1)` is the average over
//! the whole range), and over an array of series gives one series, per timestamp. A
//! binary operation on two series keeps the timestamps both have.
// GAP: the other functions (FILL, IF, RATE, DIFF, SEARCH, ANOMALY_DETECTION_BAND,
// STDDEV, ...) and comparison/logical operators are rejected with a ValidationError.

use std::collections::BTreeMap;

/// A time series: timestamp (ms) -> value.
pub type Series = BTreeMap<i64, f64>;

/// The value of an expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    /// A number.
    Scalar(f64),
    /// One time series.
    Series(Series),
    /// Several time series with their labels (`METRICS()`).
    Array(Vec<(String, Series)>),
}

/// A parsed expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// A literal.
    Num(f64),
    /// A reference to another query.
    Id(String),
    /// Unary minus.
    Neg(Box<Expr>),
    /// A binary operation.
    Bin(char, Box<Expr>, Box<Expr>),
    /// A function call.
    Call(String, Vec<Expr>),
    /// A string argument.
    Str(String),
}

/// What an expression needs from its surroundings.
pub trait Resolve {
    /// The value of query `id`.
    fn id(&mut self, id: &str) -> Result<Val, String>;
    /// `METRICS(filter)`: every metric query whose label contains `filter`.
    fn metrics(&mut self, filter: Option<&str>) -> Result<Val, String>;
}

/// The deepest nesting (parentheses, function calls, unary minus, `^` chains) an
/// expression may have. AWS's own limit is not recorded; this one keeps parsing and
/// evaluation well within a thread's stack, which 2,047 unary minuses (inside the
/// model's 2,048 characters) overflowed.
pub const MAX_DEPTH: usize = 200;

/// Parses an expression.
pub fn parse(src: &str) -> Result<Expr, String> {
    let tokens = lex(src)?;
    let mut p = Parser { tokens, pos: 0, depth: 0 };
    let e = p.expr(0)?;
    if p.pos != p.tokens.len() {
        return Err(format!("Unexpected token at position {} in expression {src}", p.pos));
    }
    Ok(e)
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Num(f64),
    Ident(String),
    Str(String),
    Op(char),
    LParen,
    RParen,
    Comma,
}

fn lex(src: &str) -> Result<Vec<Tok>, String> {
    let chars: Vec<char> = src.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            ' ' | '\t' | '\n' => i += 1,
            '+' | '-' | '*' | '/' | '^' => {
                out.push(Tok::Op(c));
                i += 1;
            }
            '(' => {
                out.push(Tok::LParen);
                i += 1;
            }
            ')' => {
                out.push(Tok::RParen);
                i += 1;
            }
            ',' => {
                out.push(Tok::Comma);
                i += 1;
            }
            '"' | '\'' => {
                let end =
                    chars[i + 1..].iter().position(|&x| x == c).ok_or("Unterminated string")?;
                out.push(Tok::Str(chars[i + 1..i + 1 + end].iter().collect()));
                i += end + 2;
            }
            c if c.is_ascii_digit() || c == '.' => {
                let start = i;
                while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                    i += 1;
                }
                let s: String = chars[start..i].iter().collect();
                out.push(Tok::Num(s.parse().map_err(|_| format!("Invalid number {s}"))?));
            }
            c if c.is_ascii_alphabetic() || c == '_' => {
                let start = i;
                while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_') {
                    i += 1;
                }
                out.push(Tok::Ident(chars[start..i].iter().collect()));
            }
            other => return Err(format!("Unexpected character '{other}' in expression")),
        }
    }
    Ok(out)
}

struct Parser {
    tokens: Vec<Tok>,
    pos: usize,
    /// Nesting of `expr` calls, bounded by [`MAX_DEPTH`].
    depth: usize,
}

fn precedence(op: char) -> (u8, bool) {
    // (binding power, right associative)
    match op {
        '+' | '-' => (1, false),
        '*' | '/' => (2, false),
        _ => (4, true),
    }
}

impl Parser {
    fn next(&mut self) -> Option<Tok> {
        let t = self.tokens.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    fn expr(&mut self, min: u8) -> Result<Expr, String> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(format!("The expression nests deeper than {MAX_DEPTH} levels"));
        }
        let res = self.operations(min);
        self.depth -= 1;
        res
    }

    fn operations(&mut self, min: u8) -> Result<Expr, String> {
        let mut lhs = self.atom()?;
        while let Some(Tok::Op(op)) = self.tokens.get(self.pos).cloned() {
            let (bp, right) = precedence(op);
            if bp < min {
                break;
            }
            self.pos += 1;
            let rhs = self.expr(if right { bp } else { bp + 1 })?;
            lhs = Expr::Bin(op, Box::new(lhs), Box::new(rhs));
        }
        Ok(lhs)
    }

    fn atom(&mut self) -> Result<Expr, String> {
        match self.next() {
            Some(Tok::Num(n)) => Ok(Expr::Num(n)),
            Some(Tok::Str(s)) => Ok(Expr::Str(s)),
            Some(Tok::Op('-')) => Ok(Expr::Neg(Box::new(self.expr(3)?))),
            Some(Tok::LParen) => {
                let e = self.expr(0)?;
                match self.next() {
                    Some(Tok::RParen) => Ok(e),
                    _ => Err("Missing closing parenthesis".into()),
                }
            }
            Some(Tok::Ident(name)) => {
                if self.tokens.get(self.pos) != Some(&Tok::LParen) {
                    return Ok(Expr::Id(name));
                }
                self.pos += 1;
                let mut args = Vec::new();
                if self.tokens.get(self.pos) == Some(&Tok::RParen) {
                    self.pos += 1;
                    return Ok(Expr::Call(name, args));
                }
                loop {
                    args.push(self.expr(0)?);
                    match self.next() {
                        Some(Tok::Comma) => continue,
                        Some(Tok::RParen) => break,
                        _ => return Err("Missing closing parenthesis".into()),
                    }
                }
                Ok(Expr::Call(name, args))
            }
            _ => Err("Unexpected end of expression".into()),
        }
    }
}

/// The query ids an expression references.
pub fn references(e: &Expr, out: &mut Vec<String>) {
    match e {
        Expr::Id(id) => out.push(id.clone()),
        Expr::Neg(a) => references(a, out),
        Expr::Bin(_, a, b) => {
            references(a, out);
            references(b, out);
        }
        Expr::Call(_, args) => args.iter().for_each(|a| references(a, out)),
        Expr::Num(_) | Expr::Str(_) => {}
    }
}

/// Evaluates an expression.
pub fn eval(e: &Expr, r: &mut dyn Resolve) -> Result<Val, String> {
    match e {
        Expr::Num(n) => Ok(Val::Scalar(*n)),
        Expr::Str(_) => Err("A string is only allowed as the argument of METRICS()".into()),
        Expr::Id(id) => r.id(id),
        Expr::Neg(a) => binary('*', Val::Scalar(-1.0), eval(a, r)?),
        Expr::Bin(op, a, b) => binary(*op, eval(a, r)?, eval(b, r)?),
        Expr::Call(name, args) => call(name, args, r),
    }
}

fn apply(op: char, a: f64, b: f64) -> f64 {
    match op {
        '+' => a + b,
        '-' => a - b,
        '*' => a * b,
        '/' => a / b,
        _ => a.powf(b),
    }
}

fn finite(s: Series) -> Series {
    // Division by zero and the like drop the point, as AWS omits non-finite values.
    s.into_iter().filter(|(_, v)| v.is_finite()).collect()
}

fn binary(op: char, a: Val, b: Val) -> Result<Val, String> {
    use Val::*;
    Ok(match (a, b) {
        (Scalar(x), Scalar(y)) => Scalar(apply(op, x, y)),
        (Series(s), Scalar(y)) => {
            Series(finite(s.into_iter().map(|(t, x)| (t, apply(op, x, y))).collect()))
        }
        (Scalar(x), Series(s)) => {
            Series(finite(s.into_iter().map(|(t, y)| (t, apply(op, x, y))).collect()))
        }
        (Series(s), Series(u)) => Series(finite(
            s.into_iter().filter_map(|(t, x)| u.get(&t).map(|y| (t, apply(op, x, *y)))).collect(),
        )),
        (Array(arr), other @ (Scalar(_) | Series(_))) => Array(
            arr.into_iter()
                .map(|(l, s)| match binary(op, Series(s), other.clone())? {
                    Series(s) => Ok((l, s)),
                    _ => Err("unexpected".to_string()),
                })
                .collect::<Result<_, String>>()?,
        ),
        (other @ (Scalar(_) | Series(_)), Array(arr)) => Array(
            arr.into_iter()
                .map(|(l, s)| match binary(op, other.clone(), Series(s))? {
                    Series(s) => Ok((l, s)),
                    _ => Err("unexpected".to_string()),
                })
                .collect::<Result<_, String>>()?,
        ),
        (Array(_), Array(_)) => {
            return Err("Operations between two arrays of time series are not supported".into());
        }
    })
}

fn aggregate(name: &str, values: &[f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    Some(match name {
        "SUM" => values.iter().sum(),
        "AVG" => values.iter().sum::<f64>() / values.len() as f64,
        "MIN" => values.iter().copied().fold(f64::INFINITY, f64::min),
        _ => values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
    })
}

fn call(name: &str, args: &[Expr], r: &mut dyn Resolve) -> Result<Val, String> {
    match name {
        "METRICS" => match args {
            [] => r.metrics(None),
            [Expr::Str(f)] => r.metrics(Some(f)),
            _ => Err("METRICS takes no argument or one string".into()),
        },
        "SUM" | "AVG" | "MIN" | "MAX" => {
            let [arg] = args else { return Err(format!("{name} takes exactly one argument")) };
            match eval(arg, r)? {
                Val::Scalar(x) => Ok(Val::Scalar(x)),
                Val::Series(s) => {
                    let values: Vec<f64> = s.values().copied().collect();
                    Ok(aggregate(name, &values)
                        .map(Val::Scalar)
                        .unwrap_or(Val::Series(Series::new())))
                }
                Val::Array(arr) => {
                    let mut by_time: BTreeMap<i64, Vec<f64>> = BTreeMap::new();
                    for (_, s) in &arr {
                        for (t, v) in s {
                            by_time.entry(*t).or_default().push(*v);
                        }
                    }
                    Ok(Val::Series(
                        by_time
                            .into_iter()
                            .filter_map(|(t, vs)| Some((t, aggregate(name, &vs)?)))
                            .collect(),
                    ))
                }
            }
        }
        other => Err(format!("Unsupported function {other} in expression.")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fixed(BTreeMap<String, Series>);

    impl Resolve for Fixed {
        fn id(&mut self, id: &str) -> Result<Val, String> {
            self.0.get(id).cloned().map(Val::Series).ok_or_else(|| format!("unknown id {id}"))
        }
        fn metrics(&mut self, filter: Option<&str>) -> Result<Val, String> {
            Ok(Val::Array(
                self.0
                    .iter()
                    .filter(|(k, _)| filter.is_none_or(|f| k.contains(f)))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
            ))
        }
    }

    fn series(points: &[(i64, f64)]) -> Series {
        points.iter().copied().collect()
    }

    #[test]
    fn expressions() {
        let m1 = series(&[(0, 1.0), (60, 2.0), (120, 3.0)]);
        let m2 = series(&[(0, 10.0), (60, 20.0)]);
        let mut env = Fixed([("m1".to_owned(), m1), ("m2".to_owned(), m2)].into_iter().collect());
        let cases: Vec<(&str, Val)> = vec![
            ("1 + 2 * 3", Val::Scalar(7.0)),
            ("(1 + 2) * 3", Val::Scalar(9.0)),
            ("2 ^ 3 ^ 2", Val::Scalar(512.0)),
            ("-2 ^ 2", Val::Scalar(-4.0)),
            ("10 - 4 - 3", Val::Scalar(3.0)),
            ("m1 * 2", Val::Series(series(&[(0, 2.0), (60, 4.0), (120, 6.0)]))),
            ("m2 / m1", Val::Series(series(&[(0, 10.0), (60, 10.0)]))),
            ("m1 / 0", Val::Series(Series::new())),
            ("-m1", Val::Series(series(&[(0, -1.0), (60, -2.0), (120, -3.0)]))),
            ("SUM(METRICS())", Val::Series(series(&[(0, 11.0), (60, 22.0), (120, 3.0)]))),
            ("MAX(METRICS())", Val::Series(series(&[(0, 10.0), (60, 20.0), (120, 3.0)]))),
            ("AVG(m1)", Val::Scalar(2.0)),
            ("m1 - AVG(m1)", Val::Series(series(&[(0, -1.0), (60, 0.0), (120, 1.0)]))),
            ("MIN(METRICS(\"m2\"))", Val::Series(series(&[(0, 10.0), (60, 20.0)]))),
        ];
        for (src, want) in cases {
            let e = parse(src).unwrap_or_else(|e| panic!("{src}: {e}"));
            assert_eq!(eval(&e, &mut env).unwrap(), want, "{src}");
        }
        // Found while surveying the parsers to fuzz: nesting within the model's 2,048 characters
        // overflowed the stack (an abort, not a panic).
        let deep = [
            format!("{}1", "-".repeat(2047)),
            format!("{}1{}", "(".repeat(1023), ")".repeat(1023)),
            format!("{}2", "2^".repeat(1023)),
        ];
        for src in &deep {
            assert!(parse(src).unwrap_err().contains("nests deeper"), "{}", &src[..8]);
        }
        let ok = format!("{}m1{}", "(-".repeat(99), ")".repeat(99));
        assert!(parse(&ok).is_ok());
        for bad in ["1 +", "FILL(m1, 0)", "(m1", "m1 $ 2", "SUM(m1, m2)", "METRICS() + METRICS()"] {
            let res = parse(bad).and_then(|e| eval(&e, &mut env));
            assert!(res.is_err(), "{bad} should fail");
        }
    }
}
