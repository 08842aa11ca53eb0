//! `create-client`: a confidential client with a new or supplied secret (printed once), or a
//! public one (`--public`: no secret, the code flow and refresh only).

use anyhow::bail;
use tollgate_oauth::clock::{Clock, SystemClock};
use tollgate_service::client::{Client, ClientStore, ClientStoreError, GrantType};

use super::print::print_secret;
use super::settings::ClientSettings;
use super::{client_secret_hasher, new_secret, store, store_error};
use crate::ClientsTable;
use crate::audit;

/// Which kind of client `create-client` makes.
pub(crate) enum Kind {
    /// With a secret, generated or read from standard input.
    Confidential { secret_stdin: bool },
    /// Without one: the code flow and refresh only.
    Public,
}

/// `create-client`: a new record with a new or supplied secret, printed once, or a public
/// client without one.
pub(crate) async fn create_client(
    id: String,
    settings: ClientSettings,
    kind: Kind,
    if_not_exists: bool,
    table: ClientsTable,
) -> anyhow::Result<()> {
    let mut update = settings.to_update()?;
    let secret = match kind {
        Kind::Confidential { secret_stdin } => {
            let hasher = client_secret_hasher().await?;
            let (secret, generated) = new_secret(secret_stdin, &hasher)?;
            Some((hasher.hash(&secret), secret, generated))
        }
        Kind::Public => {
            update.public = Some(true);
            update
                .grant_types
                .get_or_insert_with(|| vec![GrantType::AuthorizationCode, GrantType::RefreshToken]);
            None
        }
    };
    let hash = secret
        .as_ref()
        .map_or_else(String::new, |(h, _, _)| h.clone());
    let client = Client::create(&id, hash, SystemClock.now(), &update)?;
    match store(&table).await.create(&client).await {
        Ok(()) => {
            println!("client_id:     {id}");
            let mut fields = audit::update_fields(&update);
            match &secret {
                Some((_, secret, generated)) => {
                    print_secret(secret, *generated);
                    fields.push("secret");
                }
                None => println!("public client: no secret; it sends its client_id alone"),
            }
            audit::record("create_client", &id, &fields).await;
        }
        Err(ClientStoreError::AlreadyExists) if if_not_exists => {
            println!("client {id} already exists")
        }
        Err(ClientStoreError::AlreadyExists) => bail!("client {id} already exists"),
        Err(e) => return Err(store_error(e)),
    }
    Ok(())
}
