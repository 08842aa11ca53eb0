//! Client records in DynamoDB, keyed by `client_id`.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};

use super::{Item, condition_failed, s};
use crate::client::{Client as OAuthClient, ClientStore, ClientStoreError, ClientUpdate};

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

/// The stored shape of a client record: `Client`'s serde mapping (see its documentation).
pub fn client_to_item(c: &OAuthClient) -> Result<Item, String> {
    serde_dynamo::to_item(c).map_err(|e| format!("client record: {e}"))
}

/// How the hand-written mapping of 0.1.0 stored a kept secret, before the one map attribute
/// `previous_secret`: a client in the middle of a `--keep-old` rotation at the upgrade still
/// accepts its old secret, and setting or clearing `previous_secret` removes these.
const LEGACY_PREVIOUS_SECRET: [&str; 2] = ["previous_secret_hash", "previous_secret_retire_at"];

/// A stored client record; a missing or mistyped attribute is an error that names it.
pub fn client_from_item(item: &Item) -> Result<OAuthClient, String> {
    let mut item = item.clone();
    let [hash, retire_at] = LEGACY_PREVIOUS_SECRET.map(|k| item.remove(k));
    if let Some(hash) = hash
        && !item.contains_key("previous_secret")
    {
        let mut kept = HashMap::from([("hash".to_owned(), hash)]);
        kept.extend(retire_at.map(|t| ("retire_at".to_owned(), t)));
        item.insert("previous_secret".into(), AttributeValue::M(kept));
    }
    serde_dynamo::from_item(item).map_err(|e| format!("client record: {e}"))
}

/// An `UpdateItem` expression with its placeholders.
#[derive(Debug, PartialEq)]
struct UpdateExpression {
    expression: String,
    names: HashMap<String, String>,
    values: Item,
}

/// The update expression for `u`, derived from its serde mapping: every attribute it names is
/// SET, a cleared one (null) is REMOVEd. Every attribute goes through a `#name` placeholder,
/// since `name` is a DynamoDB reserved word.
fn update_expression(u: &ClientUpdate) -> Result<UpdateExpression, String> {
    let named: Item = serde_dynamo::to_item(u).map_err(|e| format!("client update: {e}"))?;
    let mut named: Vec<_> = named.into_iter().collect();
    named.sort_by(|a, b| a.0.cmp(&b.0));
    let (mut remove, set): (Vec<_>, Vec<_>) = named
        .into_iter()
        .partition(|(_, v)| matches!(v, AttributeValue::Null(_)));
    if u.previous_secret.is_some() {
        let legacy = LEGACY_PREVIOUS_SECRET.map(|k| (k.to_owned(), AttributeValue::Null(true)));
        remove.extend(legacy);
    }
    let mut clauses = Vec::new();
    if !set.is_empty() {
        let parts: Vec<String> = set.iter().map(|(k, _)| format!("#{k} = :{k}")).collect();
        clauses.push(format!("SET {}", parts.join(", ")));
    }
    if !remove.is_empty() {
        let parts: Vec<String> = remove.iter().map(|(k, _)| format!("#{k}")).collect();
        clauses.push(format!("REMOVE {}", parts.join(", ")));
    }
    let names = set
        .iter()
        .chain(&remove)
        .map(|(k, _)| (format!("#{k}"), k.clone()))
        .collect();
    let values = set.into_iter().map(|(k, v)| (format!(":{k}"), v)).collect();
    Ok(UpdateExpression {
        expression: clauses.join(" "),
        names,
        values,
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
            .set_item(Some(
                client_to_item(c).map_err(|e| ClientStoreError::WriteFailed(e.into()))?,
            ))
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
        let x = update_expression(u).map_err(|e| ClientStoreError::WriteFailed(e.into()))?;
        let req = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("client_id", s(client_id))
            .update_expression(x.expression)
            .set_expression_attribute_names(Some(x.names))
            .set_expression_attribute_values(Some(x.values).filter(|v| !v.is_empty()))
            .condition_expression("attribute_exists(client_id)")
            .return_values(ReturnValue::AllNew);
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
    use crate::client::{GrantType, PasswordGrantSunset, ResponseProfile};
    use tollgate_oauth::scope::Scopes;

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
            rate_limit: Some(5),
            password_grant_sunset: Some(PasswordGrantSunset {
                sunset_at: 2_000_000_000,
                deprecated_at: 1_900_000_000,
            }),
            response_profile: ResponseProfile::Apigee,
            refresh_reuse_grace: None,
            created_at: 7,
            introspect_any: false,
            public: true,
            redirect_uris: vec!["com.example.app:/cb".into()],
            post_logout_redirect_uris: vec!["https://app.example.com/bye".into()],
        };
        assert_eq!(client_from_item(&client_to_item(&c).unwrap()), Ok(c));
    }

    #[test]
    fn malformed_client_record_is_an_error_not_a_panic() {
        let mut item = Item::new();
        item.insert("client_id".into(), s("c1"));
        assert!(client_from_item(&item).is_err());
        item.insert("secret_hash".into(), AttributeValue::N("1".into()));
        assert!(client_from_item(&item).is_err());
    }

    /// An item exactly as the hand-written mapping (before serde_dynamo) wrote it: the serde
    /// mapping reads it, and writes the same attributes with the same types back.
    fn hand_mapped_item() -> Item {
        let l = |v: &[&str]| AttributeValue::L(v.iter().map(|x| s(*x)).collect());
        Item::from([
            ("client_id".into(), s("c1")),
            ("name".into(), s("Demo")),
            ("secret_hash".into(), s("sha256:x")),
            ("enabled".into(), AttributeValue::Bool(true)),
            ("grant_types".into(), l(&["password", "refresh_token"])),
            ("allowed_scopes".into(), l(&["a", "b"])),
            ("default_scopes".into(), l(&["a"])),
            ("created_at".into(), AttributeValue::N("7".into())),
            ("access_token_ttl".into(), AttributeValue::N("60".into())),
        ])
    }

    #[test]
    fn a_record_in_the_hand_mapped_shape_reads_and_writes_back_unchanged() {
        let item = hand_mapped_item();
        let c = client_from_item(&item).unwrap();
        assert_eq!(c.client_id, "c1");
        assert_eq!(
            c.grant_types,
            [GrantType::Password, GrantType::RefreshToken]
        );
        assert_eq!(c.allowed_scopes, Scopes::parse("a b").unwrap());
        assert_eq!(c.access_token_ttl, Some(60));
        assert_eq!(c.refresh_token_ttl, None);
        assert_eq!(client_to_item(&c).unwrap(), item);
    }

    #[test]
    fn optional_attributes_may_be_missing_and_scopes_may_be_a_string_set() {
        let mut item = Item::from([
            ("client_id".into(), s("c1")),
            ("secret_hash".into(), s("sha256:x")),
        ]);
        let c = client_from_item(&item).unwrap();
        assert_eq!((c.name.as_str(), c.enabled, c.created_at), ("", false, 0));
        assert!(c.grant_types.is_empty() && c.allowed_scopes.is_empty());
        item.insert(
            "allowed_scopes".into(),
            AttributeValue::Ss(vec!["x".into()]),
        );
        item.insert("refresh_token_ttl".into(), AttributeValue::Null(true));
        let c = client_from_item(&item).unwrap();
        assert_eq!(c.allowed_scopes, Scopes::parse("x").unwrap());
        assert_eq!(c.refresh_token_ttl, None);
    }

    #[test]
    fn a_stored_record_that_breaks_the_mapping_is_an_error_naming_no_secret() {
        for (k, v) in [
            ("grant_types", AttributeValue::L(vec![s("implicit")])),
            ("allowed_scopes", AttributeValue::L(vec![s("a\"b")])),
            ("created_at", AttributeValue::N("-1".into())),
            ("enabled", s("yes")),
        ] {
            let mut item = hand_mapped_item();
            item.insert(k.into(), v);
            let e = client_from_item(&item).unwrap_err();
            assert!(!e.contains("sha256:x"), "{k}: {e}");
        }
    }

    #[test]
    fn the_update_expression_sets_what_an_update_names_and_removes_what_it_clears() {
        let u = ClientUpdate {
            name: Some("New".into()),
            enabled: Some(false),
            allowed_scopes: Some(Scopes::parse("b a").unwrap()),
            access_token_ttl: Some(None),
            refresh_token_ttl: Some(Some(90)),
            ..ClientUpdate::default()
        };
        let x = update_expression(&u).unwrap();
        assert_eq!(
            x.expression,
            "SET #allowed_scopes = :allowed_scopes, #enabled = :enabled, #name = :name, \
             #refresh_token_ttl = :refresh_token_ttl REMOVE #access_token_ttl"
        );
        assert_eq!(x.names.len(), 5);
        assert_eq!(x.names["#access_token_ttl"], "access_token_ttl");
        assert_eq!(
            x.values,
            Item::from([
                (
                    ":allowed_scopes".into(),
                    AttributeValue::L(vec![s("a"), s("b")])
                ),
                (":enabled".into(), AttributeValue::Bool(false)),
                (":name".into(), s("New")),
                (":refresh_token_ttl".into(), AttributeValue::N("90".into())),
            ])
        );
    }
}
