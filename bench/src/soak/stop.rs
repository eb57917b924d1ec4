//! The stop switches every component watches (a `watch` channel of `bool`): asking whether one is
//! set, and waiting until it is, without holding the channel's lock across an await (so the
//! waiting futures stay `Send`).

use tokio::sync::watch;

/// Whether `stop` has been set.
pub fn stopped(stop: &watch::Receiver<bool>) -> bool {
    *stop.borrow()
}

/// Returns once `stop` is set (or its sender is gone).
pub async fn until_stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|stopped| *stopped).await.map(|_| ());
}
