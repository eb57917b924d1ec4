//! IAM wildcards: `*` matches any run of characters (none included), `?` any one character.

/// Whether `text` matches `pattern`; `ignore_case` for action names, which IAM compares without
/// case. At most the product of the lengths in steps (no exponential backtracking on hostile
/// patterns; policies are at most 32 KiB).
pub fn matches(pattern: &str, text: &str, ignore_case: bool) -> bool {
    let fold = |c: char| if ignore_case { c.to_ascii_lowercase() } else { c };
    let pattern: Vec<char> = pattern.chars().map(fold).collect();
    let text: Vec<char> = text.chars().map(fold).collect();
    let (mut p, mut t) = (0, 0);
    // Where the last `*` was, and the text position it currently stands for.
    let mut star: Option<(usize, usize)> = None;
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
        // A pathological pattern stays fast.
        let text = "a".repeat(5000);
        assert!(!matches(&format!("{}b", "*a".repeat(200)), &text, false));
    }
}
