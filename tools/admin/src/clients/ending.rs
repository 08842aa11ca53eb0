//! Ending a client: `disable-client` and `delete-client`, each also cutting off the client's
//! access tokens issued until now, for the authorizers (`tollgate_service::revocation`).

use anyhow::bail;
use tollgate_oauth::clock::{Clock, SystemClock};
use tollgate_service::client::{ClientStore, ClientStoreError};
use tollgate_service::revocation::{self, RevocationStore};
use tollgate_service::store::dynamo::{DynamoRevocationStore, sdk_client};

use super::{get, set_enabled, store, store_error};
use crate::audit;
use crate::{AWS_TIMEOUT, ClientEnd, error_chain};

/// `disable-client`: disabled first, so no request authenticates as it any more, then its
/// access tokens issued until now are cut off for the authorizers. Both are idempotent: when
/// the second fails, running the command again finishes.
pub(crate) async fn disable_client(end: ClientEnd) -> anyhow::Result<()> {
    let client = &end.client;
    set_enabled(client, false).await?;
    cut_off(&end).await?;
    println!(
        "client {} disabled: its token requests are refused from now on, and its access tokens issued until now within RevocationMaxStaleness",
        client.id
    );
    Ok(())
}

/// Records the cut-off of `end`'s client at this moment in the revocations table.
async fn cut_off(end: &ClientEnd) -> anyhow::Result<()> {
    let entry = revocation::client_cut_off(&end.client.id, SystemClock.now());
    let store = DynamoRevocationStore::new(
        sdk_client(AWS_TIMEOUT).await,
        &end.revocations.revocations_table,
    );
    store.record(&entry).await.map_err(|e| {
        anyhow::anyhow!(
            "client {} is disabled, but its access tokens could not be cut off: {}; run the command again",
            end.client.id,
            error_chain(&e)
        )
    })
}

/// `delete-client`: only a disabled client. Its access tokens are cut off again first (a client
/// disabled before cut-offs existed has none yet), so a client created later under the same id
/// never inherits one.
pub(crate) async fn delete_client(end: ClientEnd) -> anyhow::Result<()> {
    let client = &end.client;
    let c = get(client).await?;
    if !c.may_be_deleted() {
        bail!(
            "client {} is enabled; disable it first (tollgate-admin disable-client --id {}), then delete it",
            client.id,
            client.id
        );
    }
    cut_off(&end).await?;
    match store(&client.table).await.delete(&client.id).await {
        Ok(()) => {
            println!("client {} deleted", client.id);
            audit::record("delete_client", &client.id, &[]).await;
        }
        Err(ClientStoreError::NotFound) => bail!("no client {}", client.id),
        Err(e) => return Err(store_error(e)),
    }
    Ok(())
}
