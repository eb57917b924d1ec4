//! IAM wildcards: `*` matches any run of characters (none included), `?` any one character.

/// Whether `text` matches `pattern`; `ignore_case` for action names, which IAM compares without
/// case (ASCII letters only, as IAM does). At most the product of the lengths in steps (no
/// exponential backtracking on hostile patterns; policies are at most 32 KiB). Works on the
/// UTF-8 bytes without allocating: `?` and the text a `*` stands for advance by whole
/// characters, so both positions stay on character boundaries and a literal byte run matches
/// exactly when its characters do.
pub fn matches(pattern: &str, text: &str, ignore_case: bool) -> bool {
    let (pattern, text) = (pattern.as_bytes(), text.as_bytes());
    let same = |a: u8, b: u8| if ignore_case { a.eq_ignore_ascii_case(&b) } else { a == b };
    let equal = |a: &[u8], b: &[u8]| if ignore_case { a.eq_ignore_ascii_case(b) } else { a == b };
    // Most IAM patterns are a literal (`kms:Encrypt`, a key ARN) or a literal and one final `*`
    // (`kms:*`, `arn:aws:kms:…:key/*`): compared at once.
    match pattern.iter().position(|&b| b == b'*' || b == b'?') {
        None => return equal(pattern, text),
        Some(at) if at + 1 == pattern.len() && pattern[at] == b'*' => {
            return text.len() >= at && equal(&pattern[..at], &text[..at]);
        }
        Some(_) => {}
    }
    let (mut p, mut t) = (0, 0);
    // Where the last `*` was, and the text position it currently stands for.
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some(b'*') => {
                star = Some((p, t));
                p += 1;
            }
            Some(b'?') => {
                p += 1;
                t += char_len(text[t]);
            }
            Some(&c) if same(c, text[t]) => {
                p += 1;
                t += 1;
            }
            _ => match star {
                Some((star_p, star_t)) => {
                    let next = star_t + char_len(text[star_t]);
                    p = star_p + 1;
                    t = next;
                    star = Some((star_p, next));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|c| *c == b'*')
}

/// The length of the UTF-8 character whose first byte is `lead`.
fn char_len(lead: u8) -> usize {
    match lead {
        0xf0.. => 4,
        0xe0.. => 3,
        0xc0.. => 2,
        _ => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn stars_and_question_marks_match_as_iam_documents() {
        assert!(matches("kms:*", "kms:Encrypt", false));
        assert!(matches("kms:Gen*", "kms:GenerateDataKey", false));
        assert!(matches("kms:*Key", "kms:CreateKey", false));
        assert!(!matches("kms:*Key", "kms:CreateAlias", false));
        assert!(matches("kms:?ncrypt", "kms:Encrypt", false));
        assert!(!matches("kms:?ncrypt", "kms:Decrypt2", false));
        assert!(matches("*", "", false));
        assert!(matches("a*b*c", "aXXbYYc", false));
        assert!(!matches("a*b*c", "aXXbYY", false));
        assert!(matches("KMS:encrypt", "kms:Encrypt", true));
        assert!(!matches("KMS:encrypt", "kms:Encrypt", false));
        assert!(matches("k?s", "kés", false), "? stands for one character, not one byte");
        assert!(!matches("k??s", "kés", false));
        assert!(matches("*é*", "caféine", false));
        assert!(!matches("KMS:É*", "kms:é", true), "only ASCII letters fold");
        // A pathological pattern stays fast.
        let text = "a".repeat(5000);
        assert!(!matches(&format!("{}b", "*a".repeat(200)), &text, false));
    }
    /// The matcher as first written, over characters: the byte matcher must agree with it on
    /// every pattern and text up to four characters over an alphabet with a multi-byte
    /// character, both cases and both wildcards.
    fn by_characters(pattern: &str, text: &str, ignore_case: bool) -> bool {
        let fold = |c: char| if ignore_case { c.to_ascii_lowercase() } else { c };
        let pattern: Vec<char> = pattern.chars().map(fold).collect();
        let text: Vec<char> = text.chars().map(fold).collect();
        let (mut p, mut t, mut star) = (0, 0, None);
        while t < text.len() {
            match pattern.get(p) {
                Some('*') => {
                    star = Some((p, t));
                    p += 1;
                }
                Some(&c) if c == '?' || c == text[t] => {
                    p += 1;
                    t += 1;
                }
                _ => match star {
                    Some((star_p, star_t)) => {
                        p = star_p + 1;
                        t = star_t + 1;
                        star = Some((star_p, star_t + 1));
                    }
                    None => return false,
                },
            }
        }
        pattern[p..].iter().all(|c| *c == '*')
    }

    fn words(alphabet: &[char], up_to: usize) -> Vec<String> {
        let mut all = vec![String::new()];
        let mut last = vec![String::new()];
        for _ in 0..up_to {
            last = last.iter().flat_map(|word| alphabet.iter().map(move |c| format!("{word}{c}"))).collect();
            all.extend(last.iter().cloned());
        }
        all
    }

    #[test]
    fn bytes_and_characters_agree() {
        let patterns = words(&['a', 'A', 'é', '*', '?'], 4);
        let texts = words(&['a', 'A', 'é', 'b'], 4);
        for pattern in &patterns {
            for text in &texts {
                for ignore_case in [false, true] {
                    assert_eq!(
                        matches(pattern, text, ignore_case),
                        by_characters(pattern, text, ignore_case),
                        "{pattern:?} against {text:?}, ignore_case {ignore_case}"
                    );
                }
            }
        }
    }
}
