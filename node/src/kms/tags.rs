//! Tag operations: TagResource, UntagResource, ListResourceTags.

use std::ops::Bound;

use trent_storage::Command;
use trent_wire::kms::{
    EmptyResponse, ListResourceTagsRequest, ListResourceTagsResponse, Tag, TagResourceRequest,
    UntagResourceRequest,
};
use trent_wire::limits::{DEFAULT_TAG_LIST_LIMIT, MAX_TAGS_PER_KEY};
use trent_wire::{ErrorCode, KmsError};

use super::identifiers::{parse_key_id, parse_key_ref, resolve, AliasUse};
use super::Call;
use crate::write_path::Proposal;
use trent_wire::validation::{check_marker, check_tag_key, check_tags, page_limit};

/// `TagResource`.
pub async fn tag_resource(call: &Call<'_>, request: TagResourceRequest) -> Result<EmptyResponse, KmsError> {
    let key_id = parse_key_id(&request.key_id, "keyId", call.scope())?;
    let tags = check_tags(&request.tags)?;
    call.write(Proposal::Command(Command::TagKey { key_id, tags })).await?;
    Ok(EmptyResponse {})
}

/// `UntagResource`.
pub async fn untag_resource(
    call: &Call<'_>,
    request: UntagResourceRequest,
) -> Result<EmptyResponse, KmsError> {
    let key_id = parse_key_id(&request.key_id, "keyId", call.scope())?;
    if request.tag_keys.len() > MAX_TAGS_PER_KEY {
        return Err(KmsError::new(
            ErrorCode::LimitExceeded,
            format!("At most {MAX_TAGS_PER_KEY} tag keys per call"),
        ));
    }
    for tag_key in &request.tag_keys {
        check_tag_key(tag_key)?;
    }
    call.write(Proposal::Command(Command::UntagKey { key_id, tag_keys: request.tag_keys })).await?;
    Ok(EmptyResponse {})
}

/// `ListResourceTags`.
pub async fn list_resource_tags(
    call: &Call<'_>,
    request: ListResourceTagsRequest,
) -> Result<ListResourceTagsResponse, KmsError> {
    let reference = parse_key_ref(&request.key_id, "keyId", call.scope(), AliasUse::Refused)?;
    let limit = page_limit(request.limit, DEFAULT_TAG_LIST_LIMIT, DEFAULT_TAG_LIST_LIMIT)?;
    check_marker(request.marker.as_deref())?;
    // Markers are the last tag key of the page before: anything that could not be a tag key is
    // not one this cluster issued (as ListKeys and ListAliases refuse theirs).
    if request.marker.as_deref().is_some_and(|marker| check_tag_key(marker).is_err()) {
        return Err(KmsError::new(ErrorCode::InvalidMarker, "The marker is not one this cluster issued"));
    }
    let registry = call.linearizable_registry().await?;
    let key = resolve(&registry, &reference, call.scope())?;
    let lower = request.marker.as_deref().map_or(Bound::Unbounded, Bound::Excluded);
    let mut remaining = key.tags.range::<str, _>((lower, Bound::Unbounded)).peekable();
    let tags: Vec<Tag> = remaining
        .by_ref()
        .take(limit)
        .map(|(tag_key, tag_value)| Tag { tag_key: tag_key.clone(), tag_value: tag_value.clone() })
        .collect();
    let truncated = remaining.peek().is_some();
    let next_marker = if truncated { tags.last().map(|tag| tag.tag_key.clone()) } else { None };
    Ok(ListResourceTagsResponse { tags, next_marker, truncated })
}
