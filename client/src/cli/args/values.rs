//! The shorthand values the CLI accepts, and their parsers: `KEY=VALUE` tags and context
//! entries, `-` for stdin/stdout, byte sizes with a `KiB`/`MiB` suffix, user names and bare alias
//! names.

use std::path::PathBuf;

use trent_client::envelope::ChunkSize;
use trent_client::wire::kms::Tag;

/// A file, or the standard stream (`-`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DataPath {
    /// stdin for input, stdout for output.
    Standard,
    /// A file.
    File(PathBuf),
}

/// Parses a tag `KEY=VALUE` (split at the first `=`; the value may be empty, the key may not).
pub fn parse_tag(text: &str) -> Result<Tag, String> {
    let (tag_key, tag_value) = split_key_value(text, "tag")?;
    Ok(Tag { tag_key, tag_value })
}

/// Parses an encryption context entry `KEY=VALUE`, split as [`parse_tag`] splits.
pub fn parse_context_entry(text: &str) -> Result<(String, String), String> {
    split_key_value(text, "context")
}

/// Splits `KEY=VALUE` at the first `=`; the value may be empty, the key may not.
fn split_key_value(text: &str, what: &str) -> Result<(String, String), String> {
    let (key, value) = text.split_once('=').ok_or_else(|| format!("expected KEY=VALUE, got {text:?}"))?;
    if key.is_empty() {
        return Err(format!("{what} key is empty in {text:?}"));
    }
    Ok((key.to_owned(), value.to_owned()))
}

/// `-` is the standard stream; anything else a file path.
pub fn parse_data_path(text: &str) -> Result<DataPath, String> {
    match text {
        "" => Err("the path is empty (use - for stdin or stdout)".to_owned()),
        "-" => Ok(DataPath::Standard),
        path => Ok(DataPath::File(PathBuf::from(path))),
    }
}

/// A chunk size: bytes, or a number with a `K`/`KiB` or `M`/`MiB` suffix (powers of 1024),
/// within the envelope's limits.
pub fn parse_chunk_size(text: &str) -> Result<ChunkSize, String> {
    let digits = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (number, suffix) = text.split_at(digits);
    let unit: u64 = match suffix.to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kib" => 1024,
        "m" | "mib" => 1024 * 1024,
        _ => return Err(format!("expected a number of bytes, optionally with KiB or MiB, got {text:?}")),
    };
    let bytes = number
        .parse::<u64>()
        .ok()
        .and_then(|count| count.checked_mul(unit))
        .ok_or_else(|| format!("expected a number of bytes, optionally with KiB or MiB, got {text:?}"))?;
    ChunkSize::new(bytes).map_err(|err| err.to_string())
}

/// A user name as the server accepts it: 1–64 of `[A-Za-z0-9+=,.@_-]`.
pub fn parse_user_name(text: &str) -> Result<String, String> {
    if trent_client::is_valid_user_name(text) {
        Ok(text.to_owned())
    } else {
        Err(format!(
            "{text:?} is not a user name: 1 to {} characters of A-Z, a-z, 0-9 and + = , . @ _ -",
            trent_client::MAX_USER_NAME_CHARS
        ))
    }
}

/// Accepts `alias/<name>`, an alias ARN, or a bare `<name>` (given the `alias/` prefix).
pub fn parse_alias_name(text: &str) -> Result<String, String> {
    if text.is_empty() {
        return Err("alias name is empty".to_owned());
    }
    if text.starts_with("alias/") || text.starts_with("arn:") {
        Ok(text.to_owned())
    } else {
        Ok(format!("alias/{text}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_splits_at_first_equals() {
        let tag = parse_tag("env=a=b").unwrap();
        assert_eq!((tag.tag_key.as_str(), tag.tag_value.as_str()), ("env", "a=b"));
        let empty_value = parse_tag("flag=").unwrap();
        assert_eq!(empty_value.tag_value, "");
        assert!(parse_tag("novalue").is_err());
        assert!(parse_tag("=v").is_err());
    }

    #[test]
    fn alias_prefix_is_added_when_missing() {
        assert_eq!(parse_alias_name("prod").unwrap(), "alias/prod");
        assert_eq!(parse_alias_name("alias/prod").unwrap(), "alias/prod");
        let arn = "arn:aws:kms:us-east-1:111122223333:alias/prod";
        assert_eq!(parse_alias_name(arn).unwrap(), arn);
        assert!(parse_alias_name("").is_err());
    }

    #[test]
    fn chunk_sizes_accept_binary_suffixes_within_limits() {
        assert_eq!(parse_chunk_size("4096").unwrap().get(), 4096);
        assert_eq!(parse_chunk_size("64K").unwrap(), ChunkSize::DEFAULT);
        assert_eq!(parse_chunk_size("4mib").unwrap(), ChunkSize::MAX);
        assert!(parse_chunk_size("4095").unwrap_err().contains("outside"));
        assert!(parse_chunk_size("99999999999999999999KiB").is_err());
        assert!(parse_chunk_size("K").is_err());
    }

    #[test]
    fn dash_is_the_standard_stream() {
        assert_eq!(parse_data_path("-").unwrap(), DataPath::Standard);
        assert_eq!(parse_data_path("./-").unwrap(), DataPath::File(PathBuf::from("./-")));
        assert!(parse_data_path("").is_err());
    }
}
