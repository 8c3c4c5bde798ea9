//! Fuzzes the metric math parser
//! (<https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/using-metric-math.html>)
//! with expressions up to the model's 2,048 characters: nothing may panic or overflow
//! the stack, and an accepted expression lists its references and evaluates against
//! any series without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mamori_cloudwatch::math::{self, Resolve, Series, Val};

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
        let mut res = Vec::new();
        for k in ["m1", "m2", "e1"].into_iter().filter(|k| filter.is_none_or(|f| k.contains(f))) {
            if let Ok(Val::Series(s)) = self.id(k) {
                res.push((k.to_owned(), s));
            }
        }
        Ok(Val::Array(res))
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(src) = std::str::from_utf8(data) else { return };
    if src.chars().count() > 2048 {
        return;
    }
    let Ok(e) = math::parse(src) else { return };
    let mut refs = Vec::new();
    math::references(&e, &mut refs);
    let _ = math::eval(&e, &mut Env);
});
