//! Statistics over the samples of one period, as defined in
//! <https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/Statistics-definitions.html>.
//!
//! Samples are aggregated at query time: a period's `Agg` merges every sample whose
//! timestamp falls in it. Percentiles need the individual values, so they are
//! available only when every sample of the period carried them (`Value` or
//! `Values`/`Counts`); a period fed by statistic sets has no percentile, as in AWS.

use crate::state::Sample;

/// A statistic a query asks for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Stat {
    /// SampleCount.
    SampleCount,
    /// Average.
    Average,
    /// Sum.
    Sum,
    /// Minimum.
    Minimum,
    /// Maximum.
    Maximum,
    /// pNN.NN, the percentile as a fraction in [0, 1].
    Percentile(f64),
}

impl Stat {
    /// Parses a `Statistic` (`Maximum`) or an `ExtendedStatistic` (`p99.9`). Trimmed
    /// means, winsorized means and the other extended forms are not supported.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "SampleCount" => Self::SampleCount,
            "Average" => Self::Average,
            "Sum" => Self::Sum,
            "Minimum" => Self::Minimum,
            "Maximum" => Self::Maximum,
            _ => return parse_percentile(s).map(Self::Percentile),
        })
    }

    /// True for percentiles.
    pub fn is_percentile(self) -> bool {
        matches!(self, Self::Percentile(_))
    }
}

/// `p0` .. `p100` with at most two decimals (`p99.99`), as a fraction.
pub fn parse_percentile(s: &str) -> Option<f64> {
    let num = s.strip_prefix('p')?;
    let (int, frac) = num.split_once('.').unwrap_or((num, ""));
    let digits_ok = |d: &str| d.bytes().all(|b| b.is_ascii_digit());
    if int.is_empty() || int.len() > 3 || !digits_ok(int) || frac.len() > 2 || !digits_ok(frac) {
        return None;
    }
    if num.ends_with('.') {
        return None;
    }
    let v: f64 = num.parse().ok()?;
    (0.0..=100.0).contains(&v).then_some(v / 100.0)
}

/// The merged samples of one period.
#[derive(Debug, Clone, PartialEq)]
pub struct Agg {
    /// SampleCount.
    pub count: f64,
    /// Sum.
    pub sum: f64,
    /// Minimum.
    pub min: f64,
    /// Maximum.
    pub max: f64,
    /// `(value, count)` pairs; `None` once a statistic set without values was merged.
    pub values: Option<Vec<(f64, f64)>>,
}

impl Agg {
    /// The aggregate of one sample.
    pub fn of(sample: &Sample) -> Self {
        Self {
            count: sample.n,
            sum: sample.s,
            min: sample.lo,
            max: sample.hi,
            values: sample.v.clone(),
        }
    }

    /// Merges another sample in.
    pub fn add(&mut self, sample: &Sample) {
        self.count += sample.n;
        self.sum += sample.s;
        self.min = self.min.min(sample.lo);
        self.max = self.max.max(sample.hi);
        match (&mut self.values, &sample.v) {
            (Some(mine), Some(theirs)) => mine.extend_from_slice(theirs),
            _ => self.values = None,
        }
    }

    /// Merges another aggregate in.
    pub fn merge(&mut self, other: &Agg) {
        self.count += other.count;
        self.sum += other.sum;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
        match (&mut self.values, &other.values) {
            (Some(mine), Some(theirs)) => mine.extend_from_slice(theirs),
            _ => self.values = None,
        }
    }

    /// The value of `stat`, or `None` when it cannot be computed (a percentile of a
    /// period fed by statistic sets, or an empty period).
    pub fn get(&self, stat: Stat) -> Option<f64> {
        if self.count <= 0.0 {
            return match stat {
                Stat::SampleCount => Some(0.0),
                Stat::Sum => Some(self.sum),
                _ => None,
            };
        }
        Some(match stat {
            Stat::SampleCount => self.count,
            Stat::Average => self.sum / self.count,
            Stat::Sum => self.sum,
            Stat::Minimum => self.min,
            Stat::Maximum => self.max,
            Stat::Percentile(p) => percentile(self.values.as_deref()?, p)?,
        })
    }
}

/// The nearest-rank percentile of weighted values: the smallest value whose cumulative
/// count reaches `p` of the total; p0 is the minimum and p100 the maximum.
pub fn percentile(values: &[(f64, f64)], p: f64) -> Option<f64> {
    let mut sorted: Vec<(f64, f64)> = values.iter().copied().filter(|(_, c)| *c > 0.0).collect();
    if sorted.is_empty() {
        return None;
    }
    sorted.sort_by(|a, b| a.0.total_cmp(&b.0));
    let total: f64 = sorted.iter().map(|(_, c)| c).sum();
    let rank = (p * total).max(f64::MIN_POSITIVE);
    let mut seen = 0.0;
    for (v, c) in &sorted {
        seen += c;
        if seen + 1e-9 >= rank {
            return Some(*v);
        }
    }
    sorted.last().map(|(v, _)| *v)
}

/// Whether a percentile over `count` samples is statistically significant, per
/// `EvaluateLowSampleCountPercentile`: p in [0.5, 1) needs at least 10/(1-p) samples,
/// p in (0, 0.5) needs at least 10/p; p0 and p100 are always significant.
pub fn enough_samples(p: f64, count: f64) -> bool {
    if p <= 0.0 || p >= 1.0 {
        return true;
    }
    let needed = if p >= 0.5 { 10.0 / (1.0 - p) } else { 10.0 / p };
    count + 1e-9 >= needed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(v: f64) -> Sample {
        Sample { n: 1.0, s: v, lo: v, hi: v, u: None, r: 60, v: Some(vec![(v, 1.0)]) }
    }

    #[test]
    fn parses_statistics() {
        let cases = [
            ("Maximum", Some(Stat::Maximum)),
            ("SampleCount", Some(Stat::SampleCount)),
            ("p99", Some(Stat::Percentile(0.99))),
            ("p99.9", Some(Stat::Percentile(99.9 / 100.0))),
            ("p0", Some(Stat::Percentile(0.0))),
            ("p100", Some(Stat::Percentile(1.0))),
            ("p100.1", None),
            ("p99.999", None),
            ("p", None),
            ("p9.", None),
            ("tm90", None),
            ("IQM", None),
            ("maximum", None),
        ];
        for (s, want) in cases {
            assert_eq!(Stat::parse(s), want, "{s}");
        }
    }

    #[test]
    fn each_statistic() {
        let mut agg = Agg::of(&sample(1.0));
        for v in [2.0, 3.0, 4.0, 10.0] {
            agg.add(&sample(v));
        }
        let cases = [
            (Stat::SampleCount, Some(5.0)),
            (Stat::Sum, Some(20.0)),
            (Stat::Average, Some(4.0)),
            (Stat::Minimum, Some(1.0)),
            (Stat::Maximum, Some(10.0)),
            (Stat::Percentile(0.5), Some(3.0)),
            (Stat::Percentile(0.8), Some(4.0)),
            (Stat::Percentile(0.81), Some(10.0)),
            (Stat::Percentile(0.0), Some(1.0)),
            (Stat::Percentile(1.0), Some(10.0)),
        ];
        for (stat, want) in cases {
            assert_eq!(agg.get(stat), want, "{stat:?}");
        }
    }

    #[test]
    fn statistic_sets_have_no_percentiles() {
        let set = Sample { n: 4.0, s: 10.0, lo: 1.0, hi: 4.0, u: None, r: 60, v: None };
        let mut agg = Agg::of(&sample(1.0));
        agg.add(&set);
        assert_eq!(agg.get(Stat::Percentile(0.5)), None);
        assert_eq!(agg.get(Stat::Average), Some(11.0 / 5.0));
    }

    #[test]
    fn low_sample_counts() {
        let cases = [
            (0.99, 999.0, false),
            (0.99, 1000.0, true),
            (0.5, 20.0, true),
            (0.5, 19.0, false),
            (0.1, 100.0, true),
            (0.1, 99.0, false),
            (1.0, 1.0, true),
        ];
        for (p, n, want) in cases {
            assert_eq!(enough_samples(p, n), want, "p={p} n={n}");
        }
    }
}
