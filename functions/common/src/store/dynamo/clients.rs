//! Client records in DynamoDB, keyed by `client_id`.

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};

use super::{Item, condition_failed, get_list, get_n, get_s, list, n, s};
use crate::client::{
    Client as OAuthClient, ClientStore, ClientStoreError, ClientUpdate, GrantType, PreviousSecret,
};
use crate::scope::Scopes;

/// Client records, keyed by `client_id`.
#[derive(Debug, Clone)]
pub struct DynamoClientStore {
    client: Client,
    table: String,
}

impl DynamoClientStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }
}

pub fn client_to_item(c: &OAuthClient) -> Item {
    let mut item = Item::from([
        ("client_id".into(), s(&c.client_id)),
        ("name".into(), s(&c.name)),
        ("secret_hash".into(), s(&c.secret_hash)),
        ("enabled".into(), AttributeValue::Bool(c.enabled)),
        (
            "grant_types".into(),
            list(c.grant_types.iter().map(|g| g.as_str().to_owned())),
        ),
        ("allowed_scopes".into(), list(c.allowed_scopes.to_vec())),
        ("default_scopes".into(), list(c.default_scopes.to_vec())),
        ("created_at".into(), n(c.created_at)),
    ]);
    for (k, v) in [
        ("access_token_ttl", c.access_token_ttl),
        ("refresh_token_ttl", c.refresh_token_ttl),
        ("refresh_family_ttl", c.refresh_family_ttl),
    ] {
        if let Some(v) = v {
            item.insert(k.into(), n(v));
        }
    }
    if let Some(p) = &c.previous_secret {
        item.insert("previous_secret_hash".into(), s(&p.hash));
        if let Some(t) = p.retire_at {
            item.insert("previous_secret_retire_at".into(), n(t));
        }
    }
    item
}

pub fn client_from_item(item: &Item) -> Result<OAuthClient, String> {
    let grant_types = get_list(item, "grant_types")?
        .iter()
        .map(|g| GrantType::parse(g).ok_or_else(|| format!("unknown grant type {g:?}")))
        .collect::<Result<_, _>>()?;
    let scopes = |k| -> Result<Scopes, String> {
        let v = get_list(item, k)?;
        let joined = v.join(" ");
        Scopes::parse(&joined).map_err(|_| format!("{k} holds an invalid scope"))
    };
    Ok(OAuthClient {
        client_id: get_s(item, "client_id")?,
        name: get_s(item, "name").unwrap_or_default(),
        secret_hash: get_s(item, "secret_hash")?,
        previous_secret: match item.get("previous_secret_hash") {
            None => None,
            Some(_) => Some(PreviousSecret {
                hash: get_s(item, "previous_secret_hash")?,
                retire_at: get_n(item, "previous_secret_retire_at")?,
            }),
        },
        enabled: item
            .get("enabled")
            .and_then(|v| v.as_bool().ok())
            .copied()
            .unwrap_or(false),
        grant_types,
        allowed_scopes: scopes("allowed_scopes")?,
        default_scopes: scopes("default_scopes")?,
        access_token_ttl: get_n(item, "access_token_ttl")?,
        refresh_token_ttl: get_n(item, "refresh_token_ttl")?,
        refresh_family_ttl: get_n(item, "refresh_family_ttl")?,
        created_at: get_n(item, "created_at")?.unwrap_or(0),
    })
}

#[async_trait]
impl ClientStore for DynamoClientStore {
    async fn get(&self, client_id: &str) -> Result<Option<OAuthClient>, ClientStoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("client_id", s(client_id))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| ClientStoreError::Unavailable(e.into()))?;
        match out.item {
            None => Ok(None),
            Some(item) => client_from_item(&item)
                .map(Some)
                .map_err(ClientStoreError::Malformed),
        }
    }

    async fn create(&self, c: &OAuthClient) -> Result<(), ClientStoreError> {
        let res = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(client_to_item(c)))
            .condition_expression("attribute_not_exists(client_id)")
            .send()
            .await;
        match res {
            Ok(_) => Ok(()),
            Err(e) if condition_failed(&e) => Err(ClientStoreError::AlreadyExists),
            Err(e) => Err(ClientStoreError::Unavailable(e.into())),
        }
    }

    async fn list(&self) -> Result<Vec<OAuthClient>, ClientStoreError> {
        let mut clients = Vec::new();
        let mut start = None;
        loop {
            let page = self
                .client
                .scan()
                .table_name(&self.table)
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| ClientStoreError::Unavailable(e.into()))?;
            for item in page.items() {
                clients.push(client_from_item(item).map_err(ClientStoreError::Malformed)?);
            }
            start = page.last_evaluated_key;
            if start.is_none() {
                break;
            }
        }
        clients.sort_by(|a, b| a.client_id.cmp(&b.client_id));
        Ok(clients)
    }

    async fn update(
        &self,
        client_id: &str,
        u: &ClientUpdate,
    ) -> Result<OAuthClient, ClientStoreError> {
        if u.is_empty() {
            return self.get(client_id).await?.ok_or(ClientStoreError::NotFound);
        }
        // Every attribute goes through a placeholder: `name` is a DynamoDB reserved word.
        let mut set: Vec<(&str, AttributeValue)> = Vec::new();
        let mut remove: Vec<&str> = Vec::new();
        if let Some(v) = &u.name {
            set.push(("name", s(v)));
        }
        if let Some(v) = &u.secret_hash {
            set.push(("secret_hash", s(v)));
        }
        match &u.previous_secret {
            Some(Some(p)) => {
                set.push(("previous_secret_hash", s(&p.hash)));
                match p.retire_at {
                    Some(t) => set.push(("previous_secret_retire_at", n(t))),
                    None => remove.push("previous_secret_retire_at"),
                }
            }
            Some(None) => remove.extend(["previous_secret_hash", "previous_secret_retire_at"]),
            None => {}
        }
        if let Some(v) = u.enabled {
            set.push(("enabled", AttributeValue::Bool(v)));
        }
        if let Some(v) = &u.grant_types {
            let v = list(v.iter().map(|g| g.as_str().to_owned()));
            set.push(("grant_types", v));
        }
        if let Some(v) = &u.allowed_scopes {
            set.push(("allowed_scopes", list(v.to_vec())));
        }
        if let Some(v) = &u.default_scopes {
            set.push(("default_scopes", list(v.to_vec())));
        }
        for (name, ttl) in [
            ("access_token_ttl", u.access_token_ttl),
            ("refresh_token_ttl", u.refresh_token_ttl),
            ("refresh_family_ttl", u.refresh_family_ttl),
        ] {
            match ttl {
                Some(Some(v)) => set.push((name, n(v))),
                Some(None) => remove.push(name),
                None => {}
            }
        }
        let mut clauses = Vec::new();
        if !set.is_empty() {
            let parts: Vec<String> = set.iter().map(|(k, _)| format!("#{k} = :{k}")).collect();
            clauses.push(format!("SET {}", parts.join(", ")));
        }
        if !remove.is_empty() {
            let parts: Vec<String> = remove.iter().map(|k| format!("#{k}")).collect();
            clauses.push(format!("REMOVE {}", parts.join(", ")));
        }
        let mut req = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("client_id", s(client_id))
            .update_expression(clauses.join(" "))
            .condition_expression("attribute_exists(client_id)")
            .return_values(ReturnValue::AllNew);
        for k in set.iter().map(|(k, _)| k).chain(&remove) {
            req = req.expression_attribute_names(format!("#{k}"), *k);
        }
        for (k, v) in set {
            req = req.expression_attribute_values(format!(":{k}"), v);
        }
        match req.send().await {
            Ok(out) => client_from_item(&out.attributes.unwrap_or_default())
                .map_err(ClientStoreError::Malformed),
            Err(e) if condition_failed(&e) => Err(ClientStoreError::NotFound),
            Err(e) => Err(ClientStoreError::WriteFailed(e.into())),
        }
    }

    async fn delete(&self, client_id: &str) -> Result<(), ClientStoreError> {
        let res = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key("client_id", s(client_id))
            .condition_expression("attribute_exists(client_id)")
            .send()
            .await;
        match res {
            Ok(_) => Ok(()),
            Err(e) if condition_failed(&e) => Err(ClientStoreError::NotFound),
            Err(e) => Err(ClientStoreError::WriteFailed(e.into())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_record_round_trips() {
        let c = OAuthClient {
            client_id: "c1".into(),
            name: "Demo".into(),
            secret_hash: "sha256:x".into(),
            previous_secret: None,
            enabled: true,
            grant_types: vec![GrantType::Password, GrantType::RefreshToken],
            allowed_scopes: Scopes::parse("a b").unwrap(),
            default_scopes: Scopes::parse("a").unwrap(),
            access_token_ttl: Some(60),
            refresh_token_ttl: None,
            refresh_family_ttl: None,
            created_at: 7,
        };
        assert_eq!(client_from_item(&client_to_item(&c)), Ok(c));
    }

    #[test]
    fn malformed_client_record_is_an_error_not_a_panic() {
        let mut item = Item::new();
        item.insert("client_id".into(), s("c1"));
        assert!(client_from_item(&item).is_err());
        item.insert("secret_hash".into(), AttributeValue::N("1".into()));
        assert!(client_from_item(&item).is_err());
    }
}
