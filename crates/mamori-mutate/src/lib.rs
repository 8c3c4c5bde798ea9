//! Deterministic input mutation for the property tests that stand in for the fuzz
//! targets on stable Rust (`tests/*_mutations.rs` of the crates with a `fuzz/` crate):
//! a small xorshift generator, so a failing case is the same on every run, and
//! mutation of seed texts by a test's own alphabet of words and characters.
#![warn(missing_docs)]

/// An xorshift64 generator: fast, deterministic, good enough to pick mutations.
#[derive(Debug, Clone)]
pub struct Rng(pub u64);

impl Rng {
    /// The next number (the seed must not be 0).
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A number below `n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// One to four insertions, deletions and replacements of single characters from `chars`
/// (for inputs whose tests have no words to insert).
pub fn mutate_chars(rng: &mut Rng, src: &str, chars: &[char]) -> String {
    let mut out: Vec<char> = src.chars().collect();
    for _ in 0..=rng.below(3) {
        let at = rng.below(out.len() + 1);
        let ch = chars[rng.below(chars.len())];
        match rng.below(3) {
            0 => out.insert(at, ch),
            1 if at < out.len() => {
                out.remove(at);
            }
            _ if at < out.len() => out[at] = ch,
            _ => out.push(ch),
        }
    }
    out.into_iter().collect()
}

/// What mutations insert: whole words (keywords, tokens) and single characters.
#[derive(Debug, Clone, Copy)]
pub struct Alphabet<'a> {
    /// Words inserted whole.
    pub words: &'a [&'a str],
    /// Characters inserted or put in place of others.
    pub chars: &'a [char],
}

impl Alphabet<'_> {
    /// One to four insertions (of a word or a character), deletions and replacements.
    pub fn mutate(&self, rng: &mut Rng, src: &str) -> String {
        let mut chars: Vec<char> = src.chars().collect();
        for _ in 0..=rng.below(3) {
            let at = rng.below(chars.len() + 1);
            let ch = self.chars[rng.below(self.chars.len())];
            match rng.below(4) {
                0 if !self.words.is_empty() => {
                    let word = self.words[rng.below(self.words.len())];
                    chars.splice(at..at, word.chars());
                }
                1 => chars.insert(at, ch),
                2 if at < chars.len() => {
                    chars.remove(at);
                }
                _ if at < chars.len() => chars[at] = ch,
                _ => chars.push(ch),
            }
        }
        chars.into_iter().collect()
    }

    /// Up to 23 words and characters in no particular order.
    pub fn random(&self, rng: &mut Rng) -> String {
        let mut out = String::new();
        for _ in 0..rng.below(24) {
            if rng.below(2) == 0 && !self.words.is_empty() {
                out.push_str(self.words[rng.below(self.words.len())]);
            } else {
                out.push(self.chars[rng.below(self.chars.len())]);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_mutants() {
        let alphabet = Alphabet { words: &["AND", "OR"], chars: &['(', ')', 'a'] };
        let run = || {
            let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
            (0..50).map(|_| alphabet.mutate(&mut rng, "ALARM(a)")).collect::<Vec<_>>()
        };
        assert_eq!(run(), run());
        let mut rng = Rng(1);
        assert!((0..1000).all(|_| rng.below(7) < 7));
        assert_eq!(rng.below(0), 0);
        assert!((0..100).map(|_| alphabet.random(&mut rng)).any(|s| s.contains("AND")));
    }
}
