//! Key ids are UUIDs in their hyphenated form and nothing else.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic in a test is a failed test

use trent_storage::KeyId;
use uuid::Uuid;

#[test]
fn key_id_parses_the_hyphenated_form_and_displays_it_back() {
    let text = "1234abcd-12ab-34cd-56ef-1234567890ab";
    let id = KeyId::parse(text).expect("hyphenated uuid");
    assert_eq!(id.to_string(), text);
    assert_eq!(id.as_bytes(), Uuid::parse_str(text).unwrap().as_bytes());
}

#[test]
fn key_id_refuses_other_uuid_spellings_and_junk() {
    for text in [
        "1234abcd12ab34cd56ef1234567890ab",
        "{1234abcd-12ab-34cd-56ef-1234567890ab}",
        "urn:uuid:1234abcd-12ab-34cd-56ef-1234567890ab",
        "1234abcd-12ab-34cd-56ef-1234567890aZ",
        "alias/1234abcd-12ab-34cd-56ef-12345678",
        "",
    ] {
        assert_eq!(KeyId::parse(text), None, "{text:?}");
    }
}
