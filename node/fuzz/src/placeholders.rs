//! Placeholders: names like `$K0` that seeds and dictionaries spell for values only the running
//! process knows (random key ids, ciphertexts, unseal shares), replaced in each input before it
//! is used.

use std::borrow::Cow;

/// Placeholder -> text, longest placeholders first (so `$S10` wins over `$S1`).
pub struct Placeholders(Vec<(Vec<u8>, Vec<u8>)>);

impl Placeholders {
    /// The table for these pairs.
    pub fn new(pairs: impl IntoIterator<Item = (String, String)>) -> Placeholders {
        let mut pairs: Vec<(Vec<u8>, Vec<u8>)> =
            pairs.into_iter().map(|(name, text)| (name.into_bytes(), text.into_bytes())).collect();
        pairs.sort_by_key(|(name, _)| std::cmp::Reverse(name.len()));
        Placeholders(pairs)
    }

    /// `text` with every placeholder replaced (borrowed when it holds no `$`).
    pub fn substitute<'a>(&self, text: &'a [u8]) -> Cow<'a, [u8]> {
        if !text.contains(&b'$') {
            return Cow::Borrowed(text);
        }
        let mut out = Vec::with_capacity(text.len() + 64);
        let mut rest = text;
        'outer: while let Some((&byte, tail)) = rest.split_first() {
            if byte == b'$' {
                for (name, replacement) in &self.0 {
                    if rest.starts_with(name) {
                        out.extend_from_slice(replacement);
                        rest = &rest[name.len()..];
                        continue 'outer;
                    }
                }
            }
            out.push(byte);
            rest = tail;
        }
        Cow::Owned(out)
    }

    /// Prints the table to stderr, prefixed with the target's name.
    pub fn print(&self, target: &str) {
        for (name, text) in &self.0 {
            eprintln!("{target}: {} = {}", String::from_utf8_lossy(name), String::from_utf8_lossy(text));
        }
    }
}
