//! A bounded, deterministic stand-in for `fuzz/fuzz_targets/metric_math.rs`, so that
//! `cargo test` on stable checks the same properties of the metric math parser
//! (<https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/using-metric-math.html>):
//! expressions are mutated, long runs of nesting are spliced in (up to the model's
//! 2,048 characters) and random strings thrown in; nothing may panic or overflow the
//! stack, and an accepted expression lists its references and evaluates against any
//! series without panicking.

use mamori_cloudwatch::math::{self, Resolve, Series, Val};
use mamori_mutate::Rng;

const SEEDS: [&str; 8] = [
    "SUM(METRICS())",
    "m1 / m2 * 100",
    "(m1 + m2) / 2 - AVG(m1)",
    "-2 ^ 3 ^ 2",
    "MAX(METRICS(\"errors\")) / MIN(METRICS('count'))",
    "100 * (1 - e1 / e2)",
    "m1 / 0",
    "FILL(m1, 0)",
];

const PIECES: [&str; 14] =
    ["(", ")", "-", "^", "+", "*", "/", ",", "SUM(", "METRICS()", "\"", "m1", "0.5", " "];

/// The longest `Expression` the CloudWatch model allows.
const MAX_LEN: usize = 2048;

/// A few pieces inserted, characters removed or a run of one piece spliced in.
fn mutate(rng: &mut Rng, src: &str) -> String {
    let mut out = src.to_owned();
    for _ in 0..=rng.below(3) {
        let at =
            (0..=rng.below(out.len() + 1)).rev().find(|&i| out.is_char_boundary(i)).unwrap_or(0);
        let piece = PIECES[rng.below(PIECES.len())];
        match rng.below(8) {
            0 => {
                let run = piece.repeat(1 + rng.below(MAX_LEN / piece.len()));
                out.insert_str(at, &run);
            }
            1 | 2 if at < out.len() => {
                out.remove(at);
            }
            _ => out.insert_str(at, piece),
        }
    }
    out.chars().take(MAX_LEN).collect()
}

fn random(rng: &mut Rng) -> String {
    (0..rng.below(30)).map(|_| PIECES[rng.below(PIECES.len())]).collect()
}

/// Series by id, empty or with non-finite values; unknown ids are an error.
struct Env;

impl Resolve for Env {
    fn id(&mut self, id: &str) -> Result<Val, String> {
        let points: &[(i64, f64)] = match id {
            "m1" => &[(0, 1.0), (60, 0.0), (120, -3.5)],
            "m2" => &[(60, f64::MAX), (180, f64::NAN)],
            "e1" => &[],
            _ => return Err(format!("unknown id {id}")),
        };
        Ok(Val::Series(points.iter().copied().collect::<Series>()))
    }

    fn metrics(&mut self, filter: Option<&str>) -> Result<Val, String> {
        let all = ["m1", "m2", "e1"].into_iter().filter(|k| filter.is_none_or(|f| k.contains(f)));
        Ok(Val::Array(
            all.map(|k| match self.id(k) {
                Ok(Val::Series(s)) => (k.to_owned(), s),
                _ => unreachable!(),
            })
            .collect(),
        ))
    }
}

/// The properties of the fuzz target, for one input; true when accepted.
fn check(src: &str) -> bool {
    let Ok(e) = math::parse(src) else { return false };
    let mut refs = Vec::new();
    math::references(&e, &mut refs);
    let _ = math::eval(&e, &mut Env);
    true
}

#[test]
fn mutated_expressions_never_panic_or_overflow() {
    let mut rng = Rng(0xBF58_476D_1CE4_E5B9);
    let (mut accepted, mut rejected) = (0, 0);
    for i in 0..10_000 {
        let src =
            if i % 5 == 4 { random(&mut rng) } else { mutate(&mut rng, SEEDS[i % SEEDS.len()]) };
        if check(&src) {
            accepted += 1;
        } else {
            rejected += 1;
        }
    }
    assert!(accepted > 1_000 && rejected > 1_000, "accepted {accepted}, rejected {rejected}");
}

#[test]
fn the_longest_expressions_of_each_shape_are_safe() {
    for piece in PIECES {
        let run = piece.repeat(MAX_LEN / piece.len());
        for src in [run.clone(), format!("{}1", &run[..run.len() - 1])] {
            check(&src);
        }
    }
    assert!(check(&vec!["m1"; MAX_LEN / 3].join("+")), "a long flat chain is fine");
}
